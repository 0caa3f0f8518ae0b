"""impacket's DCOMConnection (unmodified) against an authenticated ComServer: its default
NTLM at RPC_C_AUTHN_LEVEL_PKT_PRIVACY (and PKT_INTEGRITY) activates, calls, queries a
second interface and releases both; a wrong password is refused; tshark, given the NT
password, decrypts the exchange and flags nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import dcomrt, transport
from impacket.dcerpc.v5.rpcrt import (
    RPC_C_AUTHN_LEVEL_NONE,
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    DCERPCException,
)
from impacket.uuid import uuidtup_to_bin

from dcerpc.auth import NTLMAcceptor, UserTable
from dcerpc.com import ComServer

from . import impacket_calls as calls
from .calc_impl import Calc, CLSID_Calc, calc_idl

pytestmark = pytest.mark.interop

USER, PASSWORD, DOMAIN = "alice", "Secret#1", "WORKGROUP"


@pytest.fixture(autouse=True)
def _fresh_impacket_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dcomrt.INTERFACE, "CONNECTIONS", {})
    for name in ("OID_ADD", "OID_DEL", "OID_SET", "PORTMAPS"):
        monkeypatch.setattr(dcomrt.DCOMConnection, name, {})


@pytest.fixture
def secure_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ComServer]:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]",
                    auth=[NTLMAcceptor(UserTable({f"{DOMAIN}\\{USER}": PASSWORD}))],
                    min_level="integrity")
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    # DCOMConnection always activates at <target>:135 (protocol-digest §8.6)
    monkeypatch.setattr(transport.TCPTransport.__init__, "__defaults__",
                        (int(srv.bindings[0].endpoint),))
    yield srv
    srv.stop_background(1.0)


def _iid(spec: object) -> bytes:
    return uuidtup_to_bin((str(spec.uuid), "0.0"))  # type: ignore[attr-defined]


def _exercise(dcom: dcomrt.DCOMConnection, srv: ComServer, level: int = 6) -> None:
    calc = dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
    # impacket connects to the object at the reply's authnHint: the level it activated at
    assert calc.get_cinstance().get_auth_level() == level
    req = calls.Add()
    req["a"], req["b"] = 40, 2
    resp = calc.request(req, _iid(calc_idl.ICalc), calc.get_iPid())
    assert resp["sum"] == 42 and resp["ErrorCode"] == 0
    stats = calc.RemQueryInterface(1, [calc_idl.IStats.uuid.bytes_le])
    resp = stats.request(calls.Count(), _iid(calc_idl.IStats), stats.get_iPid())
    assert resp["calls"] == 1
    (obj,) = srv.exporter.objects.values()
    assert len(obj.ipids) == 2
    stats.RemRelease()
    calc.RemRelease()
    refs = {ip.iid: ip.refs for ip in obj.ipids.values()}
    assert refs[calc_idl.IStats.uuid] == 0


def test_advertises_ntlm_security_binding(secure_server: ComServer) -> None:
    dsa = secure_server.oxid_bindings()
    assert [(s.wAuthnSvc, s.wAuthzSvc) for s in dsa.security_bindings] == [(10, 0xFFFF)]


@pytest.mark.parametrize("level", [RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                   RPC_C_AUTHN_LEVEL_PKT_INTEGRITY])
def test_impacket_dcomconnection_ntlm(secure_server: ComServer, level: int) -> None:
    dcom = dcomrt.DCOMConnection("127.0.0.1", USER, PASSWORD, DOMAIN, authLevel=level)
    try:
        _exercise(dcom, secure_server, level)
    finally:
        dcom.disconnect()
    assert secure_server.server.security_stats["bind_refused"] == 0


@pytest.mark.parametrize(("password", "level"), [("wrong", RPC_C_AUTHN_LEVEL_PKT_PRIVACY),
                                                  ("", RPC_C_AUTHN_LEVEL_NONE)])
def test_wrong_password_or_no_auth_is_refused(secure_server: ComServer, password: str,
                                              level: int) -> None:
    with pytest.raises(DCERPCException):
        dcom = dcomrt.DCOMConnection("127.0.0.1", USER if password else "", password,
                                     DOMAIN, authLevel=level)
        try:
            dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
        finally:
            dcom.disconnect()
    assert secure_server.exporter.objects == {}


def test_tshark_decrypts_the_privacy_exchange(secure_server: ComServer, tmp_path: Path
                                              ) -> None:
    import subprocess

    from interop.test_tshark import LoopbackCapture  # the interop suite's

    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is required (tests/interop installs it)"
    port = int(secure_server.bindings[0].endpoint)
    cap = LoopbackCapture(tshark, [port])
    try:
        cap.mark("start")
        dcom = dcomrt.DCOMConnection("127.0.0.1", USER, PASSWORD, DOMAIN)
        try:
            _exercise(dcom, secure_server)
        finally:
            dcom.disconnect()
        cap.mark("end")
        pcap = cap.stop(tmp_path / "dcom-privacy.pcapng")
    finally:
        if cap.proc.poll() is None:
            cap.proc.kill()
            cap.proc.wait()

    def fields(display_filter: str, *names: str) -> list[str]:
        cmd = [tshark, "-r", str(pcap), "-d", f"tcp.port=={port},dcerpc",
               "-o", f"ntlmssp.nt_password:{PASSWORD}", "-Y", display_filter, "-T", "fields"]
        for n in names:
            cmd += ["-e", n]
        return subprocess.run(cmd, capture_output=True, text=True, check=True
                              ).stdout.splitlines()

    bad = fields('_ws.malformed || _ws.expert.severity >= "warning"', "frame.number",
                 "_ws.col.Info")
    assert bad == [], f"tshark flagged frames: {bad}"
    info = " | ".join(fields("dcerpc", "_ws.col.Info"))
    assert "RemoteCreateInstance response" in info, info
    assert "RemQueryInterface response" in info, info
    assert "RemRelease response" in info, info
    assert fields("dcerpc.auth_level == 6 && dcerpc.decrypted_stub_data", "frame.number")
