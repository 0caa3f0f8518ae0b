"""Server subscriptions to call notifications (seed-semantics F31, F34; rpcasync.h, Vista+).

``RpcServerSubscribeForNotification(Binding, Notification, NotificationType,
NotificationInfo)`` asks the runtime to tell the server when the client cancels the call
(``RpcNotificationCallCancel``) or its connection goes away
(``RpcNotificationClientDisconnect``); ``RpcServerUnsubscribeForNotification(Binding,
Notification)`` returns ``(status, NotificationsQueued)`` — the SDK's out-parameter as
the second item, pywin32-style.

Rules, as the SDK pages state them:

* ``Binding`` None/0 means the call dispatched on the calling thread (1725 when there is
  none); otherwise the server call handle, ``RpcAsyncGetCallHandle(pAsync)`` (1702 for
  anything else).
* ``Notification`` is a bit set of RpcNotificationClientDisconnect (1) and
  RpcNotificationCallCancel (2) ("can be used as flags in a bitmask too", rpcasync.h);
  anything else → RPC_S_CANNOT_SUPPORT (1764).  Unsubscribe takes one value at a time.
* ``NotificationType`` None → RPC_S_INVALID_ARG (87).  With Event, one subscription per
  notification ("for events, two separate calls are required"): both bits → 87 [D].
* The info is copied at subscription: changing the caller's structure afterwards changes
  nothing.
* Delivery, at most once per call per notification: APC and Callback routines are called
  as ``routine(handle, None, Event)`` with ``Event`` RpcClientCancel (4) or
  RpcClientDisconnect (3); ``handle`` is the ``pAsync`` for an ``[async]`` call and the
  call's binding handle otherwise (the SDK's "binding handle for synchronous calls and the
  async handle for asynchronous calls").  Event, IOC and HWND cannot carry the kind: the
  event is set, the packet posted with the preset values, the message posted with
  ``lParam`` = that handle.

Decisions [D], not stated by the SDK:

* A notification whose condition already holds when the server subscribes (the client
  cancelled before the manager got round to subscribing) is delivered at once, so a
  cancel racing with the subscription is never lost.
* Subscribing again to a notification already subscribed on the same call replaces the
  delivery target; it is still delivered at most once.
* A Callback routine runs on the server's loop thread (DESIGN §4: it must not block);
  its exceptions are logged and swallowed.  An APC runs on its target thread inside an
  alertable wait, as on the client (``hThread`` None/0 = the subscribing thread).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from dcerpc.status import (
    RPC_S_CANNOT_SUPPORT,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_BINDING,
    RPC_S_NO_CALL_ACTIVE,
    RPC_S_OK,
)
from dcerpc.win32._async import (
    RpcClientCancel,
    RpcClientDisconnect,
    RpcNotificationTypeApc,
    RpcNotificationTypeCallback,
    RpcNotificationTypeEvent,
    RpcNotificationTypeHwnd,
    RpcNotificationTypeIoc,
)
from dcerpc.win32._kernel import SetEvent, queue_user_apc
from dcerpc.win32._messages import PostMessage
from dcerpc.win32._ports import PostQueuedCompletionStatus

__all__ = [
    "RPC_S_CANNOT_SUPPORT",
    "RpcNotificationCallCancel",
    "RpcNotificationCallNone",
    "RpcNotificationCallStatusChange",
    "RpcNotificationClientDisconnect",
    "RpcServerSubscribeForNotification",
    "RpcServerUnsubscribeForNotification",
]

if TYPE_CHECKING:
    from dcerpc.aio._callctx import CallContext, Hook

log = logging.getLogger("dcerpc.win32")

# RPC_NOTIFICATIONS (rpcasync.h, Vista+; seed-semantics §1.2)
RpcNotificationCallNone = 0
RpcNotificationClientDisconnect = 1
RpcNotificationCallCancel = 2
RpcNotificationCallStatusChange = RpcNotificationClientDisconnect  # rpcasync.h alias

#: (RPC_NOTIFICATIONS bit, RPC_ASYNC_EVENT reported to APC/Callback routines)
_KINDS = ((RpcNotificationClientDisconnect, RpcClientDisconnect),
          (RpcNotificationCallCancel, RpcClientCancel))
_ALL = RpcNotificationClientDisconnect | RpcNotificationCallCancel
_TYPES = (RpcNotificationTypeEvent, RpcNotificationTypeApc, RpcNotificationTypeIoc,
          RpcNotificationTypeHwnd, RpcNotificationTypeCallback)


class _Subscription:
    """One (call, notification) subscription: the copied info and how often it fired."""

    __slots__ = ("hook", "queued", "target")

    def __init__(self) -> None:
        self.hook: Hook | None = None
        self.target: tuple[Any, ...] = ()
        self.queued = 0


def _resolve(Binding: Any) -> tuple[int, CallContext | None]:
    # Imported here: dcerpc.aio imports dcerpc.win32, not the other way round at import.
    from dcerpc.aio._callctx import CallContext, _current

    call = _current.get() if Binding is None or Binding == 0 else Binding
    if call is None:
        return RPC_S_NO_CALL_ACTIVE, None
    if not isinstance(call, CallContext):
        return RPC_S_INVALID_BINDING, None
    return RPC_S_OK, call


def _copy_info(NotificationType: int, info: Any) -> tuple[Any, ...] | None:
    """Snapshot the branch of RPC_ASYNC_NOTIFICATION_INFO the type selects (F31: "RPC
    makes a copy of this parameter").  None when the info lacks that branch."""
    # An RPC_ASYNC_STATE is accepted too: its ``u`` is the union.
    u = getattr(info, "u", info)
    try:
        if NotificationType == RpcNotificationTypeEvent:
            return (u.hEvent,)
        if NotificationType == RpcNotificationTypeApc:
            return (u.APC.NotificationRoutine, u.APC.hThread or threading.current_thread())
        if NotificationType == RpcNotificationTypeIoc:
            ioc = u.IOC
            return (ioc.hIOPort, ioc.dwNumberOfBytesTransferred, ioc.dwCompletionKey,
                    ioc.lpOverlapped)
        if NotificationType == RpcNotificationTypeHwnd:
            return (u.HWND.hWnd, u.HWND.Msg)
        return (u.NotificationRoutine,)
    except AttributeError:
        return None


def _subscriptions(call: CallContext) -> dict[int, _Subscription]:
    subs: dict[int, _Subscription] | None = call.extra.get("subscriptions")
    if subs is None:
        subs = call.extra["subscriptions"] = {}
    return subs


def RpcServerSubscribeForNotification(Binding: Any, Notification: int,
                                      NotificationType: int, NotificationInfo: Any) -> int:
    """Subscribe the call to cancel and/or client-disconnect notifications (see the
    module docstring): RPC_S_OK, 1764, 87, 1725 or 1702."""
    status, call = _resolve(Binding)
    if call is None:
        return status
    if (not isinstance(Notification, int) or Notification <= 0
            or Notification & ~_ALL):
        return RPC_S_CANNOT_SUPPORT
    if NotificationType not in _TYPES or NotificationInfo is None:
        return RPC_S_INVALID_ARG
    if NotificationType == RpcNotificationTypeEvent and Notification == _ALL:
        return RPC_S_INVALID_ARG  # one event subscription per notification (SDK remarks)
    target = _copy_info(NotificationType, NotificationInfo)
    if target is None:
        return RPC_S_INVALID_ARG
    handle = call.extra.get("async_state") or call
    subs = _subscriptions(call)
    for bit, event in _KINDS:
        if not Notification & bit:
            continue
        sub = subs.get(bit)
        if sub is None:
            sub = subs[bit] = _Subscription()
        elif sub.hook is not None:
            sub.hook.remove()
            sub.hook = None
        sub.target = (NotificationType, *target)
        if sub.queued:
            continue  # at most once per call per notification, even when re-subscribed
        register = call.on_cancel if bit == RpcNotificationCallCancel else call.on_disconnect
        sub.hook = register(_deliverer(sub, handle, event))
    return RPC_S_OK


def RpcServerUnsubscribeForNotification(Binding: Any, Notification: int
                                        ) -> tuple[int, int]:
    """``(status, NotificationsQueued)``: how many notifications of this kind the runtime
    queued for the call (0 or 1).  One notification value at a time (else 1764)."""
    status, call = _resolve(Binding)
    if call is None:
        return status, 0
    if Notification not in (RpcNotificationClientDisconnect, RpcNotificationCallCancel):
        return RPC_S_CANNOT_SUPPORT, 0
    subs: dict[int, _Subscription] = call.extra.get("subscriptions") or {}
    sub = subs.pop(Notification, None)
    if sub is None:
        return RPC_S_OK, 0
    if sub.hook is not None:
        sub.hook.remove()
        sub.hook = None
    return RPC_S_OK, sub.queued


def _deliverer(sub: _Subscription, handle: Any, event: int) -> Any:
    def deliver() -> None:
        sub.queued += 1
        sub.hook = None
        _deliver(sub.target, handle, event)
    return deliver


def _deliver(target: tuple[Any, ...], handle: Any, event: int) -> None:
    """Notify through the subscribed mechanism (§4's thread rules)."""
    kind = target[0]
    ok = True
    if kind == RpcNotificationTypeEvent:
        ok = SetEvent(target[1])
    elif kind == RpcNotificationTypeApc:
        routine = target[1]

        def apc(_data: Any) -> None:
            routine(handle, None, event)

        try:
            queue_user_apc(apc, target[2])
        except (TypeError, ValueError):
            ok = False
    elif kind == RpcNotificationTypeIoc:
        ok = PostQueuedCompletionStatus(target[1], target[2], target[3], target[4])
    elif kind == RpcNotificationTypeHwnd:
        ok = target[1] is not None and PostMessage(target[1], target[2], 0, handle)
    else:
        try:
            target[1](handle, None, event)
        except Exception:
            log.exception("server notification routine raised")
    if not ok:
        log.warning("server notification (type %s, event %s) could not be delivered",
                    kind, event)
