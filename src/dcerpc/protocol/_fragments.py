"""Fragmenting stub data into PDUs and reassembling it, with bounded memory.

C706 §12.6.2 / [MS-RPCE] 3.3.1.5.7; protocol-digest §3.1-§3.2.

Sending: a stub is cut into payloads of at most ``payload_size(max_frag, header)`` octets.
FIRST goes on the first fragment, LAST on the last, neither in between; an empty stub is
one FIRST|LAST fragment. ``alloc_hint`` is the number of stub octets *remaining* from this
fragment on, as Windows and Samba send it (the hint is only a hint: impacket sends the
total in every fragment and we accept both).

Receiving: :class:`StubAssembler` appends the stub of each fragment of one call. The limits
are checked *before* anything is kept, so a peer claiming a huge ``alloc_hint`` or sending
10 000 tiny fragments costs at most ``max_stub_size`` octets and ``max_fragments`` list
entries; nothing is ever preallocated from ``alloc_hint``.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import status as st
from ..errors import RemoteProtocolError
from .constants import PFC_FIRST_FRAG, PFC_LAST_FRAG

__all__ = ["FragmentLimitError", "StubAssembler", "iter_fragments", "payload_size"]

_FIRST, _LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)


class FragmentLimitError(RemoteProtocolError):
    """A call exceeded ``max_stub_size`` or ``max_fragments``.

    The status is rpc_s_access_denied, what Samba answers for an oversize request or
    ``alloc_hint`` (dcesrv_core.c, protocol-digest §3.1) before disconnecting.
    """

    status = st.RPC_S_ACCESS_DENIED


def payload_size(max_frag: int, header: int, trailer: int = 0) -> int:
    """Stub octets per fragment for fragments of at most ``max_frag`` octets.

    ``header`` is 24 (request/response) or 40 (request with object UUID); ``trailer`` the
    per-fragment auth overhead (pad + sec_trailer + signature). Rounded down to 16 so that
    a sealed fragment's pad never pushes it past ``max_frag`` (Samba dcesrv_reply.c).
    """
    room = max_frag - header - trailer
    if room < 16:
        raise ValueError(f"max_frag {max_frag} leaves no room for stub data")
    return room & ~15


def iter_fragments(stub: bytes, payload: int) -> Iterator[tuple[int, int, bytes]]:
    """``(pfc_flags, alloc_hint, chunk)`` for each fragment of ``stub``."""
    total = len(stub)
    view = memoryview(stub)
    offset = 0
    while True:
        chunk = view[offset:offset + payload]
        end = offset + len(chunk)
        flags = (_FIRST if offset == 0 else 0) | (_LAST if end >= total else 0)
        yield flags, total - offset, bytes(chunk)
        if end >= total:
            return
        offset = end


class StubAssembler:
    """The stub of one call, assembled from its fragments (stub offset 0 = first octet of
    the first fragment's stub: NDR alignment is computed on the whole, C706 §14.2.2)."""

    __slots__ = ("_parts", "count", "max_fragments", "max_stub_size", "size")

    def __init__(self, max_stub_size: int, max_fragments: int, alloc_hint: int = 0) -> None:
        if alloc_hint > max_stub_size:
            raise FragmentLimitError(
                f"alloc_hint {alloc_hint} exceeds the limit of {max_stub_size} octets")
        self.max_stub_size, self.max_fragments = max_stub_size, max_fragments
        self._parts: list[bytes] = []
        self.size = 0
        self.count = 0

    def append(self, data: bytes) -> None:
        if self.count + 1 > self.max_fragments:
            raise FragmentLimitError(f"call exceeds {self.max_fragments} fragments")
        if self.size + len(data) > self.max_stub_size:
            raise FragmentLimitError(
                f"reassembled stub exceeds the limit of {self.max_stub_size} octets")
        self.count += 1
        self.size += len(data)
        if data:
            self._parts.append(data)

    def take(self) -> bytes:
        """The whole stub; the assembler is empty afterwards."""
        out = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts = []
        return out
