"""T60 (F47): same-apartment call objects through in-process pointers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from dcerpc.com import (
    CoCreateInstance,
    CoDisableCancellation,
    CoEnableCancellation,
    COMError,
    InprocPtr,
    hresult,
    inproc,
    register_class,
)
from dcerpc.com.guids import IID_ICallFactory, IID_ISynchronize, IID_IUnknown
from dcerpc.com.inproc import revoke_class
from dcerpc.com.sync import INFINITE

from .calc_impl import Calc, CLSID_Calc, calc_idl
from .events_impl import CLSID_Events, Events, Sink, events_idl

AsyncICalc = calc_idl.AsyncICalc
CLSID_Gated = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c60")


class _AddCall:
    """Server call object: Begin_Add returns at once, the sum is signalled later."""

    def __init__(self, owner: GatedCalc, control: Any) -> None:
        self.owner, self.control, self.sum = owner, control, 0

    def Begin_Add(self, a: int, b: int) -> None:
        self.owner.log.append("Begin_Add")

        def work() -> None:
            self.owner.gate.wait(10)
            self.owner.cancel_seen.append(self.control.TestCancel())
            self.sum = a + b
            self.owner.log.append("Signal")
            self.control.Signal()

        threading.Thread(target=work, daemon=True).start()

    def Finish_Add(self) -> int:
        self.owner.log.append("Finish_Add")
        if self.sum == 13:
            raise COMError(0x80040200)
        return self.sum


class GatedCalc:
    """Implements ICallFactory (server call objects) and no synchronous Add."""

    _com_interfaces_ = [calc_idl.ICalc]

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.log: list[str] = []
        self.cancel_seen: list[int] = []

    def CreateCall(self, riid: uuid.UUID, outer: Any, riid2: uuid.UUID) -> _AddCall:
        if riid != calc_idl.ICalc.async_uuid:
            raise COMError(hresult.E_NOINTERFACE)
        return _AddCall(self, outer)

    def Echo(self, text: str) -> str:
        return text.upper()


class RefusingCalc(Calc):
    """Implements ICallFactory but refuses every call object (F47: not guaranteed)."""

    def CreateCall(self, riid: uuid.UUID, outer: Any, riid2: uuid.UUID) -> None:
        raise COMError(hresult.E_NOINTERFACE)


@pytest.fixture(autouse=True)
def _classes() -> Any:
    register_class(CLSID_Calc, Calc)
    register_class(CLSID_Gated, GatedCalc)
    yield
    revoke_class(CLSID_Calc)
    revoke_class(CLSID_Gated)


def test_t60_no_call_factory_synchronous_path_works() -> None:
    calc = CoCreateInstance(CLSID_Calc, None, calc_idl.ICalc)
    assert calc.Add(2, 3) == 5  # the object's own Add, called directly
    with pytest.raises(COMError) as info:
        calc.QueryInterface(IID_ICallFactory)
    assert info.value.hresult == hresult.E_NOINTERFACE
    assert calc.Echo("abc") == "cba"
    with pytest.raises(COMError) as info:
        calc.Fail(0x80040201)
    assert info.value.hresult == 0x80040201
    stats = calc.QueryInterface(calc_idl.IStats)
    assert stats.Count() == 1  # the same object behind both pointers
    stats.Release()
    assert calc.Release() == 0
    with pytest.raises(COMError) as info:
        calc.Add(1, 1)
    assert info.value.hresult == hresult.CO_E_OBJNOTCONNECTED
    with pytest.raises(COMError) as info:
        CoCreateInstance(uuid.uuid4(), None, calc_idl.ICalc)
    assert info.value.hresult == hresult.REGDB_E_CLASSNOTREG


def test_t60_object_refusing_call_objects_is_e_nointerface() -> None:
    ptr = inproc(RefusingCalc(), calc_idl.ICalc)
    factory = ptr.QueryInterface(IID_ICallFactory)
    with pytest.raises(COMError) as info:
        factory.CreateCall(AsyncICalc, None, IID_IUnknown)
    assert info.value.hresult == hresult.E_NOINTERFACE
    factory.Release()
    assert ptr.Add(4, 4) == 8  # the synchronous path still works


def test_t60_call_object_behaves_as_t53() -> None:
    calc = CoCreateInstance(CLSID_Gated, None, calc_idl.ICalc)
    obj: GatedCalc = calc._obj
    factory = calc.QueryInterface(IID_ICallFactory)
    with pytest.raises(COMError) as info:  # T51: the sync IID is not an async one
        factory.CreateCall(calc_idl.ICalc, None, IID_IUnknown)
    assert info.value.hresult == hresult.E_NOINTERFACE
    with pytest.raises(COMError) as info:  # T52
        factory.CreateCall(AsyncICalc, object(), IID_ISynchronize)
    assert info.value.hresult == hresult.E_INVALIDARG
    call = factory.CreateCall(AsyncICalc, None, IID_IUnknown)
    factory.Release()
    with pytest.raises(COMError) as info:  # T56: nothing to finish
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_COMPLETE

    assert call.Begin_Add(2, 3) == hresult.S_OK  # T53.1
    assert call.Wait(0, 0) == hresult.RPC_E_TIMEOUT  # T53.2: gated
    with pytest.raises(COMError) as info:  # T54: one call at a time
        call.Begin_Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_CALL_PENDING
    assert call.TestCancel() == hresult.RPC_S_CALLPENDING
    obj.gate.set()
    assert call.Wait(0, INFINITE) == hresult.S_OK  # T53.3
    assert call.Wait(0, 0) == hresult.S_OK  # manual-reset: S_OK again
    with pytest.raises(COMError) as info:  # T55: signalled but not finished
        call.Begin_Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_CALL_PENDING
    assert call.Finish_Add() == 5  # T53.4
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_COMPLETE
    assert call.Cancel(0) == hresult.RPC_E_CALL_COMPLETE  # no call

    call.Begin_Add(4, 4)  # T57: reusable
    assert call.Finish_Add() == 8  # blocks until the signal
    call.Begin_Add(6, 7)  # T58: a failure of Finish_ is the synchronous one
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == 0x80040200
    assert obj.log == ["Begin_Add", "Signal", "Finish_Add"] * 3
    # Echo has no Begin_ on the server call object: served synchronously
    call.Begin_Echo("abc")
    assert call.Wait(0, 0) == hresult.S_OK
    assert call.Finish_Echo() == "ABC"
    assert call.QueryInterface(IID_ISynchronize) is call
    assert call.Release() == 1 and call.Release() == 0
    # the synchronous interface of an object with only server call objects (F52)
    obj.log.clear()
    assert calc.Add(20, 22) == 42
    assert obj.log == ["Begin_Add", "Signal", "Finish_Add"]
    calc.Release()


def test_t73_cancellation_disabled_on_the_beginning_thread() -> None:
    """In the same apartment the thread calling Begin_ is the one processing the call:
    begun with cancellation disabled, Cancel answers CO_E_CANCEL_DISABLED and the call
    completes normally."""
    calc = CoCreateInstance(CLSID_Gated, None, calc_idl.ICalc)
    obj: GatedCalc = calc._obj
    call = calc.QueryInterface(IID_ICallFactory).CreateCall(AsyncICalc, None, IID_IUnknown)
    CoDisableCancellation()
    try:
        call.Begin_Add(1, 2)
    finally:
        CoEnableCancellation()
    assert call.Cancel(0) == hresult.CO_E_CANCEL_DISABLED
    obj.gate.set()
    assert call.Finish_Add() == 3
    call.Release()
    calc.Release()


def test_t60_cancel_and_release_without_finish() -> None:
    calc = CoCreateInstance(CLSID_Gated, None, calc_idl.ICalc)
    obj: GatedCalc = calc._obj
    factory = calc.QueryInterface(IID_ICallFactory)
    call = factory.CreateCall(AsyncICalc, None, IID_IUnknown)
    call.Begin_Add(1, 2)
    assert call.Cancel(0) == hresult.S_OK
    assert call.Cancel(0) == hresult.RPC_E_CALL_CANCELED
    assert call.TestCancel() == hresult.RPC_E_CALL_CANCELED
    with pytest.raises(COMError) as info:  # unblocked after 0 s although still gated
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_CANCELED
    # T59: release with a call outstanding, then open the gate: nothing breaks
    call.Begin_Add(2, 2)
    assert call.Release() == 0
    obj.gate.set()
    # both server call objects saw the cancel state of their own call
    deadline = threading.Event()
    for _ in range(500):
        if len(obj.cancel_seen) == 2:
            break
        deadline.wait(0.01)
    assert sorted(obj.cancel_seen) == sorted([hresult.RPC_E_CALL_CANCELED,
                                              hresult.RPC_S_CALLPENDING])
    fresh = factory.CreateCall(AsyncICalc, None, IID_IUnknown)  # T59.3
    fresh.Begin_Add(3, 3)
    assert fresh.Finish_Add() == 6
    fresh.Release()
    factory.Release()
    calc.Release()


def test_inproc_call_object_snake_case_spellings() -> None:
    """§8: the in-process call object answers to the same snake-case spellings as a
    proxy's (begin_<m>/finish_<m>, wait/signal/reset/cancel/test_cancel)."""
    calc = CoCreateInstance(CLSID_Gated, None, calc_idl.ICalc)
    call = calc.QueryInterface(IID_ICallFactory).create_call(AsyncICalc, None, IID_IUnknown)
    assert call.test_cancel() == hresult.RPC_E_CALL_COMPLETE
    assert call.begin_add(4, 5) == hresult.S_OK
    assert call.test_cancel() == hresult.RPC_S_CALLPENDING
    assert call.wait(0, 0) == hresult.RPC_E_TIMEOUT
    calc._obj.gate.set()
    assert call.wait(0, INFINITE) == hresult.S_OK
    assert call.finish_add() == 9
    assert call.cancel(1) == hresult.RPC_E_CALL_COMPLETE
    assert call.reset() == hresult.S_OK and call.wait(0, 0) == hresult.RPC_E_TIMEOUT
    assert call.signal() == hresult.S_OK and call.wait(0, 0) == hresult.S_OK
    with pytest.raises(AttributeError):
        _ = call.begin_nosuch
    assert call.Release() == 0


def test_inproc_pointer_passed_to_a_remote_server_and_out_pointers_wrapped(
        events_server: str) -> None:
    """An in-process pointer given to a proxy call is exported like the object itself
    (the server calls it back); an in-process method's [out] interface pointer comes
    back as an in-process pointer."""
    sink = Sink()
    sink_ptr = inproc(sink, events_idl.ICallback)
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    ev.Subscribe(sink_ptr, 7)  # the server calls Notify back during the call
    assert sink.got == [7]
    assert ev.GetSink() is sink  # our own object comes back as itself
    ev.Unsubscribe()
    ev.Release()

    local_events = Events()
    local = inproc(local_events, events_idl.IEvents)
    other = Sink()
    local_events.sinks.append(other)  # a plain object held by the in-process object
    got = local.GetSink()
    assert isinstance(got, InprocPtr) and got._com_local_object_() is other
    got.Notify(3)
    assert other.got == [3]
    local.Release()
