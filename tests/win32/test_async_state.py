"""RPC_ASYNC_STATE and notification through each mechanism (seed-semantics §3.1, §4, §9.1,
§9.2).  No network: another thread plays the runtime and completes the call by hand with
``async_call_complete``, exactly where the driver would."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dcerpc.errors import RpcError
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_CALL,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_INVALID_BINDING,
    RPC_S_OK,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
    RPC_ASYNC_VERSION_1_0,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    WM_APP,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    DestroyWindow,
    DispatchMessage,
    GetLastError,
    GetMessage,
    GetQueuedCompletionStatus,
    PeekMessage,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    RpcCallComplete,
    RpcClientCancel,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
    RpcNotificationTypeNone,
    SleepEx,
    WaitForSingleObject,
    async_call_begin,
    async_call_complete,
    async_call_failed,
    pending_apcs,
    sizeof,
)

ALL_TYPES = [RpcNotificationTypeNone, RpcNotificationTypeEvent, RpcNotificationTypeApc,
             RpcNotificationTypeIoc, RpcNotificationTypeHwnd, RpcNotificationTypeCallback]


class Recorder:
    """A notification routine recording (thread ident, args) per call."""

    def __init__(self, probe: Any = None) -> None:
        self.calls: list[tuple[int, tuple[Any, ...]]] = []
        self.probe = probe
        self.seen: list[Any] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append((threading.get_ident(), args))
        if self.probe is not None:
            self.seen.append(self.probe(args[0]))


@pytest.fixture(autouse=True)
def _drain_own_apcs():
    yield
    while pending_apcs():
        SleepEx(0, True)


def fresh() -> RPC_ASYNC_STATE:
    s = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(s, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    return s


def complete_elsewhere(spawn, s: RPC_ASYNC_STATE, reply: Any = None,
                       status: int = RPC_S_OK) -> tuple[bool, int]:
    def runtime() -> tuple[bool, int]:
        return async_call_complete(s, reply, status), threading.get_ident()

    return spawn(runtime).finish()


# ----------------------------------------------------------------------- the structure
def test_sdk_layout_size_and_fields():
    assert sizeof(RPC_ASYNC_STATE) == RPC_ASYNC_STATE_SIZE == RPC_ASYNC_VERSION_1_0
    assert RPC_ASYNC_STATE_SIZE == 112  # x64 layout of rpcasync.h
    s = RPC_ASYNC_STATE()
    for name in ("Size", "Signature", "Lock", "Flags", "StubInfo", "UserInfo", "RuntimeInfo",
                 "Event", "NotificationType", "Reserved"):
        getattr(s, name)
    s.u.APC.NotificationRoutine, s.u.APC.hThread = print, None
    s.u.IOC.dwNumberOfBytesTransferred = 3
    s.u.HWND.Msg = WM_APP
    assert s.u.IOC.hIOPort is None and s.u.hEvent is None and s.u.NotificationRoutine is None
    with pytest.raises(AttributeError):
        s.hEvent = None  # a typo must not silently create a field
    assert RpcClientCancel == 4


def test_t1_t2_initialize():
    s = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(s, RPC_ASYNC_STATE_SIZE - 1) == RPC_S_INVALID_ARG
    assert RpcAsyncInitializeHandle(s, RPC_ASYNC_STATE_SIZE + 1) == RPC_S_INVALID_ARG
    assert RpcAsyncGetCallStatus(s) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncInitializeHandle(s, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    assert s.Size == RPC_ASYNC_STATE_SIZE
    assert RpcAsyncGetCallHandle(s) is s.RuntimeInfo is not None
    assert RpcAsyncInitializeHandle(object(), RPC_ASYNC_STATE_SIZE) == RPC_S_INVALID_ASYNC_HANDLE


def test_t3_never_initialised():
    s = RPC_ASYNC_STATE()
    assert RpcAsyncGetCallStatus(s) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncCompleteCall(s) == (RPC_S_INVALID_ASYNC_HANDLE, None)
    assert RpcAsyncCancelCall(s, True) == RPC_S_INVALID_ASYNC_HANDLE
    with pytest.raises(RpcError) as ei:
        async_call_begin(s)
    assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE


@pytest.mark.parametrize("field", ["Size", "Signature", "Lock", "StubInfo", "RuntimeInfo"])
def test_t4_touching_runtime_fields_invalidates(field):
    s = fresh()
    value = getattr(s, field)
    setattr(s, field, value ^ 1 if isinstance(value, int) else object())
    assert RpcAsyncGetCallStatus(s) == RPC_S_INVALID_ASYNC_HANDLE
    with pytest.raises(RpcError) as ei:
        async_call_begin(s)
    assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE


def test_t5_t8_t9_pending_poll_then_collect(spawn):
    s = fresh()
    async_call_begin(s)
    with pytest.raises(RpcError) as ei:
        async_call_begin(s)  # F3 [D]
    assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncGetCallStatus(s) == RPC_S_ASYNC_CALL_PENDING
    assert RpcAsyncCompleteCall(s) == (RPC_S_ASYNC_CALL_PENDING, None)

    class Ref:
        value = "sentinel"

    r = Ref()
    assert RpcAsyncCompleteCall(s, r) == (RPC_S_ASYNC_CALL_PENDING, None)
    assert r.value == "sentinel"
    assert complete_elsewhere(spawn, s, (7, 42))[0] is True
    assert RpcAsyncGetCallStatus(s) == RPC_S_OK
    assert RpcAsyncCompleteCall(s, r) == (RPC_S_OK, (7, 42))
    assert r.value == (7, 42)


def test_t6_strict_reuse_raises_xp_mode_allows(spawn):
    s = fresh()
    async_call_begin(s)
    complete_elsewhere(spawn, s, 1)
    assert RpcAsyncCompleteCall(s)[0] == RPC_S_OK
    with pytest.raises(RpcError):
        async_call_begin(s)
    assert RpcAsyncInitializeHandle(s, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    async_call_begin(s)
    complete_elsewhere(spawn, s, 2)
    assert RpcAsyncCompleteCall(s) == (RPC_S_OK, 2)
    s.xp_mode = True
    async_call_begin(s)  # XP mode: no re-init needed
    assert RpcAsyncGetCallStatus(s) == RPC_S_ASYNC_CALL_PENDING


def test_t10_t11_abort_code_and_no_reply(spawn):
    s = fresh()
    async_call_begin(s)

    class Ref:
        value = "sentinel"

    r = Ref()
    complete_elsewhere(spawn, s, status=0x1234)
    assert RpcAsyncGetCallStatus(s) not in (RPC_S_ASYNC_CALL_PENDING, RPC_S_OK)
    assert RpcAsyncCompleteCall(s, r) == (0x1234, None)
    assert r.value == "sentinel"


def test_t12_exactly_once_under_racing_completions(spawn):
    s = fresh()
    routine = Recorder()
    s.NotificationType, s.u.NotificationRoutine = RpcNotificationTypeCallback, routine
    async_call_begin(s)
    go = threading.Event()

    def racer(i: int):
        return lambda: (go.wait(5), async_call_complete(s, i))[1]

    workers = [spawn(racer(i)) for i in range(8)]
    go.set()
    wins = [w.finish() for w in workers]
    assert wins.count(True) == 1
    assert len(routine.calls) == 1
    status, reply = RpcAsyncCompleteCall(s)
    assert status == RPC_S_OK and reply == wins.index(True)
    assert RpcAsyncCompleteCall(s) == (RPC_S_INVALID_ASYNC_CALL, None)
    assert len(routine.calls) == 1


# ----------------------------------------------------------------------- T14: no notify
@pytest.mark.parametrize("kind", ALL_TYPES)
def test_t14_invocation_failure_delivers_nothing(kind):
    s = fresh()
    ev = CreateEvent(None, True, False, None)
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    wnd = CreateWindow()
    routine = Recorder()
    s.NotificationType = kind
    s.u.hEvent, s.u.NotificationRoutine = ev, routine
    s.u.APC.NotificationRoutine = routine
    s.u.IOC.hIOPort = port
    s.u.HWND.hWnd, s.u.HWND.Msg = wnd, WM_APP + 1
    async_call_begin(s)
    with pytest.raises(RpcError) as ei:
        try:
            raise RpcError("bad binding", RPC_S_INVALID_BINDING)  # what the stub detects
        except RpcError:
            async_call_failed(s)
            raise
    assert ei.value.status == RPC_S_INVALID_BINDING
    assert async_call_complete(s, 1) is False  # a late completion is refused, unnotified
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    assert pending_apcs() == 0 and SleepEx(0, True) == 0
    assert GetQueuedCompletionStatus(port, 0)[0] is False and GetLastError() == WAIT_TIMEOUT
    assert PeekMessage() is None
    assert routine.calls == []
    assert RpcAsyncCancelCall(s, True) == RPC_S_INVALID_ASYNC_CALL
    DestroyWindow(wnd)


# ----------------------------------------------------------------------- mechanisms
def test_t15_auto_reset_event(spawn):
    s = fresh()
    ev = CreateEvent(None, False, False, None)
    s.NotificationType, s.u.hEvent = RpcNotificationTypeEvent, ev
    s.Event = RpcClientCancel  # proves the runtime sets it
    async_call_begin(s)
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    complete_elsewhere(spawn, s, 3)
    assert WaitForSingleObject(ev, 5000) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    assert s.Event == RpcCallComplete
    assert RpcAsyncCompleteCall(s) == (RPC_S_OK, 3)


def test_t16_manual_reset_event_and_status_visible_before_signal(spawn):
    s = fresh()
    ev = CreateEvent(None, True, False, None)
    s.NotificationType, s.u.hEvent = RpcNotificationTypeEvent, ev
    async_call_begin(s)
    waiter = spawn(lambda: (WaitForSingleObject(ev, 5000), RpcAsyncGetCallStatus(s)))
    complete_elsewhere(spawn, s, 1)
    assert waiter.finish() == (WAIT_OBJECT_0, RPC_S_OK)  # §4: READY before the signal
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0


def test_t20_apc_to_issuing_thread_runs_at_first_alertable_wait(spawn):
    s = fresh()
    routine = Recorder(probe=RpcAsyncCompleteCall)
    s.NotificationType = RpcNotificationTypeApc
    s.u.APC.NotificationRoutine, s.u.APC.hThread = routine, 0
    s.UserInfo = "tag"
    async_call_begin(s)
    _, runtime_thread = complete_elsewhere(spawn, s, 5)
    assert routine.calls == []  # not run by the runtime thread
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert routine.calls == [(threading.get_ident(), (s, None, RpcCallComplete))]
    assert routine.calls[0][0] != runtime_thread
    assert routine.seen == [(RPC_S_OK, 5)]
    assert routine.calls[0][1][0].UserInfo == "tag"  # T27


def test_apc_to_other_thread(spawn):
    from dcerpc.win32 import GetCurrentThread

    s = fresh()
    routine = Recorder()
    got: list[Any] = []
    ready = threading.Event()

    def b() -> tuple[int, int]:
        got.append(GetCurrentThread())
        ready.set()
        return threading.get_ident(), SleepEx(5000, True)

    worker = spawn(b)
    assert ready.wait(5)
    s.NotificationType = RpcNotificationTypeApc
    s.u.APC.NotificationRoutine, s.u.APC.hThread = routine, got[0]
    async_call_begin(s)
    complete_elsewhere(spawn, s, 1)
    ident, result = worker.finish()
    assert result == WAIT_IO_COMPLETION
    assert [c[0] for c in routine.calls] == [ident]
    assert SleepEx(0, True) == 0  # nothing queued for the issuing thread


def test_t22_io_completion_port(spawn):
    s = fresh()
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    ov = object()
    s.NotificationType = RpcNotificationTypeIoc
    s.u.IOC.hIOPort, s.u.IOC.lpOverlapped = port, ov
    s.u.IOC.dwNumberOfBytesTransferred, s.u.IOC.dwCompletionKey = 0x1234, 0xCAFE
    async_call_begin(s)
    assert GetQueuedCompletionStatus(port, 0) == (False, 0, 0, None)
    assert GetLastError() == WAIT_TIMEOUT
    complete_elsewhere(spawn, s, 1)
    assert GetQueuedCompletionStatus(port, 5000) == (True, 0x1234, 0xCAFE, ov)
    assert GetQueuedCompletionStatus(port, 0)[0] is False
    assert RpcAsyncCompleteCall(s) == (RPC_S_OK, 1)
    port.close()  # F15: the client owns and closes it; the runtime never did


def test_t24_t27_window_message_posted_not_dispatched(spawn):
    s = fresh()
    calls: list[tuple[int, Any]] = []

    def wndproc(hwnd: Any, msg: int, wparam: int, lparam: Any) -> int:
        calls.append((threading.get_ident(), lparam.UserInfo))
        return 0

    wnd = CreateWindow(wndproc=wndproc)
    s.NotificationType = RpcNotificationTypeHwnd
    s.u.HWND.hWnd, s.u.HWND.Msg = wnd, WM_APP + 1
    s.UserInfo = "tag"
    async_call_begin(s)
    complete_elsewhere(spawn, s, 1)
    assert calls == []  # posted, never sent
    msg = GetMessage(timeout=5000)
    assert msg is not None
    hwnd, message, wparam, lparam = msg
    assert (hwnd, message, wparam) == (wnd, 0x8001, 0) and lparam is s
    DispatchMessage(msg)
    assert calls == [(threading.get_ident(), "tag")]
    DestroyWindow(wnd)


def test_t25_t27_callback_on_runtime_thread(spawn):
    s = fresh()
    routine = Recorder(probe=lambda a: (RpcAsyncGetCallStatus(a), a.UserInfo))
    s.NotificationType, s.u.NotificationRoutine = RpcNotificationTypeCallback, routine
    s.UserInfo = "tag"
    async_call_begin(s)
    _, runtime_thread = complete_elsewhere(spawn, s, 1)
    assert routine.calls == [(runtime_thread, (s, None, RpcCallComplete))]
    assert runtime_thread != threading.get_ident()
    assert routine.seen == [(RPC_S_OK, "tag")]


def test_callback_exception_is_logged_and_swallowed(spawn, caplog):
    s = fresh()

    def bad(*args: Any) -> None:
        raise RuntimeError("boom")

    s.NotificationType, s.u.NotificationRoutine = RpcNotificationTypeCallback, bad
    async_call_begin(s)
    assert complete_elsewhere(spawn, s, 4)[0] is True
    assert "notification routine raised" in caplog.text
    assert RpcAsyncCompleteCall(s) == (RPC_S_OK, 4)


def test_t26_none_polls_only(spawn):
    s = fresh()
    async_call_begin(s)
    assert RpcAsyncGetCallStatus(s) == RPC_S_ASYNC_CALL_PENDING
    complete_elsewhere(spawn, s, 1)
    assert RpcAsyncGetCallStatus(s) == RPC_S_OK
    assert pending_apcs() == 0 and PeekMessage() is None
    assert RpcAsyncCompleteCall(s) == (RPC_S_OK, 1)


# ----------------------------------------------------------------------- cancel
@pytest.mark.parametrize("abortive", [True, False])
def test_cancel_reaches_driver_and_notification_still_comes(spawn, abortive):
    s = fresh()
    ev = CreateEvent(None, True, False, None)
    s.NotificationType, s.u.hEvent = RpcNotificationTypeEvent, ev
    requests: list[bool] = []
    async_call_begin(s, on_cancel=requests.append)
    assert RpcAsyncCancelCall(s, abortive) == RPC_S_OK
    assert requests == [abortive]
    assert RpcAsyncGetCallStatus(s) == RPC_S_ASYNC_CALL_PENDING
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT  # F13: cancel does not replace it
    # abortive: the driver completes with 1818; non-abortive: the server's reply wins
    outcome = (None, RPC_S_CALL_CANCELLED) if abortive else ("server", RPC_S_OK)
    complete_elsewhere(spawn, s, *outcome)
    assert WaitForSingleObject(ev, 5000) == WAIT_OBJECT_0
    expected = (RPC_S_CALL_CANCELLED, None) if abortive else (RPC_S_OK, "server")
    assert RpcAsyncCompleteCall(s) == expected
    assert RpcAsyncCancelCall(s, True) == RPC_S_INVALID_ASYNC_CALL
