"""In-process (same-apartment) interface pointers and their call objects (seed F47, T60).

    register_class(CLSID_Calc, Calc)                      # process-wide, CLSCTX_INPROC_SERVER
    calc = CoCreateInstance(CLSID_Calc, None, ICalc)      # server None: in this process
    calc = inproc(Calc(), ICalc)                          # or wrap an object directly
    calc.Add(2, 3)                                        # 5: the object's Add, called directly

An :class:`InprocPtr` has a ComPtr's surface (``QueryInterface``/``AddRef``/``Release``,
methods by IDL name returning the ``[out]`` values or raising :class:`COMError`) but no
proxy: calls go straight to the Python object, on the caller's thread. Exceptions other
than COMError propagate as they are (there is no channel to turn them into
RPC_E_SERVERFAULT).

ICallFactory (F47 "same apartment": CreateCall is *not guaranteed*): there is no proxy
manager to supply one, so ``QueryInterface(IID_ICallFactory)`` succeeds only when the
object implements ICallFactory itself (a ``CreateCall`` method: server call objects,
:mod:`.servercall`). ``CreateCall(IID_AsyncIX, ...)`` then returns a call object that
drives the object's server call objects directly - ``Begin_M`` runs the object's
``Begin_M`` on the caller's thread, its ``control.Signal()`` completes the call, and
``Finish_M`` returns what its ``Finish_M`` returns - with the client call object's rules
(F48-F51, F62-F65): one call at a time (RPC_E_CALL_PENDING), ``Finish_`` without a call
RPC_E_CALL_COMPLETE, ``Wait`` S_OK / RPC_E_TIMEOUT, ``Cancel`` seen by the object's
``control.TestCancel()``, release without ``Finish_`` detaches. Without ``CreateCall``
(or when it refuses the IID: E_NOINTERFACE, as for every IDispatch-derived interface,
T63), the caller uses the synchronous interface.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..ndr import types as t
from . import comobject
from . import hresult as hr
from ._callbase import _IDLE, CallFactoryBase, CallObjectBase, PhaseBase, _iid
from ._marshal import OpShape, op_shape
from ._orpc import interface_chain, orpc_interface
from .cancellation import cancellation_enabled
from .guids import GUID, IID_ICallFactory, IID_IUnknown
from .hresult import COMError
from .local import is_com_object
from .servercall import ServerCallControl, create_server_call
from .sync import INFINITE

__all__ = ["InprocCallObject", "InprocPtr", "create_instance", "inproc", "register_class",
           "revoke_class"]

_CLASSES: dict[uuid.UUID, Callable[[], Any]] = {}
_lock = threading.Lock()


def register_class(clsid: Any, cls: Callable[[], Any]) -> None:
    """Make ``clsid`` creatable in this process (``CoCreateInstance(clsid, None, ...)``)."""
    with _lock:
        _CLASSES[GUID(clsid)] = cls


def revoke_class(clsid: Any) -> None:
    with _lock:
        _CLASSES.pop(GUID(clsid), None)


def create_instance(clsid: Any, interface: Any) -> InprocPtr:
    """CLSCTX_INPROC_SERVER activation: REGDB_E_CLASSNOTREG, E_NOINTERFACE or a pointer."""
    with _lock:
        factory = _CLASSES.get(GUID(clsid))
    if factory is None:
        raise COMError(hr.REGDB_E_CLASSNOTREG)
    return inproc(factory(), interface)


def inproc(obj: Any, interface: Any = None) -> InprocPtr:
    """An in-process pointer to ``obj`` as ``interface`` (a model or an IID; default the
    first of ``_com_interfaces_``); COMError(E_NOINTERFACE) if the object lacks it."""
    if interface is None:
        specs = comobject.com_interfaces(obj)
        if not specs:
            raise COMError(hr.E_NOINTERFACE, f"{type(obj).__name__} lists no interfaces")
        interface = specs[0]
    iid = _iid(interface)
    if not comobject.supports(obj, iid):
        raise COMError(hr.E_NOINTERFACE)
    spec = interface if isinstance(interface, t.Interface) else \
        comobject.find_interface(obj, iid)
    return InprocPtr(obj, iid, spec)


class InprocPtr:
    """A same-apartment interface pointer (see the module docstring)."""

    def __init__(self, obj: Any, iid: uuid.UUID, spec: t.Interface | None) -> None:
        self._obj = obj
        self._iid = iid
        self._spec = spec
        self._refs = 1
        self._ops = {op.name for it in interface_chain(spec) for op in it.operations} \
            if spec is not None else set()

    @property
    def iid(self) -> uuid.UUID:
        return self._iid

    def _check_alive(self) -> None:
        if self._refs <= 0:
            raise COMError(hr.CO_E_OBJNOTCONNECTED, "the pointer was released")

    # -- IUnknown --------------------------------------------------------------------------
    def QueryInterface(self, interface: Any) -> Any:
        self._check_alive()
        iid = _iid(interface)
        if iid == IID_ICallFactory:
            if not callable(getattr(self._obj, "CreateCall", None)):
                raise COMError(hr.E_NOINTERFACE)  # F47: not guaranteed in one apartment
            return InprocCallFactory(self)
        return inproc(self._obj, interface)

    def AddRef(self) -> int:
        self._check_alive()
        self._refs += 1
        return self._refs

    def Release(self) -> int:
        self._check_alive()
        self._refs -= 1
        return self._refs

    def __enter__(self) -> InprocPtr:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._refs > 0:
            self.Release()

    # -- methods ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._ops:
            raise AttributeError(name)
        return lambda *args: self._call(name, args)

    def _call(self, name: str, args: tuple[Any, ...]) -> Any:
        self._check_alive()
        impl = getattr(self._obj, name, None)
        if impl is None and self._spec is not None and self._spec.async_uuid is not None:
            # F52: an object that only has server call objects serves a synchronous
            # call through them
            made = create_server_call(self._obj, self._spec.async_uuid, None)
            begin = getattr(made[0], f"Begin_{name}", None) if made else None
            if made is not None and begin is not None:
                begin(*args)
                made[1].Wait(0, INFINITE)
                return getattr(made[0], f"Finish_{name}")()
        if impl is None:
            raise COMError(hr.E_NOTIMPL, f"{type(self._obj).__name__} lacks {name}")
        return self._wrap_outs(name, args, impl(*args))

    def _wrap_outs(self, name: str, args: tuple[Any, ...], result: Any) -> Any:
        """[out] interface pointers come back as in-process pointers, like the caller's
        own: a COM object the method returns is wrapped (QueryInterface for the IID)."""
        shape = self._shape(name)
        if shape is None or not shape.out_ifaces:
            return result
        ret, outs = shape.split(result)
        named = shape.named([None, *args])
        for p in shape.out_ifaces:
            v = outs[p.index]
            if (is_com_object(v) and not isinstance(v, InprocPtr)
                    and not hasattr(v, "_com_objref_")):
                outs[p.index] = inproc(v, p.iid(named))
        return shape.join(ret, outs)

    def _shape(self, name: str) -> OpShape | None:
        for it in interface_chain(self._spec):
            if any(op.name == name for op in it.operations):
                return op_shape(orpc_interface(it).operation(name))
        return None

    def _com_local_object_(self) -> Any:
        """What a proxy call marshals for this pointer: the object itself, exported by
        the client's own exporter (an in-process pointer passed to a remote server)."""
        self._check_alive()
        return self._obj

    def __repr__(self) -> str:
        name = self._spec.name if self._spec is not None else str(self._iid)
        return f"<in-process {name} of {type(self._obj).__name__}>"


