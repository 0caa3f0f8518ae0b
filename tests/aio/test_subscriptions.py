"""Server subscriptions (seed-semantics F31, F34) and the Pythonic cancel/disconnect hooks,
over real calls on 127.0.0.1, plus the no-leak check for ``[async]`` calls whose client
goes away (issue 4, Server: "cleaned up ... without leaking")."""

from __future__ import annotations

import gc
import queue
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from svc import IDL, Impl, svc, wait_until

import dcerpc
import dcerpc.idl
from dcerpc.idl._support import invoke_async
from dcerpc.status import (
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_INVALID_BINDING,
    RPC_S_NO_CALL_ACTIVE,
    RPC_S_OK,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    RPC_ASYNC_NOTIFICATION_INFO,
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
    WM_APP,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    GetCurrentThread,
    GetMessage,
    GetQueuedCompletionStatus,
    PeekMessage,
    RpcAsyncAbortCall,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncInitializeHandle,
    RpcClientCancel,
    RpcClientDisconnect,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
    RpcNotificationTypeNone,
    SleepEx,
    WaitForSingleObject,
)
from dcerpc.win32._server_notify import (
    RPC_S_CANNOT_SUPPORT,
    RpcNotificationCallCancel,
    RpcNotificationCallNone,
    RpcNotificationClientDisconnect,
    RpcServerSubscribeForNotification,
    RpcServerUnsubscribeForNotification,
)

asvc = dcerpc.idl.load(IDL, acf=Path(__file__).resolve().parent / "async_testsvc.acf")
BOUND = 10.0  # seconds: a broken path fails instead of hanging
ADD = svc.TestSvc.operation("Add")
BOTH = RpcNotificationClientDisconnect | RpcNotificationCallCancel


class SubImpl(Impl):
    """``Add`` is [async]: it subscribes (Binding None: the call on this dispatch thread)
    with ``self.info`` and hands pAsync to the test."""

    def __init__(self) -> None:
        super().__init__()
        self.handles: queue.Queue[Any] = queue.Queue()
        self.events: queue.Queue[tuple[Any, int, str]] = queue.Queue()
        self.subscribe: tuple[int, int] | None = (BOTH, RpcNotificationTypeCallback)
        self.statuses: list[int] = []
        self.info = RPC_ASYNC_NOTIFICATION_INFO()
        self.info.NotificationRoutine = self.routine

    def routine(self, handle: Any, context: Any, event: int) -> None:
        self.events.put((handle, event, threading.current_thread().name))

    def Add(self, pAsync: Any, a: int, b: int) -> None:  # type: ignore[override]
        if self.subscribe is not None:
            notification, kind = self.subscribe
            self.statuses.append(
                RpcServerSubscribeForNotification(None, notification, kind, self.info))
        self.handles.put(pAsync)


