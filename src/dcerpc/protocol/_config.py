"""Tunables of the connection-oriented protocol core.

One frozen dataclass shared by :class:`~dcerpc.protocol.connection.ClientConnection` and
:class:`~dcerpc.protocol.connection.ServerConnection`. Timeouts are durations in the
caller's clock units (seconds by convention); the core never reads a clock, it only
compares the ``now`` values the driver hands in (aioquic style, DESIGN.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import MUST_RECV_FRAG_SIZE, BindTimeFeatures

__all__ = ["DEFAULT_MAX_FRAG", "RUNTIME_MAX_FRAG", "ConnectionConfig", "runtime_config"]

#: Windows' default fragment size (protocol-digest §2.3), also Samba's server limit.
DEFAULT_MAX_FRAG = 5840
#: What the asyncio runtime proposes and accepts by default: the largest value the u16
#: fields carry (C706 §12.6.4.3). Windows, Samba and impacket answer with their own
#: smaller sizes and ``min()`` settles on those; between two of our peers a 16 MiB stub
#: then takes 257 fragments instead of 2 900.
RUNTIME_MAX_FRAG = 0xFFFF


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionConfig:
    """Limits and timers of one connection.

    * ``max_xmit_frag`` / ``max_recv_frag``: what we propose (client) or allow (server);
      the negotiated values are ``min(ours, peer's)`` but never below C706's
      ``MustRecvFragSize`` of 1432 (protocol-digest §2.3).
    * ``max_stub_size``: largest reassembled stub of one call, in either direction
      ([MS-RPCE] 3.3.3.5.4 "Maximum Server Input Data Size"; Samba's default is 4 MiB).
      An ``alloc_hint`` above it is refused before anything is buffered.
    * ``max_fragments``: most fragments one call may take, so a peer dribbling tiny
      fragments cannot cost unbounded bookkeeping.
    * ``max_concurrent_calls``: calls in progress on one connection; beyond it the server
      core answers ``nca_s_server_too_busy``.
    * ``conc_mpx``: offer (client) / accept (server) PFC_CONC_MPX ([MS-RPCE] 3.3.1.5.1).
    * ``bind_time_features``: [MS-RPCE] 3.3.1.5.3 feature bits we propose / accept.
    * ``header_signing``: offer (client) / accept (server) PFC_SUPPORT_HEADER_SIGN for
      Kerberos and SPNEGO ([MS-RPCE] 2.2.2.3 / 3.3.1.5.2.2); not agreed → the stub only
      is signed.
    * ``sec_addr``: the server's secondary address for bind_ack (the TCP port as text).
    * ``bind_timeout``, ``idle_timeout``, ``cancel_timeout``: None disables the timer.
    """

    max_xmit_frag: int = DEFAULT_MAX_FRAG
    max_recv_frag: int = DEFAULT_MAX_FRAG
    max_stub_size: int = 4 * 1024 * 1024
    max_fragments: int = 4096
    max_concurrent_calls: int = 4096
    conc_mpx: bool = True
    bind_time_features: int = BindTimeFeatures.KeepConnectionOnOrphanSupported
    header_signing: bool = True
    sec_addr: str = ""
    bind_timeout: float | None = None
    idle_timeout: float | None = None
    cancel_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_xmit_frag", "max_recv_frag"):
            value = getattr(self, name)
            if not MUST_RECV_FRAG_SIZE <= value <= 0xFFFF:
                raise ValueError(f"{name} must be in [{MUST_RECV_FRAG_SIZE}, 65535], got {value}")
        for name in ("max_stub_size", "max_fragments", "max_concurrent_calls"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")


def negotiate_frag(ours: int, theirs: int) -> int:
    """The fragment size both sides can live with (protocol-digest §2.3).

    ``min`` of the two, rounded down to a multiple of 8 (as Samba does), and never below
    C706's MustRecvFragSize: every implementation must accept 1432-octet fragments, so a
    peer announcing less is simply talking below what it is obliged to handle anyway.
    """
    return max(MUST_RECV_FRAG_SIZE, min(ours, theirs) & ~7)


def runtime_config() -> ConnectionConfig:
    """The config ``dcerpc.Server`` and the clients use when given none: the core's
    defaults with :data:`RUNTIME_MAX_FRAG` fragments."""
    return ConnectionConfig(max_xmit_frag=RUNTIME_MAX_FRAG, max_recv_frag=RUNTIME_MAX_FRAG)
