"""``RPC_ASYNC_STATE`` and the RpcAsync* client functions, spelled as rpcasync.h spells them.

The structure is plain data the client fills in (seed-semantics §1.2, S16/S17); the call's
state machine is :class:`dcerpc.runtime.async_state.AsyncHandleCore`, kept in
``RuntimeInfo`` (so ``RpcAsyncGetCallHandle(p)`` == ``p.RuntimeInfo``, as the macro says).

Driver side (what a client stub / the runtime calls; not SDK names):

* :func:`async_call_begin` when the stub issues a call: snapshots the notification choice
  and the issuing thread (§4: "the mechanism selected at invocation time"); raises
  ``RpcError(RPC_S_INVALID_ASYNC_HANDLE)`` for a bad, busy or (strict mode) spent handle.
* :func:`async_call_failed` when the invocation raises: no notification, ever (F6).
* :func:`async_call_complete` from any thread when the call ends: stores the outcome,
  sets ``Event = RpcCallComplete`` and READY under the handle's lock, *then* delivers the
  one notification with :func:`notify` (§4 ordering; F11 exactly once).

Deviations from C (deliberate):

* ``u`` is not an overlapping union: every branch has its own storage, so
  ``Async.u.hEvent`` and ``Async.u.APC.NotificationRoutine`` do not alias.  Only the
  branch selected by ``NotificationType`` is read.
* ``Size``/``Signature``/``Lock``/``StubInfo``/``RuntimeInfo`` are compared with the values
  RpcAsyncInitializeHandle stored; any change makes the handle invalid (F2, 1914).
* ``xp_mode`` (not in the SDK) selects F4's XP behaviour: a completed handle may start
  another call without re-initialising.  Default strict, as the seed page says.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any

from dcerpc.errors import RpcError
from dcerpc.runtime.async_state import AsyncHandleCore, CancelHandler
from dcerpc.status import (
    RPC_S_CALL_IN_PROGRESS,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_INVALID_BINDING,
    RPC_S_NO_CALL_ACTIVE,
    RPC_S_OK,
)

log = logging.getLogger("dcerpc.win32")

# RPC_NOTIFICATION_TYPES (rpcasync.h; seed-semantics §1.2)
RpcNotificationTypeNone = 0
RpcNotificationTypeEvent = 1
RpcNotificationTypeApc = 2
RpcNotificationTypeIoc = 3
RpcNotificationTypeHwnd = 4
RpcNotificationTypeCallback = 5
# RPC_ASYNC_EVENT, all five members (§7 C6)
RpcCallComplete = 0
RpcSendComplete = 1
RpcReceiveComplete = 2
RpcClientDisconnect = 3
RpcClientCancel = 4
RPC_C_NOTIFY_ON_SEND_COMPLETE = 0x1  # RPC_ASYNC_STATE.Flags
RPC_ASYNC_SIGNATURE = 0x43595341  # "ASYC", the value Wine stores [Impl]


class _CAsyncState(ctypes.Structure):
    """The C layout, used only to give ``sizeof`` the SDK's number for this platform."""

    class _U(ctypes.Union):
        class _IOC(ctypes.Structure):
            _fields_ = (("hIOPort", ctypes.c_void_p),
                        ("dwNumberOfBytesTransferred", ctypes.c_uint32),
                        ("dwCompletionKey", ctypes.c_size_t),
                        ("lpOverlapped", ctypes.c_void_p))

        _fields_ = (("APC", ctypes.c_void_p * 2), ("IOC", _IOC),
                    ("HWND", ctypes.c_void_p * 2), ("hEvent", ctypes.c_void_p),
                    ("NotificationRoutine", ctypes.c_void_p))

    _fields_ = (("Size", ctypes.c_uint32), ("Signature", ctypes.c_uint32),
                ("Lock", ctypes.c_int32), ("Flags", ctypes.c_uint32),
                ("StubInfo", ctypes.c_void_p), ("UserInfo", ctypes.c_void_p),
                ("RuntimeInfo", ctypes.c_void_p), ("Event", ctypes.c_int),
                ("NotificationType", ctypes.c_int), ("u", _U),
                ("Reserved", ctypes.c_ssize_t * 4))


RPC_ASYNC_STATE_SIZE = ctypes.sizeof(_CAsyncState)  # 112 on 64-bit Windows and here
RPC_ASYNC_VERSION_1_0 = RPC_ASYNC_STATE_SIZE  # rpcasync.h: sizeof(RPC_ASYNC_STATE)


class _APC:
    __slots__ = ("NotificationRoutine", "hThread")

    def __init__(self) -> None:
        self.NotificationRoutine: Any = None
        self.hThread: Any = None


class _IOC:
    __slots__ = ("dwCompletionKey", "dwNumberOfBytesTransferred", "hIOPort", "lpOverlapped")

    def __init__(self) -> None:
        self.hIOPort: Any = None
        self.dwNumberOfBytesTransferred = 0
        self.dwCompletionKey = 0
        self.lpOverlapped: Any = None


