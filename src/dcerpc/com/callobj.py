"""Client call objects: ICallFactory, ``Begin_M``/``Finish_M``, ISynchronize and
ICancelMethodCalls on a proxy (seed-semantics F45-F53, F62-F65, §3.3, §7 C1-C3, C8).

    factory = calc.QueryInterface(IID_ICallFactory)   # COMError(E_NOINTERFACE) without
    call = factory.CreateCall(IID_AsyncICalc, None, IID_IUnknown)   # [async_uuid]
    factory.Release()
    call.Begin_Add(2, 3)                  # S_OK; the ordinary ORPC Add is sent (F47, F52)
    call.Wait(0, 1000)                    # S_OK once done, RPC_E_TIMEOUT before (§7 C2)
    call.Finish_Add()                     # -> 5, exactly as calc.Add(2, 3) (F50)

The proxy manager supplies the factory for every interface whose model has
``[async_uuid]`` (F47: marshaled calls always get a proxy call object). Conventions follow
the proxy: ``Begin_``/``Finish_``/``CreateCall`` raise :class:`COMError` for a failed
HRESULT (``Begin_`` returns S_OK), while the ISynchronize and ICancelMethodCalls methods
*return* their HRESULT, since their failure codes (RPC_E_TIMEOUT, RPC_E_CALL_COMPLETE …)
are ordinary answers.

State machine (§3.3): IDLE → Begin_ → PENDING → (signal) → Finish_ → IDLE; Cancel moves a
pending call to CANCELED, whose Finish_ raises RPC_E_CALL_CANCELED after waiting at most
the cancel's ``ulSeconds`` for the server (F64-F65: late results are ignored; a call
still running then is orphaned). Begin_ in any non-IDLE state raises RPC_E_CALL_PENDING
(§7 C1) and leaves the outstanding call alone. The completion event is manual-reset per
call (C8). Releasing the call object with a call outstanding detaches it (F51): the
reply is dropped when it arrives.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Any

from ..errors import RpcError
from ..idl._async import async_interface
from ..ndr import types as t
from . import hresult as hr
from ._marshal import op_shape
from .cancellation import cancellation_enabled
from .guids import GUID, IID_ICallFactory, IID_ICancelMethodCalls, IID_ISynchronize, IID_IUnknown
from .hresult import COMError
from .security import Blanket, IID_IClientSecurity
from .sync import INFINITE, ManualResetEvent

__all__ = ["CallFactory", "ClientCallObject"]

_IDLE, _PENDING, _CANCELED = "idle", "pending", "canceled"


def _iid(x: Any) -> uuid.UUID:
    if isinstance(x, t.Interface):
        assert x.uuid is not None
        return x.uuid
    found = getattr(x, "__interface__", None)
    if isinstance(found, t.Interface) and found.uuid is not None:
        return found.uuid
    return GUID(x)


class CallFactory:
    """The proxy manager's ICallFactory for one proxy (F46)."""

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr
        self._refs = 1

    def CreateCall(self, riid: Any, pCtrlUnk: Any = None, riid2: Any = IID_IUnknown
                   ) -> ClientCallObject:
        """A call object for ``riid`` (the *async* IID); COMError E_NOINTERFACE for any
        other IID, E_INVALIDARG when aggregating with ``riid2`` other than IUnknown."""
        if riid is None or riid2 is None:
            raise COMError(hr.E_INVALIDARG)
        iid, iid2 = _iid(riid), _iid(riid2)
        spec = self._ptr._spec
        if spec is None or spec.async_uuid is None or iid != spec.async_uuid:
            raise COMError(hr.E_NOINTERFACE)
        if pCtrlUnk is not None and iid2 != IID_IUnknown:
            raise COMError(hr.E_INVALIDARG, "an aggregated call object needs IID_IUnknown")
        obj = ClientCallObject(self._ptr, async_interface(spec), pCtrlUnk)
        if iid2 not in obj._iids():
            raise COMError(hr.E_NOINTERFACE)
        return obj

    def QueryInterface(self, interface: Any) -> CallFactory:
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

    create_call = CreateCall


class _Phase:
    __slots__ = ("call", "cancellable", "deadline", "ins", "name", "shape")

    def __init__(self, name: str, shape: Any, ins: list[Any], call: Any) -> None:
        self.name, self.shape, self.ins, self.call = name, shape, ins, call
        self.deadline: float | None = None
        # T73: decided by the beginning thread's CoDisableCancellation state at Begin_
        self.cancellable = cancellation_enabled()


