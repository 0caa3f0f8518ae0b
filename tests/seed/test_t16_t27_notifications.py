"""Seed-semantics §9.2, T16-T27: each notification type over a real call (F17-F22)."""

from __future__ import annotations

import threading
import time
from typing import Any

from seedlib import (
    BOUND,
    BOUND_MS,
    GRACE,
    GRACE_MS,
    AsyncFunc,
    final,
    new_state,
    stays_false,
    wait_until,
)

from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_OK,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    WM_APP,
    WM_QUIT,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    DispatchMessage,
    GetLastError,
    GetMessage,
    GetQueuedCompletionStatus,
    PostMessage,
    QueueUserAPC,
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
from dcerpc.win32._kernel import pending_apcs


def issue(Async: Any, binding: Any, server: Any, n: int) -> int:
    """Issue AsyncFunc(n) and return its index in ``server.calls`` once dispatched."""
    before = len(server.calls)
    AsyncFunc(Async, binding, n)
    assert server.wait_calls(before + 1)
    return before


def test_t16_a_manual_reset_event_stays_signalled(binding: Any, server: Any) -> None:
    """T16 (F18)."""
    Async = new_state(RpcNotificationTypeEvent)
    Async.u.hEvent = ev = CreateEvent(None, True, False, None)
    server.complete(issue(Async, binding, server, 16), 16, (16,))
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK


def apc_state(ran: list[Any], hThread: Any = 0) -> Any:
    Async = new_state(RpcNotificationTypeApc)
    Async.u.APC.NotificationRoutine = lambda s, ctx, ev: ran.append(
        (threading.current_thread(), s, ctx, ev))
    Async.u.APC.hThread = hThread
    return Async


def test_t17_an_apc_waits_for_the_issuing_threads_alertable_wait(
        binding: Any, server: Any) -> None:
    """T17 (F19): hThread 0 targets the issuing thread; nothing runs while it is busy."""
    ran: list[Any] = []
    Async = apc_state(ran)
    server.complete(issue(Async, binding, server, 17), 17, (17,))
    assert wait_until(lambda: final(Async), BOUND)
    busy_until = time.monotonic() + GRACE  # busy, not waiting at all
    while time.monotonic() < busy_until:
        pass
    assert ran == [] and pending_apcs() == 1
    assert SleepEx(BOUND_MS, True) == WAIT_IO_COMPLETION
    assert ran == [(threading.current_thread(), Async, None, RpcCallComplete)]
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK


def test_t18_non_alertable_waits_never_run_the_apc(binding: Any, server: Any) -> None:
    """T18 (F19)."""
    ran: list[Any] = []
    Async = apc_state(ran)
    i = issue(Async, binding, server, 18)
    completer = threading.Timer(0.05, server.complete, (i, 18, (18,)))
    completer.start()
    assert SleepEx(300, False) == 0  # across the completion time
    completer.join(BOUND)
    assert wait_until(lambda: final(Async), BOUND)
    assert ran == []
    other = CreateEvent(None, False, False, None)
    assert WaitForSingleObject(other, 100) == WAIT_TIMEOUT
    assert ran == []
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert len(ran) == 1


def test_t19_an_apc_for_another_thread_runs_there_and_never_here(
        binding: Any, server: Any) -> None:
    """T19 (F19): B loops in SleepEx(INFINITE, True); hThread = B."""
    ran: list[Any] = []
    stop = threading.Event()
    results: list[int] = []

    def b_loop() -> None:
        while not stop.is_set():
            results.append(SleepEx(BOUND_MS, True))

    b = threading.Thread(target=b_loop, daemon=True)
    b.start()
    Async = apc_state(ran, hThread=b)
    server.complete(issue(Async, binding, server, 19), 19, (19,))
    assert wait_until(lambda: len(ran) == 1, BOUND)
    assert ran[0][0] is b
    assert SleepEx(GRACE_MS, True) == 0  # A's own alertable wait: nothing for A
    stop.set()
    QueueUserAPC(lambda _d: None, b, 0)  # wake B so it sees ``stop``
    b.join(BOUND)
    assert WAIT_IO_COMPLETION in results and len(ran) == 1


def test_t20_an_apc_queued_before_the_wait_returns_at_once(binding: Any, server: Any) -> None:
    """T20 (F19)."""
    ran: list[Any] = []
    Async = apc_state(ran)
    server.complete(issue(Async, binding, server, 20), 20, (20,))
    assert wait_until(lambda: final(Async), BOUND)
    t0 = time.monotonic()
    assert SleepEx(BOUND_MS, True) == WAIT_IO_COMPLETION
    assert time.monotonic() - t0 < BOUND / 2  # did not sit out the wait
    assert len(ran) == 1


def test_t21_an_alertable_sleep_without_apcs_times_out() -> None:
    """T21 (F19): SleepEx(50, TRUE) returns 0 after at least 45 ms."""
    t0 = time.monotonic()
    assert SleepEx(50, True) == 0
    assert time.monotonic() - t0 >= 0.045


def test_t22_the_completion_packet_carries_the_preset_values(binding: Any, server: Any) -> None:
    """T22 (F20)."""
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    overlapped = object()
    Async = new_state(RpcNotificationTypeIoc)
    Async.u.IOC.hIOPort = port
    Async.u.IOC.dwNumberOfBytesTransferred = 0x1234
    Async.u.IOC.dwCompletionKey = 0xCAFE
    Async.u.IOC.lpOverlapped = overlapped
    i = issue(Async, binding, server, 22)
    ok, _b, _k, ov = GetQueuedCompletionStatus(port, 0)
    assert ok is False and ov is None and GetLastError() == WAIT_TIMEOUT
    server.complete(i, 22, (22,))
    assert GetQueuedCompletionStatus(port, BOUND_MS) == (True, 0x1234, 0xCAFE, overlapped)
    assert GetQueuedCompletionStatus(port, 0)[0] is False
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK
    port.close()


