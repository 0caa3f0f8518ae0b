"""The ISynchronize family: StdEvent, ManualResetEvent, SynchronizeContainer and
CoWaitForMultipleHandles (seed-semantics F54-F57, §7 C2).

All objects are thread-safe and wait on one :class:`threading.Condition` each. The
HRESULTs are returned, not raised: waiting is control flow (``RPC_E_TIMEOUT`` is an
expected answer, as in C callers), so ``Wait``/``Signal``/``Reset`` return ``S_OK`` or the
failure code.

* ``StdEvent`` is auto-reset: a successful ``Wait`` resets it (F54).
* ``ManualResetEvent`` stays signalled until ``Reset``.
* ``Wait`` times out with ``RPC_E_TIMEOUT`` (§7 C2, the seed page's code; set
  :data:`WAIT_TIMEOUT_HRESULT` for Windows-observed ``RPC_S_CALLPENDING``).
* ``SynchronizeContainer`` holds at most 63 objects (``RPC_E_OUT_OF_RESOURCES`` for the
  64th) and ``WaitMultiple`` answers ``(S_OK, obj)``, ``RPC_E_TIMEOUT`` or ``RPC_E_NO_SYNC``.
* ``CoWaitForMultipleHandles`` answers ``(S_OK, index)``, ``RPC_S_CALLPENDING`` on
  timeout (F57), ``RPC_E_NO_SYNC`` for no handles; with ``COWAIT_ALERTABLE`` an APC queued
  to the waiting thread (``dcerpc.win32.QueueUserAPC``) ends the wait with index
  ``WAIT_IO_COMPLETION``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from . import hresult as hr

__all__ = [
    "COWAIT_ALERTABLE",
    "COWAIT_DEFAULT",
    "COWAIT_WAITALL",
    "INFINITE",
    "MAX_SYNCHRONIZE",
    "WAIT_IO_COMPLETION",
    "CoWaitForMultipleHandles",
    "ManualResetEvent",
    "StdEvent",
    "SynchronizeContainer",
]

INFINITE = 0xFFFFFFFF
COWAIT_DEFAULT = 0
COWAIT_WAITALL = 1
COWAIT_ALERTABLE = 2
COWAIT_INPUTAVAILABLE = 4
COWAIT_DISPATCH_CALLS = 8
COWAIT_DISPATCH_WINDOW_MESSAGES = 0x10
_COWAIT_ALL = 0x1F
WAIT_IO_COMPLETION = 0xC0
#: ISynchronizeContainer::AddSynchronize limit (F56).
MAX_SYNCHRONIZE = 63

#: One condition for every waiter on several objects: objects notify it when signalled.
_ANY = threading.Condition()


def _deadline(ms: int) -> float | None:
    ms = int(ms) & 0xFFFFFFFF
    return None if ms == INFINITE else time.monotonic() + ms / 1000.0


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def wait_timeout_hresult() -> int:
    """The code a timed-out ``Wait`` returns (§7 C2: RPC_E_TIMEOUT by default)."""
    return WAIT_TIMEOUT_HRESULT


WAIT_TIMEOUT_HRESULT = hr.RPC_E_TIMEOUT


class _Event:
    """ISynchronize + ISynchronizeHandle over a condition variable."""

    _auto_reset = False

    def __init__(self, signalled: bool = False) -> None:
        self._cond = threading.Condition()
        self._set = signalled

    # ISynchronize ------------------------------------------------------------------------
    def Signal(self) -> int:
        with self._cond:
            self._set = True
            self._cond.notify_all()
        with _ANY:
            _ANY.notify_all()
        return hr.S_OK

    def Reset(self) -> int:
        with self._cond:
            self._set = False
        return hr.S_OK

    def Wait(self, dwFlags: int, dwMilliseconds: int) -> int:
        if int(dwFlags) & ~_COWAIT_ALL:
            return hr.E_INVALIDARG
        deadline = _deadline(dwMilliseconds)
        with self._cond:
            while not self._set:
                left = _left(deadline)
                if left == 0.0:
                    return WAIT_TIMEOUT_HRESULT
                self._cond.wait(left)
            if self._auto_reset:
                self._set = False
        return hr.S_OK

    # ISynchronizeHandle ------------------------------------------------------------------
    def GetHandle(self) -> _Event:
        """The wait handle is the object itself (usable with CoWaitForMultipleHandles)."""
        return self

    # used by the multi-object waits -------------------------------------------------------
    def _try_take(self) -> bool:
        with self._cond:
            if not self._set:
                return False
            if self._auto_reset:
                self._set = False
            return True

    def _is_set(self) -> bool:
        return self._set

    # snake-case spellings (seed-semantics §8)
    def signal(self) -> int:
        return self.Signal()

    def reset(self) -> int:
        return self.Reset()

    def wait(self, flags: int, ms: int) -> int:
        return self.Wait(flags, ms)


class StdEvent(_Event):
    """CLSID_StdEvent: auto-reset (F54)."""

    _auto_reset = True


class ManualResetEvent(_Event):
    """CLSID_ManualResetEvent: stays signalled until Reset (F54)."""


def _wait_any(objs: Sequence[Any], ms: int, alertable: bool = False,
              wait_all: bool = False) -> int | None:
    """Index of the first signalled object (taking it), -1 for an APC, None on timeout."""
    deadline = _deadline(ms)
    apcs = _apc_queue() if alertable else None
    while True:
        if apcs is not None and apcs():
            return -1
        with _ANY:
            if wait_all:
                if all(o._is_set() for o in objs):
                    for o in objs:
                        o._try_take()
                    return 0
            else:
                for i, o in enumerate(objs):
                    if o._try_take():
                        return i
            left = _left(deadline)
            if left == 0.0:
                return None
            # short slices so an APC queued without notifying _ANY is seen promptly
            _ANY.wait(0.05 if left is None else min(left, 0.05))


def _apc_queue() -> Any:
    """A callable running this thread's queued APCs; True when any ran."""
    from ..win32 import _kernel

    me = threading.current_thread()

    def drain() -> bool:
        with _kernel._COND:
            q = _kernel._queue_for(me)
            if not len(q):
                return False
        _kernel._run_apcs(q)
        return True

    return drain


