"""Completion notification for MS-RPC async calls, one small module per mechanism.

When an async call ends, the runtime stores the outcome (``RpcAsyncGetCallStatus`` stops
returning 997), sets ``Event = RpcCallComplete`` and then delivers exactly one notification
through the mechanism the ``RPC_ASYNC_STATE`` selected when the call was issued
(seed-semantics §4, F11, F17).  Each module states its mechanism's thread rule:

=========================  ==========================  =====================================
mechanism                  module                      where the client's code runs
=========================  ==========================  =====================================
RpcNotificationTypeNone    :mod:`.none`                nowhere: the client polls
RpcNotificationTypeEvent   :mod:`.event`               any thread waiting on the event
RpcNotificationTypeApc     :mod:`.apc`                 the target thread, in an alertable wait
RpcNotificationTypeIoc     :mod:`.iocp`                any thread dequeuing from the port
RpcNotificationTypeHwnd    :mod:`.window`              the window's owner thread (or loop)
RpcNotificationTypeCallback :mod:`.callback`           a runtime worker thread
=========================  ==========================  =====================================

The functions below fill in an initialised state and return it, so that the Pythonic
spelling of ``Async.NotificationType = RpcNotificationTypeEvent; Async.u.hEvent = ev`` is
``dcerpc.notify.event(Async, ev)``.  They shadow the submodule names on this package; import
a module's other names from the module itself (``from dcerpc.notify.window import
loop_target``).  The Win32 objects they target (events, APC queues, completion ports,
message queues) live in :mod:`dcerpc.win32`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from dcerpc.notify import apc as _apc
from dcerpc.notify import callback as _callback
from dcerpc.notify import event as _event
from dcerpc.notify import iocp as _iocp
from dcerpc.notify import none as _none
from dcerpc.notify import window as _window
from dcerpc.win32._kernel import ThreadHandle, Win32Event
from dcerpc.win32._messages import LoopWindow, Window, WndProc
from dcerpc.win32._ports import IoCompletionPort

__all__ = ["LoopWindow", "apc", "callback", "deliver", "event", "iocp", "loop_target",
           "none", "window"]

_DELIVER = {m.MECHANISM: m.deliver for m in (_none, _event, _apc, _iocp, _window, _callback)}


def none(state: Any) -> Any:
    """Polling (RpcNotificationTypeNone)."""
    return _none.use(state)


def event(state: Any, ev: Win32Event) -> Any:
    """Signal ``ev`` on completion (RpcNotificationTypeEvent)."""
    return _event.use(state, ev)


def apc(state: Any, routine: Any,
        thread: ThreadHandle | threading.Thread | int | None = None) -> Any:
    """Queue ``routine(state, None, RpcCallComplete)`` as an APC to ``thread`` (default:
    the thread that makes the call) (RpcNotificationTypeApc)."""
    return _apc.use(state, routine, thread)


def iocp(state: Any, port: IoCompletionPort, key: int, bytes: int = 0,
         overlapped: Any = None) -> Any:
    """Post ``(bytes, key, overlapped)`` to ``port`` (RpcNotificationTypeIoc)."""
    return _iocp.use(state, port, key, bytes, overlapped)


def window(state: Any, hwnd: Window, msg: int) -> Any:
    """Post ``msg`` with lParam = ``state`` to ``hwnd`` (RpcNotificationTypeHwnd)."""
    return _window.use(state, hwnd, msg)


def callback(state: Any, fn: Any) -> Any:
    """Call ``fn(state, None, RpcCallComplete)`` on a runtime worker thread
    (RpcNotificationTypeCallback)."""
    return _callback.use(state, fn)


def loop_target(loop: asyncio.AbstractEventLoop, handler: WndProc | None = None) -> LoopWindow:
    """A window whose messages are delivered on ``loop``'s thread (see
    :func:`dcerpc.notify.window.loop_target`)."""
    return _window.loop_target(loop, handler)


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    """Deliver the one notification for ``state`` through ``selection`` — the mechanism and
    its targets captured when the call was issued (``(NotificationType, ...)``).  False when
    it could not be delivered (closed port, destroyed window, gone thread)."""
    fn = _DELIVER.get(selection[0])
    return True if fn is None else fn(state, selection)
