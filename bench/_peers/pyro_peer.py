"""Pyro5: a daemon with one exposed class, marshal serializer (it carries bytes as bytes;
the default serpent would base64 the bulk payload).

Pyro5 has no asynchronous proxy, and a proxy belongs to one thread, so n in flight means
n threads with a proxy (a connection) each; 1024 threads/connections exceed its default
thread-pool server, so that column is left out (None).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import Pyro5
import Pyro5.api

from .common import Budget, Phases, Tally, args_for, bulk_sync, expected, seq_sync

Pyro5.config.SERIALIZER = "marshal"
MAX_THREADS = 64


@Pyro5.api.expose
class Bench:
    def small(self, a: int, s: str) -> int:
        return a + len(s)

    def bulk(self, data: bytes) -> int:
        return len(data)


def serve() -> str:
    daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Bench, "bench")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    return str(uri)


def _flight_threads(uri: str, n: int, b: Budget, tally: Tally) -> float:
    proxies = [Pyro5.api.Proxy(uri) for _ in range(n)]
    for p in proxies:
        p._pyroBind()
    lock = threading.Lock()
    go = threading.Event()
    counts = [0] * n
    results: list[list[tuple[Any, int]]] = [[] for _ in range(n)]
    deadline = [0.0]

    def worker(w: int) -> None:
        p = proxies[w]
        p._pyroClaimOwnership()  # a proxy may only be used by the thread that owns it
        go.wait()
        i, out = w, results[w]
        while True:
            a, s = args_for(i)
            out.append((p.small(a, s), expected(a, s)))
            i += n
            if time.perf_counter() >= deadline[0]:
                break
        with lock:
            counts[w] = len(out)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(n)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + b.flight_seconds
    go.set()
    for t in threads:
        t.join()
    rate = sum(counts) / (time.perf_counter() - start)
    for out in results:
        for got, want in out:
            tally.check(got, want)
    for p in proxies:
        p._pyroClaimOwnership()
        p._pyroRelease()
    return rate


def run(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    with Pyro5.api.Proxy(addr) as proxy:
        ph = Phases()
        ph.run("seq", lambda: seq_sync(proxy.small, b, tally))
        for n in flights:
            if n <= MAX_THREADS:
                ph.run("flight", lambda n=n: _flight_threads(addr, n, b, tally), n)
            else:
                ph.res["flight"][n] = None
        ph.run("bulk", lambda: bulk_sync(proxy.bulk, b, tally))
        return ph.res
