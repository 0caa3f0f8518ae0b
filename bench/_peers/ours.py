"""Ours: a ``dcerpc.Server`` serving bench/smallcall.idl, called by ``dcerpc.aio.connect``
(sequential, and n in flight as n coroutines over one proxy), ``dcerpc.connect``
(sequential), and impacket's DCERPC client (see :mod:`.impacket_peer`).

The managers are ``async def``, so they run on the server's loop (DESIGN.md §4) and the
measurement is the RPC path itself, not a thread hop.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .common import (
    Budget,
    Phases,
    Tally,
    arun,
    bulk_async,
    bulk_sync,
    flight_async,
    seq_async,
    seq_sync,
)

IDL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "smallcall.idl")


def _module() -> Any:
    import dcerpc.idl

    return dcerpc.idl.load(IDL)


class Impl:
    """Managers of the ``Bench`` interface (opnum 0 Small, opnum 1 Bulk)."""

    async def Small(self, a: int, s: str) -> int:
        return a + len(s)

    async def Bulk(self, n: int, data: bytes) -> int:
        return len(data)


def available() -> str | None:
    """None when the runtime has the entry points the bench uses, else what is missing."""
    try:
        import dcerpc
        import dcerpc.aio
    except ImportError as exc:
        return f"dcerpc.aio cannot be imported ({exc})"
    missing = [name for name, obj in (("dcerpc.Server", dcerpc), ("dcerpc.connect", dcerpc),
                                      ("dcerpc.aio.connect", dcerpc.aio))
               if not hasattr(obj, name.rsplit(".", 1)[1])]
    return f"missing {', '.join(missing)}" if missing else None


_KEEP: list[Any] = []
#: Above 1024, the most calls the bench keeps in flight (the default, 1000, would fault
#: the last ones with nca_s_server_too_busy).
SERVER_MAX_CALLS = 4096


def _config() -> Any:
    """The default connection config, except a stub limit that admits the 16 MiB bulk call
    (the default 4 MiB is Samba's "maximum server input data size", [MS-RPCE] 3.3.3.5.4)."""
    from dcerpc.protocol.connection import ConnectionConfig

    return ConnectionConfig(max_stub_size=64 << 20, max_fragments=1 << 16,
                            max_xmit_frag=0xFFFF, max_recv_frag=0xFFFF)


async def serve() -> str:
    import dcerpc

    mod = _module()
    server = dcerpc.Server(max_calls=SERVER_MAX_CALLS, config=_config())
    server.register(mod.Bench, Impl())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = await server.start()
    _KEEP.append(server)
    tcp = [str(b) for b in bindings if str(b).startswith("ncacn_ip_tcp:")]
    if not tcp:
        raise RuntimeError(f"no ncacn_ip_tcp binding among {bindings!r}")
    return tcp[0]


def port_of(binding: str) -> int:
    m = re.search(r"\[(\d+)", binding)
    if m is None:
        raise ValueError(f"no TCP port in binding {binding!r}")
    return int(m.group(1))


async def _run_aio(binding: str, b: Budget, flights: tuple[int, ...],
                   tally: Tally) -> dict[str, Any]:
    import dcerpc.aio

    mod = _module()
    async with dcerpc.aio.connect(binding, mod.Bench, config=_config()) as c:
        ph = Phases()
        await ph.arun("seq", lambda: seq_async(c.Small, b, tally))
        for n in flights:  # n coroutines over this one proxy
            await ph.arun("flight", lambda n=n: flight_async(c.Small, n, b, tally), n)
        await ph.arun("bulk", lambda: bulk_async(lambda d: c.Bulk(len(d), d), b, tally))
        return ph.res


def run_aio(binding: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    return arun(_run_aio(binding, b, flights, tally))


def run_sync(binding: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    """The blocking proxy: sequential and bulk; in flight is the asyncio client's job."""
    import dcerpc

    mod = _module()
    with dcerpc.connect(binding, mod.Bench, config=_config()) as c:
        ph = Phases()
        ph.run("seq", lambda: seq_sync(c.Small, b, tally))
        ph.res["flight"] = {n: None for n in flights}
        ph.run("bulk", lambda: bulk_sync(lambda d: c.Bulk(len(d), d), b, tally))
        return ph.res