class _HWND:
    __slots__ = ("Msg", "hWnd")

    def __init__(self) -> None:
        self.hWnd: Any = None
        self.Msg = 0


class RPC_ASYNC_NOTIFICATION_INFO:
    """The union ``u`` (S17), every branch on one object (see the module docstring)."""

    __slots__ = ("APC", "HWND", "IOC", "NotificationRoutine", "hEvent")

    def __init__(self) -> None:
        self.APC = _APC()
        self.IOC = _IOC()
        self.HWND = _HWND()
        self.hEvent: Any = None
        self.NotificationRoutine: Any = None


class RPC_ASYNC_STATE:
    """The async handle (S16).  Fields as rpcasync.h spells them."""

    __slots__ = ("Event", "Flags", "Lock", "NotificationType", "Reserved", "RuntimeInfo",
                 "Signature", "Size", "StubInfo", "UserInfo", "_core", "_owned", "_selection",
                 "u", "xp_mode")

    def __init__(self) -> None:
        # Uninitialised memory is modelled as zeros: not a valid handle until
        # RpcAsyncInitializeHandle (F2).
        self.Size = 0
        self.Signature = 0
        self.Lock = 0
        self.Flags = 0
        self.StubInfo: Any = None
        self.UserInfo: Any = None
        self.RuntimeInfo: Any = None
        self.Event = RpcCallComplete
        self.NotificationType = RpcNotificationTypeNone
        self.u = RPC_ASYNC_NOTIFICATION_INFO()
        self.Reserved = [0, 0, 0, 0]
        self.xp_mode = False
        self._core: AsyncHandleCore | None = None
        self._owned: tuple[Any, ...] | None = None
        self._selection: tuple[Any, ...] | None = None

    def __repr__(self) -> str:
        return f"<RPC_ASYNC_STATE {self._core!r} NotificationType={self.NotificationType}>"


PRPC_ASYNC_STATE = RPC_ASYNC_STATE


def sizeof(obj: Any) -> int:
    """``sizeof(RPC_ASYNC_STATE)`` (the class or an instance)."""
    if obj is RPC_ASYNC_STATE or isinstance(obj, RPC_ASYNC_STATE):
        return RPC_ASYNC_STATE_SIZE
    raise TypeError(f"sizeof() knows only RPC_ASYNC_STATE, not {obj!r}")


def _owned_fields(a: RPC_ASYNC_STATE) -> tuple[Any, ...]:
    return (a.Size, a.Signature, a.Lock, id(a.StubInfo), id(a.RuntimeInfo))


def _core(a: Any) -> AsyncHandleCore | None:
    """The core of a valid handle, or None (F2: never initialised or runtime fields
    touched by the client)."""
    if not isinstance(a, RPC_ASYNC_STATE) or a._core is None or a._owned is None:
        return None
    if _owned_fields(a) != a._owned:
        return None
    return a._core


# ----------------------------------------------------------------------- client API
def RpcAsyncInitializeHandle(Async: Any, Size: int) -> int:
    """0; 87 when ``Size`` is not ``RPC_ASYNC_STATE_SIZE``; 1914 for a non-handle (F1)."""
    if not isinstance(Async, RPC_ASYNC_STATE):
        return RPC_S_INVALID_ASYNC_HANDLE
    if Size != RPC_ASYNC_STATE_SIZE:
        return RPC_S_INVALID_ARG
    core = Async._core
    if core is None:
        core = AsyncHandleCore(lock=threading.RLock())
    status = core.initialize(Size, RPC_ASYNC_STATE_SIZE)
    if status != RPC_S_OK:
        return status
    # Runtime-owned fields (F1); Wine also clears Flags and Reserved [Impl].
    Async.Size, Async.Signature, Async.Lock = Size, RPC_ASYNC_SIGNATURE, 0
    Async.StubInfo, Async.Flags, Async.Reserved = None, 0, [0, 0, 0, 0]
    Async._core = Async.RuntimeInfo = core
    Async._owned = _owned_fields(Async)
    Async._selection = None
    return RPC_S_OK


def RpcAsyncGetCallStatus(Async: Any) -> int:
    core = _core(Async)
    return RPC_S_INVALID_ASYNC_HANDLE if core is None else core.get_call_status()


def RpcAsyncCompleteCall(Async: Any, Reply: Any = None) -> Any:
    """Client handle: ``(status, reply)`` (F9).  If ``Reply`` is a holder with a ``value``
    attribute it is also filled in, but only on RPC_S_OK (F5 [D]).

    Server handle (the ``pAsync`` of an ``[async]`` manager): send ``Reply`` — the result
    shaped as a synchronous manager returns it — and return the status alone, an ``int``
    (F26; :mod:`dcerpc.aio._async_server`)."""
    server_complete = getattr(Async, "server_complete", None)
    if server_complete is not None:
        return server_complete(Reply)
    core = _core(Async)
    if core is None:
        return RPC_S_INVALID_ASYNC_HANDLE, None
    status, reply = core.complete_call()
    if status == RPC_S_OK and Reply is not None and hasattr(Reply, "value"):
        Reply.value = reply
    return status, reply


