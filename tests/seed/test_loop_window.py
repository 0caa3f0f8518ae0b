"""The asyncio-loop window target (``dcerpc.notify.loop_target`` / ``LoopWindow``) and the
``dcerpc.notify`` constructors: a posted message reaches the loop's thread, never the
poster's (F21, seed-semantics §4 "an asyncio variant")."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from seedlib import BOUND, AsyncFunc, new_state

import dcerpc.notify
from dcerpc.status import RPC_S_OK
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    WM_APP,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    GetLastError,
    PostMessage,
    RpcAsyncCompleteCall,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
    RpcNotificationTypeNone,
)
from dcerpc.win32._messages import ERROR_INVALID_WINDOW_HANDLE, LoopWindow


def test_get_message_on_the_loop_after_a_real_call(binding: Any, server: Any) -> None:
    async def main() -> tuple[Any, ...]:
        hwnd = dcerpc.notify.loop_target(asyncio.get_running_loop())  # no handler: a queue
        Async = dcerpc.notify.window(new_state(), hwnd, WM_APP + 9)
        await asyncio.to_thread(AsyncFunc, Async, binding, 9)
        assert await asyncio.to_thread(server.wait_calls, 1)
        threading.Thread(target=server.complete, args=(0, 9, (81,))).start()
        msg = await asyncio.wait_for(hwnd.get_message(), BOUND)
        status, reply = RpcAsyncCompleteCall(msg.lParam, None)
        return (msg.hwnd is hwnd, msg.message, msg.wParam, msg.lParam is Async, status,
                reply.r)

    assert asyncio.run(main()) == (True, WM_APP + 9, 0, True, RPC_S_OK, 81)


def test_a_coroutine_handler_runs_as_a_task_on_the_loop() -> None:
    async def main() -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        got: asyncio.Future[tuple[bool, int]] = loop.create_future()

        async def handler(hwnd: Any, msg: int, wparam: int, lparam: Any) -> None:
            await asyncio.sleep(0)
            got.set_result((threading.current_thread() is threading.main_thread(), lparam))

        w = LoopWindow(loop, handler)
        poster = threading.Thread(target=PostMessage, args=(w, WM_APP, 0, 5))
        poster.start()
        poster.join(BOUND)
        return await asyncio.wait_for(got, BOUND)

    assert asyncio.run(main()) == (True, 5)  # asyncio.run's loop runs on this thread


def test_posting_to_a_closed_loop_fails_like_a_destroyed_window() -> None:
    loop = asyncio.new_event_loop()
    w = LoopWindow(loop, lambda *a: None)
    loop.close()
    assert PostMessage(w, WM_APP, 0, 0) is False
    assert GetLastError() == ERROR_INVALID_WINDOW_HANDLE


def test_constructors_fill_the_union_branch_they_select() -> None:
    ev = CreateEvent(None, False, False, None)
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    hwnd = CreateWindow()

    def routine(*a: Any) -> None:
        return None

    a = dcerpc.notify.none(new_state(RpcNotificationTypeEvent))
    assert a.NotificationType == RpcNotificationTypeNone
    a = dcerpc.notify.event(new_state(), ev)
    assert (a.NotificationType, a.u.hEvent) == (RpcNotificationTypeEvent, ev)
    t = threading.current_thread()
    a = dcerpc.notify.apc(new_state(), routine, thread=t)
    assert (a.NotificationType, a.u.APC.NotificationRoutine, a.u.APC.hThread) == (
        RpcNotificationTypeApc, routine, t)
    a = dcerpc.notify.iocp(new_state(), port, 7, bytes=3, overlapped="ov")
    ioc = a.u.IOC
    assert (a.NotificationType, ioc.hIOPort, ioc.dwCompletionKey,
            ioc.dwNumberOfBytesTransferred, ioc.lpOverlapped) == (
        RpcNotificationTypeIoc, port, 7, 3, "ov")
    a = dcerpc.notify.window(new_state(), hwnd, WM_APP + 2)
    assert (a.NotificationType, a.u.HWND.hWnd, a.u.HWND.Msg) == (
        RpcNotificationTypeHwnd, hwnd, WM_APP + 2)
    a = dcerpc.notify.callback(new_state(), routine)
    assert (a.NotificationType, a.u.NotificationRoutine) == (
        RpcNotificationTypeCallback, routine)
    port.close()
    hwnd.destroy()


def test_deliver_reports_an_undeliverable_notification() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    port.close()
    a = new_state()
    assert dcerpc.notify.deliver(a, (RpcNotificationTypeIoc, port, 0, 1, None)) is False
    assert dcerpc.notify.deliver(a, (RpcNotificationTypeHwnd, None, WM_APP)) is False
    assert dcerpc.notify.deliver(a, (RpcNotificationTypeNone,)) is True
