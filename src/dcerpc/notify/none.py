"""RpcNotificationTypeNone: no notification; the client polls (seed-semantics F8, F17).

Thread rule: nothing runs anywhere.  Any thread may call ``RpcAsyncGetCallStatus`` on the
handle; it returns ``RPC_S_ASYNC_CALL_PENDING`` (997) until the outcome is stored, then
``RPC_S_OK`` or the failure code, and ``RpcAsyncCompleteCall`` collects the outcome.
Polling costs CPU; the other mechanisms exist so that a client need not (S1).
"""

from __future__ import annotations

from typing import Any

from dcerpc.win32._async import RpcNotificationTypeNone

MECHANISM = RpcNotificationTypeNone


def use(state: Any) -> Any:
    """Select polling on an initialised ``state``; the union ``u`` is not read."""
    state.NotificationType = RpcNotificationTypeNone
    return state


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    """Nothing to deliver: the outcome is already visible to RpcAsyncGetCallStatus."""
    return True
