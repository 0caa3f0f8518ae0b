"""RPyC: a service with ``exposed_small``/``exposed_bulk`` on a ThreadedServer.

In flight: ``rpyc.async_`` results in a sliding window over one connection (waiting on
a result serves the connection, so replies for the other calls are read too).
"""

from __future__ import annotations

import threading
from typing import Any

import rpyc
from rpyc.utils.server import ThreadedServer

from .common import Budget, Phases, Tally, bulk_sync, flight_window, seq_sync

_CONFIG = {"sync_request_timeout": 120, "allow_pickle": False}


class BenchService(rpyc.Service):  # type: ignore[misc]
    def exposed_small(self, a: int, s: str) -> int:
        return a + len(s)

    def exposed_bulk(self, data: bytes) -> int:
        return len(data)


def serve() -> str:
    srv = ThreadedServer(BenchService, hostname="127.0.0.1", port=0,
                         protocol_config=_CONFIG)
    threading.Thread(target=srv.start, daemon=True).start()
    return str(srv.port)


def run(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    conn = rpyc.connect("127.0.0.1", int(addr), config=_CONFIG)
    try:
        small = conn.root.small
        asmall = rpyc.async_(small)
        ph = Phases()
        ph.run("seq", lambda: seq_sync(small, b, tally))
        for n in flights:
            ph.run("flight", lambda n=n: flight_window(asmall, lambda r: r.value, n, b, tally), n)
        ph.run("bulk", lambda: bulk_sync(conn.root.bulk, b, tally))
        return ph.res
    finally:
        conn.close()
