"""Wireshark's DCE/RPC dissector judges a capture of the impacket exchange (protocol-digest §9).

The capture runs on ``lo`` (root or CAP_NET_RAW, as in CI). To know that the capture is
live before the exchange and complete after it without sleeping, UDP marker datagrams
to a socket of ours travel through the same capture: the capture is live once the start
marker shows up in tshark's pcapng stream, and complete once the end marker does
(loopback packets are captured in order).
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import epm, transport

from .impacket_calls import TEST_IFACE, Exchange, exercise_all
from .serving import HANG_GUARD, Served

pytestmark = pytest.mark.interop

# PTYPE values, C706 §12.6.4 / protocol-digest §1.2
REQUEST, RESPONSE, FAULT, BIND, BIND_ACK, ALTER, ALTER_RESP = 0, 2, 3, 11, 12, 14, 15


class LoopbackCapture:
    """``tshark -i lo -w -`` with the pcapng stream collected in memory."""

    def __init__(self, tshark: str, ports: list[int]) -> None:
        self.marker_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.marker_sock.bind(("127.0.0.1", 0))
        self.marker_port = self.marker_sock.getsockname()[1]
        bpf = " or ".join([f"tcp port {p}" for p in ports] + [f"udp port {self.marker_port}"])
        self.proc = subprocess.Popen([tshark, "-i", "lo", "-f", bpf, "-w", "-"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.data = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(65536):
            with self._lock:
                self.data += chunk

    def _seen(self, token: bytes) -> bool:
        with self._lock:
            return token in self.data

    def mark(self, label: str) -> None:
        """Send marker datagrams until one is in the capture stream."""
        token = f"dcerpc-interop-{label}-{os.urandom(8).hex()}".encode()
        deadline = time.monotonic() + HANG_GUARD
        while not self._seen(token):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                pytest.fail(f"tshark exited {self.proc.returncode}:\n{err}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"capture never saw the {label} marker", pytrace=False)
            self.marker_sock.sendto(token, ("127.0.0.1", self.marker_port))
            time.sleep(0.05)

    def stop(self, path: Path) -> Path:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=HANG_GUARD)
        self._reader.join(HANG_GUARD)
        self.marker_sock.close()
        path.write_bytes(bytes(self.data))
        return path


@pytest.fixture
def capture(tshark: str, served: Served) -> Iterator[LoopbackCapture]:
    cap = LoopbackCapture(tshark, [served.port, served.epm_port])
    yield cap
    if cap.proc.poll() is None:
        cap.proc.kill()
        cap.proc.wait()


def _epm_exchange(served: Served) -> str:
    dce = transport.DCERPCTransportFactory(
        f"ncacn_ip_tcp:127.0.0.1[{served.epm_port}]").get_dce_rpc()
    dce.connect()
    mapped = epm.hept_map("127.0.0.1", TEST_IFACE, protocol="ncacn_ip_tcp", dce=dce)
    dce.disconnect()
    dce = transport.DCERPCTransportFactory(
        f"ncacn_ip_tcp:127.0.0.1[{served.epm_port}]").get_dce_rpc()
    dce.connect()
    assert len(epm.hept_lookup(None, dce=dce)) == 2
    dce.disconnect()
    return mapped


def _tshark_fields(tshark: str, pcap: Path, ports: list[int], *fields: str,
                   display_filter: str = "dcerpc") -> list[list[str]]:
    cmd = [tshark, "-r", str(pcap)]
    for p in ports:
        cmd += ["-d", f"tcp.port=={p},dcerpc"]
    cmd += ["-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def _pdus(rows: list[list[str]]) -> list[tuple[int, str, str]]:
    """(pkt_type, cn_status, frag flags) per DCE/RPC PDU (one frame may carry several)."""
    out = []
    for types, statuses, flags in rows:
        st = statuses.split(";") if statuses else []
        for i, ptype in enumerate(types.split(";")):
            out.append((int(ptype), st.pop(0) if int(ptype) == FAULT and st else "",
                        flags.split(";")[i] if flags else ""))
    return out


def test_tshark_dissects_impacket_exchange(tshark: str, served: Served, capture: LoopbackCapture,
                                           tmp_path: Path) -> None:
    capture.mark("start")
    ex: Exchange = exercise_all(served.port)
    mapped = _epm_exchange(served)
    capture.mark("end")
    pcap = capture.stop(tmp_path / "interop.pcapng")
    ports = [served.port, served.epm_port]
    assert mapped == f"ncacn_ip_tcp:127.0.0.1[{served.port}]"

    # 1. nothing malformed, no expert errors (or warnings) anywhere in the capture
    bad = _tshark_fields(tshark, pcap, ports, "frame.number", "_ws.col.Info",
                         display_filter='_ws.malformed || _ws.expert.severity >= "warning"')
    assert bad == [], f"tshark flagged frames: {bad}"
    expert = subprocess.run(
        [tshark, "-r", str(pcap), *[a for p in ports for a in ("-d", f"tcp.port=={p},dcerpc")],
         "-q", "-z", "expert,error"], capture_output=True, text=True, check=True).stdout
    assert "Errors (" not in expert, expert

    # 2. the dissector saw every PDU kind the exchange produced
    rows = _tshark_fields(tshark, pcap, ports, "dcerpc.pkt_type", "dcerpc.cn_status",
                          "dcerpc.cn_flags")
    pdus = _pdus(rows)
    kinds = collections.Counter(p[0] for p in pdus)
    epm_binds = 2  # hept_map and hept_lookup each bind on a fresh connection
    assert kinds[BIND] == ex.binds + epm_binds
    assert kinds[BIND_ACK] == ex.binds + epm_binds
    assert kinds[ALTER] == ex.alter_contexts == 1
    assert kinds[ALTER_RESP] == 1
    assert kinds[FAULT] == len(ex.faults) == 2
    faults = sorted(status for ptype, status, _ in pdus if ptype == FAULT)
    assert faults == sorted(["0x1c010002", "0x1c010003"])  # nca_op_rng_error, nca_unk_if

    # requests: one PDU per unfragmented call, several for the fragmented one
    first = 0x01
    last = 0x02
    req_flags = [int(f, 16) for ptype, _, f in pdus if ptype == REQUEST]
    calls = sum(1 for f in req_flags if f & first)
    assert calls == ex.requests + 2  # + ept_map and ept_lookup
    assert sum(1 for f in req_flags if not f & (first | last)) >= 1, "no middle request fragment"
    resp_flags = [int(f, 16) for ptype, _, f in pdus if ptype == RESPONSE]
    assert sum(1 for f in resp_flags if f & first) == ex.requests + 2 - len(ex.faults)
    assert sum(1 for f in resp_flags if not f & (first | last)) >= 1, "no middle response fragment"

    # 3. reassembly worked for the fragmented request and response
    info = [r[0] for r in _tshark_fields(tshark, pcap, ports, "_ws.col.Info")]
    assert any("Fragment: Last" in i and "Request" in i for i in info)
    assert any("Fragment: Last" in i and "Response" in i for i in info)
    # and the EPM stubs were dissected by Wireshark's own EPM dissector
    assert any("Map response" in i for i in info)
    assert any("Lookup response" in i for i in info)
