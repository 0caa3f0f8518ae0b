"""The OXID resolver and the legacy activator, called as plain RPC interfaces."""

from __future__ import annotations

import uuid

import dcerpc
from dcerpc.com import ComServer, hresult, unmarshal
from dcerpc.com._orpc import COM_VERSION, dcom_idl, orpcthis
from dcerpc.com.exporter import OR_INVALID_OXID, OR_INVALID_SET
from dcerpc.com.objref import DualStringArray

from .calc_impl import CLSID_Calc, calc_idl


def test_server_alive2_and_resolve_oxid2(com_server: ComServer, binding: str) -> None:
    m = dcom_idl()
    with dcerpc.connect(binding, m.IObjectExporter) as ox:
        status, version, dsa, _reserved = ox.ServerAlive2()
        assert status == 0 and (version.MajorVersion, version.MinorVersion) == COM_VERSION
        addrs = DualStringArray.from_words(list(dsa.aStringArray), dsa.wSecurityOffset)
        port = com_server.bindings[0].endpoint
        assert addrs.tcp_bindings() == [f"127.0.0.1[{port}]"]
        assert ox.ServerAlive() == 0
        status, dsa, ipid, hint, _v = ox.ResolveOxid2(com_server.exporter.oxid, 1, [7])
        assert status == 0 and ipid == com_server.exporter.ipid_rem_unknown and hint == 1
        status, dsa1, ipid1, hint1 = ox.ResolveOxid(com_server.exporter.oxid, 1, [7])
        assert (status, ipid1, hint1) == (0, ipid, 1)
        assert list(dsa1.aStringArray) == list(dsa.aStringArray)
        status, *_ = ox.ResolveOxid2(com_server.exporter.oxid ^ 1, 1, [7])
        assert status == OR_INVALID_OXID
        assert ox.SimplePing(12345) == OR_INVALID_SET


def test_legacy_remote_activation(com_server: ComServer, binding: str) -> None:
    m = dcom_idl()
    iids = [calc_idl.ICalc.uuid, uuid.UUID("0badc0de-0000-4000-8000-000000000005")]
    with dcerpc.connect(binding, m.IActivation) as act:
        (status, _that, oxid, _dsa, ipid_rem, hint, _ver, hr_, ifaces,
         results) = act.RemoteActivation(orpcthis(), CLSID_Calc, None, None, 2, 0, len(iids),
                                         iids, 1, [7])
        assert status == 0 and hr_ == hresult.S_OK
        assert oxid == com_server.exporter.oxid and hint == 1
        assert ipid_rem == com_server.exporter.ipid_rem_unknown
        assert [hresult.unsigned(r) for r in results] == [hresult.S_OK, hresult.E_NOINTERFACE]
        assert ifaces[1] is None
        first = bytes(ifaces[0].abData)
        *_, hr_, ifaces, results = act.RemoteActivation(
            orpcthis(), uuid.UUID("0badc0de-0000-4000-8000-000000000006"), None, None, 2, 0,
            1, iids[:1], 1, [7])
        assert hresult.unsigned(hr_) == hresult.REGDB_E_CLASSNOTREG
    # the OBJREF leads back to the object (through ResolveOxid2)
    calc = unmarshal(first, calc_idl.ICalc)
    assert calc.oxid == com_server.exporter.oxid
    assert calc.iid == calc_idl.ICalc.uuid
    assert calc.Add(3, 4) == 7
    assert calc.Release() == 0
    assert com_server.exporter.objects == {}
