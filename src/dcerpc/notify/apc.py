"""RpcNotificationTypeApc: ``u.APC.NotificationRoutine`` runs as a user-mode APC (F19).

Thread rule: the routine is *queued* to ``u.APC.hThread``, or to the thread that issued the
call when hThread is 0/None (captured at invocation, on the issuing thread).  It runs only on
that thread, and only inside one of its alertable waits (``SleepEx(ms, True)``,
``WaitForSingleObjectEx(h, ms, True)``, ``WaitForMultipleObjectsEx(..., True)``), which then
returns ``WAIT_IO_COMPLETION`` (0xC0).  Non-alertable waits never run it; it stays queued
until the next alertable wait.  It is called as ``routine(pAsync, None, RpcCallComplete)``
(Context is reserved and NULL, S20).  No APC ever runs on a runtime thread.
"""

from __future__ import annotations

import threading
from typing import Any

from dcerpc.win32._async import RpcCallComplete, RpcNotificationTypeApc
from dcerpc.win32._kernel import ThreadHandle, queue_user_apc

MECHANISM = RpcNotificationTypeApc

Thread = ThreadHandle | threading.Thread | int | None


def use(state: Any, routine: Any, thread: Thread = None) -> Any:
    """Select APC notification.  ``thread`` None means the thread that makes the call."""
    state.NotificationType = RpcNotificationTypeApc
    state.u.APC.NotificationRoutine = routine
    state.u.APC.hThread = thread
    return state


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    """Queue the routine on the target thread; never run it here."""
    routine, thread = selection[1], selection[2]

    def apc(_data: Any) -> None:
        routine(state, None, RpcCallComplete)

    try:
        queue_user_apc(apc, thread)
    except (TypeError, ValueError):  # not callable, or no such thread
        return False
    return True
