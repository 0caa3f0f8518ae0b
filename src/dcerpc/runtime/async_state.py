"""The client async-handle state machine (``RPC_ASYNC_STATE``), sans-IO.

Theory of operation
-------------------
One :class:`AsyncHandleCore` lives behind one async handle (the faithful face stores it
in ``RPC_ASYNC_STATE.RuntimeInfo``).  It models seed-semantics §3.1 (F1-F16, F33) and
owns *only* the bookkeeping: who may do what in which state, the stored outcome, and the
"complete exactly once" guarantee.  It never notifies, sends or waits; the driver does that
with the values the core hands back (sans-IO, DESIGN.md §3).  Thread safety comes from
an injected lock (any context manager, e.g. ``threading.RLock()``), so this module needs
no threading import.

States and transitions (every one of them; anything else is refused with a status)::

  RAW --initialize(ok)--> INIT            initialize(wrong size) -> 87, state unchanged (F1)
  INIT --begin()--> PENDING               the stub returned normally (F6)
  PENDING --invocation_failed()--> DEAD_NO_NOTIFY
                                          the stub raised: no notification ever (F6, F11)
  PENDING --cancel(abort)--> CANCEL_REQUESTED      returns 0 (§5.1); observable status
                                          stays 997; the driver is told via on_cancel
  PENDING|CANCEL_REQUESTED --complete()--> READY   result stored; complete() is True once,
                                          then the driver delivers the ONE notification
                                          (§4: store + READY before notifying)
  READY --complete_call()--> DONE         the final (status, reply) is handed out once (F9)
  DONE|DEAD_NO_NOTIFY|INIT --initialize(ok)--> INIT      re-initialisation (F4)
  DONE|DEAD_NO_NOTIFY --begin()--> PENDING               only in XP mode (F4 [D])

Decisions ([D], seed-semantics §7/F-rules):

* ``begin()`` on a handle whose call is outstanding (PENDING, CANCEL_REQUESTED, READY),
  on a RAW handle, or (strict mode) on a DONE / DEAD handle raises
  ``RpcError(RPC_S_INVALID_ASYNC_HANDLE)`` and leaves the first call untouched (F3, F4).
* ``initialize()`` while a call is outstanding returns RPC_S_INVALID_ASYNC_HANDLE and
  leaves the call untouched: re-initialising would orphan a call the runtime still owns.
* After DONE, ``complete_call``, ``cancel`` and ``get_call_status`` return
  RPC_S_INVALID_ASYNC_CALL (1915) and notify nothing (F9).  The same status is returned
  when no call was ever started on an initialised handle, or its invocation failed (F13:
  such a call must never be cancelled).
* Abortive cancel: once recorded, the final status is RPC_S_CALL_CANCELLED (1818) whatever
  completion arrives, since the server's results are discarded (§5.1).  Non-abortive
  cancel only asks for a co_cancel; the final outcome is the server's.  A later abortive
  cancel upgrades a non-abortive one (the "non-abortive, timer, abortive" pattern).
* ``cancel`` on a READY call returns RPC_S_OK and changes nothing: the outcome is final.
* Out values (``reply``) are handed out only with RPC_S_OK (F5 [D]); an error hands out
  ``None``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ..errors import LocalProtocolError, RpcError
from ..status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_CALL,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_OK,
)

__all__ = ["AsyncHandleCore", "AsyncState"]


class AsyncState(enum.Enum):
    RAW = "RAW"  # never initialised (or the runtime-owned fields were damaged)
    INIT = "INIT"
    PENDING = "PENDING"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    READY = "READY"  # outcome stored, notification due / delivered, not yet collected
    DONE = "DONE"  # collected by complete_call; runtime resources freed
    DEAD_NO_NOTIFY = "DEAD_NO_NOTIFY"  # the invocation raised (F6)


_OUTSTANDING = frozenset({AsyncState.PENDING, AsyncState.CANCEL_REQUESTED, AsyncState.READY})
_IN_FLIGHT = frozenset({AsyncState.PENDING, AsyncState.CANCEL_REQUESTED})
_REUSABLE = frozenset({AsyncState.DONE, AsyncState.DEAD_NO_NOTIFY})

CancelHandler = Callable[[bool], Any]


class AsyncHandleCore:
    """The state of one async handle (see the module docstring)."""

    __slots__ = ("_lock", "_on_cancel", "abortive", "reply", "state", "status", "xp_mode")

    def __init__(self, *, xp_mode: bool = False,
                 lock: AbstractContextManager[Any] | None = None) -> None:
        self._lock: AbstractContextManager[Any] = (
            lock if lock is not None else contextlib.nullcontext())
        self.xp_mode = xp_mode  # F4 [D]: allow reuse after DONE without re-initialising
        self.state = AsyncState.RAW
        self.status = RPC_S_OK
        self.reply: Any = None
        self.abortive = False
        self._on_cancel: CancelHandler | None = None

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The injected lock; a driver may hold it (re-entrant) around complete()."""
        return self._lock

    def __repr__(self) -> str:
        return f"<AsyncHandleCore {self.state.value} status={self.status}>"

    # ------------------------------------------------------------------ client side
    def initialize(self, size: int, expected_size: int) -> int:
        """RpcAsyncInitializeHandle (F1): 0, or 87 for a wrong size (state unchanged)."""
        if size != expected_size:
            return RPC_S_INVALID_ARG
        with self._lock:
            if self.state in _OUTSTANDING:
                return RPC_S_INVALID_ASYNC_HANDLE
            self._reset(AsyncState.INIT)
        return RPC_S_OK

    def begin(self, on_cancel: CancelHandler | None = None) -> None:
        """The stub is issuing a call on this handle (F3, F4, F6).  ``on_cancel(abortive)``
        is how the driver hears about RpcAsyncCancelCall."""
        with self._lock:
            ok = self.state is AsyncState.INIT or (
                self.xp_mode and self.state in _REUSABLE)
            if not ok:
                raise RpcError(f"async handle cannot start a call in state {self.state.value}",
                               RPC_S_INVALID_ASYNC_HANDLE)
            self._reset(AsyncState.PENDING)
            self._on_cancel = on_cancel

    def invocation_failed(self) -> None:
        """The stub raised after begin(): no notification will ever come (F6, F11)."""
        with self._lock:
            if self.state is not AsyncState.PENDING:
                raise LocalProtocolError(
                    f"invocation_failed in state {self.state.value}; only a call that was "
                    "never issued (PENDING, not cancelled) can fail synchronously")
            self._reset(AsyncState.DEAD_NO_NOTIFY)

    def get_call_status(self) -> int:
        """RpcAsyncGetCallStatus (F8)."""
        with self._lock:
            state = self.state
            if state is AsyncState.RAW:
                return RPC_S_INVALID_ASYNC_HANDLE
            if state in _IN_FLIGHT:
                return RPC_S_ASYNC_CALL_PENDING
            if state is AsyncState.READY:
                return self.status
            return RPC_S_INVALID_ASYNC_CALL

    def complete_call(self) -> tuple[int, Any]:
        """RpcAsyncCompleteCall (F9): ``(997, None)`` and still pending; the final
        ``(status, reply)`` once (reply only with status 0); afterwards ``(1915, None)``."""
        with self._lock:
            state = self.state
            if state is AsyncState.RAW:
                return RPC_S_INVALID_ASYNC_HANDLE, None
            if state in _IN_FLIGHT:
                return RPC_S_ASYNC_CALL_PENDING, None
            if state is not AsyncState.READY:
                return RPC_S_INVALID_ASYNC_CALL, None
            status, reply = self.status, self.reply
            self.state = AsyncState.DONE
            self.reply = None  # F9: the runtime frees what it held for the call
            self._on_cancel = None
            return status, (reply if status == RPC_S_OK else None)

    def cancel(self, abortive: bool) -> int:
        """RpcAsyncCancelCall (§5.1): 0, 1914 for a bad handle, 1915 with no call."""
        with self._lock:
            state = self.state
            if state is AsyncState.RAW:
                return RPC_S_INVALID_ASYNC_HANDLE
            if state is AsyncState.READY:
                return RPC_S_OK  # the outcome is already final
            if state not in _IN_FLIGHT:
                return RPC_S_INVALID_ASYNC_CALL
            first = state is AsyncState.PENDING
            upgrade = bool(abortive) and not self.abortive
            self.state = AsyncState.CANCEL_REQUESTED
            self.abortive = self.abortive or bool(abortive)
            handler = self._on_cancel if (first or upgrade) else None
        if handler is not None:
            handler(self.abortive)  # outside the lock: the driver may complete from here
        return RPC_S_OK

    # ------------------------------------------------------------------ driver side
    def complete(self, reply: Any = None, status: int = RPC_S_OK) -> bool:
        """Store the call's outcome and enter READY.  True exactly once per call: the
        caller then delivers the ONE notification (F11, §4).  False for any later
        completion or when no call is in flight (nothing to notify)."""
        with self._lock:
            if self.state not in _IN_FLIGHT:
                return False
            if self.abortive:
                status, reply = RPC_S_CALL_CANCELLED, None  # §5.1: results discarded
            self.status, self.reply = status, (reply if status == RPC_S_OK else None)
            self.state = AsyncState.READY
            return True

    def outstanding(self) -> bool:
        return self.state in _OUTSTANDING

    def _reset(self, state: AsyncState) -> None:
        self.state = state
        self.status = RPC_S_OK
        self.reply = None
        self.abortive = False
        self._on_cancel = None
