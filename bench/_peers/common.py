"""What every contestant of bench/smallcall.py shares: the call, the server subprocess, the timers.

The small call is ``Small(a: uint32, s: str) -> int32`` and the server answers
``a + len(s)``, so each reply is checked against :func:`expected`. The bulk call carries
``n`` bytes and the server answers ``n``.

Each server runs in its own subprocess (``bench/_peers/serve.py PEER``), so the client in
the bench process never shares a GIL with it; the subprocess prints ``READY <address>``
once it listens and exits when its stdin closes.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.py")
STRINGS = ("hello", "small call", "x", "DCE/RPC over TCP", "")


def args_for(i: int) -> tuple[int, str]:
    """The arguments of the i-th small call (varied, so a cached reply would be caught)."""
    return i % 1_000_003, STRINGS[i % len(STRINGS)]


def expected(a: int, s: str) -> int:
    return a + len(s)


@dataclass
class Budget:
    """How long each measurement runs (bounded by time *and* by count)."""

    warmup: int
    seq_seconds: float
    seq_max_calls: int
    seq_min_calls: int
    flight_seconds: float
    bulk_bytes: int
    bulk_repeats: int


FULL = Budget(warmup=300, seq_seconds=2.0, seq_max_calls=50_000, seq_min_calls=200,
              flight_seconds=2.0, bulk_bytes=16 << 20, bulk_repeats=5)
QUICK = Budget(warmup=5, seq_seconds=0.05, seq_max_calls=200, seq_min_calls=20,
               flight_seconds=0.05, bulk_bytes=256 << 10, bulk_repeats=1)


@dataclass
class Tally:
    """Every reply seen by one contestant, and how many were wrong."""

    calls: int = 0
    bad: int = 0
    first_bad: list[str] = field(default_factory=list)

    def check(self, got: Any, want: int) -> None:
        self.calls += 1
        if got != want:
            self.bad += 1
            if len(self.first_bad) < 3:
                self.first_bad.append(f"got {got!r}, expected {want!r}")


class Phases:
    """The results of one contestant, phase by phase; a phase that raises is recorded
    (``errors``) and the others still run, so one failing measurement costs one cell."""

    def __init__(self) -> None:
        self.res: dict[str, Any] = {"seq": None, "flight": {}, "bulk": None, "errors": {}}

    def _fail(self, key: str, exc: BaseException) -> None:
        self.res["errors"][key] = f"{type(exc).__name__}: {exc}"[:500]

    def run(self, key: str, fn: Callable[[], Any], n: int | None = None) -> None:
        try:
            value = fn()
        except Exception as exc:
            value = None
            self._fail(key if n is None else f"{key} {n}", exc)
        self._store(key, value, n)

    async def arun(self, key: str, fn: Callable[[], Awaitable[Any]], n: int | None = None) -> None:
        try:
            value = await fn()
        except Exception as exc:
            value = None
            self._fail(key if n is None else f"{key} {n}", exc)
        self._store(key, value, n)

    def _store(self, key: str, value: Any, n: int | None) -> None:
        if n is None:
            self.res[key] = value
        else:
            self.res[key][n] = value


# ------------------------------------------------------------------ event loop
#: ``smallcall.py --loop uvloop`` sets this for itself and every server subprocess, so
#: the floor and the asyncio contestants run on the same kind of loop.
LOOP_ENV = "SMALLCALL_LOOP"


def arun(coro: Awaitable[Any]) -> Any:
    """``asyncio.run`` on the loop the run asked for (asyncio's, or uvloop's)."""
    if os.environ.get(LOOP_ENV) == "uvloop":
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    return asyncio.run(coro)  # type: ignore[arg-type]


# ------------------------------------------------------------------ server subprocess
@contextmanager
def server(peer: str, timeout: float = 60.0) -> Iterator[str]:
    """Run ``serve.py peer`` in a subprocess; yield the address it printed.

    The child's stderr goes to a temporary file (a pipe nobody drains could fill up and
    stall the server); its tail is shown if the server does not start.
    """
    with tempfile.TemporaryFile("w+") as errf:
        proc = subprocess.Popen([sys.executable, SERVE, peer], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errf, text=True)
        try:
            assert proc.stdout is not None
            # wait for READY (or the child's death), but never forever
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else "(no READY line in time)\n"
            if not line.startswith("READY "):
                proc.kill()
                proc.wait()
                errf.seek(0)
                raise RuntimeError(f"{peer} server did not start: "
                                   f"{(line + errf.read()).strip()[-2000:]}")
            yield line.split(" ", 1)[1].strip()
        finally:
            if proc.poll() is None:
                assert proc.stdin is not None
                proc.stdin.close()  # the child exits when its stdin closes
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            if os.environ.get("SMALLCALL_SERVER_STDERR"):  # debugging aid
                errf.seek(0)
                sys.stderr.write(errf.read()[-4000:])


def serve_until_stdin_closes() -> None:
    """Block the calling thread until the parent closes our stdin, then exit at once."""
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


# ------------------------------------------------------------------ measurements
def _percentile(sorted_xs: list[float], q: float) -> float:
    # nearest-rank percentile: the smallest sample with at least q of the samples <= it
    k = max(0, min(len(sorted_xs) - 1, math.ceil(q * len(sorted_xs)) - 1))
    return sorted_xs[k]


def seq_summary(samples: list[float], elapsed: float) -> dict[str, float]:
    xs = sorted(samples)
    return {"calls": len(xs), "p50_us": _percentile(xs, 0.50) * 1e6,
            "p99_us": _percentile(xs, 0.99) * 1e6, "calls_per_s": len(xs) / elapsed}


def seq_sync(call: Callable[[int, str], Any], b: Budget, tally: Tally) -> dict[str, float]:
    """Sequential latency: one call at a time, perf_counter around each."""
    for i in range(b.warmup):
        a, s = args_for(i)
        tally.check(call(a, s), expected(a, s))
    samples: list[float] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + b.seq_seconds
    i = 0
    while i < b.seq_max_calls and (i < b.seq_min_calls or clock() < deadline):
        a, s = args_for(i)
        t0 = clock()
        r = call(a, s)
        samples.append(clock() - t0)
        tally.check(r, expected(a, s))
        i += 1
    return seq_summary(samples, clock() - start)


async def seq_async(call: Callable[[int, str], Awaitable[Any]], b: Budget,
                    tally: Tally) -> dict[str, float]:
    for i in range(b.warmup):
        a, s = args_for(i)
        tally.check(await call(a, s), expected(a, s))
    samples: list[float] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + b.seq_seconds
    i = 0
    while i < b.seq_max_calls and (i < b.seq_min_calls or clock() < deadline):
        a, s = args_for(i)
        t0 = clock()
        r = await call(a, s)
        samples.append(clock() - t0)
        tally.check(r, expected(a, s))
        i += 1
    return seq_summary(samples, clock() - start)


async def flight_async(call: Callable[[int, str], Awaitable[Any]], n: int, b: Budget,
                       tally: Tally) -> float:
    """Calls/s with ``n`` calls in flight: n coroutines over one client, each issuing its
    next call as soon as its previous reply arrives, until the time budget is spent."""
    clock = time.perf_counter
    deadline = clock() + b.flight_seconds
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while True:
            a, s = args_for(i)
            tally.check(await call(a, s), expected(a, s))
            done += 1
            i += n
            if clock() >= deadline:
                return

    start = clock()
    await asyncio.gather(*(worker(w) for w in range(n)))
    return done / (clock() - start)


def flight_window(start_call: Callable[[int, str], Any], finish: Callable[[Any], Any], n: int,
                  b: Budget, tally: Tally) -> float:
    """Calls/s with ``n`` in flight for a sync client that has futures: a sliding window
    that waits for the oldest call and issues a new one in its place."""
    clock = time.perf_counter
    window: collections.deque[tuple[Any, int]] = collections.deque()
    start = clock()
    deadline = start + b.flight_seconds
    i = done = 0
    while True:
        while len(window) < n:
            a, s = args_for(i)
            window.append((start_call(a, s), expected(a, s)))
            i += 1
        handle, want = window.popleft()
        tally.check(finish(handle), want)
        done += 1
        if clock() >= deadline:
            break
    while window:  # drain: every issued call is checked and counted
        handle, want = window.popleft()
        tally.check(finish(handle), want)
        done += 1
    return done / (clock() - start)


def bulk_sync(call: Callable[[bytes], Any], b: Budget, tally: Tally) -> dict[str, float]:
    data = os.urandom(b.bulk_bytes)
    tally.check(call(data), len(data))  # warm-up
    times = []
    for _ in range(b.bulk_repeats):
        t0 = time.perf_counter()
        r = call(data)
        times.append(time.perf_counter() - t0)
        tally.check(r, len(data))
    return bulk_summary(times, len(data))


async def bulk_async(call: Callable[[bytes], Awaitable[Any]], b: Budget,
                     tally: Tally) -> dict[str, float]:
    data = os.urandom(b.bulk_bytes)
    tally.check(await call(data), len(data))
    times = []
    for _ in range(b.bulk_repeats):
        t0 = time.perf_counter()
        r = await call(data)
        times.append(time.perf_counter() - t0)
        tally.check(r, len(data))
    return bulk_summary(times, len(data))


def bulk_summary(times: list[float], nbytes: int) -> dict[str, float]:
    # best of the repeats: the machine is shared, and load only ever makes a run slower
    return {"bytes": nbytes, "best_s": min(times), "median_s": statistics.median(times),
            "mb_per_s": nbytes / min(times) / 1e6}
