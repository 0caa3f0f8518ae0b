"""Wireshark's DCOM dissectors judge our client ↔ our server exchange (protocol-digest §9)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dcerpc.com import CoCreateInstanceEx, CoGetClassObject, ComServer
from dcerpc.com._ping import _PINGERS

from .calc_impl import CLSID_Calc, calc_idl

pytestmark = pytest.mark.interop


class _Capture:
    """A loopback capture of the server's port, checked by tshark once it is stopped."""

    def __init__(self, com_server: ComServer) -> None:
        from interop.test_tshark import _tshark_fields  # the interop suite's

        tshark = shutil.which("tshark")
        assert tshark is not None, "tshark is required (tests/interop installs it)"
        self.tshark, self._fields = tshark, _tshark_fields
        self.port = int(com_server.bindings[0].endpoint)
        self.pcap: Path | None = None

    def fields(self, *names: str, display_filter: str | None = None) -> list[Any]:
        assert self.pcap is not None
        if display_filter is None:
            return self._fields(self.tshark, self.pcap, [self.port], *names)
        return self._fields(self.tshark, self.pcap, [self.port], *names,
                            display_filter=display_filter)


@contextmanager
def _captured(com_server: ComServer, out: Path) -> Iterator[_Capture]:
    """Capture what the body sends; then no frame may be malformed or flagged."""
    from interop.test_tshark import LoopbackCapture

    got = _Capture(com_server)
    cap = LoopbackCapture(got.tshark, [got.port])
    try:
        cap.mark("start")
        yield got
        cap.mark("end")
        got.pcap = cap.stop(out)
    finally:
        if cap.proc.poll() is None:
            cap.proc.kill()
            cap.proc.wait()
    bad = got.fields("frame.number", "_ws.col.Info",
                     display_filter='_ws.malformed || _ws.expert.severity >= "warning"')
    assert bad == [], f"tshark flagged frames: {bad}"


def test_tshark_dissects_our_dcom_exchange(com_server: ComServer, binding: str,
                                           tmp_path: Path) -> None:
    with _captured(com_server, tmp_path / "ours.pcapng") as cap:
        calc, stats = CoCreateInstanceEx(CLSID_Calc, binding,
                                         [calc_idl.ICalc, calc_idl.IStats], ping_period=0)
        assert calc is not None and stats is not None
        assert calc.Add(1, 2) == 3
        other = calc.GetStats(calc_idl.IStats.uuid)
        again = calc.QueryInterface(calc_idl.IStats)
        pinger = _PINGERS[binding]
        assert pinger.ping() == 0 and pinger.ping() == 0  # ComplexPing, SimplePing
        CoGetClassObject(CLSID_Calc, binding).Release()
        for p in (calc, stats, other, again):
            p.Release()
    info = " | ".join(r[0] for r in cap.fields("_ws.col.Info"))
    for what in ("RemoteCreateInstance response", "RemQueryInterface response S_OK",
                 "ComplexPing response", "SimplePing response", "RemoteGetClassObject response",
                 "RemRelease response"):
        assert what in info, f"{what!r} not in {info}"


def test_tshark_dissects_error_info_extension(com_server: ComServer, binding: str,
                                              tmp_path: Path) -> None:
    """A failed call whose ORPCTHAT carries ErrorObjectData ([MS-DCOM] 2.2.21)."""
    from dcerpc.com import COMError, hresult

    with _captured(com_server, tmp_path / "errinfo.pcapng") as cap:
        calc, = CoCreateInstanceEx(CLSID_Calc, binding, [calc_idl.ICalc], ping_period=0)
        assert calc is not None
        with pytest.raises(COMError) as info:
            calc.Fail(hresult.E_FAIL)  # Calc.Fail raises COMError(hr, "asked to fail")
        assert info.value.text == "asked to fail"
        calc.Release()
    # Wireshark dissects ORPCTHAT only for DCOM interfaces it knows (not ICalc): check
    # that the extension went on the wire, and that nothing around it looked malformed
    from dcerpc.com.errinfo import CLSID_ERROR_EXTENSION, CLSID_ErrorObject

    assert cap.pcap is not None
    raw = cap.pcap.read_bytes()
    assert CLSID_ERROR_EXTENSION.bytes_le in raw and CLSID_ErrorObject.bytes_le in raw
    assert "asked to fail".encode("utf-16-le") in raw
