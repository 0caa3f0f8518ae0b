"""Stress (issue 4, Acceptance): 10,000 async calls outstanding at once from one client
against server ``[async]`` managers that park every call; once all are parked they are
completed in random order from four threads, some aborted.  Every handle must be notified
exactly once with the right outcome, and the server must hold no thread per call.

Two clients: the faithful one (``RPC_ASYNC_STATE`` + callback or event notification, the
generated ``Add(Async, hBinding, a, b)`` on a :class:`dcerpc.Binding`) and the asyncio
proxy.  No timing assertion: a path that stalls fails on the bounds below instead.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from svc import IDL, Impl, run, svc, wait_until

import dcerpc
import dcerpc.idl
from dcerpc.status import RPC_S_OK, WAIT_OBJECT_0, WAIT_TIMEOUT
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    CreateEvent,
    RpcAsyncAbortCall,
    RpcAsyncCompleteCall,
    RpcAsyncInitializeHandle,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    WaitForSingleObject,
    sizeof,
)

asvc = dcerpc.idl.load(IDL, acf=Path(__file__).resolve().parent / "async_testsvc.acf")
N = 10_000
BOUND = 60.0  # seconds: only a stall can hit it
THREADS = 4


def aborted(i: int) -> bool:
    """Every seventh call is aborted with code 0x2000 + i instead of completed."""
    return i % 7 == 3


class Parking(Impl):
    """``Add`` parks its pAsync; nothing else happens on the dispatch path."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.parked: list[tuple[Any, int, int]] = []
        self.expected = expected
        self.all_parked = threading.Event()
        self.threads: set[int] = set()

    async def Add(self, pAsync: Any, a: int, b: int) -> None:  # type: ignore[override]
        self.threads.add(threading.get_ident())
        self.parked.append((pAsync, a, b))
        if len(self.parked) == self.expected:
            self.all_parked.set()


def complete_from_threads(parked: list[tuple[Any, int, int]], seed: int) -> list[int]:
    """Complete (or abort) every parked call in random order from THREADS threads;
    returns every status RpcAsyncCompleteCall / RpcAsyncAbortCall gave."""
    order = list(parked)
    random.Random(seed).shuffle(order)
    statuses: list[int] = []
    lock = threading.Lock()

    def work(part: list[tuple[Any, int, int]]) -> None:
        out = []
        for p, a, b in part:
            if aborted(a):
                out.append(RpcAsyncAbortCall(p, 0x2000 + a))
            else:
                out.append(RpcAsyncCompleteCall(p, a + b))
        with lock:
            statuses.extend(out)

    threads = [threading.Thread(target=work, args=(order[k::THREADS],))
               for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND)
    return statuses


@pytest.fixture
def parking() -> Iterator[tuple[dcerpc.Server, Parking]]:
    # One worker thread for 10,000 outstanding calls: none holds a thread.
    server = dcerpc.Server(max_calls=N + 16, workers=1)
    impl = Parking(N)
    server.register(asvc.TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.start_background()
    try:
        yield server, impl
    finally:
        server.stop_background(2.0)


def test_ten_thousand_faithful_async_handles_each_notified_once(parking: Any) -> None:
    server, impl = parking
    counts = [0] * N
    lock = threading.Lock()
    done = threading.Semaphore(0)

    def routine(Async: Any, _context: Any, _event: int) -> None:
        with lock:
            counts[Async.UserInfo] += 1
        done.release()

    states: list[RPC_ASYNC_STATE] = []
    events: dict[int, Any] = {}
    h = dcerpc.Binding(server.bindings[0])
    try:
        for i in range(N):
            Async = RPC_ASYNC_STATE()
            assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == RPC_S_OK
            Async.UserInfo = i
            if i % 10 == 0:  # one handle in ten uses an event instead
                Async.NotificationType = RpcNotificationTypeEvent
                Async.u.hEvent = events[i] = CreateEvent(None, False, False, None)
            else:
                Async.NotificationType = RpcNotificationTypeCallback
                Async.u.NotificationRoutine = routine
            asvc.Add(Async, h, i, 2 * i)
            states.append(Async)
        assert impl.all_parked.wait(BOUND)
        assert server.active_calls == N and len(impl.parked) == N
        assert sum(counts) == 0  # all outstanding, none notified

        statuses = complete_from_threads(impl.parked, 1914)
        assert statuses == [RPC_S_OK] * N

        for _ in range(N - len(events)):
            assert done.acquire(timeout=BOUND)
        for i, ev in events.items():
            assert WaitForSingleObject(ev, int(BOUND * 1000)) == WAIT_OBJECT_0, i
        assert wait_until(lambda: server.active_calls == 0, BOUND)
        for i, Async in enumerate(states):
            status, reply = RpcAsyncCompleteCall(Async)
            if aborted(i):
                assert (status, reply) == (0x2000 + i, None)
            else:
                assert (status, reply) == (RPC_S_OK, 3 * i)
        # Exactly once: no callback twice, no event signalled again.
        assert counts == [0 if i in events else 1 for i in range(N)]
        assert all(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT for ev in events.values())
        assert len(impl.threads) == 1  # every manager ran on the server's loop
    finally:
        h.close()


def test_ten_thousand_asyncio_calls_each_finished_once(parking: Any) -> None:
    server, impl = parking

    async def main() -> None:
        async with dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            finished = [0] * N

            async def one(i: int) -> Any:
                try:
                    return await c.Add(i, 2 * i)
                except dcerpc.CallFault as exc:
                    return ("fault", exc.status)
                finally:
                    finished[i] += 1

            tasks = [asyncio.create_task(one(i)) for i in range(N)]
            assert await asyncio.to_thread(impl.all_parked.wait, BOUND)
            assert not any(t.done() for t in tasks)
            statuses = await asyncio.to_thread(complete_from_threads, impl.parked, 4242)
            assert statuses == [RPC_S_OK] * N
            results = await asyncio.wait_for(asyncio.gather(*tasks), BOUND)
            assert results == [("fault", 0x2000 + i) if aborted(i) else 3 * i
                               for i in range(N)]
            assert finished == [1] * N
        assert wait_until(lambda: server.active_calls == 0, BOUND)

    run(main())
