"""Server-side ``[async]`` managers (seed-semantics F24-F30, F35, §3.2, §9.4): the server
serves TestSvc loaded with async_testsvc.acf (Add, Echo, Double are ``[async]``); the clients
use the plain IDL, since the wire is the same (F24)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from svc import IDL, Impl, await_until, run, svc, wait_until

import dcerpc
import dcerpc.idl
from dcerpc.errors import RpcError
from dcerpc.idl._support import invoke_async
from dcerpc.status import (
    RPC_S_CALL_IN_PROGRESS,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_INVALID_BINDING,
    RPC_S_NO_CALL_ACTIVE,
    RPC_S_OK,
)
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
    RpcAsyncAbortCall,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    RpcServerTestCancel,
)

asvc = dcerpc.idl.load(IDL, acf=Path(__file__).resolve().parent / "async_testsvc.acf")
BOUND = 10.0  # seconds: a broken path fails instead of hanging
ADD = svc.TestSvc.operation("Add")


class AsyncImpl(Impl):
    """Add and Echo hand their pAsync to the test; Double completes inside the routine."""

    def __init__(self) -> None:
        super().__init__()
        self.handles: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.threads: set[str] = set()
        self.in_routine: list[int] = []

    def Add(self, pAsync: Any, a: int, b: int) -> str:  # plain def: a worker thread
        self.threads.add(threading.current_thread().name)
        self.handles.put((pAsync, a, b))
        return "ignored"  # the return value of an [async] manager means nothing

    async def Echo(self, pAsync: Any, text: str) -> None:  # async def: on the loop
        self.handles.put((pAsync, text))

    def Double(self, pAsync: Any, value: int) -> None:  # type: ignore[override]
        if value < 0:
            raise RpcError("fails before the hand-off", 0x4242)  # T34
        # Completing on the dispatch thread ("opportunistically asynchronous", T31).
        self.in_routine.append(RpcAsyncCompleteCall(pAsync, (0, value * 2)))
        self.in_routine.append(RpcAsyncCompleteCall(pAsync, (0, -1)))


def make(**kw: Any) -> tuple[dcerpc.Server, AsyncImpl]:
    server = dcerpc.Server(**kw)
    impl = AsyncImpl()
    server.register(asvc.TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    return server, impl


async def next_handle(impl: AsyncImpl) -> tuple[Any, ...]:
    return await asyncio.to_thread(impl.handles.get, True, BOUND)


def in_thread(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` on a new thread, return its result."""
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    t.join(BOUND)
    return out[0]


def test_complete_from_another_thread_later() -> None:
    async def main() -> None:
        server, impl = make()
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            pending = asyncio.create_task(c.Add(2, 3))
            p, a, b = await next_handle(impl)
            assert (a, b) == (2, 3) and p.RuntimeInfo is RpcAsyncGetCallHandle(p)
            # Outstanding: another call on the same connection gets through meanwhile.
            assert await c.Sum(2, [4, 5]) == (2, 9)
            assert not pending.done() and server.active_calls == 1
            assert await asyncio.to_thread(in_thread, RpcAsyncCompleteCall, p, a + b) == 0
            assert await asyncio.wait_for(pending, BOUND) == 5
            assert RpcAsyncCompleteCall(p, 99) == RPC_S_INVALID_ASYNC_HANDLE  # T33
            assert RpcAsyncAbortCall(p, 5) == RPC_S_INVALID_ASYNC_HANDLE
            assert server.active_calls == 0

            # An async def manager, completed with a sync manager's result shape.
            pending = asyncio.create_task(c.Echo("hello"))
            p, text = await next_handle(impl)
            assert RpcAsyncCompleteCall(p, (0, text.upper())) == RPC_S_OK
            assert await asyncio.wait_for(pending, BOUND) == (0, "HELLO")
    run(main())


def test_abort_faults_the_call_with_the_code() -> None:
    async def main() -> None:
        server, impl = make()
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            pending = asyncio.create_task(c.Add(1, 1))
            p, _a, _b = await next_handle(impl)
            assert RpcAsyncAbortCall(p, 0) == RPC_S_INVALID_ARG  # T36: still outstanding
            assert not pending.done()
            assert await asyncio.to_thread(in_thread, RpcAsyncAbortCall, p, 0x1234) == 0
            with pytest.raises(dcerpc.CallFault) as info:
                await asyncio.wait_for(pending, BOUND)
            assert info.value.status == 0x1234
            assert RpcAsyncAbortCall(p, 0x1234) == RPC_S_INVALID_ASYNC_HANDLE
            assert RpcAsyncCompleteCall(p, 2) == RPC_S_INVALID_ASYNC_HANDLE
            assert await c.Sum(1, [1]) == (1, 1)  # the connection carries on
            assert server.active_calls == 0
    run(main())


