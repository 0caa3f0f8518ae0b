"""IDispatch ([MS-OAUT]) from the shipped oaidl.idl, and T63 (F42): COM has no async
support for IDispatch or any interface derived from it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dcerpc.idl
from dcerpc.com import CoCreateInstance, COMError, ComServer, hresult
from dcerpc.com.guids import IID_ICallFactory, IID_IUnknown
from dcerpc.errors import IdlError

from .calc_impl import Calc, CLSID_Calc, calc_idl

disp_idl = dcerpc.idl.load(os.path.join(os.path.dirname(__file__), "disp.idl"))
CLSID_Doubler = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c10")
IID_IDispatch = uuid.UUID("00020400-0000-0000-c000-000000000046")


DISP_E_UNKNOWNNAME = 0x80020006
DISP_E_MEMBERNOTFOUND = 0x80020003
VT_I4, VT_BSTR = 3, 8  # [MS-OAUT] 2.2.7 VARENUM


def bstr(text: str) -> Any:
    """A BSTR on the wire: FLAGGED_WORD_BLOB ([MS-OAUT] 2.2.23.1)."""
    data = list(text.encode("utf-16-le"))
    words = [data[i] | data[i + 1] << 8 for i in range(0, len(data), 2)]
    return disp_idl.FLAGGED_WORD_BLOB(cBytes=2 * len(words), clSize=len(words), asData=words)


def unbstr(blob: Any) -> str:
    return b"".join(w.to_bytes(2, "little") for w in blob.asData).decode("utf-16-le")


def variant(vt: int, value: Any) -> Any:
    """A wireVARIANT ([MS-OAUT] 2.2.29.2); clSize is its size in 8-octet units."""
    return disp_idl.wireVARIANTStr(clSize=5, rpcReserved=0, vt=vt, wReserved1=0,
                                   wReserved2=0, wReserved3=0,
                                   _varUnion=disp_idl.wireVARIANTStr__varUnion(vt, value))


class Doubler:
    _com_interfaces_ = [disp_idl.IDoubler]
    NAMES = {"twice": 1, "greet": 2}

    def GetTypeInfoCount(self) -> int:
        return 0  # no type information

    def GetIDsOfNames(self, riid: uuid.UUID, rgszNames: list[str], cNames: int,
                      lcid: int) -> list[int]:
        if any(n == "raise" for n in rgszNames):
            raise COMError(DISP_E_UNKNOWNNAME)
        return [self.NAMES.get(n.lower(), -1) for n in rgszNames]  # DISPID_UNKNOWN

    def Twice(self, x: int) -> int:
        return 2 * x

    def Invoke(self, dispIdMember: int, riid: uuid.UUID, lcid: int, dwFlags: int,
               pDispParams: Any, cVarRef: int, rgVarRefIdx: list[int],
               rgVarRef: list[Any]) -> tuple[Any, Any, int, list[Any]]:
        """DISPID 1 (twice) on a VT_I4, DISPID 2 (greet) on a VT_BSTR; [MS-OAUT]
        3.1.4.4.3: arguments arrive in reverse order in rgvarg."""
        args = [v._varUnion.value for v in reversed(pDispParams.rgvarg)]
        if dispIdMember == 1:
            result = variant(VT_I4, 2 * args[0])
        elif dispIdMember == 2:
            result = variant(VT_BSTR, bstr(f"hello {unbstr(args[0])}"))
        else:
            raise COMError(DISP_E_MEMBERNOTFOUND)
        return result, disp_idl.EXCEPINFO(), 0, rgVarRef

    def Greet(self, name: str) -> str:
        return f"hello {name}"


@pytest.fixture
def binding() -> Iterator[str]:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Doubler, Doubler)
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)


def test_oaidl_idispatch_opnums_and_derived_interface() -> None:
    disp = disp_idl.IDispatch
    assert disp.uuid == IID_IDispatch and disp.object and disp.base.name == "IUnknown"
    assert [(op.opnum, op.name) for op in disp.operations] == [
        (3, "GetTypeInfoCount"), (4, "GetTypeInfo"), (5, "GetIDsOfNames"), (6, "Invoke")]
    invoke = disp.operations[3]
    assert [p.name for p in invoke.params] == [
        "dispIdMember", "riid", "lcid", "dwFlags", "pDispParams", "pVarResult",
        "pExcepInfo", "pArgErr", "cVarRef", "rgVarRefIdx", "rgVarRef"]
    assert [(op.opnum, op.name) for op in disp_idl.IDoubler.operations] == [
        (7, "Twice"), (8, "Greet")]
    assert disp_idl.IDoubler.async_uuid is None
    assert not hasattr(disp_idl, "AsyncIDoubler")


def test_idispatch_derived_interface_over_the_wire(binding: str) -> None:
    d = CoCreateInstance(CLSID_Doubler, binding, disp_idl.IDoubler)
    try:
        assert d.Twice(21) == 42  # opnum 7
        assert d.Greet("dcom") == "hello dcom"  # opnum 8
        assert d.GetTypeInfoCount() == 0  # IDispatch's own opnum 3
        assert list(d.GetIDsOfNames(uuid.UUID(int=0), ["Greet", "twice", "x"], 3, 0)) \
            == [2, 1, -1]
        # the object answers QueryInterface(IDispatch) through IRemUnknown
        as_disp = d.QueryInterface(disp_idl.IDispatch)
        assert as_disp.GetTypeInfoCount() == 0
        as_disp.Release()
    finally:
        d.Release()


def test_failed_hresult_with_out_array_sized_by_an_in_parameter(binding: str) -> None:
    """A failure still sends the [out, size_is(cNames)] array with cNames elements (as a
    MIDL stub does), so the client sees the HRESULT, not a marshaling fault."""
    d = CoCreateInstance(CLSID_Doubler, binding, disp_idl.IDoubler)
    try:
        with pytest.raises(COMError) as info:
            d.GetIDsOfNames(uuid.UUID(int=0), ["twice", "raise"], 2, 0)
        assert info.value.hresult == DISP_E_UNKNOWNNAME
        assert d.Twice(2) == 4  # the object is still served
    finally:
        d.Release()


def test_idispatch_invoke_with_variants_over_the_wire(binding: str) -> None:
    """IDispatch::Invoke (remote form, [MS-OAUT] 3.1.4.4) with VT_I4 and VT_BSTR
    VARIANTs in DISPPARAMS and a VARIANT result, through the shipped oaidl.idl."""
    d = CoCreateInstance(CLSID_Doubler, binding, disp_idl.IDoubler)
    try:
        params = disp_idl.DISPPARAMS(rgvarg=[variant(VT_I4, 21)], rgdispidNamedArgs=[],
                                     cArgs=1, cNamedArgs=0)
        res, excep, arg_err, refs = d.Invoke(1, uuid.UUID(int=0), 0, 1, params, 0, [], [])
        assert (res.vt, res._varUnion.value, arg_err, refs) == (VT_I4, 42, 0, [])
        assert excep.scode == 0 and excep.bstrDescription is None
        params = disp_idl.DISPPARAMS(rgvarg=[variant(VT_BSTR, bstr("dcom"))],
                                     rgdispidNamedArgs=[], cArgs=1, cNamedArgs=0)
        res = d.Invoke(2, uuid.UUID(int=0), 0, 1, params, 0, [], [])[0]
        assert res.vt == VT_BSTR and unbstr(res._varUnion.value) == "hello dcom"
        with pytest.raises(COMError) as info:
            d.Invoke(9, uuid.UUID(int=0), 0, 1, params, 0, [], [])
        assert info.value.hresult == DISP_E_MEMBERNOTFOUND
    finally:
        d.Release()


def test_oaidl_loads_on_its_own() -> None:
    """The shipped oaidl.idl compiles as a file of its own too ([MS-OAUT] wins over the
    [MS-DTYP] names it repeats, as for its importers)."""
    m = dcerpc.idl.load(os.path.join(os.path.dirname(dcerpc.idl.__file__), "include",
                                     "oaidl.idl"))
    assert (m.VARENUM.VT_I4, m.VARENUM.VT_BSTR) == (VT_I4, VT_BSTR)
    assert [op.opnum for op in m.IDispatch.operations] == [3, 4, 5, 6]


def test_t63_idispatch_derived_interface_has_no_call_object(binding: str) -> None:
    d = CoCreateInstance(CLSID_Doubler, binding, disp_idl.IDoubler)
    calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc)
    try:
        # no ICallFactory on an IDispatch-derived interface: use the synchronous one
        with pytest.raises(COMError) as info:
            d.QueryInterface(IID_ICallFactory)
        assert info.value.hresult == hresult.E_NOINTERFACE
        assert d.Twice(4) == 8
        # a factory that exists (ICalc's) refuses the IDispatch-derived IIDs (F46, T63)
        factory = calc.QueryInterface(IID_ICallFactory)
        for iid in (disp_idl.IDoubler.uuid, IID_IDispatch):
            with pytest.raises(COMError) as info:
                factory.CreateCall(iid, None, IID_IUnknown)
            assert info.value.hresult == hresult.E_NOINTERFACE
        factory.Release()
    finally:
        d.Release()
        calc.Release()


_DERIVED = """
import "oaidl.idl";
[object, uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b11),
 async_uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b91), pointer_default(unique)]
