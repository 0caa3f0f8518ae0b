"""The call-object protocol shared by proxy and in-process call objects (seed-semantics
F46-F51, F62-F65, §3.3, §7 C1-C3, C8, §8).

:class:`CallFactoryBase` is ICallFactory: ``CreateCall``'s argument checks and IUnknown
counting; a subclass only builds the call object (:meth:`CallFactoryBase._make_call`).

:class:`CallObjectBase` is AsyncIX + ISynchronize + ICancelMethodCalls + IUnknown: the
one-call-at-a-time state machine IDLE → Begin_ → PENDING → (signal) → Finish_ → IDLE, with
Cancel moving a pending call to CANCELED. What depends on how the call travels is a hook:

* ``_begin`` - start the call (built from :meth:`~CallObjectBase._check_begin`,
  :meth:`~CallObjectBase._enter_pending` and :meth:`~CallObjectBase._to_idle`, since the
  transports hold the lock differently while starting);
* ``_collect`` - wait for and return the call's result (``Finish_`` of a live call);
* ``_await_canceled`` - wait at most the cancel's ``ulSeconds`` for a canceled call (F65);
* ``_completed`` / ``_request_cancel`` - whether the call already finished, and tell the
  server that it was canceled (F62-F64);
* ``_on_release`` - drop what the object owns after its last Release (F51).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Generic, TypeVar

from ..idl._async import async_interface
from ..ndr import types as t
from . import hresult as hr
from .guids import GUID, IID_ICallFactory, IID_ICancelMethodCalls, IID_ISynchronize, IID_IUnknown
from .hresult import COMError
from .sync import INFINITE, ManualResetEvent

__all__ = ["CallFactoryBase", "CallObjectBase", "PhaseBase"]

_IDLE, _PENDING, _CANCELED = "idle", "pending", "canceled"


def _iid(x: Any) -> uuid.UUID:
    if isinstance(x, t.Interface):
        assert x.uuid is not None
        return x.uuid
    found = getattr(x, "__interface__", None)
    if isinstance(found, t.Interface) and found.uuid is not None:
        return found.uuid
    return GUID(x)


class PhaseBase:
    """One outstanding call: its synchronous method name, the cancel's deadline and
    whether a cancel may be requested at all (T73)."""

    __slots__ = ("cancellable", "deadline", "name")

    def __init__(self, name: str, cancellable: bool = True) -> None:
        self.name = name
        self.deadline: float | None = None
        self.cancellable = cancellable


PhaseT = TypeVar("PhaseT", bound=PhaseBase)


class CallFactoryBase:
    """ICallFactory for one interface pointer (F46)."""

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr
        self._refs = 1

    def _make_call(self, twin: t.Interface, outer: Any) -> CallObjectBase[Any]:
        """The new call object for the async twin ``twin`` (COMError to refuse)."""
        raise NotImplementedError

    def CreateCall(self, riid: Any, pCtrlUnk: Any = None, riid2: Any = IID_IUnknown
                   ) -> Any:
        """A call object for ``riid`` (the *async* IID); COMError E_NOINTERFACE for any
        other IID, E_INVALIDARG when aggregating with ``riid2`` other than IUnknown."""
        if riid is None or riid2 is None:
            raise COMError(hr.E_INVALIDARG)
        iid, iid2 = _iid(riid), _iid(riid2)
        spec = self._ptr._spec
        if spec is None or spec.async_uuid is None or iid != spec.async_uuid:
            raise COMError(hr.E_NOINTERFACE)  # not the async twin (T51, T63)
        if pCtrlUnk is not None and iid2 != IID_IUnknown:
            raise COMError(hr.E_INVALIDARG, "an aggregated call object needs IID_IUnknown")
        obj = self._make_call(async_interface(spec), pCtrlUnk)
        if iid2 not in obj._iids():
            raise COMError(hr.E_NOINTERFACE)
        return obj

    def QueryInterface(self, interface: Any) -> Any:
        if _iid(interface) in (IID_IUnknown, IID_ICallFactory):
            self._refs += 1
            return self
        raise COMError(hr.E_NOINTERFACE)

    def AddRef(self) -> int:
        self._refs += 1
        return self._refs

    def Release(self) -> int:
        self._refs = max(0, self._refs - 1)
        return self._refs

    def create_call(self, riid: Any, pCtrlUnk: Any = None, riid2: Any = IID_IUnknown
                    ) -> Any:
        return self.CreateCall(riid, pCtrlUnk, riid2)


class CallObjectBase(Generic[PhaseT]):
    """AsyncIX + ISynchronize + ICancelMethodCalls (+ IUnknown) over one pointer.

    ``Begin_``/``Finish_`` raise :class:`COMError` for a failed HRESULT (``Begin_``
    returns S_OK); the ISynchronize and ICancelMethodCalls methods *return* theirs, since
    RPC_E_TIMEOUT, RPC_E_CALL_COMPLETE … are ordinary answers."""

    _kind = "call object"  # for repr

    def __init__(self, ptr: Any, twin: t.Interface) -> None:
        ptr.AddRef()  # the call object keeps its pointer alive
        self._ptr = ptr
        self._twin = twin
        self._lock = threading.Lock()
        self._state = _IDLE
        self._phase: PhaseT | None = None
        self._event = ManualResetEvent()
        self._refs = 1
        self._released = False
        #: §7 C2: what Wait answers on timeout (RPC_E_TIMEOUT by default; set
        #: RPC_S_CALLPENDING for the behaviour observed on Windows).
        self.wait_timeout_hresult = hr.RPC_E_TIMEOUT

    # -- hooks -----------------------------------------------------------------------------
    def _begin(self, name: str, args: tuple[Any, ...]) -> int:
        raise NotImplementedError

    def _collect(self, phase: PhaseT) -> Any:
        raise NotImplementedError

    def _await_canceled(self, phase: PhaseT, left: float | None) -> None:
        """Wait at most ``left`` seconds (None: no limit) for a canceled call."""
        raise NotImplementedError

    def _completed(self, phase: PhaseT) -> bool:
        raise NotImplementedError

    def _request_cancel(self, phase: PhaseT) -> None:
        raise NotImplementedError

    def _on_release(self) -> None:
        """After the last Release, before the pointer is released."""

    # -- IUnknown --------------------------------------------------------------------------
    def _iids(self) -> set[uuid.UUID]:
        assert self._twin.uuid is not None
        return {IID_IUnknown, IID_ISynchronize, IID_ICancelMethodCalls, self._twin.uuid}

    def QueryInterface(self, interface: Any) -> Any:
        if _iid(interface) not in self._iids():
            raise COMError(hr.E_NOINTERFACE)
        self._refs += 1
        return self

    def AddRef(self) -> int:
        self._refs += 1
        return self._refs

    def Release(self) -> int:
        """The last Release detaches an outstanding call (F51) and drops the pointer."""
        with self._lock:
            self._refs -= 1
            if self._refs > 0 or self._released:
                return max(self._refs, 0)
            self._released = True
            self._phase, self._state = None, _IDLE  # a late reply finds nobody (F51)
        self._event.Signal()
        self._on_release()
        self._ptr.Release()
        return 0

    # -- AsyncIX ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # seed-semantics §8: begin_<m>/finish_<m> spell Begin_<M>/Finish_<M>
        for snake, proper in (("begin_", "Begin_"), ("finish_", "Finish_")):
            if name.startswith(snake) and not name.startswith(proper):
                want = name[len(snake):].lower()
                for op in self._twin.operations:
                    if op.name.startswith(proper) and \
                            op.name[len(proper):].lower() == want:
                        return getattr(self, op.name)
                raise AttributeError(f"{self._twin.name} has no method {name!r}")
        if name.startswith("Begin_") or name.startswith("Finish_"):
            try:
                op = self._twin.operation(name)
            except KeyError:
                raise AttributeError(f"{self._twin.name} has no method {name!r}") from None
            sync_name = op.attrs["async_of"]
            if name.startswith("Begin_"):
                return lambda *args: self._begin(sync_name, args)
            return lambda: self._finish(sync_name)
        raise AttributeError(name)

    def _check_begin(self) -> None:
        """Begin_'s preconditions; call with the lock held."""
        if self._released:
            raise COMError(hr.CO_E_OBJNOTCONNECTED, "the call object was released")
        if self._state != _IDLE:
            raise COMError(hr.RPC_E_CALL_PENDING)  # F48: the outstanding call stays
        self._ptr._check_alive()

    def _enter_pending(self, phase: PhaseT) -> None:
        """IDLE → PENDING; call with the lock held."""
        self._phase, self._state = phase, _PENDING
        self._event.Reset()  # manual-reset per call (§7 C8)

    def _to_idle(self, phase: PhaseT) -> None:
        with self._lock:
            if self._phase is phase:
                self._phase, self._state = None, _IDLE

    def _done(self, phase: PhaseT) -> None:
        if self._phase is phase:  # a detached or reused object ignores old replies (F65)
            self._event.Signal()

    def _finish(self, name: str) -> Any:
        with self._lock:
            phase, state = self._phase, self._state
            if state == _IDLE or phase is None:
                raise COMError(hr.RPC_E_CALL_COMPLETE)  # F50
            if phase.name != name:
                raise COMError(hr.E_UNEXPECTED, f"the outstanding call is {phase.name}, "
                               f"not {name}")
        try:
            if state == _CANCELED:
                left = None if phase.deadline is None else \
                    max(0.0, phase.deadline - time.monotonic())
                self._await_canceled(phase, left)  # F65: unblocked after ulSeconds regardless
                raise COMError(hr.RPC_E_CALL_CANCELED)
            return self._collect(phase)  # blocks until done (§7 C8)
        finally:
            self._to_idle(phase)

    # -- ISynchronize (the aggregated completion event, F49) --------------------------------
    def Wait(self, dwFlags: int, dwMilliseconds: int) -> int:
        got = self._event.Wait(dwFlags, dwMilliseconds)
        return self.wait_timeout_hresult if got == hr.RPC_E_TIMEOUT else got

    def Signal(self) -> int:
        return self._event.Signal()

    def Reset(self) -> int:
        return self._event.Reset()

    # -- ICancelMethodCalls (F62-F64) ----------------------------------------------------------
    def Cancel(self, ulSeconds: int) -> int:
        """S_OK (a cancel was requested), RPC_E_CALL_CANCELED when it already was (§7 C3),
        RPC_E_CALL_COMPLETE with no call or a call already done (its Finish_ then returns
        the real result), CO_E_CANCEL_DISABLED when ``Begin_`` ran on a thread with
        cancellation disabled (:mod:`.cancellation`, T73)."""
        with self._lock:
            phase = self._phase
            if self._state == _CANCELED:
                return hr.RPC_E_CALL_CANCELED
            if self._state == _IDLE or phase is None or self._completed(phase):
                return hr.RPC_E_CALL_COMPLETE
            if not phase.cancellable:
                return hr.CO_E_CANCEL_DISABLED  # F64, T73: the call goes on normally
            self._state = _CANCELED
            secs = int(ulSeconds) & 0xFFFFFFFF
            phase.deadline = None if secs == INFINITE else time.monotonic() + secs
        self._request_cancel(phase)
        return hr.S_OK

    def TestCancel(self) -> int:
        with self._lock:
            if self._state == _CANCELED:
                return hr.RPC_E_CALL_CANCELED
            if self._state == _PENDING:
                return hr.RPC_S_CALLPENDING
            return hr.RPC_E_CALL_COMPLETE

    # -- snake-case spellings (seed-semantics §8) ---------------------------------------------
    def wait(self, flags: int, ms: int) -> int:
        return self.Wait(flags, ms)

    def signal(self) -> int:
        return self.Signal()

    def reset(self) -> int:
        return self.Reset()

    def cancel(self, secs: int) -> int:
        return self.Cancel(secs)

    def test_cancel(self) -> int:
        return self.TestCancel()

    def __repr__(self) -> str:
        return f"<{self._kind} {self._twin.name} {self._state}>"
