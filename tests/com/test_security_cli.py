"""``dcerpc com serve`` with the authentication options of ``dcerpc serve``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import dcomrt, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_NONE, DCERPCException

from .calc_impl import CLSID_Calc, calc_idl
from .test_cli import HANG_GUARD, HERE, _env

pytestmark = pytest.mark.interop


def _serve(*extra: str) -> list[str]:
    return [sys.executable, "-m", "dcerpc.cli", "com", "serve", "--idl",
            str(HERE / "calc.idl"), "--class", f"{CLSID_Calc}=calc_impl:Calc",
            "--bind", "ncacn_ip_tcp:127.0.0.1[0]", *extra]


def test_com_serve_with_ntlm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from interop.serving import _LineReader

    monkeypatch.setattr(dcomrt.INTERFACE, "CONNECTIONS", {})
    for name in ("OID_ADD", "OID_DEL", "OID_SET", "PORTMAPS"):
        monkeypatch.setattr(dcomrt.DCOMConnection, name, {})
    users = tmp_path / "users.txt"
    users.write_text("WORKGROUP\\bob:pw-bob\n")
    proc = subprocess.Popen(_serve("--auth", "ntlm", "--users", str(users),
                                   "--min-level", "privacy"),
                            cwd=HERE, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = _LineReader(proc.stdout).next("the listening line")
        port = int(line.rsplit("[", 1)[1].rstrip("]"))
        monkeypatch.setattr(transport.TCPTransport.__init__, "__defaults__", (port,))
        dcom = dcomrt.DCOMConnection("127.0.0.1", "bob", "pw-bob", "WORKGROUP")
        try:
            calc = dcom.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
            assert calc.get_cinstance().get_auth_level() == 6
            calc.RemRelease()
        finally:
            dcom.disconnect()
        monkeypatch.setattr(dcomrt.DCOMConnection, "PORTMAPS", {})
        monkeypatch.setattr(dcomrt.INTERFACE, "CONNECTIONS", {})
        with pytest.raises(DCERPCException):  # below --min-level: refused
            anon = dcomrt.DCOMConnection("127.0.0.1", authLevel=RPC_C_AUTHN_LEVEL_NONE)
            try:
                anon.CoCreateInstanceEx(CLSID_Calc.bytes_le, calc_idl.ICalc.uuid.bytes_le)
            finally:
                anon.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(HANG_GUARD)
    assert rc == 0, proc.stderr.read() if proc.stderr else rc


def test_com_serve_auth_usage_errors() -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_serve(*extra), cwd=HERE, env=_env(), capture_output=True,
                              text=True, timeout=HANG_GUARD)

    r = run("--min-level", "privacy")
    assert r.returncode == 2 and "--min-level needs --auth" in r.stderr
    r = run("--auth", "ntlm")
    assert r.returncode == 2 and "--users" in r.stderr