def RpcAsyncCancelCall(Async: Any, fAbort: bool) -> int:
    core = _core(Async)
    return RPC_S_INVALID_ASYNC_HANDLE if core is None else core.cancel(bool(fAbort))


def RpcAsyncAbortCall(Async: Any, ExceptionCode: int) -> int:
    """Server handle: end the call with fault ``ExceptionCode`` (F27): 0; 1914 once the
    call has ended; 87 for code 0 (the call stays outstanding, [D]).  A client handle
    gives 1914 (abort is a server function)."""
    server_abort = getattr(Async, "server_abort", None)
    if server_abort is None:
        return RPC_S_INVALID_ASYNC_HANDLE
    return int(server_abort(ExceptionCode))


def RpcServerTestCancel(BindingHandle: Any = None) -> int:
    """F29: 0 once the client asked to cancel the call (co_cancel, orphan or lost
    connection); RPC_S_CALL_IN_PROGRESS (1791) before; RPC_S_NO_CALL_ACTIVE (1725) for
    handle 0/None outside a manager; RPC_S_INVALID_BINDING (1702) for anything that is
    not a server call handle.  Changes no state."""
    from dcerpc.aio._callctx import CallContext, _current  # lazy: aio imports win32

    call = _current.get() if BindingHandle is None or BindingHandle == 0 else BindingHandle
    if call is None:
        return RPC_S_NO_CALL_ACTIVE
    if not isinstance(call, CallContext):
        return RPC_S_INVALID_BINDING
    return RPC_S_OK if call.test_cancel() else RPC_S_CALL_IN_PROGRESS


def RpcAsyncGetCallHandle(Async: Any) -> Any:
    """The rpcasync.h macro: ``Async->RuntimeInfo``."""
    return Async.RuntimeInfo


# ----------------------------------------------------------------------- driver side
def _snapshot(a: RPC_ASYNC_STATE) -> tuple[Any, ...]:
    u, kind = a.u, a.NotificationType
    if kind == RpcNotificationTypeEvent:
        return (kind, u.hEvent)
    if kind == RpcNotificationTypeApc:
        return (kind, u.APC.NotificationRoutine, u.APC.hThread or threading.current_thread())
    if kind == RpcNotificationTypeIoc:
        return (kind, u.IOC.hIOPort, u.IOC.dwNumberOfBytesTransferred,
                u.IOC.dwCompletionKey, u.IOC.lpOverlapped)
    if kind == RpcNotificationTypeHwnd:
        return (kind, u.HWND.hWnd, u.HWND.Msg)
    if kind == RpcNotificationTypeCallback:
        return (kind, u.NotificationRoutine)
    if kind == RpcNotificationTypeNone:
        return (kind,)
    raise RpcError(f"unknown NotificationType {kind!r}", RPC_S_INVALID_ARG)


def async_call_begin(Async: Any, on_cancel: CancelHandler | None = None) -> None:
    """The stub issues a call on ``Async`` (see the module docstring).  Must run on the
    issuing thread: an APC with ``hThread`` 0/None targets it (F19)."""
    core = _core(Async)
    if core is None:
        raise RpcError("invalid async handle (not initialised, or runtime fields changed)",
                       RPC_S_INVALID_ASYNC_HANDLE)
    selection = _snapshot(Async)  # raises before the handle changes state
    core.xp_mode = bool(Async.xp_mode)
    core.begin(on_cancel)
    Async._selection = selection


def async_call_failed(Async: RPC_ASYNC_STATE) -> None:
    """The invocation raised after :func:`async_call_begin`: no notification (F6)."""
    if Async._core is not None:
        Async._core.invocation_failed()
    Async._selection = None


def async_call_complete(Async: RPC_ASYNC_STATE, reply: Any = None,
                        status: int = RPC_S_OK) -> bool:
    """End the call once: True if this completion won (and was notified), else False."""
    core = Async._core
    if core is None:
        return False
    with core.lock:  # Event and READY become visible together, before the notification
        if not core.complete(reply, status):
            return False
        Async.Event = RpcCallComplete
    notify(Async)
    return True


def notify(Async: RPC_ASYNC_STATE) -> None:
    """Deliver the one call-complete notification through the selected mechanism (§4);
    the per-mechanism code and thread rules are in :mod:`dcerpc.notify`.  A failed delivery
    (closed port, destroyed window) is logged; the outcome stays collectable with
    RpcAsyncCompleteCall."""
    # Lazy: dcerpc.notify imports the Win32 objects of this package.
    from dcerpc.notify import deliver

    sel = Async._selection if Async._selection is not None else _snapshot(Async)
    if not deliver(Async, sel):
        log.warning("async notification (type %s) could not be delivered for %r", sel[0], Async)
