"""Malformed and misdirected input: typed errors and HRESULTs, never a broken server."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dcerpc
from dcerpc.com import CoCreateInstanceEx, COMError, ComServer, guids, hresult
from dcerpc.com._orpc import dcom_idl, orpc_interface, orpcthis
from dcerpc.com.actprops import (
    ActivationReply,
    ActivationRequest,
    decode_reply_blob,
    decode_request_blob,
    encode_reply_blob,
    encode_request_blob,
)
from dcerpc.com.objref import DualStringArray, ObjRefCustom, StringBinding, decode_objref
from dcerpc.errors import NdrError

from .calc_impl import CLSID_Calc, calc_idl

_REQ = encode_request_blob(ActivationRequest(uuid.uuid4(), [uuid.uuid4()]))
_REP = encode_reply_blob(ActivationReply(
    [uuid.uuid4()], [0], [b"MEOW"], 1, DualStringArray((StringBinding(7, "h[1]"),)),
    uuid.uuid4()))
_FUZZ = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _mutations(blob: bytes) -> st.SearchStrategy[bytes]:
    def mutate(edits: list[tuple[int, int]], cut: int) -> bytes:
        b = bytearray(blob)
        for pos, val in edits:
            b[pos % len(b)] = val
        return bytes(b[:cut])
    return st.builds(mutate, st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                      max_size=6), st.integers(0, len(blob)))


@_FUZZ
@given(st.one_of(st.binary(max_size=300), _mutations(_REQ), _mutations(_REP)))
def test_decoders_raise_only_ndr_error(data: bytes) -> None:
    for fn in (decode_objref, decode_request_blob, decode_reply_blob,
               lambda d: DualStringArray.unpack(d)):
        with contextlib.suppress(NdrError):  # anything else fails the test
            fn(data)


def test_garbage_activation_properties(com_server: ComServer, binding: str) -> None:
    m = dcom_idl()
    with dcerpc.connect(binding, m.IRemoteSCMActivator) as scm:
        junk = ObjRefCustom(guids.IID_IActivationPropertiesIn,
                            guids.CLSID_ActivationPropertiesIn, bytes(range(200))).pack()
        for blob in (junk, b"MEOW\x04\x00\x00\x00" + bytes(40), _REQ[:-9]):
            code, _that, out = scm.RemoteCreateInstance(orpcthis(), None,
                                                        m.MInterfacePointer(len(blob), blob))
            assert hresult.unsigned(code) == hresult.E_INVALIDARG and out is None
        code, _that, out = scm.RemoteCreateInstance(orpcthis(), None, None)
        assert hresult.unsigned(code) == hresult.E_INVALIDARG
    (calc,) = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc])  # still serving
    assert calc is not None and calc.Add(1, 1) == 2
    calc.Release()


def test_misdirected_ipids(com_server: ComServer, binding: str) -> None:
    calc, stats = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc, calc_idl.IStats])
    assert calc is not None and stats is not None
    wire = orpc_interface(calc_idl.ICalc)
    try:
        # an ICalc call on the IStats IPID of the same object
        with dcerpc.connect(binding, wire, object_uuid=stats.ipid) as p, \
                pytest.raises(dcerpc.CallFault) as info:
            p.Add(orpcthis(), 1, 2)
        assert info.value.status == hresult.RPC_E_INVALID_IPID
        # an IPID nobody exported
        with dcerpc.connect(binding, wire, object_uuid=uuid.uuid4()) as p, \
                pytest.raises(dcerpc.CallFault) as info:
            p.Add(orpcthis(), 1, 2)
        assert info.value.status == hresult.RPC_E_DISCONNECTED
        # IRemUnknown on an object's IPID instead of the exporter's
        rem = orpc_interface(dcom_idl().IRemUnknown)
        with dcerpc.connect(binding, rem, object_uuid=calc.ipid) as p, \
                pytest.raises(dcerpc.CallFault):
            p.RemQueryInterface(orpcthis(), calc.ipid, 1, 1, [calc_idl.IStats.uuid])
        ipid_rem = com_server.exporter.ipid_rem_unknown
        with dcerpc.connect(binding, rem, object_uuid=ipid_rem) as p:
            code, _that, results = p.RemQueryInterface(orpcthis(), uuid.uuid4(), 1, 1,
                                                       [calc_idl.IStats.uuid])
            assert hresult.unsigned(code) == hresult.RPC_E_INVALID_IPID
            assert hresult.unsigned(results[0].hResult) == hresult.RPC_E_INVALID_IPID
            m = dcom_idl()
            code, _that = p.RemRelease(orpcthis(), 1, [m.REMINTERFACEREF(uuid.uuid4(), 1, 0)])
            assert hresult.unsigned(code) == hresult.E_INVALIDARG
        assert calc.Add(2, 2) == 4  # nothing above disturbed the real object
    finally:
        calc.Release()
        stats.Release()
    with pytest.raises(COMError):
        calc.Release()


def test_orpcthis_major_version_mismatch(binding: str) -> None:
    (calc,) = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc])
    assert calc is not None
    m = dcom_idl()
    this = orpcthis()
    this.version = m.COMVERSION(6, 0)
    try:
        with dcerpc.connect(binding, orpc_interface(calc_idl.ICalc),
                            object_uuid=calc.ipid) as p, pytest.raises(dcerpc.CallFault) as info:
            p.Add(this, 1, 2)
        assert info.value.status == hresult.RPC_E_VERSION_MISMATCH
    finally:
        calc.Release()


class _Broken:
    """Methods that break the COM class contract."""

    _com_interfaces_ = [calc_idl.ICalc]

    def Add(self, a: int, b: int) -> tuple[int, int]:
        return (a, b)  # not a long: the response does not marshal

    def GetStats(self, riid: uuid.UUID) -> object:
        return object()  # not a COM object: cannot be marshaled as riid

    def Echo(self, text: str) -> str:
        raise KeyError(text)  # not a COMError


def test_contract_violations_fail_the_call_not_the_server() -> None:
    clsid = uuid.uuid4()
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(clsid, _Broken)
    srv.start_background()
    try:
        (obj,) = CoCreateInstanceEx(clsid, str(srv.bindings[0]), [calc_idl.ICalc])
        assert obj is not None
        with pytest.raises(COMError) as info:
            obj.Add(1, 2)
        assert info.value.hresult == hresult.RPC_E_SERVERFAULT  # a fault PDU on the wire
        assert isinstance(info.value.details, dcerpc.CallFault)
        with pytest.raises(COMError) as info:
            obj.Echo("x")
        assert info.value.hresult == hresult.RPC_E_SERVERFAULT
        with pytest.raises(COMError) as info:
            obj.GetStats(calc_idl.IStats.uuid)
        assert info.value.hresult == hresult.E_NOINTERFACE
        assert obj.Release() == 0
        assert srv.exporter.objects == {}
    finally:
        srv.stop_background(1.0)