@pytest.fixture
def served() -> Iterator[tuple[dcerpc.Server, SubImpl, str]]:
    server = dcerpc.Server(max_calls=5000)
    impl = SubImpl()
    server.register(asvc.TestSvc, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    try:
        yield server, impl, str(bindings[0])
    finally:
        server.stop_background(2.0)


def start(h: dcerpc.Binding, *args: int) -> RPC_ASYNC_STATE:
    a = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(a, RPC_ASYNC_STATE_SIZE) == RPC_S_OK
    invoke_async(a, h, svc.TestSvc, ADD, args or (1, 2))
    return a


def no_more(q: queue.Queue[Any], wait: float = 0.2) -> bool:
    try:
        q.get(True, wait)
    except queue.Empty:
        return True
    return False


# --------------------------------------------------------------------------- argument checks
def test_argument_errors_off_and_on_the_dispatch_thread(served: Any) -> None:
    _server, impl, binding = served
    info = RPC_ASYNC_NOTIFICATION_INFO()
    info.NotificationRoutine = impl.routine
    assert RpcServerSubscribeForNotification(None, RpcNotificationCallCancel,
                                             RpcNotificationTypeCallback, info) \
        == RPC_S_NO_CALL_ACTIVE
    assert RpcServerSubscribeForNotification(object(), RpcNotificationCallCancel,
                                             RpcNotificationTypeCallback, info) \
        == RPC_S_INVALID_BINDING
    assert RpcServerUnsubscribeForNotification(None, RpcNotificationCallCancel) \
        == (RPC_S_NO_CALL_ACTIVE, 0)
    impl.subscribe = None
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        sub = RpcServerSubscribeForNotification
        assert sub(call, 4, RpcNotificationTypeCallback, info) == RPC_S_CANNOT_SUPPORT
        assert sub(call, RpcNotificationCallNone, RpcNotificationTypeCallback, info) \
            == RPC_S_CANNOT_SUPPORT
        assert sub(call, RpcNotificationCallCancel, RpcNotificationTypeNone, info) \
            == RPC_S_INVALID_ARG
        assert sub(call, RpcNotificationCallCancel, 99, info) == RPC_S_INVALID_ARG
        assert sub(call, RpcNotificationCallCancel, RpcNotificationTypeCallback, None) \
            == RPC_S_INVALID_ARG
        # Events: one subscription per notification (SDK remarks).
        assert sub(call, BOTH, RpcNotificationTypeEvent, info) == RPC_S_INVALID_ARG
        assert RpcServerUnsubscribeForNotification(call, BOTH) == (RPC_S_CANNOT_SUPPORT, 0)
        assert RpcServerUnsubscribeForNotification(call, RpcNotificationCallCancel) \
            == (RPC_S_OK, 0)
        assert RpcAsyncCompleteCall(p, 3) == RPC_S_OK
        assert wait_until(lambda: RpcAsyncCompleteCall(a)[0] == RPC_S_OK, BOUND)


# --------------------------------------------------------------------------- callbacks
def test_callback_cancel_then_disconnect_each_once_with_their_event(served: Any) -> None:
    server, impl, binding = served
    h = dcerpc.Binding(binding)
    try:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        assert impl.statuses == [RPC_S_OK]
        assert no_more(impl.events)  # nothing happened yet
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        handle, event, thread = impl.events.get(True, BOUND)
        assert (handle, event) == (p, RpcClientCancel)  # the async handle, Event 4
        assert not thread.startswith("dcerpc-worker")  # on the loop thread
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK  # a second co_cancel: no repeat
        assert no_more(impl.events)
    finally:
        h.close()
    handle, event, _thread = impl.events.get(True, BOUND)
    assert (handle, event) == (p, RpcClientDisconnect)
    assert no_more(impl.events)
    assert wait_until(lambda: server.active_calls == 0, BOUND)
    call = RpcAsyncGetCallHandle(p)
    assert RpcServerUnsubscribeForNotification(call, RpcNotificationCallCancel) == (0, 1)
    assert RpcServerUnsubscribeForNotification(call, RpcNotificationClientDisconnect) \
        == (0, 1)
    assert RpcAsyncCompleteCall(p, 3) == RPC_S_OK  # dropped: discarded (F35 [D])


def test_abortive_cancel_is_a_cancel_not_a_disconnect(served: Any) -> None:
    server, impl, binding = served
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        assert RpcAsyncCancelCall(a, True) == RPC_S_OK  # orphaned on the wire (§5.1)
        handle, event, _ = impl.events.get(True, BOUND)
        assert (handle, event) == (p, RpcClientCancel)
        assert wait_until(lambda: server.active_calls == 0, BOUND)
    assert no_more(impl.events)  # the orphaned call is no longer on the connection


def test_unsubscribe_before_the_cancel_means_no_notification(served: Any) -> None:
    _server, impl, binding = served
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        assert RpcServerUnsubscribeForNotification(call, RpcNotificationCallCancel) == (0, 0)
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: call.test_cancel(), BOUND)
        assert no_more(impl.events)
        assert RpcServerUnsubscribeForNotification(call, RpcNotificationClientDisconnect) \
            == (0, 0)
        assert RpcAsyncCompleteCall(p, 7) == RPC_S_OK
        assert wait_until(lambda: RpcAsyncCompleteCall(a) == (RPC_S_OK, 7), BOUND)
    assert no_more(impl.events)


