"""The remaining numbered COM acceptance tests of seed-semantics §9.7-9.10, one test per
T number not already expressed elsewhere (T54, T55, T57, T64, T70, T72, T81); see
docs/com.md "Numbered acceptance tests" for where every T50-T81 lives."""

from __future__ import annotations

import time

import pytest

from dcerpc import status as st
from dcerpc.com import CoCreateInstance, COMError
from dcerpc.com import hresult as hr
from dcerpc.com.sync import INFINITE, WAIT_TIMEOUT_HRESULT

from .async_impl import CLSID_GatedCalc, GatedCalc
from .calc_impl import calc_idl
from .test_async_client import bnd, gated, new_call, server  # noqa: F401 - fixtures

S_OK = hr.S_OK


def _gated_call(binding: str):  # type: ignore[no-untyped-def]
    calc = CoCreateInstance(CLSID_GatedCalc, binding, calc_idl.ICalc)
    return calc, new_call(calc)


def test_t54_begin_while_pending(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T54 (F48): while pending, Begin_ of the same or another method is
    RPC_E_CALL_PENDING and the outstanding call still finishes with 5."""
    calc, call = _gated_call(bnd)
    assert call.Begin_Add(2, 3) == S_OK
    assert gated.entered.wait(5)
    for begin in (lambda: call.Begin_Add(1, 1), lambda: call.Begin_Echo("x")):
        with pytest.raises(COMError) as info:
            begin()
        assert info.value.hresult == hr.RPC_E_CALL_PENDING
    gated.gate.set()
    assert call.Wait(0, INFINITE) == S_OK
    assert call.Finish_Add() == 5
    call.Release()
    calc.Release()


def test_t55_begin_after_signal_before_finish(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T55 (F48): signalled but not finished still counts as outstanding."""
    gated.gate.set()
    calc, call = _gated_call(bnd)
    assert call.Begin_Add(2, 3) == S_OK
    assert call.Wait(0, 5000) == S_OK
    with pytest.raises(COMError) as info:
        call.Begin_Add(4, 4)
    assert info.value.hresult == hr.RPC_E_CALL_PENDING
    assert call.Finish_Add() == 5
    call.Release()
    calc.Release()


def test_t57_reuse(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T57 (F50): one call object, two calls: 5 then 8."""
    gated.gate.set()
    calc, call = _gated_call(bnd)
    got = []
    for a, b in ((2, 3), (4, 4)):
        assert call.Begin_Add(a, b) == S_OK
        assert call.Wait(0, 5000) == S_OK
        got.append(call.Finish_Add())
    assert got == [5, 8]
    call.Release()
    calc.Release()


def test_t64_wait_arguments(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T64 (F53): Wait(0, 0) on an unsignalled object is the timeout code; after the
    signal Wait returns S_OK repeatedly (manual-reset per call, §7 C8). Wait(0, 100)
    really waits: only the lower bound of T64's window is checked (a wait cannot end
    early on a loaded machine; an upper bound would be a timing threshold)."""
    calc, call = _gated_call(bnd)
    assert call.Begin_Add(1, 2) == S_OK
    assert call.Wait(0, 0) == WAIT_TIMEOUT_HRESULT
    t0 = time.monotonic()
    assert call.Wait(0, 100) == WAIT_TIMEOUT_HRESULT
    assert time.monotonic() - t0 >= 0.09
    gated.gate.set()
    assert call.Wait(0, INFINITE) == S_OK
    assert call.Wait(0, 0) == S_OK
    assert call.Wait(0, 0) == S_OK
    assert call.Finish_Add() == 3
    call.Release()
    calc.Release()


def test_t70_second_cancel(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T70 (F64, §7 C3): a second Cancel is RPC_E_CALL_CANCELED."""
    calc, call = _gated_call(bnd)
    assert call.Begin_Add(1, 2) == S_OK
    assert call.Cancel(1) == S_OK
    assert call.Cancel(1) == hr.RPC_E_CALL_CANCELED
    gated.gate.set()
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == hr.RPC_E_CALL_CANCELED
    call.Release()
    calc.Release()


def test_t72_cancel_unblocks_the_client(bnd: str, gated: type[GatedCalc]) -> None:  # noqa: F811
    """T72 (F64, F65): the server never answers; Cancel(1) then Finish_ still returns
    RPC_E_CALL_CANCELED (the wait is bounded by ulSeconds, not by the server). The
    client gives the server its ulSeconds first: the lower bound of T72's window
    (0.8 s) is checked, not the upper one (a timing threshold)."""
    calc, call = _gated_call(bnd)
    assert call.Begin_Add(1, 2) == S_OK
    assert gated.entered.wait(5)
    t0 = time.monotonic()
    assert call.Cancel(1) == S_OK
    with pytest.raises(COMError) as info:
        call.Finish_Add()  # the gate stays shut
    assert info.value.hresult == hr.RPC_E_CALL_CANCELED
    assert time.monotonic() - t0 >= 0.8
    call.Release()
    gated.gate.set()
    calc.Release()


def test_t81_constants() -> None:
    """T81 (§1, §7 C1-C2): the exported values."""
    assert st.RPC_S_ASYNC_CALL_PENDING == 997
    assert st.RPC_S_CALL_CANCELLED == 1818
    assert st.RPC_S_INVALID_ASYNC_HANDLE == 1914
    assert hr.RPC_E_CALL_CANCELED == 0x80010002
    assert hr.RPC_E_CALL_COMPLETE == 0x80010117
    assert hr.RPC_E_TIMEOUT == 0x8001011F
    assert hr.RPC_S_CALLPENDING == 0x80010115
    assert hr.RPC_E_CALL_PENDING == hr.RPC_S_CALLPENDING  # §7 C1
    assert hr.RPC_E_NO_SYNC == 0x80010120
    assert hr.RPC_E_OUT_OF_RESOURCES == 0x80010101
    assert hr.CO_E_CANCEL_DISABLED == 0x80010140
    assert hr.E_NOINTERFACE == 0x80004002
    assert WAIT_TIMEOUT_HRESULT == hr.RPC_E_TIMEOUT  # §7 C2
