"""Our COM client against our COM server over loopback TCP."""

from __future__ import annotations

import uuid

import pytest

from dcerpc.com import (
    CoCreateInstance,
    CoCreateInstanceEx,
    CoGetClassObject,
    COMError,
    ComServer,
    hresult,
)
from dcerpc.com.client import _EXPORTERS

from .calc_impl import AsyncCalc, Calc, CLSID_AsyncCalc, CLSID_Calc, calc_idl


def test_activate_call_qi_release(com_server: ComServer, binding: str) -> None:
    calc, stats = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc, calc_idl.IStats])
    assert calc is not None and stats is not None
    assert calc.oid == stats.oid and calc.ipid != stats.ipid
    assert calc.Add(2, 3) == 5
    assert calc.Add(-7, 3) == -4
    assert calc.Echo("hello") == "olleh"
    assert stats.Count() == 2
    assert stats.MinMax() == (-4, 5)
    again = calc.QueryInterface(calc_idl.IStats)
    assert again is stats  # same IPID: one proxy, one more reference
    assert again.Release() == 1
    exp = com_server.exporter
    assert len(exp.objects) == 1
    assert calc.Release() == 0
    assert len(exp.objects) == 1  # IStats still holds the object
    assert stats.Release() == 0
    assert exp.objects == {} and exp.ipids == {}
    assert exp.oxid not in _EXPORTERS  # the client forgot the exporter with its last proxy
    with pytest.raises(COMError) as info:
        calc.Add(1, 1)
    assert info.value.hresult == hresult.CO_E_OBJNOTCONNECTED


def test_comerror_propagation(binding: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    try:
        with pytest.raises(COMError) as info:
            calc.Fail(hresult.E_FAIL)
        assert info.value.hresult == 0x80004005
        # the unsigned spelling of a Win32 HRESULT goes out and comes back unsigned
        with pytest.raises(COMError) as info:
            calc.Fail(0x80070490)
        assert info.value.hresult == 0x80070490
        with pytest.raises(COMError) as info:
            calc.Fail(-2147467259)  # the signed spelling of E_FAIL
        assert info.value.hresult == hresult.E_FAIL
        assert calc.Add(1, 2) == 3  # the object survives failures
    finally:
        calc.Release()


def test_query_interface_unknown_iid(binding: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    try:
        with pytest.raises(COMError) as info:
            calc.QueryInterface(uuid.UUID("0badc0de-0000-4000-8000-000000000001"))
        assert info.value.hresult == hresult.E_NOINTERFACE
        unk = calc.QueryInterface("00000000-0000-0000-C000-000000000046")
        assert unk.oid == calc.oid
        assert unk.Release() == 0
    finally:
        calc.Release()


def test_out_interface_pointer(com_server: ComServer, binding: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    calc.Add(4, 4)
    stats = calc.GetStats(calc_idl.IStats.uuid)  # [out, iid_is(riid)] IUnknown**
    assert stats.oid != calc.oid
    assert stats.Count() == 1
    assert len(com_server.exporter.objects) == 2
    stats.Release()
    assert len(com_server.exporter.objects) == 1
    calc.Release()
    assert com_server.exporter.objects == {}


def test_unknown_class_and_missing_interface(binding: str) -> None:
    with pytest.raises(COMError) as info:
        CoCreateInstance(uuid.UUID("0badc0de-0000-4000-8000-000000000002"), binding,
                         calc_idl.ICalc)
    assert info.value.hresult == hresult.REGDB_E_CLASSNOTREG
    calc, other = CoCreateInstanceEx(
        CLSID_Calc, binding, [calc_idl.ICalc, uuid.UUID("0badc0de-0000-4000-8000-000000000003")])
    assert calc is not None and other is None
    calc.Release()


def test_class_factory(com_server: ComServer, binding: str) -> None:
    factory = CoGetClassObject(CLSID_Calc, binding)
    made = factory.CreateInstance(None, calc_idl.ICalc.uuid)
    assert made.Add(20, 22) == 42
    with pytest.raises(COMError) as info:
        factory.CreateInstance(None, uuid.UUID("0badc0de-0000-4000-8000-000000000004"))
    assert info.value.hresult == hresult.E_NOINTERFACE
    made.Release()
    factory.Release()
    assert com_server.exporter.objects == {}


def test_stale_ipid_is_rpc_e_disconnected(com_server: ComServer, binding: str) -> None:
    calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    com_server.exporter.collect(now=1e18)  # every object "unpinged": collected
    with pytest.raises(COMError) as info:
        calc.Add(1, 1)
    assert info.value.hresult == hresult.RPC_E_DISCONNECTED
    assert isinstance(Calc.instances[-1], Calc)


def test_in_interface_pointer_comes_back_as_the_object(binding: str) -> None:
    calc, stats = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc, calc_idl.IStats])
    assert calc is not None and stats is not None
    other = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    try:
        assert calc.IsSame(stats) == 1
        assert calc.IsSame(calc) == 1
        assert calc.IsSame(other) == 0
        assert calc.IsSame(None) == 0
        # a local object is exported by the client: the server sees a proxy, not itself
        assert calc.IsSame(Calc()) == 0
        with pytest.raises(TypeError):
            calc.IsSame(object())  # neither a proxy nor a COM object
    finally:
        for p in (calc, stats, other):
            p.Release()


def test_aggregation_is_refused(binding: str) -> None:
    factory = CoGetClassObject(CLSID_Calc, binding)
    calc = factory.CreateInstance(None, calc_idl.ICalc.uuid)
    try:
        with pytest.raises(COMError) as info:
            factory.CreateInstance(calc, calc_idl.ICalc.uuid)
        assert info.value.hresult == hresult.CLASS_E_NOAGGREGATION
    finally:
        calc.Release()
        factory.Release()


def test_async_def_methods(com_server: ComServer, binding: str) -> None:
    com_server.register_class(CLSID_AsyncCalc, AsyncCalc)
    calc = CoCreateInstance(CLSID_AsyncCalc, binding, calc_idl.ICalc)
    try:
        assert calc.Add(30, 12) == 42
        with pytest.raises(COMError) as info:
            calc.Fail(0x8007000E)
        assert info.value.hresult == hresult.E_OUTOFMEMORY
    finally:
        calc.Release()


def test_com_over_ncalrpc(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERPC_LRPC_DIR", str(tmp_path))
    endpoint = f"com-{uuid.uuid4().hex[:8]}"
    srv = ComServer(f"ncalrpc:[{endpoint}]", "ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    try:
        dsa = srv.oxid_bindings().rpc_bindings()
        assert f"ncalrpc:[{endpoint}]" in dsa and any(b.startswith("ncacn_ip_tcp:") for b in dsa)
        calc, stats = CoCreateInstanceEx(CLSID_Calc, f"ncalrpc:[{endpoint}]",
                                         [calc_idl.ICalc, calc_idl.IStats])
        assert calc is not None and stats is not None
        assert calc._exporter.binding == f"ncalrpc:[{endpoint}]"  # same protseq as activation
        assert calc.Add(1, 2) == 3 and stats.Count() == 1
        calc.Release()
        stats.Release()
        assert srv.exporter.objects == {}
    finally:
        srv.stop_background(1.0)
