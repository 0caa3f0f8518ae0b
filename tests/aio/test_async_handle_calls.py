"""RPC_ASYNC_STATE wired to real calls: ``Binding._rpc_invoke_async`` against a server on
127.0.0.1 (seed-semantics §2.A/§2.B, §3.1, §4, §5.1).  The manager blocks on a gate so the
call stays pending until the test opens it; every wait is bounded and the gate is always
opened in ``finally``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from svc import WAIT_FOR_CANCEL, GatedImpl, svc, wait_until

import dcerpc
from dcerpc.errors import RpcError
from dcerpc.idl._support import invoke_async
from dcerpc.status import (
    RPC_S_ACCESS_DENIED,
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_INVALID_ASYNC_CALL,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_OK,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    CreateEvent,
    CreateIoCompletionPort,
    GetQueuedCompletionStatus,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeIoc,
    SleepEx,
    WaitForSingleObject,
)
from dcerpc.win32._kernel import pending_apcs

BOUND = 10.0  # seconds: a broken path fails instead of hanging
BOUND_MS = 10_000
TestSvc = svc.TestSvc
BLOCK = TestSvc.operation("Block")
FAIL = TestSvc.operation("Fail")


@pytest.fixture
def served() -> Iterator[tuple[GatedImpl, dcerpc.Binding]]:
    server = dcerpc.Server()
    impl = GatedImpl()
    server.register(TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    h = dcerpc.Binding(str(bindings[0]))
    try:
        yield impl, h
    finally:
        impl.gate.set()
        h.close()
        server.stop_background(2.0)


def new_state(kind: int = 0) -> RPC_ASYNC_STATE:
    a = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(a, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    a.NotificationType = kind
    return a


def finished(a: RPC_ASYNC_STATE) -> bool:
    return RpcAsyncGetCallStatus(a) != RPC_S_ASYNC_CALL_PENDING


def test_polling_returns_pending_until_the_server_replies(served: Any) -> None:
    impl, h = served
    a = new_state()
    try:
        assert invoke_async(a, h, TestSvc, BLOCK, (5,)) is None  # returns at once
        assert impl.entered.wait(BOUND)
        assert RpcAsyncGetCallStatus(a) == RPC_S_ASYNC_CALL_PENDING
        assert RpcAsyncCompleteCall(a) == (RPC_S_ASYNC_CALL_PENDING, None)
    finally:
        impl.gate.set()
    assert wait_until(lambda: finished(a), BOUND)
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 5)
    assert RpcAsyncCompleteCall(a) == (RPC_S_INVALID_ASYNC_CALL, None)  # once (F9)


def test_event_is_signalled_once_on_completion(served: Any) -> None:
    impl, h = served
    a = new_state(RpcNotificationTypeEvent)
    a.u.hEvent = ev = CreateEvent(None, False, False, None)
    try:
        invoke_async(a, h, TestSvc, BLOCK, (6,))
        assert impl.entered.wait(BOUND)
        assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    finally:
        impl.gate.set()
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 6)
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT  # auto-reset, signalled once


def test_apc_runs_only_in_an_alertable_wait_of_the_issuing_thread(served: Any) -> None:
    impl, h = served
    ran: list[tuple[threading.Thread, Any]] = []
    a = new_state(RpcNotificationTypeApc)
    a.u.APC.NotificationRoutine = lambda s, ctx, event: ran.append(
        (threading.current_thread(), RpcAsyncCompleteCall(s)))
    try:
        invoke_async(a, h, TestSvc, BLOCK, (7,))
    finally:
        impl.gate.set()
    assert wait_until(lambda: finished(a), BOUND)
    assert pending_apcs() == 1 and ran == []  # queued, not run outside an alertable wait
    assert SleepEx(BOUND_MS, True) == WAIT_IO_COMPLETION  # T17
    assert ran == [(threading.current_thread(), (RPC_S_OK, 7))]


def test_io_completion_port_gets_the_preset_packet(served: Any) -> None:
    impl, h = served
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    overlapped = object()
    a = new_state(RpcNotificationTypeIoc)
    a.u.IOC.hIOPort = port
    a.u.IOC.dwNumberOfBytesTransferred = 12
    a.u.IOC.dwCompletionKey = 0xC0FFEE
    a.u.IOC.lpOverlapped = overlapped
    try:
        invoke_async(a, h, TestSvc, BLOCK, (8,))
        assert impl.entered.wait(BOUND)
        assert GetQueuedCompletionStatus(port, 0)[0] is False
    finally:
        impl.gate.set()
    assert GetQueuedCompletionStatus(port, BOUND_MS) == (True, 12, 0xC0FFEE, overlapped)  # T22
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 8)
    assert GetQueuedCompletionStatus(port, 0)[0] is False  # one packet only (T23)
    port.close()


def test_callback_runs_on_another_thread_after_the_outcome_is_stored(served: Any) -> None:
    impl, h = served
    seen: list[tuple[threading.Thread, Any]] = []
    done = threading.Event()

    def routine(s: Any, ctx: Any, event: int) -> None:
        seen.append((threading.current_thread(), RpcAsyncCompleteCall(s)))
        done.set()

    a = new_state(RpcNotificationTypeCallback)
    a.u.NotificationRoutine = routine
    try:
        invoke_async(a, h, TestSvc, BLOCK, (9,))
    finally:
        impl.gate.set()
    assert done.wait(BOUND)
    (thread, outcome), = seen
    assert outcome == (RPC_S_OK, 9)  # never 997 inside the notification (§4)
    assert thread is not threading.current_thread()  # T25
    assert thread.name != "dcerpc-runtime"  # not on the loop thread either (F22)


def test_sync_call_completes_while_an_async_call_is_pending(served: Any) -> None:
    impl, h = served
    a = new_state()
    try:
        invoke_async(a, h, TestSvc, BLOCK, (10,))
        assert impl.entered.wait(BOUND)
        assert svc.Add(h, 40, 2) == 42  # F7 (brief: F14)
        assert RpcAsyncGetCallStatus(a) == RPC_S_ASYNC_CALL_PENDING
    finally:
        impl.gate.set()
    assert wait_until(lambda: finished(a), BOUND)
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 10)


def test_server_fault_is_the_completion_status_with_one_notification(served: Any) -> None:
    _impl, h = served
    notes: list[int] = []
    a = new_state(RpcNotificationTypeCallback)
    a.u.NotificationRoutine = lambda s, ctx, event: notes.append(event)
    invoke_async(a, h, TestSvc, FAIL, (1,))
    assert wait_until(lambda: len(notes) == 1, BOUND)
    assert RpcAsyncCompleteCall(a) == (RPC_S_ACCESS_DENIED, None)
    assert svc.Add(h, 1, 1) == 2  # a later round trip: still one notification
    assert notes == [0]


def test_abortive_cancel_completes_at_once_with_call_cancelled(served: Any) -> None:
    impl, h = served
    a = new_state(RpcNotificationTypeEvent)
    a.u.hEvent = ev = CreateEvent(None, False, False, None)
    try:
        invoke_async(a, h, TestSvc, BLOCK, (11,))
        assert impl.entered.wait(BOUND)
        assert RpcAsyncCancelCall(a, True) == RPC_S_OK
        assert RpcAsyncGetCallStatus(a) == RPC_S_CALL_CANCELLED  # already final
        assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
        assert not impl.returned.is_set()  # the server is still blocked
        assert RpcAsyncCompleteCall(a) == (RPC_S_CALL_CANCELLED, None)
        # the call was orphaned on the wire: the server's call sees it (RpcServerTestCancel)
        assert wait_until(lambda: impl.calls[0].test_cancel(), BOUND)
    finally:
        impl.gate.set()
    assert impl.returned.wait(BOUND)
    assert svc.Add(h, 2, 3) == 5  # the late reply was dropped; the connection still works
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT  # no second notification
    assert RpcAsyncCompleteCall(a) == (RPC_S_INVALID_ASYNC_CALL, None)


def test_non_abortive_cancel_sends_co_cancel_and_returns_the_servers_outcome(
        served: Any) -> None:
    impl, h = served
    a = new_state(RpcNotificationTypeEvent)
    a.u.hEvent = ev = CreateEvent(None, False, False, None)
    invoke_async(a, h, TestSvc, BLOCK, (WAIT_FOR_CANCEL,))
    assert impl.entered.wait(BOUND)
    assert RpcAsyncCancelCall(a, False) == RPC_S_OK
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert impl.saw_cancel == [True]  # test_cancel() was True in the manager
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 77)  # the server's outcome, not 1818


def test_reusing_a_pending_handle_raises_and_the_first_call_completes(served: Any) -> None:
    impl, h = served
    a = new_state()
    try:
        invoke_async(a, h, TestSvc, BLOCK, (12,))
        assert impl.entered.wait(BOUND)
        with pytest.raises(RpcError) as info:
            invoke_async(a, h, TestSvc, BLOCK, (13,))
        assert info.value.status == RPC_S_INVALID_ASYNC_HANDLE
        assert RpcAsyncGetCallStatus(a) == RPC_S_ASYNC_CALL_PENDING
    finally:
        impl.gate.set()
    assert wait_until(lambda: finished(a), BOUND)
    assert RpcAsyncCompleteCall(a) == (RPC_S_OK, 12)


def test_a_call_that_cannot_be_marshalled_raises_and_never_notifies(served: Any) -> None:
    _impl, h = served
    a = new_state(RpcNotificationTypeEvent)
    a.u.hEvent = ev = CreateEvent(None, False, False, None)
    with pytest.raises(RpcError):
        invoke_async(a, h, TestSvc, BLOCK, ("not a long",))
    assert svc.Add(h, 1, 2) == 3
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT  # F6: no notification
    assert RpcAsyncGetCallStatus(a) == RPC_S_INVALID_ASYNC_CALL
    assert RpcAsyncCancelCall(a, True) == RPC_S_INVALID_ASYNC_CALL  # F13: nothing to cancel


def test_a_connection_failure_is_delivered_as_the_completion() -> None:
    with socket.socket() as s:  # a port with nobody listening any more
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = new_state(RpcNotificationTypeEvent)
    a.u.hEvent = ev = CreateEvent(None, False, False, None)
    with dcerpc.Binding(f"ncacn_ip_tcp:127.0.0.1[{port}]") as h:
        assert invoke_async(a, h, TestSvc, BLOCK, (1,)) is None  # F6: may complete later
        assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
        status, reply = RpcAsyncCompleteCall(a)
    assert status not in (RPC_S_OK, RPC_S_ASYNC_CALL_PENDING) and reply is None
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
