"""Seed-semantics §9.4, T39 (F31): the server subscribes to the call's cancel with a
callback, inside the manager (Binding None = the call on the dispatch thread); the client
cancels non-abortively over a real loopback call; the callback runs exactly once with
Event RpcClientCancel (4).  Type None gives 87, notification 4 gives 1764."""

from __future__ import annotations

import threading
from typing import Any

from seedlib import BOUND, GRACE, AsyncFunc, final, new_state, stays_false, wait_until

from dcerpc.status import RPC_S_CALL_IN_PROGRESS, RPC_S_INVALID_ARG, RPC_S_OK
from dcerpc.win32 import (
    RPC_ASYNC_NOTIFICATION_INFO,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcClientCancel,
    RpcNotificationTypeCallback,
    RpcNotificationTypeNone,
    RpcServerTestCancel,
)
from dcerpc.win32._server_notify import (
    RPC_S_CANNOT_SUPPORT,
    RpcNotificationCallCancel,
    RpcServerSubscribeForNotification,
    RpcServerUnsubscribeForNotification,
)


def test_t39_cancel_subscription_callback_runs_once_with_event_4(binding: Any,
                                                                 server: Any) -> None:
    """T39 (F31) [optional]."""
    seen: list[tuple[Any, Any, int]] = []
    fired = threading.Event()
    statuses: list[int] = []

    def routine(handle: Any, context: Any, event: int) -> None:
        seen.append((handle, context, event))
        fired.set()

    info = RPC_ASYNC_NOTIFICATION_INFO()
    info.NotificationRoutine = routine

    def policy(p_async: Any, _n: Any) -> None:  # runs in the manager: Binding None works
        statuses.append(RpcServerSubscribeForNotification(
            None, RpcNotificationCallCancel, RpcNotificationTypeNone, info))
        statuses.append(RpcServerSubscribeForNotification(
            None, 4, RpcNotificationTypeCallback, info))
        statuses.append(RpcServerSubscribeForNotification(
            None, RpcNotificationCallCancel, RpcNotificationTypeCallback, info))

    server.policy = policy
    Async = new_state()
    AsyncFunc(Async, binding, 39)
    assert server.wait_calls(1)
    d = server.calls[0]
    # Step 3 of T39: type None → 87, notification 4 → 1764; the real subscription → 0.
    assert statuses == [RPC_S_INVALID_ARG, RPC_S_CANNOT_SUPPORT, RPC_S_OK]
    assert RpcServerTestCancel(d.binding) == RPC_S_CALL_IN_PROGRESS
    assert stays_false(fired.is_set, GRACE)  # nothing before the cancel

    # Step 1: the client cancels non-abortively.
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
    # Step 2: the callback runs exactly once, with Event 4 and the server's pAsync.
    assert fired.wait(BOUND)
    assert seen == [(d.p_async, None, RpcClientCancel)]
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK  # cancelling again: still once
    assert stays_false(lambda: len(seen) > 1, GRACE)
    assert RpcServerTestCancel(d.binding) == RPC_S_OK

    # Unsubscribe before completing (F31): one notification was queued.
    assert RpcServerUnsubscribeForNotification(d.binding, RpcNotificationCallCancel) \
        == (RPC_S_OK, 1)
    assert server.complete(0, 0, (39,)) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    status, reply = RpcAsyncCompleteCall(Async, None)
    assert status == RPC_S_OK and tuple(reply) == (0, 39)
    assert len(seen) == 1
