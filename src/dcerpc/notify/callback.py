"""RpcNotificationTypeCallback: ``u.NotificationRoutine`` is called directly (F22).

Thread rule: the routine runs on a runtime *worker* thread at the moment of completion —
never on the issuing thread and never on the runtime's network (event-loop) thread — as
``routine(pAsync, None, RpcCallComplete)``.  The outcome is stored first, so the routine may
call ``RpcAsyncCompleteCall`` at once.  It should not block for long or make RPC calls (S17).
An exception it raises is logged and swallowed: it never changes the call's outcome
(seed-semantics §4 [D]).
"""

from __future__ import annotations

import logging
from typing import Any

from dcerpc.win32._async import RpcCallComplete, RpcNotificationTypeCallback

MECHANISM = RpcNotificationTypeCallback
log = logging.getLogger("dcerpc.win32")


def use(state: Any, routine: Any) -> Any:
    """Select callback notification: ``state.u.NotificationRoutine = routine``."""
    state.NotificationType = RpcNotificationTypeCallback
    state.u.NotificationRoutine = routine
    return state


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    try:
        selection[1](state, None, RpcCallComplete)
    except Exception:  # §4 [D]: never affects the call's result
        log.exception("RPC async notification routine raised")
    return True