def test_complete_inside_the_routine_and_raise_before_hand_off() -> None:
    async def main() -> None:
        server, impl = make()
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            assert await c.Double(21) == (0, 42)  # T31
            # The reply may reach us before the worker thread records what the two
            # completions returned: wait for the routine to finish, then check.
            assert await await_until(lambda: len(impl.in_routine) == 2, BOUND)
            assert impl.in_routine == [RPC_S_OK, RPC_S_INVALID_ASYNC_HANDLE]
            with pytest.raises(dcerpc.CallFault) as info:  # T34
                await c.Double(-1)
            assert info.value.status == 0x4242
            assert server.active_calls == 0
    run(main())


def test_server_test_cancel_before_and_after_a_non_abortive_cancel() -> None:
    assert RpcServerTestCancel(0) == RPC_S_NO_CALL_ACTIVE  # T38
    assert RpcServerTestCancel(object()) == RPC_S_INVALID_BINDING
    server, impl = make()
    bindings = server.start_background()
    h = dcerpc.Binding(str(bindings[0]))
    a = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(a, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    p = None
    try:
        invoke_async(a, h, svc.TestSvc, ADD, (4, 5))
        p, _x, _y = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        assert RpcServerTestCancel(call) == RPC_S_CALL_IN_PROGRESS  # T37
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: RpcServerTestCancel(call) == RPC_S_OK, BOUND)
        assert RpcServerTestCancel(call) == RPC_S_OK  # it only reports: still 0
        assert in_thread(RpcAsyncCompleteCall, p, 9) == RPC_S_OK
        assert wait_until(lambda: RpcAsyncGetCallStatus(a) == RPC_S_OK, BOUND)
        assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 9)  # the server's outcome (F33)
    finally:
        if p is not None:
            RpcAsyncAbortCall(p, 1)
        h.close()
        server.stop_background(2.0)


def test_connection_loss_drops_the_outstanding_call() -> None:
    async def main() -> None:
        server, impl = make()
        async with server:
            c = dcerpc.aio.connect(server.bindings[0], svc.TestSvc)
            pending: asyncio.Task[Any] | None = None
            async with c:
                pending = asyncio.create_task(c.Add(7, 8))
                p, _a, _b = await next_handle(impl)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pending, BOUND)
            assert await await_until(lambda: server.active_calls == 0, BOUND)
            # Dropped: results discarded, RPC_S_OK as after an abortive cancel (F35 [D]).
            assert in_thread(RpcAsyncCompleteCall, p, 15) == RPC_S_OK
            assert RpcAsyncCompleteCall(p, 15) == RPC_S_INVALID_ASYNC_HANDLE
            assert server.active_calls == 0
    run(main())


def test_a_thousand_outstanding_calls_completed_in_random_order_from_four_threads() -> None:
    n = 1000

    async def main() -> None:
        # Two workers for a thousand outstanding calls: none holds a thread.
        server, impl = make(workers=2, max_calls=2 * n)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            finished: list[int] = []

            async def one(i: int) -> int:
                result = await c.Add(i, 3 * i)
                finished.append(i)
                return result

            tasks = [asyncio.create_task(one(i)) for i in range(n)]
            assert await await_until(lambda: impl.handles.qsize() == n, 30.0)
            assert server.active_calls == n and not any(t.done() for t in tasks)
            handles = [impl.handles.get_nowait() for _ in range(n)]
            random.Random(1914).shuffle(handles)
            statuses: list[int] = []
            lock = threading.Lock()

            def complete(part: list[tuple[Any, ...]]) -> None:
                for p, a, b in part:
                    status = RpcAsyncCompleteCall(p, a + b)
                    with lock:
                        statuses.append(status)

            threads = [threading.Thread(target=complete, args=(handles[k::4],))
                       for k in range(4)]
            for t in threads:
                t.start()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 30.0)
            for t in threads:
                t.join(BOUND)
            assert statuses == [RPC_S_OK] * n
            assert results == [4 * i for i in range(n)]
            assert sorted(finished) == list(range(n))  # each exactly once
            assert server.active_calls == 0
            assert len(impl.threads) <= 2
    run(main())


def test_connection_loss_after_a_non_abortive_cancel_drops_the_call() -> None:
    server, impl = make()
    bindings = server.start_background()
    h = dcerpc.Binding(str(bindings[0]))
    a = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(a, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    try:
        invoke_async(a, h, svc.TestSvc, ADD, (1, 2))
        p, _x, _y = impl.handles.get(True, BOUND)
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: RpcServerTestCancel(RpcAsyncGetCallHandle(p)) == 0, BOUND)
        h.close()
        assert wait_until(lambda: server.active_calls == 0, BOUND)
        assert RpcAsyncCompleteCall(p, 3) == RPC_S_OK  # discarded (F35 [D])
        assert RpcAsyncCompleteCall(p, 3) == RPC_S_INVALID_ASYNC_HANDLE
    finally:
        h.close()
        server.stop_background(2.0)
