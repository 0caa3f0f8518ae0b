"""RpcNotificationTypeHwnd: message ``u.HWND.Msg`` is *posted* to ``u.HWND.hWnd`` (F21).

Thread rule: the runtime's completing thread only posts ``(hWnd, Msg, wParam=0,
lParam=pAsync)`` — the docs put the async state in lParam (Wine posts 0; §7 C5 follows the
docs) — and never calls the window procedure.  The window's owner thread receives it with
``GetMessage``/``PeekMessage`` and runs the procedure with ``DispatchMessage``, on that
thread.  For an asyncio program the window may be a :class:`~dcerpc.win32._messages.LoopWindow`
(:func:`loop_target`): then the owner "thread" is the event loop, and the handler runs on
the loop's thread through ``loop.call_soon_threadsafe``.  HWND notification is deprecated
on Windows from Server 2003 on but still documented; it is kept for ported code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from dcerpc.win32._async import RpcNotificationTypeHwnd
from dcerpc.win32._messages import LoopWindow, PostMessage, Window, WndProc

MECHANISM = RpcNotificationTypeHwnd


def use(state: Any, hwnd: Window, msg: int) -> Any:
    """Select window-message notification: post ``msg`` to ``hwnd`` on completion."""
    state.NotificationType = RpcNotificationTypeHwnd
    state.u.HWND.hWnd = hwnd
    state.u.HWND.Msg = msg
    return state


def loop_target(loop: asyncio.AbstractEventLoop, handler: WndProc | None = None) -> LoopWindow:
    """A window whose messages are delivered on ``loop``'s thread: ``handler(hwnd, msg,
    wParam, lParam)`` is called there (a coroutine it returns runs as a task), or, without a
    handler, ``await window.get_message()`` returns each MSG."""
    return LoopWindow(loop, handler)


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    _kind, hwnd, msg = selection
    return hwnd is not None and bool(PostMessage(hwnd, msg, 0, state))