def test_subscribing_after_the_cancel_delivers_at_once_and_info_is_copied(served: Any
                                                                          ) -> None:
    _server, impl, binding = served
    impl.subscribe = None
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: call.test_cancel(), BOUND)
        seen: list[int] = []
        info = RPC_ASYNC_NOTIFICATION_INFO()
        info.NotificationRoutine = lambda _h, _c, event: seen.append(event)
        assert RpcServerSubscribeForNotification(call, RpcNotificationCallCancel,
                                                 RpcNotificationTypeCallback, info) == 0
        info.NotificationRoutine = None  # copied: changing it now changes nothing
        assert seen == [RpcClientCancel]  # [D]: already cancelled → delivered at once
        # Re-subscribing does not deliver a second time (at most once per call).
        info.NotificationRoutine = lambda _h, _c, event: seen.append(event)
        assert RpcServerSubscribeForNotification(call, RpcNotificationCallCancel,
                                                 RpcNotificationTypeCallback, info) == 0
        assert seen == [RpcClientCancel]
        assert RpcServerUnsubscribeForNotification(call, RpcNotificationCallCancel) == (0, 1)
        assert RpcAsyncAbortCall(p, 1818) == RPC_S_OK
        assert wait_until(lambda: RpcAsyncCompleteCall(a)[0] == 1818, BOUND)


# --------------------------------------------------------------------------- other mechanisms
def test_event_and_completion_port_deliveries(served: Any) -> None:
    _server, impl, binding = served
    impl.subscribe = None
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        ev_info = RPC_ASYNC_NOTIFICATION_INFO()
        ev_info.hEvent = CreateEvent(None, True, False, None)
        port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
        ioc_info = RPC_ASYNC_NOTIFICATION_INFO()
        ioc_info.IOC.hIOPort = port
        ioc_info.IOC.dwNumberOfBytesTransferred = 12
        ioc_info.IOC.dwCompletionKey = 0x5EED
        ioc_info.IOC.lpOverlapped = "ov"
        assert RpcServerSubscribeForNotification(call, RpcNotificationCallCancel,
                                                 RpcNotificationTypeEvent, ev_info) == 0
        assert RpcServerSubscribeForNotification(call, RpcNotificationClientDisconnect,
                                                 RpcNotificationTypeIoc, ioc_info) == 0
        ioc_info.IOC.dwCompletionKey = 1  # the info was copied
        assert WaitForSingleObject(ev_info.hEvent, 100) != WAIT_OBJECT_0
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert WaitForSingleObject(ev_info.hEvent, int(BOUND * 1000)) == WAIT_OBJECT_0
        ok, *_ = GetQueuedCompletionStatus(port, 100)
        assert not ok  # a cancel is not a disconnect
    assert GetQueuedCompletionStatus(port, int(BOUND * 1000)) == (True, 12, 0x5EED, "ov")
    assert not GetQueuedCompletionStatus(port, 200)[0]  # exactly once
    assert RpcAsyncCompleteCall(p, 1) == RPC_S_OK


def test_apc_runs_on_the_subscribing_thread_inside_an_alertable_wait(served: Any) -> None:
    _server, impl, binding = served
    impl.subscribe = None
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        ran: list[tuple[Any, int, threading.Thread]] = []
        info = RPC_ASYNC_NOTIFICATION_INFO()
        info.APC.NotificationRoutine = lambda hd, _c, event: ran.append(
            (hd, event, threading.current_thread()))
        info.APC.hThread = GetCurrentThread()
        assert RpcServerSubscribeForNotification(call, BOTH, RpcNotificationTypeApc,
                                                 info) == 0
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: call.test_cancel(), BOUND)
        assert ran == []  # queued, not run: no alertable wait yet
        assert SleepEx(int(BOUND * 1000), True) == WAIT_IO_COMPLETION
        assert ran == [(p, RpcClientCancel, threading.current_thread())]
        assert RpcAsyncCompleteCall(p, 2) == RPC_S_OK


# --------------------------------------------------------------------------- Pythonic hooks
def test_pythonic_hooks_fire_once_and_can_be_removed(served: Any) -> None:
    server, impl, binding = served
    impl.subscribe = None
    h = dcerpc.Binding(binding)
    try:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        fired: list[str] = []
        lock = threading.Lock()

        def record(what: str) -> Any:
            def fn() -> None:
                with lock:
                    fired.append(what)
            return fn

        # Registered from several threads at once: each fires once.
        threads = [threading.Thread(target=call.on_cancel, args=(record(f"c{k}"),))
                   for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BOUND)
        removed = call.on_cancel(record("removed"))
        assert removed.remove() is True
        call.on_disconnect(record("d"))
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        assert wait_until(lambda: len(fired) == 8, BOUND)
        assert sorted(fired) == [f"c{k}" for k in range(8)]
        late = call.on_cancel(record("late"))  # already cancelled: runs at once, here
        assert fired[-1] == "late" and late.remove() is False
        assert not call.disconnected
    finally:
        h.close()
    assert wait_until(lambda: "d" in fired, BOUND)
    assert wait_until(lambda: server.active_calls == 0, BOUND)
    call.on_disconnect(record("d2"))  # already disconnected: at once
    assert sorted(fired) == sorted([f"c{k}" for k in range(8)] + ["late", "d", "d2"])
    assert call.disconnected


