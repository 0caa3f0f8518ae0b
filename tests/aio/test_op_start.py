"""``proxy.Op.start(...)``: the future-like call object, threaded and asyncio faces, against
a server on 127.0.0.1 whose ``Block`` manager waits on a gate (or for the client's cancel)
so a call stays pending until the test releases it.  Every wait is bounded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from svc import WAIT_FOR_CANCEL, GatedImpl, run, svc, wait_until

import dcerpc
from dcerpc.status import RPC_S_ACCESS_DENIED, RPC_S_CALL_CANCELLED

BOUND = 10.0  # seconds: a broken path fails instead of hanging


@pytest.fixture
def served() -> Iterator[tuple[GatedImpl, dcerpc.SyncProxy]]:
    server = dcerpc.Server()
    impl = GatedImpl()
    server.register(svc.TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    proxy = dcerpc.connect(str(bindings[0]), svc.TestSvc)
    try:
        yield impl, proxy
    finally:
        impl.gate.set()
        proxy.close()
        server.stop_background(2.0)


def test_result_done_and_callback_exactly_once(served: Any) -> None:
    impl, proxy = served
    seen: list[tuple[Any, threading.Thread]] = []
    call = proxy.Block.start(5)
    assert isinstance(call, dcerpc.RpcCall)
    call.add_done_callback(lambda c: seen.append((c, threading.current_thread())))
    try:
        assert impl.entered.wait(BOUND)
        assert not call.done()
        with pytest.raises(TimeoutError):
            call.result(timeout=0.05)  # only the wait ends: the call keeps running
        assert not call.done() and seen == []
    finally:
        impl.gate.set()
    assert call.result(BOUND) == 5
    assert call.done() and call.exception(0) is None and not call.cancelled()
    assert wait_until(lambda: len(seen) == 1, BOUND)
    assert seen[0][0] is call and seen[0][1] is not threading.current_thread()
    late: list[Any] = []
    call.add_done_callback(late.append)  # already done: runs at once, here
    assert late == [call]
    assert call.cancel() is False  # nothing left to cancel
    assert len(seen) == 1


def test_failing_callback_is_logged_and_others_still_run(served: Any,
                                                         caplog: Any) -> None:
    _impl, proxy = served
    seen: list[Any] = []

    def bad(_c: Any) -> None:
        raise ValueError("callback bug")

    call = proxy.Add.start(2, 3)
    call.add_done_callback(bad)
    call.add_done_callback(seen.append)
    assert call.result(BOUND) == 5
    assert wait_until(lambda: seen == [call], BOUND)
    assert "call done callback failed" in caplog.text


def test_fault_is_raised_from_result(served: Any) -> None:
    _impl, proxy = served
    call = proxy.Fail.start(1)
    with pytest.raises(dcerpc.CallFault) as info:
        call.result(BOUND)
    assert info.value.status == RPC_S_ACCESS_DENIED
    assert isinstance(call.exception(0), dcerpc.CallFault)
    assert proxy.Add(1, 1) == 2  # the connection is still good


def test_abortive_cancel_ends_the_call_while_the_server_is_blocked(served: Any) -> None:
    impl, proxy = served
    seen: list[Any] = []
    call = proxy.Block.start(9)
    call.add_done_callback(seen.append)
    try:
        assert impl.entered.wait(BOUND)
        assert call.cancel(abortive=True) is True
        with pytest.raises(dcerpc.CallCancelled) as info:
            call.result(BOUND)
        assert info.value.status == RPC_S_CALL_CANCELLED == 1818
        assert call.cancelled() and not impl.returned.is_set()  # the server still blocks
        # the orphaned PDU reaches the manager as a cancel
        assert wait_until(lambda: impl.calls[0].test_cancel(), BOUND)
    finally:
        impl.gate.set()
    assert impl.returned.wait(BOUND)
    assert impl.saw_cancel == [True]
    assert wait_until(lambda: seen == [call], BOUND)
    assert proxy.Add(2, 2) == 4


def test_non_abortive_cancel_returns_the_servers_outcome(served: Any) -> None:
    impl, proxy = served
    call = proxy.Block.start(WAIT_FOR_CANCEL)
    assert impl.entered.wait(BOUND)
    assert not call.done()
    assert call.cancel() is True
    assert call.result(BOUND) == 77  # the server's answer, not CallCancelled
    assert impl.saw_cancel == [True]
    assert not call.cancelled()


def test_marshalling_errors_raise_from_start(served: Any) -> None:
    _impl, proxy = served
    with pytest.raises((dcerpc.NdrError, TypeError, ValueError)):
        proxy.Add.start("not an int", 1)


def test_aio_start_is_awaitable_and_future_like() -> None:
    async def main() -> None:
        server = dcerpc.Server()
        impl = GatedImpl()
        server.register(svc.TestSvc, impl)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            assert await c.Add.start(20, 22) == 42
            call = c.Fail.start(1)
            with pytest.raises(dcerpc.CallFault):
                await call
            assert call.done() and isinstance(call.exception(0), dcerpc.CallFault)

            call = c.Block.start(WAIT_FOR_CANCEL)
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, impl.entered.wait, BOUND)
            task = asyncio.ensure_future(_await(call))
            await asyncio.sleep(0)
            task.cancel()  # the documented policy: co_cancel, then CancelledError
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await _await(call) == 77  # the server saw the cancel and answered
            assert impl.saw_cancel == [True]

    run(main())


def test_aio_task_cancel_of_a_plain_await_sends_a_non_abortive_cancel() -> None:
    async def main() -> None:
        server = dcerpc.Server()
        impl = GatedImpl()
        server.register(svc.TestSvc, impl)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            task = asyncio.ensure_future(c.Block(WAIT_FOR_CANCEL))
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, impl.entered.wait, BOUND)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await loop.run_in_executor(None, impl.returned.wait, BOUND)
            assert impl.saw_cancel == [True]
            assert await c.Add(2, 2) == 4

    run(main())


async def _await(call: dcerpc.RpcCall) -> Any:
    return await call