def test_t23_two_calls_share_a_port_and_each_key_arrives_once(
        binding: Any, server: Any) -> None:
    """T23 (F20): overlapped None still dequeues with ok True."""
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    states = []
    for key in (1, 2):
        Async = new_state(RpcNotificationTypeIoc)
        Async.u.IOC.hIOPort = port
        Async.u.IOC.dwCompletionKey = key
        Async.u.IOC.lpOverlapped = None
        states.append(Async)
        issue(Async, binding, server, key)
    server.complete(1, 2, (2,))
    server.complete(0, 1, (1,))
    got = [GetQueuedCompletionStatus(port, BOUND_MS) for _ in range(2)]
    assert all(ok is True and ov is None for ok, _b, _k, ov in got)
    assert sorted(k for _ok, _b, k, _ov in got) == [1, 2]
    assert GetQueuedCompletionStatus(port, 0)[0] is False
    port.close()


def test_t24_the_message_goes_to_the_owner_thread_with_lparam_the_state(
        binding: Any, server: Any) -> None:
    """T24 (F21): posted, never sent; the handler runs on W, only on dispatch."""
    ready = threading.Event()
    got: list[Any] = []
    handled: list[threading.Thread] = []
    box: dict[str, Any] = {}

    def w_loop() -> None:
        box["hwnd"] = CreateWindow(wndproc=lambda h, m, wp, lp: handled.append(
            threading.current_thread()))
        ready.set()
        while msg := GetMessage(timeout=BOUND_MS):
            got.append(tuple(msg))
            DispatchMessage(msg)

    w = threading.Thread(target=w_loop, daemon=True)
    w.start()
    assert ready.wait(BOUND)
    hwnd = box["hwnd"]
    Async = new_state(RpcNotificationTypeHwnd)
    Async.u.HWND.hWnd = hwnd
    Async.u.HWND.Msg = WM_APP + 1
    server.complete(issue(Async, binding, server, 24), 24, (24,))
    assert wait_until(lambda: len(handled) == 1, BOUND)
    assert PostMessage(hwnd, WM_QUIT, 0, 0)
    w.join(BOUND)
    assert len(got) == 1
    h, msg, wparam, lparam = got[0]
    assert (h, msg, wparam) == (hwnd, 0x8001, 0) and lparam is Async
    assert handled == [w]
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK


def test_t25_the_callback_runs_once_on_another_thread_without_a_wait(
        binding: Any, server: Any) -> None:
    """T25 (F22)."""
    calls: list[Any] = []
    Async = new_state(RpcNotificationTypeCallback)
    Async.u.NotificationRoutine = lambda s, ctx, ev: calls.append(
        (threading.current_thread(), s, ctx, ev))
    server.complete(issue(Async, binding, server, 25), 25, (25,))
    assert wait_until(lambda: len(calls) == 1, BOUND)  # the issuer polls a list, no wait
    thread, s, ctx, ev = calls[0]
    assert thread is not threading.current_thread()
    assert (s, ctx, ev) == (Async, None, RpcCallComplete)
    assert stays_false(lambda: len(calls) > 1)


def test_t26_polling_only(binding: Any, server: Any) -> None:
    """T26 (F17, F8): NotificationType None."""
    Async = new_state(RpcNotificationTypeNone)
    i = issue(Async, binding, server, 26)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    server.complete(i, 26, (26,))
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_OK
    assert pending_apcs() == 0


def test_t27_user_info_is_seen_by_apc_callback_and_window_handlers(
        binding: Any, server: Any) -> None:
    """T27 (F1): ``UserInfo = "tag"`` reaches every handler with the state."""
    seen: list[tuple[str, Any]] = []
    hwnd = CreateWindow(wndproc=lambda h, m, wp, lp: seen.append(("hwnd", lp.UserInfo)))

    a_apc = new_state(RpcNotificationTypeApc)
    a_apc.u.APC.NotificationRoutine = lambda s, c, e: seen.append(("apc", s.UserInfo))
    a_cb = new_state(RpcNotificationTypeCallback)
    a_cb.u.NotificationRoutine = lambda s, c, e: seen.append(("callback", s.UserInfo))
    a_wnd = new_state(RpcNotificationTypeHwnd)
    a_wnd.u.HWND.hWnd, a_wnd.u.HWND.Msg = hwnd, WM_APP + 7
    for n, Async in enumerate((a_apc, a_cb, a_wnd)):
        Async.UserInfo = "tag"
        server.complete(issue(Async, binding, server, n), n, (n,))
    assert wait_until(lambda: all(final(a) for a in (a_apc, a_cb, a_wnd)), BOUND)
    assert SleepEx(BOUND_MS, True) == WAIT_IO_COMPLETION
    msg = GetMessage(timeout=BOUND_MS)
    assert msg is not None and msg.lParam is a_wnd
    DispatchMessage(msg)
    assert wait_until(lambda: len(seen) == 3, BOUND)
    assert sorted(seen) == [("apc", "tag"), ("callback", "tag"), ("hwnd", "tag")]
    hwnd.destroy()