class InprocCallFactory(CallFactoryBase):
    """ICallFactory of an object in this apartment: the object's own (F46, F47)."""

    def _make_call(self, twin: t.Interface, outer: Any) -> InprocCallObject:
        obj = InprocCallObject(self._ptr, twin)
        first = obj._new_server_call()
        if first is None:  # the object refused: use the synchronous interface (F47)
            raise COMError(hr.E_NOINTERFACE)
        obj._spare = first
        return obj


class _Cancel:
    """What :class:`ServerCallControl` reads as its call context: the cancel flag."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()


class _Control(ServerCallControl):
    """The controlling unknown of one server call object; its Signal completes the
    caller's call."""

    def __init__(self, owner: InprocCallObject) -> None:
        super().__init__(_Cancel())
        self._owner = owner
        self._phase: _Phase | None = None

    def Signal(self) -> int:
        got = super().Signal()
        if self._phase is not None:
            self._owner._done(self._phase)
        return got


class _Phase(PhaseBase):
    __slots__ = ("callobj", "control")

    def __init__(self, name: str, callobj: Any, control: _Control) -> None:
        # T73: the beginning thread is the processing thread here
        super().__init__(name, cancellation_enabled())
        self.callobj, self.control = callobj, control


class InprocCallObject(CallObjectBase[_Phase]):
    """AsyncIX + ISynchronize + ICancelMethodCalls over the object's server call objects."""

    _kind = "in-process call object"

    def __init__(self, ptr: InprocPtr, twin: t.Interface) -> None:
        super().__init__(ptr, twin)
        self._spare: tuple[Any, _Control] | None = None

    def _new_server_call(self) -> tuple[Any, _Control] | None:
        spec = self._ptr._spec
        assert spec is not None and spec.async_uuid is not None
        control = _Control(self)
        factory = self._ptr._obj.CreateCall
        try:
            callobj = factory(spec.async_uuid, control, IID_IUnknown)
        except COMError as exc:
            if exc.hresult == hr.E_NOINTERFACE:
                return None
            raise
        return (callobj, control) if callobj is not None else None

    # -- AsyncIX: the hooks of CallObjectBase -------------------------------------------------
    def _begin(self, name: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            self._check_begin()
            made, self._spare = self._spare, None
        if made is None:
            made = self._new_server_call()
        if made is None:
            raise COMError(hr.E_NOINTERFACE)
        callobj, control = made
        begin = getattr(callobj, f"Begin_{name}", None)
        phase = _Phase(name, callobj, control)
        with self._lock:
            if self._state != _IDLE:  # another thread began meanwhile
                raise COMError(hr.RPC_E_CALL_PENDING)
            self._enter_pending(phase)
        control._phase = phase
        try:
            if begin is None:
                # a call object without Begin_M: the method is served synchronously
                phase.callobj = _Done(self._ptr, name, args)
                control.Signal()
            else:
                begin(*args)  # on the caller's thread: same apartment
        except BaseException:
            self._to_idle(phase)
            raise
        return hr.S_OK

    def _await_canceled(self, phase: _Phase, left: float | None) -> None:
        phase.control.Wait(0, INFINITE if left is None else int(left * 1000))

    def _collect(self, phase: _Phase) -> Any:
        phase.control.Wait(0, INFINITE)  # Finish_ before the signal blocks (§7 C8)
        return getattr(phase.callobj, f"Finish_{phase.name}")()

    # -- ICancelMethodCalls: the object sees the cancel through control.TestCancel() ------
    def _completed(self, phase: _Phase) -> bool:
        return phase.control._event._is_set()

    def _request_cancel(self, phase: _Phase) -> None:
        phase.control._ctx.cancelled.set()


class _Done:
    """The synchronous result of a method whose call object has no ``Begin_M``."""

    def __init__(self, ptr: InprocPtr, name: str, args: tuple[Any, ...]) -> None:
        try:
            self._value, self._exc = ptr._call(name, args), None
        except COMError as exc:
            self._value, self._exc = None, exc

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("Finish_"):
            raise AttributeError(name)

        def finish() -> Any:
            if self._exc is not None:
                raise self._exc
            return self._value
        return finish