class ClientCallObject:
    """One proxy call object: AsyncIX + ISynchronize + ICancelMethodCalls (+ IUnknown)."""

    def __init__(self, ptr: Any, twin: t.Interface, outer: Any = None) -> None:
        ptr.AddRef()  # the call object keeps its proxy alive
        self._ptr = ptr
        self._twin = twin
        self._outer = outer
        self._lock = threading.Lock()
        self._state = _IDLE
        self._phase: _Phase | None = None
        self._event = ManualResetEvent()
        self._refs = 1
        self._released = False
        # F66 [D]: a new call object starts with its proxy's blanket; changing it later
        # affects neither the proxy nor a call already begun.
        self._blanket: Blanket = ptr._blanket
        self._syncs: dict[tuple[int, int], Any] = {}  # own connections, by Blanket.key()
        #: §7 C2: what Wait answers on timeout (RPC_E_TIMEOUT by default; set
        #: RPC_S_CALLPENDING for the behaviour observed on Windows).
        self.wait_timeout_hresult = hr.RPC_E_TIMEOUT

    # -- IUnknown --------------------------------------------------------------------------
    def _iids(self) -> set[uuid.UUID]:
        assert self._twin.uuid is not None
        return {IID_IUnknown, IID_ISynchronize, IID_ICancelMethodCalls, IID_IClientSecurity,
                self._twin.uuid}

    def QueryInterface(self, interface: Any) -> ClientCallObject:
        if _iid(interface) not in self._iids():
            raise COMError(hr.E_NOINTERFACE)
        self._refs += 1
        return self

    def AddRef(self) -> int:
        self._refs += 1
        return self._refs

    def Release(self) -> int:
        """The last Release cleans up an outstanding call (F51) and drops the proxy."""
        with self._lock:
            self._refs -= 1
            if self._refs > 0 or self._released:
                return max(self._refs, 0)
            self._released = True
            self._phase, self._state = None, _IDLE  # a late reply finds nobody (F51)
        self._event.Signal()
        for sync in self._syncs.values():
            with contextlib.suppress(Exception):  # best-effort: our own connections
                sync.close()
        self._syncs.clear()
        self._ptr.Release()
        return 0

    # -- IClientSecurity (F66) ---------------------------------------------------------------
    def QueryBlanket(self) -> tuple[int, int, str | None, int, int, Any, int]:
        """The blanket later Begin_ calls use (the proxy's until SetBlanket)."""
        return self._blanket.as_tuple()

    def SetBlanket(self, *args: Any, **kw: Any) -> int:
        """Change the blanket for Begin_ calls made from now on; an outstanding call
        keeps the one it began with, and the proxy keeps its own (F66 [D])."""
        new = self._blanket.set(*args, **kw)
        with self._lock:
            self._blanket = new
        return hr.S_OK

    def _sync_for_blanket(self) -> Any:
        """The connection set for this object's blanket: the proxy's own while the
        blankets agree, else one this call object owns."""
        ptr = self._ptr
        if self._blanket.key() == ptr._blanket.key():
            return ptr._sync_proxy()
        key = self._blanket.key()
        sync = self._syncs.get(key)
        if sync is None:
            from .._sync import SyncProxy

            sync = self._syncs[key] = SyncProxy(ptr._exporter.binding, ptr._wire,
                                                object_uuid=ptr._std.ipid,
                                                **self._blanket.options())
        return sync

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

    def _begin(self, name: str, args: tuple[Any, ...]) -> int:
        from .client import request_ins

        ptr = self._ptr
        with self._lock:
            if self._released:
                raise COMError(hr.CO_E_OBJNOTCONNECTED, "the call object was released")
            if self._state != _IDLE:
                raise COMError(hr.RPC_E_CALL_PENDING)  # F48: the outstanding call stays
            ptr._check_alive()
            wire = ptr._wire
            assert wire is not None
            op = wire.operation(name)
            shape = op_shape(op)
            # a marshaling failure raises here and the object stays IDLE (§7 C8)
            ins = request_ins(op, shape, args, ptr._exporter.binding)
            try:
                call = getattr(self._sync_for_blanket(), op.name).start(*ins)
            except RpcError as exc:
                from .client import rpc_hresult

                raise COMError(rpc_hresult(exc), str(exc), exc) from exc
            phase = self._phase = _Phase(name, shape, ins, call)
            self._state = _PENDING
            self._event.Reset()  # manual-reset per call (C8)
        call.add_done_callback(lambda _c: self._done(phase))
        return hr.S_OK

    def _done(self, phase: _Phase) -> None:
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
        call = phase.call
        try:
            if state == _CANCELED:
                left = None if phase.deadline is None else \
                    max(0.0, phase.deadline - time.monotonic())
                if not call.done():
                    try:
                        call.exception(left)
                    except TimeoutError:  # F65: the client is unblocked regardless
                        call.cancel(abortive=True)
                raise COMError(hr.RPC_E_CALL_CANCELED)
            return self._result(phase)  # blocks until done (§7 C8)
        finally:
            with self._lock:
                if self._phase is phase:
                    self._phase, self._state = None, _IDLE

    def _result(self, phase: _Phase) -> Any:
        from .client import rpc_hresult

        try:
            result = phase.call.result()
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        wire = self._ptr._wire
        return self._ptr._finish_call(wire.operation(phase.name), phase.shape, phase.ins,
                                      result)

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
        """S_OK (a cancel was requested: co_cancel goes out), RPC_E_CALL_CANCELED when it
        already was (§7 C3), RPC_E_CALL_COMPLETE with no call or a call already done (its
        Finish_ then returns the real result), CO_E_CANCEL_DISABLED when ``Begin_`` ran on
        a thread with cancellation disabled (:mod:`.cancellation`, T73)."""
        with self._lock:
            phase = self._phase
            if self._state == _CANCELED:
                return hr.RPC_E_CALL_CANCELED
            if self._state == _IDLE or phase is None or phase.call.done():
                return hr.RPC_E_CALL_COMPLETE
            if not phase.cancellable:
                return hr.CO_E_CANCEL_DISABLED  # F64, T73: the call goes on normally
            self._state = _CANCELED
            secs = int(ulSeconds) & 0xFFFFFFFF
            phase.deadline = None if secs == INFINITE else time.monotonic() + secs
        phase.call.cancel(abortive=False)  # co_cancel (C706 §12.6.4.2) for TestCancel
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

    def query_blanket(self) -> tuple[int, int, str | None, int, int, Any, int]:
        return self.QueryBlanket()

    def set_blanket(self, *args: Any, **kw: Any) -> int:
        return self.SetBlanket(*args, **kw)

    def __repr__(self) -> str:
        return f"<call object {self._twin.name} {self._state}>"
