"""RpcNotificationTypeEvent: the runtime signals ``u.hEvent`` as SetEvent does (F18).

Thread rule: the runtime's completing thread only *signals*; nothing runs on it on the
client's behalf.  Whichever thread waits on the event (``WaitForSingleObject(Ex)``,
``WaitForMultipleObjects(Ex)``) wakes: an auto-reset event wakes exactly one waiter and
resets itself, a manual-reset event stays signalled until ``ResetEvent``.  The event is the
client's: the runtime never closes or resets it (F15).
"""

from __future__ import annotations

from typing import Any

from dcerpc.win32._async import RpcNotificationTypeEvent
from dcerpc.win32._kernel import SetEvent, Win32Event

MECHANISM = RpcNotificationTypeEvent


def use(state: Any, event: Win32Event) -> Any:
    """Select event notification: ``state.u.hEvent = event``."""
    state.NotificationType = RpcNotificationTypeEvent
    state.u.hEvent = event
    return state


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    """Signal the event captured when the call was issued; False for a closed/bad event."""
    return bool(SetEvent(selection[1]))
