"""impacket's DCOMConnection (its real DCOM client, unmodified) against our ComServer at
RPC_C_AUTHN_LEVEL_NONE: activation, a method call through dcomrt's generic
``INTERFACE.request``, QueryInterface for a second interface, release of both."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import dcomrt, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE, DCERPCException
from impacket.uuid import uuidtup_to_bin

from dcerpc.com import ComServer

from . import impacket_calls as calls
from .calc_impl import Calc, CLSID_Calc, calc_idl

pytestmark = pytest.mark.interop


@pytest.fixture(autouse=True)
def _fresh_impacket_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # dcomrt keeps connections and ping sets in class attributes keyed by target
    monkeypatch.setattr(dcomrt.INTERFACE, "CONNECTIONS", {})
    for name in ("OID_ADD", "OID_DEL", "OID_SET", "PORTMAPS"):
        monkeypatch.setattr(dcomrt.DCOMConnection, name, {})


def _iid(spec: object) -> bytes:
    return uuidtup_to_bin((str(spec.uuid), "0.0"))  # type: ignore[attr-defined]


@pytest.fixture
def activation_port(com_server: ComServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    # DCOMConnection always activates at <target>:135 (protocol-digest §8.6)
    port = int(com_server.bindings[0].endpoint)
    monkeypatch.setattr(transport.TCPTransport.__init__, "__defaults__", (port,))
    yield port


def test_impacket_dcomconnection_auth_none(com_server: ComServer, activation_port: int
                                           ) -> None:
    dcom = dcomrt.DCOMConnection("127.0.0.1", authLevel=RPC_C_AUTHN_LEVEL_NONE)
    try:
        calc = dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
        assert len(com_server.exporter.objects) == 1
        req = calls.Add()
        req["a"], req["b"] = 40, 2
        resp = calc.request(req, _iid(calc_idl.ICalc), calc.get_iPid())
        assert resp["sum"] == 42 and resp["ErrorCode"] == 0
        # a failing HRESULT reaches impacket as the response's last 4 bytes
        req = calls.Fail()
        req["hr"] = -2147467259
        with pytest.raises(DCERPCException, match=r"E_FAIL|0x80004005"):
            calc.request(req, _iid(calc_idl.ICalc), calc.get_iPid())
        stats = calc.RemQueryInterface(1, [calc_idl.IStats.uuid.bytes_le])
        resp = stats.request(calls.Count(), _iid(calc_idl.IStats), stats.get_iPid())
        assert resp["calls"] == 1 and resp["ErrorCode"] == 0
        exporter = com_server.exporter
        (obj,) = exporter.objects.values()
        assert isinstance(obj.obj, Calc) and len(obj.ipids) == 2
        # impacket returns one reference per RemRelease; ours are released for real
        # once every reference handed out is back
        stats.RemRelease()
        calc.RemRelease()
        refs = {ip.iid: ip.refs for ip in obj.ipids.values()}
        assert refs == {calc_idl.ICalc.uuid: 4, calc_idl.IStats.uuid: 0}
    finally:
        dcom.disconnect()


def test_tshark_dissects_the_dcom_exchange(com_server: ComServer, activation_port: int,
                                           tmp_path: Path) -> None:
    from interop.test_tshark import LoopbackCapture, _tshark_fields  # the interop suite's

    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is required (tests/interop installs it)"
    cap = LoopbackCapture(tshark, [activation_port])
    try:
        cap.mark("start")
        dcom = dcomrt.DCOMConnection("127.0.0.1", authLevel=RPC_C_AUTHN_LEVEL_NONE)
        try:
            calc = dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
            req = calls.Add()
            req["a"], req["b"] = 1, 2
            assert calc.request(req, _iid(calc_idl.ICalc), calc.get_iPid())["sum"] == 3
            stats = calc.RemQueryInterface(1, [calc_idl.IStats.uuid.bytes_le])
            stats.RemRelease()
            calc.RemRelease()
        finally:
            dcom.disconnect()
        cap.mark("end")
        pcap = cap.stop(tmp_path / "dcom.pcapng")
    finally:
        if cap.proc.poll() is None:
            cap.proc.kill()
            cap.proc.wait()
    ports = [activation_port]
    bad = _tshark_fields(tshark, pcap, ports, "frame.number", "_ws.col.Info",
                         display_filter='_ws.malformed || _ws.expert.severity >= "warning"')
    assert bad == [], f"tshark flagged frames: {bad}"
    info = " | ".join(r[0] for r in _tshark_fields(tshark, pcap, ports, "_ws.col.Info"))
    assert "RemoteCreateInstance response" in info, info
    assert "RemQueryInterface response" in info, info
    assert "RemRelease response" in info, info


def test_impacket_pings_keep_objects_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=10, ping_count=2,
                    clock=lambda: now[0])
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    port = int(srv.bindings[0].endpoint)
    monkeypatch.setattr(transport.TCPTransport.__init__, "__defaults__", (port,))
    dcom = dcomrt.DCOMConnection("127.0.0.1", authLevel=RPC_C_AUTHN_LEVEL_NONE,
                                 oxidResolver=True)
    try:
        dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
        for _ in range(4):  # impacket's timer would do this every 120 s
            dcomrt.DCOMConnection.PINGTIMER.cancel()
            dcomrt.DCOMConnection.pingServer()  # ComplexPing first, then SimplePing
            assert srv.exporter.ping_sets == 1
            now[0] += 15
            assert srv.exporter.collect() == []
        now[0] += 21  # impacket stops pinging
        assert len(srv.exporter.collect()) == 1
    finally:
        if dcomrt.DCOMConnection.PINGTIMER is not None:
            dcomrt.DCOMConnection.PINGTIMER.cancel()
        dcom.disconnect()
        srv.stop_background(1.0)