def test_hooks_on_a_synchronous_manager_with_current_call() -> None:
    """``current_call().on_cancel`` in a plain (non-[async]) manager that waits."""
    seen: list[str] = []
    done = threading.Event()

    class Waiting(Impl):
        def Block(self, ms: int) -> int:
            call = dcerpc.current_call()
            call.on_cancel(lambda: seen.append("cancel"))
            call.on_disconnect(lambda: seen.append("disconnect"))
            call.cancelled.wait_sync(BOUND)
            done.set()
            return 5

    server = dcerpc.Server()
    server.register(svc.TestSvc, Waiting())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    try:
        with dcerpc.connect(str(bindings[0]), svc.TestSvc) as c:
            call = c.Block.start(0)
            assert wait_until(lambda: server.active_calls == 1, BOUND)
            call.cancel(abortive=False)
            assert call.result(BOUND) == 5
        assert done.wait(BOUND)
        assert seen == ["cancel"]
    finally:
        server.stop_background(2.0)


# --------------------------------------------------------------------------- no leak
def test_pending_async_calls_of_a_vanished_client_are_freed(served: Any) -> None:
    """N pending [async] calls, the client's connection killed: the in-flight table
    empties, every disconnect subscriber hears it once, a held handle's late Complete is
    RPC_S_OK and discarded, and nothing else keeps the handles alive."""
    server, impl, binding = served
    n = 200
    impl.subscribe = None
    h = dcerpc.Binding(binding)
    states = [start(h, i, i) for i in range(n)]
    handles = [impl.handles.get(True, BOUND) for _ in range(n)]
    assert server.active_calls == n
    disconnects: list[int] = []
    for i, p in enumerate(handles):
        RpcAsyncGetCallHandle(p).on_disconnect(lambda i=i: disconnects.append(i))
    kept = handles[:5]
    refs = [weakref.ref(p) for p in handles[5:]]
    call_refs = [weakref.ref(RpcAsyncGetCallHandle(p)) for p in handles[5:]]
    del handles, p
    h.close()  # the connection goes away with n calls outstanding
    assert wait_until(lambda: server.active_calls == 0, BOUND)
    assert wait_until(lambda: len(disconnects) == n, BOUND)
    assert sorted(disconnects) == list(range(n))  # each exactly once
    for p in kept:
        assert RpcAsyncCompleteCall(p, 1) == RPC_S_OK  # discarded (F35 [D])
        assert RpcAsyncCompleteCall(p, 1) == RPC_S_INVALID_ASYNC_HANDLE
    del states
    for _ in range(3):
        gc.collect()
    assert wait_until(lambda: (gc.collect(), sum(r() is not None for r in refs))[1] == 0,
                      BOUND)
    assert all(r() is None for r in call_refs)


def test_window_message_is_posted_to_the_owning_thread(served: Any) -> None:
    _server, impl, binding = served
    impl.subscribe = None
    hwnd = CreateWindow()  # owned by this thread
    with dcerpc.Binding(binding) as h:
        a = start(h)
        p = impl.handles.get(True, BOUND)
        call = RpcAsyncGetCallHandle(p)
        info = RPC_ASYNC_NOTIFICATION_INFO()
        info.HWND.hWnd = hwnd
        info.HWND.Msg = WM_APP + 39
        assert RpcServerSubscribeForNotification(call, RpcNotificationCallCancel,
                                                 RpcNotificationTypeHwnd, info) == 0
        assert RpcAsyncCancelCall(a, False) == RPC_S_OK
        msg = GetMessage(hwnd, timeout=int(BOUND * 1000))
        assert msg is not None
        # Posted, never sent: lParam is the call's async handle; the kind is not carried.
        assert tuple(msg) == (hwnd, WM_APP + 39, 0, p)
        assert RpcAsyncCompleteCall(p, 4) == RPC_S_OK
        assert wait_until(lambda: RpcAsyncCompleteCall(a) == (RPC_S_OK, 4), BOUND)
    assert PeekMessage(hwnd) is None  # exactly once
