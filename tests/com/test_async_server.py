"""Server call objects (seed-semantics §3.4: T62, T71)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dcerpc.com import CoCreateInstance, COMError, ComServer, hresult
from dcerpc.com.guids import IID_ICallFactory, IID_IUnknown

from .async_impl import CLSID_ServerCallCalc, ServerCallCalc
from .calc_impl import calc_idl


@pytest.fixture
def bnd() -> Iterator[str]:
    ServerCallCalc.gate.clear()
    ServerCallCalc.gated = False
    ServerCallCalc.cancel_seen.clear()
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_ServerCallCalc, ServerCallCalc)
    srv.start_background()
    yield str(srv.bindings[0])
    ServerCallCalc.gate.set()
    srv.stop_background(1.0)


def test_t62_sync_client_async_server(bnd: str) -> None:
    calc = CoCreateInstance(CLSID_ServerCallCalc, bnd, calc_idl.ICalc)
    assert calc.Add(2, 3) == 5
    assert ServerCallCalc.last is not None
    assert ServerCallCalc.last.log == ["Begin_Add", "Signal", "Finish_Add"]
    assert ServerCallCalc.cancel_seen == [hresult.RPC_S_CALLPENDING]
    assert calc.Echo("x") == "x"  # no Begin_Echo on the call object: served synchronously
    calc.Release()


def test_async_client_async_server(bnd: str) -> None:
    calc = CoCreateInstance(CLSID_ServerCallCalc, bnd, calc_idl.ICalc)
    f = calc.QueryInterface(IID_ICallFactory)
    call = f.CreateCall(calc_idl.AsyncICalc, None, IID_IUnknown)
    call.Begin_Add(20, 22)
    assert call.Wait(0, 5000) == hresult.S_OK
    assert call.Finish_Add() == 42
    call.Release()
    calc.Release()


def test_t71_server_sees_cancel_client_ignores_late_result(bnd: str) -> None:
    ServerCallCalc.gated = True
    calc = CoCreateInstance(CLSID_ServerCallCalc, bnd, calc_idl.ICalc)
    call = calc.QueryInterface(IID_ICallFactory).CreateCall(calc_idl.AsyncICalc, None,
                                                             IID_IUnknown)
    call.Begin_Add(1, 2)
    assert call.Cancel(2) == hresult.S_OK
    ServerCallCalc.gate.set()
    with pytest.raises(COMError) as info:
        call.Finish_Add()
    assert info.value.hresult == hresult.RPC_E_CALL_CANCELED  # not the server's 99
    assert ServerCallCalc.cancel_seen == [hresult.RPC_E_CALL_CANCELED]
    call.Release()
    calc.Release()
