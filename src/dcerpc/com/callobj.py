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
import uuid
from typing import Any

from ..errors import RpcError
from ..ndr import types as t
from . import hresult as hr
from ._callbase import CallFactoryBase, CallObjectBase, PhaseBase
from ._marshal import op_shape
from .cancellation import cancellation_enabled
from .hresult import COMError
from .security import Blanket, IID_IClientSecurity

__all__ = ["CallFactory", "ClientCallObject"]


class CallFactory(CallFactoryBase):
    """The proxy manager's ICallFactory for one proxy (F46)."""

    def _make_call(self, twin: t.Interface, outer: Any) -> ClientCallObject:
        return ClientCallObject(self._ptr, twin, outer)


class _Phase(PhaseBase):
    __slots__ = ("call", "ins", "shape")

    def __init__(self, name: str, shape: Any, ins: list[Any], call: Any) -> None:
        # T73: decided by the beginning thread's CoDisableCancellation state at Begin_
        super().__init__(name, cancellation_enabled())
        self.shape, self.ins, self.call = shape, ins, call


class ClientCallObject(CallObjectBase[_Phase]):
    """One proxy call object: AsyncIX + ISynchronize + ICancelMethodCalls (+ IUnknown)
    + IClientSecurity; the ordinary ORPC request carries the call (F47, F52)."""

    def __init__(self, ptr: Any, twin: t.Interface, outer: Any = None) -> None:
        super().__init__(ptr, twin)  # the call object keeps its proxy alive
        self._outer = outer
        # F66 [D]: a new call object starts with its proxy's blanket; changing it later
        # affects neither the proxy nor a call already begun.
        self._blanket: Blanket = ptr._blanket
        self._syncs: dict[tuple[int, int], Any] = {}  # own connections, by Blanket.key()

    # -- IUnknown --------------------------------------------------------------------------
    def _iids(self) -> set[uuid.UUID]:
        return super()._iids() | {IID_IClientSecurity}

    def _on_release(self) -> None:
        for sync in self._syncs.values():
            with contextlib.suppress(Exception):  # best-effort: our own connections
                sync.close()
        self._syncs.clear()

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

    # -- AsyncIX: the hooks of CallObjectBase -------------------------------------------------
    def _begin(self, name: str, args: tuple[Any, ...]) -> int:
        from .client import request_ins

        ptr = self._ptr
        with self._lock:
            self._check_begin()
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
            phase = _Phase(name, shape, ins, call)
            self._enter_pending(phase)
        call.add_done_callback(lambda _c: self._done(phase))
        return hr.S_OK

    def _await_canceled(self, phase: _Phase, left: float | None) -> None:
        call = phase.call
        if not call.done():
            try:
                call.exception(left)
            except TimeoutError:  # F65: the client is unblocked regardless
                call.cancel(abortive=True)

    def _collect(self, phase: _Phase) -> Any:
        from .client import rpc_hresult

        try:
            result = phase.call.result()
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        wire = self._ptr._wire
        return self._ptr._finish_call(wire.operation(phase.name), phase.shape, phase.ins,
                                      result)

    # -- ICancelMethodCalls (F62-F64) ----------------------------------------------------------
    def _completed(self, phase: _Phase) -> bool:
        return bool(phase.call.done())

    def _request_cancel(self, phase: _Phase) -> None:
        phase.call.cancel(abortive=False)  # co_cancel (C706 §12.6.4.2) for TestCancel

    # -- snake-case spellings (seed-semantics §8) ---------------------------------------------
    def query_blanket(self) -> tuple[int, int, str | None, int, int, Any, int]:
        return self.QueryBlanket()

    def set_blanket(self, *args: Any, **kw: Any) -> int:
        return self.SetBlanket(*args, **kw)
