"""Wireshark, given the NT password, decrypts a privacy-level capture of impacket and of
our own client talking to our server, and flags nothing (protocol-digest §9)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from interop.conftest import tshark  # noqa: F401 -- the session fixture (installs tshark)
from interop.test_tshark import LoopbackCapture

import dcerpc
from dcerpc.auth import NTLM

from .impacket_sec import connect, echo
from .secsvc import DOMAIN, PASSWORD, USER, make_server, port_of, sec

pytestmark = pytest.mark.interop

PATTERN = bytes(range(256)) * 30  # 7680 octets: fragmented both ways below


def _fields(exe: str, pcap: Path, port: int, display_filter: str, *fields: str
            ) -> list[list[str]]:
    cmd = [exe, "-r", str(pcap), "-d", f"tcp.port=={port},dcerpc",
           "-o", f"ntlmssp.nt_password:{PASSWORD}", "-Y", display_filter, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_privacy_capture_decrypts_cleanly(tshark: str, tmp_path: Path) -> None:  # noqa: F811
    server, _impl = make_server()
    server.start_background()
    try:
        port = port_of(server)
        cap = LoopbackCapture(tshark, [port])
        try:
            cap.mark("start")
            dce = connect(port, USER, PASSWORD, DOMAIN, 6)
            try:
                dce.set_max_fragment_size(2000)
                assert echo(dce, PATTERN) == PATTERN
            finally:
                dce.disconnect()
            with dcerpc.connect(server.bindings[0], sec.SecTest,
                                auth=NTLM(USER, PASSWORD, DOMAIN), level="privacy",
                                max_xmit_frag=2048, max_recv_frag=2048) as proxy:
                assert proxy.Echo(len(PATTERN), PATTERN)[1] == PATTERN
            cap.mark("end")
            pcap = cap.stop(tmp_path / "privacy.pcapng")
        finally:
            if cap.proc.poll() is None:
                cap.proc.kill()
                cap.proc.wait()
    finally:
        server.stop_background()

    bad = _fields(tshark, pcap, port, '_ws.malformed || _ws.expert.severity >= "warning"',
                  "frame.number", "_ws.col.Info")
    assert bad == [], f"tshark flagged frames: {bad}"
    rows = _fields(tshark, pcap, port, "dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2",
                   "dcerpc.pkt_type", "dcerpc.auth_level", "dcerpc.encrypted_stub_data",
                   "dcerpc.decrypted_stub_data")
    pdus = [(t, lvl, enc, dec) for ts, lvls, encs, decs in rows
            for t, lvl, enc, dec in zip(ts.split(";"), lvls.split(";"), encs.split(";"),
                                        decs.split(";"), strict=True)]
    requests = [p for p in pdus if p[0] == "0"]
    responses = [p for p in pdus if p[0] == "2"]
    assert len(requests) > 4 and len(responses) > 4  # fragmented, two clients
    assert all(lvl == "6" and enc and dec and enc != dec for _t, lvl, enc, dec in pdus)
    # Decrypted with the right keys and RC4 state: the plaintext is there, both ways.
    needle = bytes(range(64, 128)).hex()
    assert sum(needle in dec for _t, _l, _e, dec in requests) >= 2
    assert sum(needle in dec for _t, _l, _e, dec in responses) >= 2
