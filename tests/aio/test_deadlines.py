"""Per-call deadlines: non-abortive cancel at the deadline, abortive ``cancel_timeout``
later (seed-semantics §5.1 "timeout pattern").  Real loopback TCP; bounded waits only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from svc import GATE_BOUND, WAIT_FOR_CANCEL, GatedImpl, run, svc

import dcerpc
from dcerpc.aio._opcall import RpcCall
from dcerpc.errors import CallCancelled
from dcerpc.status import RPC_S_CALL_CANCELLED


@pytest.fixture
def served() -> Iterator[tuple[GatedImpl, str]]:
    impl = GatedImpl()
    server = dcerpc.Server()
    server.register(svc.TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    try:
        yield impl, str(bindings[0])
    finally:
        impl.gate.set()
        server.stop_background(2.0)


def test_deadline_sends_a_non_abortive_cancel_first(served: Any) -> None:
    impl, binding = served
    with dcerpc.connect(binding, svc.TestSvc) as c:
        call = c.Block.start(WAIT_FOR_CANCEL, deadline=0.05, cancel_timeout=GATE_BOUND)
        # The manager saw test_cancel() and answered: its answer is the outcome.
        assert call.result(GATE_BOUND) == 77
        assert impl.saw_cancel == [True]


def test_deadline_escalates_to_abortive_after_the_cancel_timeout(served: Any) -> None:
    impl, binding = served
    with dcerpc.connect(binding, svc.TestSvc) as c:
        call = c.Block.start(1000 * int(GATE_BOUND), deadline=0.05, cancel_timeout=0.05)
        with pytest.raises(CallCancelled) as info:
            call.result(GATE_BOUND)
        assert info.value.status == RPC_S_CALL_CANCELLED
        assert call.cancelled()
        assert impl.entered.wait(GATE_BOUND)
        # The first stage's co_cancel reaches the server (it may trail the local end).
        assert impl.calls[-1].cancelled.wait_sync(GATE_BOUND)
        impl.gate.set()
        assert impl.returned.wait(GATE_BOUND)
        assert impl.saw_cancel == [True]  # the first stage reached the server
        assert c.Add(1, 2) == 3  # the binding carries on


def test_per_proxy_deadline_applies_to_blocking_calls(served: Any) -> None:
    impl, binding = served
    with dcerpc.connect(binding, svc.TestSvc, deadline=0.05, cancel_timeout=0.05) as c:
        assert c.Add(2, 3) == 5  # a quick call is unaffected
        with pytest.raises(CallCancelled):
            c.Block(1000 * int(GATE_BOUND))
        assert impl.entered.wait(GATE_BOUND)
        assert impl.calls[-1].cancelled.wait_sync(GATE_BOUND)
        impl.gate.set()
        assert impl.returned.wait(GATE_BOUND)
        assert impl.saw_cancel == [True]


def test_a_call_done_before_its_deadline_is_untouched(served: Any) -> None:
    _impl, binding = served
    with dcerpc.connect(binding, svc.TestSvc) as c:
        call = c.Add.start(20, 22, deadline=GATE_BOUND)
        assert call.result(GATE_BOUND) == 42
        assert not call.cancel()  # already done


def test_bad_deadlines_are_refused(served: Any) -> None:
    _impl, binding = served
    with pytest.raises(ValueError):
        dcerpc.connect(binding, svc.TestSvc, deadline=-1)
    with dcerpc.connect(binding, svc.TestSvc) as c:
        with pytest.raises(ValueError):
            c.Add.start(1, 2, deadline=float("nan"))
        with pytest.raises(ValueError):
            c.Add.start(1, 2, cancel_timeout=-0.5)


def test_deadline_on_the_asyncio_face(served: Any) -> None:
    impl, binding = served

    async def main() -> None:
        async with dcerpc.aio.connect(binding, svc.TestSvc) as proxy:
            op = svc.TestSvc.operation("Block")
            call = RpcCall.begin(proxy, op, (WAIT_FOR_CANCEL,), asyncio.get_running_loop(),
                                 deadline=0.05, cancel_timeout=GATE_BOUND)
            assert await call == 77
            # The same through the proxy method's start().
            assert await proxy.Block.start(WAIT_FOR_CANCEL, deadline=0.05,
                                           cancel_timeout=GATE_BOUND) == 77

    run(main())
    assert impl.saw_cancel == [True, True]


def test_per_proxy_deadline_on_the_asyncio_face(served: Any) -> None:
    """``dcerpc.aio.connect(..., deadline=)``: an awaited call is cancelled at the
    deadline, abortively after ``cancel_timeout`` when the server ignores it."""
    impl, binding = served

    async def main() -> None:
        async with dcerpc.aio.connect(binding, svc.TestSvc, deadline=0.05,
                                      cancel_timeout=0.05) as proxy:
            assert await proxy.Add(20, 22) == 42  # done before its deadline
            with pytest.raises(CallCancelled) as info:
                await proxy.Block(1000 * int(GATE_BOUND))
            assert info.value.status == RPC_S_CALL_CANCELLED

    run(main())
    impl.gate.set()
