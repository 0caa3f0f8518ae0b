"""Seed-semantics §9.1, T7-T15: calls on real handles against the §8 server — order of
dispatch, polling, collecting the reply once, out containers, server abort, synchronous calls
while async calls are pending, and no notification when the invocation itself raised."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from seedlib import (
    BOUND,
    BOUND_MS,
    GRACE,
    GRACE_MS,
    AsyncFunc,
    SyncEcho,
    final,
    new_state,
    stays_false,
    wait_until,
)

from dcerpc.errors import RpcError
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_INVALID_ASYNC_CALL,
    RPC_S_OK,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    WM_APP,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    GetQueuedCompletionStatus,
    PeekMessage,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcCallComplete,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
    RpcNotificationTypeNone,
    SleepEx,
    WaitForSingleObject,
)


class Ref:
    """An out container, as ``long *`` is in C."""

    def __init__(self, value: Any) -> None:
        self.value = value


SENTINEL = object()


def test_t07_three_handles_dispatch_in_order_and_complete_in_any_order(
        binding: Any, server: Any) -> None:
    """T7 (F3, F12)."""
    states = [new_state() for _ in range(3)]
    for n, Async in enumerate(states, 1):
        AsyncFunc(Async, binding, n)
    assert server.wait_calls(3)
    assert [d.n for d in sorted(server.calls, key=lambda d: d.seq)] == [1, 2, 3]
    by_n = {d.n: i for i, d in enumerate(server.calls)}
    for n in (3, 1, 2):
        assert server.complete(by_n[n], 100 + n, (n,)) == RPC_S_OK
    for n, Async in enumerate(states, 1):
        assert wait_until(lambda a=Async: final(a), BOUND)
        status, reply = RpcAsyncCompleteCall(Async, None)
        assert status == RPC_S_OK and (reply.return_value, reply.r) == (100 + n, n)


def test_t08_polling_says_pending_until_the_server_completes(binding: Any, server: Any) -> None:
    """T8 (F8)."""
    Async = new_state()
    AsyncFunc(Async, binding, 8)
    assert server.wait_calls(1)
    for _ in range(20):
        assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    server.complete(0, 0, (8,))
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_OK


def test_t09_complete_call_is_pending_then_returns_the_reply(binding: Any, server: Any) -> None:
    """T9 (F9): 997 and ``r`` unchanged while pending; then 0, ret 7 and out 42."""
    Async = new_state()
    r = Ref(SENTINEL)
    AsyncFunc(Async, binding, 9)
    assert server.wait_calls(1)
    assert RpcAsyncCompleteCall(Async, r) == (RPC_S_ASYNC_CALL_PENDING, None)
    assert r.value is SENTINEL
    assert server.complete(0, 7, (42,)) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    status, reply = RpcAsyncCompleteCall(Async, r)
    assert status == RPC_S_OK and r.value is reply
    assert (r.value.return_value, r.value.r) == (7, 42)


def test_t10_out_containers_keep_their_sentinels_after_a_failed_completion(
        binding: Any, server: Any) -> None:
    """T10 (F5, F9) [D]: written only on RPC_S_OK."""
    Async = new_state()
    r = Ref(SENTINEL)
    AsyncFunc(Async, binding, 10)
    assert server.wait_calls(1)
    assert server.abort(0, 0x1234) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    assert r.value is SENTINEL
    assert RpcAsyncCompleteCall(Async, r) == (0x1234, None)
    assert r.value is SENTINEL


def test_t11_a_server_abort_is_the_status_and_writes_no_outs(binding: Any, server: Any) -> None:
    """T11 (F8, F9, F27)."""
    Async = new_state()
    r = Ref(SENTINEL)
    AsyncFunc(Async, binding, 11)
    assert server.wait_calls(1)
    server.abort(0, 0x1234)
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncGetCallStatus(Async) not in (RPC_S_ASYNC_CALL_PENDING, RPC_S_OK)
    assert RpcAsyncCompleteCall(Async, r) == (0x1234, None)
    assert r.value is SENTINEL


def test_t12_a_second_complete_call_fails_and_notifies_nothing(binding: Any, server: Any) -> None:
    """T12 (F9) [D 1915]."""
    Async = new_state(RpcNotificationTypeEvent)
    Async.u.hEvent = ev = CreateEvent(None, False, False, None)
    AsyncFunc(Async, binding, 12)
    assert server.wait_calls(1)
    server.complete(0, 12, (12,))
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK
    status, reply = RpcAsyncCompleteCall(Async, None)
    assert status == RPC_S_INVALID_ASYNC_CALL and reply is None
    assert WaitForSingleObject(ev, GRACE_MS) == WAIT_TIMEOUT


def test_t13_a_sync_call_completes_while_an_async_call_is_held(
        binding: Any, server: Any) -> None:
    """T13 (F7)."""
    Async = new_state()
    AsyncFunc(Async, binding, 13)
    assert server.wait_calls(1)
    assert SyncEcho(binding, "x").echo == "x"
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    server.complete(0, 13, (13,))
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK


KINDS = {
    "none": RpcNotificationTypeNone,
    "event": RpcNotificationTypeEvent,
    "apc": RpcNotificationTypeApc,
    "iocp": RpcNotificationTypeIoc,
    "hwnd": RpcNotificationTypeHwnd,
    "callback": RpcNotificationTypeCallback,
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_t14_no_notification_when_the_invocation_raises(
        kind: str, binding: Any, server: Any) -> None:
    """T14 (F6, F11): a request that cannot be marshalled fails inside the stub (the forced
    synchronous failure); within GRACE nothing is signalled, queued, posted or called."""
    ran: list[Any] = []
    Async = new_state(KINDS[kind])
    Async.u.hEvent = ev = CreateEvent(None, True, False, None)
    Async.u.APC.NotificationRoutine = lambda *a: ran.append(a)
    Async.u.IOC.hIOPort = port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    Async.u.IOC.dwCompletionKey = 14
    Async.u.HWND.hWnd = hwnd = CreateWindow()
    Async.u.HWND.Msg = WM_APP + 1
    Async.u.NotificationRoutine = lambda *a: ran.append(a)
    with pytest.raises(RpcError) as info:
        AsyncFunc(Async, binding, "not a long")
    assert info.value.status not in (RPC_S_OK, RPC_S_ASYNC_CALL_PENDING)
    assert WaitForSingleObject(ev, GRACE_MS) == WAIT_TIMEOUT
    assert SleepEx(0, True) == 0 and ran == []
    assert GetQueuedCompletionStatus(port, 0)[0] is False
    assert PeekMessage(hwnd) is None
    assert stays_false(lambda: bool(ran), GRACE / 4)
    assert not server.calls  # nothing reached the server
    port.close()
    hwnd.destroy()


def test_t15_an_auto_reset_event_is_signalled_once(binding: Any, server: Any) -> None:
    """T15 (F11, F18)."""
    Async = new_state(RpcNotificationTypeEvent)
    Async.u.hEvent = ev = CreateEvent(None, False, False, None)
    AsyncFunc(Async, binding, 15)
    assert server.wait_calls(1)
    done = threading.Thread(target=server.complete, args=(0, 15, (15,)))
    done.start()
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    assert Async.Event == RpcCallComplete
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK
    done.join(BOUND)