interface IBad : IDispatch { HRESULT M([in] long x); }
"""
_DERIVED2 = """
import "oaidl.idl";
[object, uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b12), pointer_default(unique)]
interface IMid : IDispatch { HRESULT M([in] long x); }
[object, uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b13),
 async_uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b93), pointer_default(unique)]
interface IBad2 : IMid { HRESULT N([in] long x); }
"""
_DUAL = """
import "unknwn.idl";
[object, dual, uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b14),
 async_uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b94), pointer_default(unique)]
interface IBad3 : IUnknown { HRESULT M([in] long x); }
"""


@pytest.mark.parametrize("text, name, what", [
    (_DERIVED, "IBad", "derived from IDispatch"),
    (_DERIVED2, "IBad2", "derived from IDispatch"),
    (_DUAL, "IBad3", "[dual]"),
])
def test_async_uuid_on_idispatch_derived_is_an_idl_error(tmp_path: Path, text: str,
                                                          name: str, what: str) -> None:
    path = tmp_path / "bad.idl"
    path.write_text(text)
    with pytest.raises(IdlError) as info:
        dcerpc.idl.load(str(path))
    msg = str(info.value)
    assert f"interface {name}" in msg and "[async_uuid]" in msg and what in msg
    assert "no asynchronous IDispatch" in msg
