"""Memory per pending async call, and how fast 10,000 of them complete.

    .venv/bin/python bench/async_calls.py                 # 10,000 pending calls
    .venv/bin/python bench/async_calls.py --calls 2000 --json

Each row parks ``--calls`` calls at once on one connection and measures, in the process
under test, the growth of Python heap (``tracemalloc``, current bytes) and of RSS
(``/proc/self/statm``) per pending call, against a baseline taken after a warm-up of the
same call (connection open, codecs built).  The peer process is a separate interpreter, so
its memory never counts.  Then every parked call is completed — on the server from four
threads in random order — and the completion throughput is the number of calls over the
time from the first completion to the client holding every outcome.

Rows:

* dcerpc server: an ``[async]`` manager (``async def Add(pAsync, a, b)``, ACF ``[async]``)
  parks its ``pAsync``; ``RpcAsyncCompleteCall`` from four threads.  Client: the asyncio
  proxy in a subprocess.
* dcerpc client, faithful: ``RPC_ASYNC_STATE`` + callback notification per call through the
  generated ``Add(Async, hBinding, a, b)``; server subprocess.
* dcerpc client, asyncio: one ``asyncio.Task`` awaiting ``proxy.Add`` per call.
* grpc.aio server / client (when grpcio imports): a pending unary-unary call whose handler
  awaits a future, completed from four threads with ``call_soon_threadsafe``.  grpc's C core
  allocates outside the Python heap: for grpc only the RSS column is comparable.

A report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IDL = ROOT / "tests" / "runtime" / "testsvc.idl"
ACF = ROOT / "tests" / "aio" / "async_testsvc.acf"
WARM = 200          # warm-up calls before the baseline
THREADS = 4         # completing threads
HANG = 120.0        # seconds: a stalled peer ends the run instead of hanging it
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class Meter:
    """tracemalloc + RSS growth from a baseline, per pending call."""

    # tracemalloc runs only from the baseline to the measurement: the throughput that
    # follows is timed without its overhead.  Memory allocated before the baseline is
    # untraced, so only what the pending calls added is counted.

    def __init__(self) -> None:
        gc.collect()
        self.rss0 = rss()
        tracemalloc.start()
        self.heap0 = tracemalloc.get_traced_memory()[0]

    def per_call(self, n: int) -> tuple[float, float]:
        gc.collect()
        heap = tracemalloc.get_traced_memory()[0] - self.heap0
        tracemalloc.stop()
        return heap / n, (rss() - self.rss0) / n


def complete_in_random_order(items: list[Any], finish: Callable[[Any], Any]) -> None:
    order = list(items)
    random.Random(1914).shuffle(order)
    threads = [threading.Thread(target=lambda part=order[k::THREADS]: [finish(x) for x in part])
               for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG)


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)


def expect(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith(prefix):
        raise RuntimeError(f"peer said {line!r}, expected {prefix}")
    return line[len(prefix):].strip()


def tell(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


# ============================================================================ dcerpc
def _stubs() -> Any:
    import dcerpc.idl

    return dcerpc.idl.load(IDL, acf=ACF)


class Parking:
    """Server manager: ``Add(pAsync, a, b)`` parks the call; a < 0 completes at once
    (the warm-up calls)."""

    def __init__(self, expected: int) -> None:
        self.parked: list[tuple[Any, int, int]] = []
        self.expected = expected
        self.all_parked = threading.Event()

    async def Add(self, pAsync: Any, a: int, b: int) -> None:
        from dcerpc.win32 import RpcAsyncCompleteCall

        if a < 0:
            RpcAsyncCompleteCall(pAsync, a + b)
            return
        self.parked.append((pAsync, a, b))
        if len(self.parked) == self.expected:
            self.all_parked.set()

    def complete_all(self) -> None:
        from dcerpc.win32 import RpcAsyncCompleteCall

        parked, self.parked = self.parked, []
        complete_in_random_order(parked, lambda x: RpcAsyncCompleteCall(x[0], x[1] + x[2]))


def _dcerpc_server(n: int) -> tuple[Any, Parking]:
    import dcerpc

    server = dcerpc.Server(max_calls=n + WARM + 16, workers=1)
    impl = Parking(n)
    server.register(_stubs().TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.start_background()
    return server, impl


def ours_server_side(n: int) -> dict[str, Any]:
    """This process serves; the asyncio client runs in a subprocess."""
    server, impl = _dcerpc_server(n)
    client = spawn("--role", "ours-client", str(server.bindings[0]), str(n))
    try:
        expect(client, "WARM")
        meter = Meter()
        tell(client, "go")
        if not impl.all_parked.wait(HANG):
            raise RuntimeError("the calls were not all parked")
        heap, resident = meter.per_call(n)
        t0 = time.perf_counter()
        impl.complete_all()
        ok = int(expect(client, "DONE"))
        elapsed = time.perf_counter() - t0
    finally:
        client.kill()
        server.stop_background(2.0)
    return {"row": "dcerpc server ([async] manager)", "heap": heap, "rss": resident,
            "rate": n / elapsed, "ok": ok == n}


def ours_client_role(binding: str, n: int) -> None:
    import dcerpc

    svc = _stubs()

    async def main() -> None:
        async with dcerpc.aio.connect(binding, svc.TestSvc) as c:
            for i in range(WARM):
                await c.Add(-1 - i, 0)
            print("WARM", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            results = await asyncio.gather(*(c.Add(i, 2 * i) for i in range(n)))
            print("DONE", sum(r == 3 * i for i, r in enumerate(results)), flush=True)
    asyncio.run(main())


def ours_server_role(n: int) -> None:
    server, impl = _dcerpc_server(n)
    print("READY", server.bindings[0], flush=True)
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        impl.all_parked.wait(HANG)
        impl.all_parked.clear()
        print("PARKED", flush=True)
        if sys.stdin.readline().strip() == "complete":
            impl.complete_all()
    server.stop_background(1.0)


def ours_client_side(n: int, face: str) -> dict[str, Any]:
    """This process is the client (faithful or asyncio); the server is a subprocess."""
    import dcerpc
    from dcerpc.win32 import (
        RPC_ASYNC_STATE,
        RpcAsyncCompleteCall,
        RpcAsyncInitializeHandle,
        RpcNotificationTypeCallback,
        sizeof,
    )

    svc = _stubs()
    peer = spawn("--role", "ours-server", str(n))
    binding = expect(peer, "READY")
    try:
        if face == "faithful":
            h = dcerpc.Binding(binding)
            done = threading.Semaphore(0)

            def routine(_a: Any, _c: Any, _e: int) -> None:
                done.release()

            def start(a: int, b: int) -> Any:
                Async = RPC_ASYNC_STATE()
                RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE))
                Async.NotificationType = RpcNotificationTypeCallback
                Async.u.NotificationRoutine = routine
                svc.Add(Async, h, a, b)
                return Async

            for i in range(WARM):  # completed at once by the server (a < 0)
                start(-1 - i, 0)
                done.acquire(timeout=HANG)
            meter = Meter()
            tell(peer, "armed")
            states = [start(i, 2 * i) for i in range(n)]
            expect(peer, "PARKED")
            heap, resident = meter.per_call(n)
            t0 = time.perf_counter()
            tell(peer, "complete")
            for _ in range(n):
                done.acquire(timeout=HANG)
            elapsed = time.perf_counter() - t0
            ok = sum(RpcAsyncCompleteCall(a) == (0, 3 * i) for i, a in enumerate(states))
            h.close()
            row = "dcerpc client, faithful (RPC_ASYNC_STATE + callback)"
        else:
            async def main() -> tuple[float, float, float, int]:
                async with dcerpc.aio.connect(binding, svc.TestSvc) as c:
                    for i in range(WARM):
                        await c.Add(-1 - i, 0)
                    meter = Meter()
                    tell(peer, "armed")
                    tasks = [asyncio.ensure_future(c.Add(i, 2 * i)) for i in range(n)]
                    await asyncio.to_thread(expect, peer, "PARKED")
                    heap, resident = meter.per_call(n)
                    t0 = time.perf_counter()
                    tell(peer, "complete")
                    results = await asyncio.gather(*tasks)
                    elapsed = time.perf_counter() - t0
                    return heap, resident, elapsed, sum(
                        r == 3 * i for i, r in enumerate(results))
            heap, resident, elapsed, ok = asyncio.run(main())
            row = "dcerpc client, asyncio (a Task per call)"
    finally:
        if peer.stdin:
            peer.stdin.close()
        peer.wait(10)
    return {"row": row, "heap": heap, "rss": resident, "rate": n / elapsed, "ok": ok == n}


# ============================================================================ grpc.aio
_I32 = struct.Struct("<ii")
_METHOD = "/bench.Park/Add"


def _grpc_server(n: int, loop: asyncio.AbstractEventLoop) -> tuple[Any, list[Any], Any]:
    import grpc
    import grpc.aio

    parked: list[tuple[asyncio.Future[int], int]] = []
    all_parked = threading.Event()

    async def add(request: bytes, _context: Any) -> bytes:
        a, b = _I32.unpack(request)
        if a < 0:
            return struct.pack("<i", a + b)
        fut = loop.create_future()
        parked.append((fut, a + b))
        if len(parked) == n:
            all_parked.set()
        return struct.pack("<i", await fut)

    handler = grpc.method_handlers_generic_handler("bench.Park", {
        "Add": grpc.unary_unary_rpc_method_handler(add)})
    # grpc resets streams once more than grpc.server.max_pending_requests (1000 by
    # default) calls wait for a handler; parking n calls needs the limits raised.
    server = grpc.aio.server(options=[
        ("grpc.max_concurrent_streams", 4 * n),
        ("grpc.server.max_pending_requests", 2 * n + WARM),
        ("grpc.server.max_pending_requests_hard_limit", 4 * n + WARM)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    return server, parked, (port, all_parked)


def grpc_server_side(n: int) -> dict[str, Any]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(HANG)

    async def make() -> Any:
        s = _grpc_server(n, loop)
        await s[0].start()
        return s

    server, parked, (port, all_parked) = on_loop(make())
    client = spawn("--role", "grpc-client", str(port), str(n))
    try:
        expect(client, "WARM")
        meter = Meter()
        tell(client, "go")
        if not all_parked.wait(HANG):
            raise RuntimeError("grpc: the calls were not all parked")
        heap, resident = meter.per_call(n)
        t0 = time.perf_counter()
        complete_in_random_order(parked, lambda x: loop.call_soon_threadsafe(
            x[0].set_result, x[1]))
        ok = int(expect(client, "DONE"))
        elapsed = time.perf_counter() - t0
    finally:
        client.kill()
        on_loop(server.stop(0))
        # grpc's poller reports its closed descriptor as the loop stops: not a result.
        loop.set_exception_handler(lambda _loop, _context: None)
        loop.call_soon_threadsafe(loop.stop)
    return {"row": "grpc.aio server (handler awaits a future)", "heap": heap,
            "rss": resident, "rate": n / elapsed, "ok": ok == n}


def _grpc_channel(port: str) -> Any:
    import grpc.aio

    return grpc.aio.insecure_channel(f"127.0.0.1:{port}")


def grpc_client_role(port: str, n: int) -> None:
    async def main() -> None:
        async with _grpc_channel(port) as ch:
            add = ch.unary_unary(_METHOD)
            for i in range(WARM):
                await add(_I32.pack(-1 - i, 0))
            print("WARM", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            replies = await asyncio.gather(*(add(_I32.pack(i, 2 * i)) for i in range(n)))
            print("DONE", sum(struct.unpack("<i", r)[0] == 3 * i
                              for i, r in enumerate(replies)), flush=True)
    asyncio.run(main())


def grpc_server_role(n: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, parked, (port, all_parked) = _grpc_server(n, loop)
        await server.start()
        print("READY", port, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.to_thread(all_parked.wait, HANG)
        print("PARKED", flush=True)
        if (await asyncio.to_thread(sys.stdin.readline)).strip() == "complete":
            await asyncio.to_thread(complete_in_random_order, parked,
                                    lambda x: loop.call_soon_threadsafe(x[0].set_result, x[1]))
        await asyncio.to_thread(sys.stdin.readline)
        await server.stop(0)
    asyncio.run(main())


def grpc_client_side(n: int) -> dict[str, Any]:
    peer = spawn("--role", "grpc-server", str(n))
    port = expect(peer, "READY")

    async def main() -> tuple[float, float, float, int]:
        async with _grpc_channel(port) as ch:
            add = ch.unary_unary(_METHOD)
            for i in range(WARM):
                await add(_I32.pack(-1 - i, 0))
            meter = Meter()
            tell(peer, "armed")
            tasks = [asyncio.ensure_future(add(_I32.pack(i, 2 * i))) for i in range(n)]
            await asyncio.to_thread(expect, peer, "PARKED")
            heap, resident = meter.per_call(n)
            t0 = time.perf_counter()
            tell(peer, "complete")
            replies = await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - t0
            return heap, resident, elapsed, sum(struct.unpack("<i", r)[0] == 3 * i
                                                for i, r in enumerate(replies))
    try:
        heap, resident, elapsed, ok = asyncio.run(main())
    finally:
        if peer.stdin:
            peer.stdin.close()
        peer.wait(10)
    return {"row": "grpc.aio client (a Task per call)", "heap": heap, "rss": resident,
            "rate": n / elapsed, "ok": ok == n}


# ============================================================================ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.role == "ours-client":
        return ours_client_role(opts.rest[0], int(opts.rest[1]))
    if opts.role == "ours-server":
        return ours_server_role(int(opts.rest[0]))
    if opts.role == "grpc-client":
        return grpc_client_role(opts.rest[0], int(opts.rest[1]))
    if opts.role == "grpc-server":
        return grpc_server_role(int(opts.rest[0]))

    n = opts.calls
    rows = [ours_server_side(n), ours_client_side(n, "faithful"),
            ours_client_side(n, "asyncio")]
    try:
        import grpc.aio  # noqa: F401
    except ImportError:
        note = "grpcio is not importable: dcerpc rows only"
    else:
        note = f"grpcio {sys.modules['grpc'].__version__}"
        try:
            rows += [grpc_server_side(n), grpc_client_side(n)]
        except Exception as exc:  # a report: say what failed and keep our rows
            note += f" (grpc rows failed: {exc!r})"
    if opts.json:
        print(json.dumps({"calls": n, "note": note, "rows": rows}, indent=2))
        return
    print(f"{n:,} pending calls on one connection; {note}; Python {sys.version.split()[0]}")
    print()
    print("| side | heap B/call (tracemalloc) | RSS B/call | completions/s | all right |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['row']} | {r['heap']:,.0f} | {r['rss']:,.0f} | {r['rate']:,.0f} "
              f"| {'yes' if r['ok'] else 'NO'} |")


if __name__ == "__main__":
    main()
