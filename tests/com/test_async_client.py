"""COM client call objects (seed-semantics §9.7, §9.9: T50-T59, T61, T63, T68-T72)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dcerpc.aio.server import Server
from dcerpc.com import CoCreateInstance, COMError, ComServer, hresult
from dcerpc.com.guids import (
    IID_ICallFactory,
    IID_ICancelMethodCalls,
    IID_ISynchronize,
    IID_IUnknown,
)
from dcerpc.com.sync import INFINITE, WAIT_TIMEOUT_HRESULT

from .async_impl import CLSID_GatedCalc, GatedCalc
from .calc_impl import Calc, CLSID_Calc, calc_idl

AsyncICalc = calc_idl.AsyncICalc
S_OK = hresult.S_OK


@pytest.fixture
def gated() -> Iterator[type[GatedCalc]]:
    GatedCalc.gate.clear()
    GatedCalc.entered.clear()
    GatedCalc.fail_with = 0
    GatedCalc.adds = 0
    yield GatedCalc
    GatedCalc.gate.set()


@pytest.fixture
def server(gated: type[GatedCalc]) -> Iterator[ComServer]:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", server=Server(max_calls=4096))
    srv.register_class(CLSID_Calc, Calc)
    srv.register_class(CLSID_GatedCalc, GatedCalc)
    srv.start_background()
    yield srv
    gated.gate.set()
    srv.stop_background(1.0)


@pytest.fixture
def bnd(server: ComServer) -> str:
    return str(server.bindings[0])


def new_call(ptr):  # type: ignore[no-untyped-def]
    factory = ptr.QueryInterface(IID_ICallFactory)
    call = factory.CreateCall(AsyncICalc, None, IID_IUnknown)
    factory.Release()
    return call


def test_async_twin_shape() -> None:
    """F42-F43: Begin_ takes [in] (and [in, out]), Finish_ [out], return types."""
    tw = AsyncICalc
    assert tw.uuid == calc_idl.ICalc.async_uuid and tw.name == "AsyncICalc"
    begin, finish = tw.operation("Begin_Add"), tw.operation("Finish_Add")
    assert [p.name for p in begin.params] == ["a", "b"]
    assert all(p.in_ and not p.out for p in begin.params)
    assert [p.name for p in finish.params] == ["sum"]
    assert all(p.out and not p.in_ for p in finish.params)
    assert finish.returns == calc_idl.ICalc.operation("Add").returns
    assert not hasattr(calc_idl, "AsyncIStats")


def test_t50_no_async_interface(bnd: str) -> None:
    stats = CoCreateInstance(CLSID_Calc, bnd, calc_idl.IStats)
    with pytest.raises(COMError) as info:
        stats.QueryInterface(IID_ICallFactory)
    assert info.value.hresult == 0x80004002
    assert stats.Count() == 0  # the synchronous interface still works
    stats.Release()


def test_t51_t52_create_call(bnd: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc)
    factory = calc.QueryInterface(IID_ICallFactory)
    with pytest.raises(COMError) as info:
        factory.CreateCall(calc_idl.ICalc, None, IID_IUnknown)
    assert info.value.hresult == hresult.E_NOINTERFACE
    with pytest.raises(COMError) as info:
        factory.CreateCall(AsyncICalc, object(), IID_ISynchronize)
    assert info.value.hresult == hresult.E_INVALIDARG
    with pytest.raises(COMError) as info:
        factory.CreateCall(AsyncICalc, None, None)
    assert info.value.hresult == hresult.E_INVALIDARG
    call = factory.CreateCall(AsyncICalc, None, IID_ISynchronize)
    assert call.QueryInterface(IID_ICancelMethodCalls) is call
    call.Release()
    call.Release()
    calc.Release()


def test_t53_t54_t55_lifecycle(bnd: str, gated: type[GatedCalc]) -> None:
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    assert call.Begin_Add(2, 3) == S_OK
    assert gated.entered.wait(5)
    assert call.Wait(0, 0) == WAIT_TIMEOUT_HRESULT == hresult.RPC_E_TIMEOUT
    for begin in (lambda: call.Begin_Add(1, 1), lambda: call.Begin_Echo("x")):
        with pytest.raises(COMError) as info:
            begin()
        assert info.value.hresult == hresult.RPC_E_CALL_PENDING == 0x80010115
    gated.gate.set()
    assert call.Wait(0, INFINITE) == S_OK
    assert call.Wait(0, 0) == S_OK  # manual-reset per call (C8)
    with pytest.raises(COMError) as info:  # T55: signalled, not finished
        call.Begin_Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_CALL_PENDING
    assert call.Finish_Add() == 5
    assert gated.adds == 1
    call.Release()
    calc.Release()


def test_t56_t57_finish_without_call_and_reuse(bnd: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == 0x80010117
    assert call.Begin_Add(2, 3) == S_OK
    assert call.Wait(0, 5000) == S_OK
    assert call.Finish_Add() == 5
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_COMPLETE
    assert call.Begin_Add(4, 4) == S_OK
    assert call.Finish_Add() == 8  # Finish_ before the signal blocks (C8)
    call.Release()
    calc.Release()


@pytest.mark.parametrize("fail", [0, hresult.E_FAIL, 0x80040200])
def test_t58_finish_equals_sync(bnd: str, gated: type[GatedCalc], fail: int) -> None:
    gated.gate.set()
    gated.fail_with = fail
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    for a, b in [(2, 3), (-7, 3), (2**31 - 2, 1)]:
        try:
            want: object = calc.Add(a, b)
        except COMError as exc:
            want = exc.hresult
        call.Begin_Add(a, b)
        try:
            got: object = call.Finish_Add()
        except COMError as exc:
            got = exc.hresult
        assert got == want
        assert got == (fail if fail else a + b)
    call.Release()
    calc.Release()


def test_t59_release_without_finish(bnd: str, gated: type[GatedCalc]) -> None:
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    call.Begin_Add(1, 2)
    assert gated.entered.wait(5)
    assert call.Release() == 0
    gated.gate.set()
    call2 = new_call(calc)
    call2.Begin_Add(3, 4)
    assert call2.Wait(0, 5000) == S_OK
    assert call2.Finish_Add() == 7
    call2.Release()
    calc.Release()


def test_t61_begin_is_the_sync_call(bnd: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc)
    Calc.instances.clear()
    stats = calc.QueryInterface(calc_idl.IStats)
    call = new_call(calc)
    call.Begin_Add(20, 22)
    assert call.Finish_Add() == 42
    assert stats.Count() == 1  # the server's synchronous Add ran exactly once
    call.Release()
    stats.Release()
    calc.Release()


def test_t68_t70_cancel(bnd: str, gated: type[GatedCalc]) -> None:
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    assert call.Cancel(1) == hresult.RPC_E_CALL_COMPLETE  # nothing outstanding
    call.Begin_Add(2, 3)
    assert gated.entered.wait(5)
    cancel = call.QueryInterface(IID_ICancelMethodCalls)
    assert call.TestCancel() == hresult.RPC_S_CALLPENDING
    assert cancel.Cancel(1) == S_OK
    assert cancel.Cancel(1) == hresult.RPC_E_CALL_CANCELED  # T70
    assert call.TestCancel() == hresult.RPC_E_CALL_CANCELED
    cancel.Release()
    with pytest.raises(COMError) as info:
        call.Begin_Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_CALL_PENDING
    with pytest.raises(COMError) as info:  # T72: unblocked after at most 1 s
        call.Finish_Add()
    assert info.value.hresult == 0x80010002
    gated.gate.set()
    assert call.Begin_Add(1, 2) == S_OK  # T68 step 5
    assert call.Finish_Add() == 3
    call.Release()
    calc.Release()


def test_cancel_at_every_point_of_the_lifecycle(bnd: str, gated: type[GatedCalc]) -> None:
    """Cancel on a fresh call object, while the server runs, after the signal, after
    Finish_, right after Begin_, and a Release right after a Cancel: each answer is the
    documented one, and the call object stays usable (F48, F51, F62-F65)."""
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    assert call.Cancel(0) == hresult.RPC_E_CALL_COMPLETE  # fresh: nothing to cancel
    # while the server runs the call
    call.Begin_Add(1, 1)
    assert gated.entered.wait(5)
    assert call.Cancel(0) == S_OK
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_CANCELED
    assert call.Cancel(0) == hresult.RPC_E_CALL_COMPLETE  # after Finish_: idle again
    gated.gate.set()
    # after the signal, before Finish_: too late, the real result stands
    call.Begin_Add(2, 2)
    assert call.Wait(0, 5000) == S_OK
    assert call.Cancel(0) == hresult.RPC_E_CALL_COMPLETE
    assert call.Finish_Add() == 4
    assert call.Cancel(0) == hresult.RPC_E_CALL_COMPLETE  # after Finish_
    # right after Begin_ (the reply may already be on its way): one of the two answers,
    # and Finish_ agrees with it
    call.Begin_Add(3, 3)
    got = call.Cancel(0)
    assert got in (S_OK, hresult.RPC_E_CALL_COMPLETE)
    if got == S_OK:
        with pytest.raises(COMError) as info:
            call.Finish_Add()
        assert info.value.hresult == hresult.RPC_E_CALL_CANCELED
    else:
        assert call.Finish_Add() == 6
    # cancel, then release without Finish_ (F51): nothing reaches anyone
    call.Begin_Add(4, 4)
    assert call.Cancel(0) in (S_OK, hresult.RPC_E_CALL_COMPLETE)
    assert call.Release() == 0
    again = new_call(calc)
    assert again.Begin_Add(5, 5) == S_OK and again.Finish_Add() == 10
    again.Release()
    calc.Release()


def test_t69_cancel_after_completion(bnd: str, gated: type[GatedCalc]) -> None:
    gated.gate.set()
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    call = new_call(calc)
    call.Begin_Add(2, 3)
    assert call.Wait(0, 5000) == S_OK
    assert call.Cancel(1) == hresult.RPC_E_CALL_COMPLETE
    assert call.Finish_Add() == 5
    call.Release()
    calc.Release()


def test_mixed_and_many_outstanding(bnd: str, gated: type[GatedCalc]) -> None:
    """1,000 call objects outstanding at once, with synchronous calls in between."""
    calc = CoCreateInstance(CLSID_GatedCalc, bnd, calc_idl.ICalc)
    sync_calc = CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc)
    calls = [new_call(calc) for _ in range(1000)]
    for i, c in enumerate(calls):
        assert c.Begin_Add(i, 1) == S_OK
    assert sync_calc.Add(40, 2) == 42  # a sync client is not held up
    assert all(c.Wait(0, 0) == hresult.RPC_E_TIMEOUT for c in calls[:10])
    gated.gate.set()
    assert [c.Finish_Add() for c in calls] == [i + 1 for i in range(1000)]
    for c in calls:
        c.Release()
    sync_calc.Release()
    calc.Release()