class SynchronizeContainer:
    """CLSID_SynchronizeContainer: ISynchronizeContainer (F56)."""

    def __init__(self) -> None:
        self._objs: list[Any] = []
        self._lock = threading.Lock()

    def AddSynchronize(self, pSync: Any) -> int:
        if pSync is None:
            return hr.E_INVALIDARG
        with self._lock:
            if len(self._objs) >= MAX_SYNCHRONIZE:
                return hr.RPC_E_OUT_OF_RESOURCES
            self._objs.append(pSync)
        return hr.S_OK

    def WaitMultiple(self, dwFlags: int, dwTimeOut: int) -> tuple[int, Any]:
        """(S_OK, the signalled object), (RPC_E_TIMEOUT, None) or (RPC_E_NO_SYNC, None)."""
        flags = int(dwFlags)
        if flags & COWAIT_WAITALL or flags & ~_COWAIT_ALL:
            return hr.E_INVALIDARG, None
        with self._lock:
            objs = list(self._objs)
        if not objs:
            return hr.RPC_E_NO_SYNC, None
        idx = _wait_any(objs, dwTimeOut, bool(flags & COWAIT_ALERTABLE))
        if idx is None:
            return hr.RPC_E_TIMEOUT, None
        if idx < 0:
            return hr.S_OK, None
        return hr.S_OK, objs[idx]

    add_synchronize = AddSynchronize
    wait_multiple = WaitMultiple


def CoWaitForMultipleHandles(dwFlags: int, dwTimeout: int, pHandles: Sequence[Any] | None
                             ) -> tuple[int, int]:
    """(S_OK, index), (RPC_S_CALLPENDING, 0) on timeout, (RPC_E_NO_SYNC, 0) for no handles,
    (E_INVALIDARG, 0) for bad flags (F57). Handles are ISynchronizeHandle objects."""
    flags = int(dwFlags)
    if pHandles is None or flags & ~_COWAIT_ALL:
        return hr.E_INVALIDARG, 0
    handles = [h.GetHandle() if hasattr(h, "GetHandle") else h for h in pHandles]
    if not handles:
        return hr.RPC_E_NO_SYNC, 0
    idx = _wait_any(handles, dwTimeout, bool(flags & COWAIT_ALERTABLE),
                    bool(flags & COWAIT_WAITALL))
    if idx is None:
        return hr.RPC_S_CALLPENDING, 0
    if idx < 0:
        return hr.S_OK, WAIT_IO_COMPLETION
    return hr.S_OK, idx


co_wait_for_multiple_handles = CoWaitForMultipleHandles
