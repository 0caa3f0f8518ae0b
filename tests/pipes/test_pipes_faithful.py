"""Seed-semantics §9.6 (T45-T49): async pipes on the faithful face, over loopback TCP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pipesvc import SPEC, mod

import dcerpc
from dcerpc import status as st
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    RPC_PIPE,
    CreateEvent,
    RpcAsyncCompleteCall,
    RpcAsyncInitializeHandle,
    SleepEx,
    WaitForSingleObject,
    sizeof,
)
from dcerpc.win32._async import (
    RPC_C_NOTIFY_ON_SEND_COMPLETE,
    RpcCallComplete,
    RpcNotificationTypeApc,
    RpcNotificationTypeEvent,
    RpcReceiveComplete,
    RpcSendComplete,
)

TIMEOUT = 10_000  # ms


class FaithfulImpl:
    """[async] managers (plain def: they return at once, a thread serves the call) that
    use the faithful pull/push on their pipes."""

    def __init__(self) -> None:
        self.pulled: list[int] = []
        self.early: int | None = None
        self.order: int | None = None
        self.range_gate = threading.Event()
        self.threads: list[threading.Thread] = []

    def _spawn(self, fn: Any, *args: Any) -> None:
        th = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(th)
        th.start()

    @staticmethod
    def _event_pipe(pAsync: Any, pipe: Any) -> tuple[RPC_PIPE, Any]:
        ev = CreateEvent(None, False, False, None)
        pAsync.NotificationType = RpcNotificationTypeEvent
        pAsync.u.hEvent = ev
        return RPC_PIPE.wrap(pipe, pAsync), ev

    @staticmethod
    def _pull_all(p: RPC_PIPE, ev: Any, out: list[int]) -> int:
        buf = [0] * 2
        while True:
            status, n = p.pull(p.state, buf, 2)
            if status == st.RPC_S_ASYNC_CALL_PENDING:
                WaitForSingleObject(ev, TIMEOUT)
                continue
            if status != st.RPC_S_OK or n == 0:
                return status
            out.extend(buf[:n])

    def Sum(self, pAsync: Any, tag: int, inp: Any) -> None:
        def serve() -> None:
            p, ev = self._event_pipe(pAsync, inp)
            self.early = RpcAsyncCompleteCall(pAsync, (0, 0))  # T48: not drained yet
            status = self._pull_all(p, ev, self.pulled)
            assert status == st.RPC_S_OK
            RpcAsyncCompleteCall(pAsync, (sum(self.pulled) + tag, len(self.pulled)))
        self._spawn(serve)

    def Range(self, pAsync: Any, start: int, n: int, outp: Any) -> None:
        def serve() -> None:
            p = RPC_PIPE.wrap(outp, pAsync)
            self.range_gate.wait(10)  # T46: the client pulls before anything was pushed
            p.push(p.state, list(range(start, start + n)), n)
            p.push(p.state, None, 0)
            RpcAsyncCompleteCall(pAsync, n)
        self._spawn(serve)

    def Two(self, pAsync: Any, a: Any, b: Any) -> None:
        def serve() -> None:
            pa, ev = self._event_pipe(pAsync, a)
            pb = RPC_PIPE.wrap(b, pAsync)
            self.order = pb.pull(pb.state, [0], 1)[0]  # T49: b before a is drained
            got: list[int] = []
            self._pull_all(pa, ev, got)
            self._pull_all(pb, ev, got)
            RpcAsyncCompleteCall(pAsync, (0, got[0]))
        self._spawn(serve)


@pytest.fixture()
def served() -> Any:
    impl = FaithfulImpl()
    server = dcerpc.Server()
    server.register(SPEC, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.start_background()
    binding = dcerpc.Binding(str(server.bindings[0]))
    try:
        yield impl, binding
    finally:
        impl.range_gate.set()
        binding.close()
        server.stop_background()


def _apc_state(events: list[int], flags: int = 0) -> RPC_ASYNC_STATE:
    Async = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == st.RPC_S_OK
    Async.Flags = flags
    Async.NotificationType = RpcNotificationTypeApc
    Async.u.APC.NotificationRoutine = lambda pAsync, ctx, event: events.append(event)
    Async.u.APC.hThread = None  # the calling thread
    return Async


def _wait_complete(events: list[int]) -> None:
    for _ in range(1000):
        if RpcCallComplete in events:
            return
        SleepEx(100, True)
    raise AssertionError("the call never completed")


def test_T45_push_chunks_then_zero_server_pulls_in_order(served: Any) -> None:
    impl, binding = served
    events: list[int] = []
    Async = _apc_state(events)
    inp = RPC_PIPE()
    mod.Sum(Async, binding, 5, inp)
    assert inp.push(inp.state, [1, 2], 2) == st.RPC_S_OK
    assert inp.push(inp.state, [3, 99], 1) == st.RPC_S_OK  # count limits the elements
    assert inp.push(inp.state, None, 0) == st.RPC_S_OK  # ends the pipe
    _wait_complete(events)
    status, reply = RpcAsyncCompleteCall(Async)
    assert status == 0
    assert tuple(reply) == (11, 3)
    assert impl.pulled == [1, 2, 3]
    # T48 [D]: the server completing before its [in] pipe was drained was refused
    assert impl.early == st.RPC_X_PIPE_DISCIPLINE_ERROR


def test_T46_pull_before_push_is_pending_then_receive_complete(served: Any) -> None:
    impl, binding = served
    events: list[int] = []
    Async = _apc_state(events)
    outp = RPC_PIPE()
    mod.Range(Async, binding, 10, 3, outp)
    buf = [0] * 8
    for _ in range(100):  # the server has not pushed: 997
        status, n = outp.pull(outp.state, buf, 8)
        if status == st.RPC_S_ASYNC_CALL_PENDING:
            break
    assert (status, n) == (st.RPC_S_ASYNC_CALL_PENDING, 0)
    impl.range_gate.set()
    while RpcReceiveComplete not in events:
        assert SleepEx(TIMEOUT, True) != 0, "no RpcReceiveComplete APC"
    got: list[int] = []
    while True:
        status, n = outp.pull(outp.state, buf, 8)
        if status == st.RPC_S_ASYNC_CALL_PENDING:
            SleepEx(100, True)
            continue
        assert status == st.RPC_S_OK
        if n == 0:  # ecount 0: the end
            break
        got.extend(buf[:n])
    assert got == [10, 11, 12]
    _wait_complete(events)
    assert RpcAsyncCompleteCall(Async) == (0, 3)


def test_T47_send_complete_apcs_between_1_and_n(served: Any) -> None:
    _impl, binding = served
    events: list[int] = []
    Async = _apc_state(events, RPC_C_NOTIFY_ON_SEND_COMPLETE)
    inp = RPC_PIPE()
    mod.Sum(Async, binding, 0, inp)
    n = 5
    for k in range(n):
        assert inp.push(inp.state, [k], 1) == st.RPC_S_OK
    assert inp.push(inp.state, None, 0) == st.RPC_S_OK
    _wait_complete(events)
    while SleepEx(50, True) != 0:  # let any APC still queued run
        pass
    sends = events.count(RpcSendComplete)
    assert 1 <= sends <= n + 1
    assert RpcAsyncCompleteCall(Async)[0] == 0


def test_T49_wrong_order_is_1831_on_both_sides(served: Any) -> None:
    impl, binding = served
    events: list[int] = []
    Async = _apc_state(events)
    a, b = RPC_PIPE(), RPC_PIPE()
    mod.Two(Async, binding, a, b)
    assert b.push(b.state, [5], 1) == st.RPC_X_WRONG_PIPE_ORDER  # a is still open
    assert a.push(a.state, [7, 8], 2) == 0
    assert a.push(a.state, None, 0) == 0
    assert b.push(b.state, [5], 1) == 0
    assert b.push(b.state, None, 0) == 0
    _wait_complete(events)
    status, reply = RpcAsyncCompleteCall(Async)
    assert status == 0 and tuple(reply) == (0, 7)
    assert impl.order == st.RPC_X_WRONG_PIPE_ORDER
