"""Reference counts, ping sets and garbage collection of objects whose clients vanished."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dcerpc
from dcerpc.com import CoCreateInstance, ComServer, Exporter, hresult
from dcerpc.com._ping import _PINGERS
from dcerpc.com.exporter import OR_INVALID_SET
from dcerpc.com.objref import SORF_NOPING

from .calc_impl import Calc, CLSID_Calc, calc_idl


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


IID_A = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b01")


def test_exporter_refcounts_and_release() -> None:
    exp = Exporter(refs_per_marshal=5)
    obj = Calc()
    std = exp.export(obj, IID_A)
    assert std.cPublicRefs == 5 and std.oxid == exp.oxid
    assert exp.export(obj, IID_A).ipid == std.ipid  # one IPID per (object, IID)
    assert exp.release(std.ipid, 5) == hresult.S_OK
    assert std.oid in exp.objects  # 5 references left
    assert exp.add_ref(std.ipid, 1) == hresult.S_OK
    assert exp.release(std.ipid, 6) == hresult.S_OK
    assert exp.objects == {} and exp.lookup(std.ipid) is None
    assert exp.release(std.ipid, 1) == hresult.RPC_E_INVALID_IPID


def test_ping_sets_keep_objects_alive_and_expire() -> None:
    clock = Clock()
    exp = Exporter(ping_period=10, ping_count=3, clock=clock)
    pinged, unpinged = Calc(), Calc()
    a = exp.export(pinged, IID_A)
    exp.export(unpinged, IID_A)
    status, setid, _ = exp.complex_ping(0, 1, [a.oid, 999], [])
    assert status == 0 and setid != 0
    gone = []
    for _ in range(5):  # 5 x 20 s > the 30 s timeout, but the set is pinged each time
        clock.now += 20
        assert exp.simple_ping(setid) == 0
        gone += exp.collect()
    assert gone == [unpinged]
    assert [e.obj for e in exp.objects.values()] == [pinged]
    clock.now += 31  # the client stops pinging
    assert exp.collect() == [pinged]
    assert exp.ping_sets == 0
    assert exp.simple_ping(setid) == OR_INVALID_SET


def test_complex_ping_removes_oids() -> None:
    clock = Clock()
    exp = Exporter(ping_period=1, ping_count=2, clock=clock)
    obj = Calc()
    ref = exp.export(obj, IID_A)
    _, setid, _ = exp.complex_ping(0, 1, [ref.oid], [])
    clock.now += 1.5
    assert exp.complex_ping(setid, 2, [], [ref.oid])[0] == 0
    clock.now += 1.5  # 3 s since the object was last pinged through the set
    assert exp.simple_ping(setid) == 0
    assert exp.collect() == [obj]


def test_noping_objects_are_never_collected() -> None:
    clock = Clock()
    exp = Exporter(ping_period=1, ping_count=1, noping=True, clock=clock)
    ref = exp.export(Calc(), IID_A)
    assert ref.flags & SORF_NOPING
    clock.now += 1e6
    assert exp.collect() == []


def test_client_pings_keep_object_alive() -> None:
    clock = Clock()
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=5, ping_count=2, clock=clock)
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    try:
        binding = str(srv.bindings[0])
        # ping_period=0: no ping thread; the test sends the pings itself
        calc = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc, ping_period=0)
        pinger = _PINGERS[binding]
        assert pinger.ping() == 0  # ComplexPing: the new set holds the OID
        assert srv.exporter.ping_sets == 1
        for _ in range(4):
            clock.now += 6
            assert pinger.ping() == 0  # SimplePing
            assert srv.exporter.collect() == []
        assert calc.Add(1, 1) == 2
        clock.now += 11  # the client stops pinging
        assert len(srv.exporter.collect()) == 1
        calc.Release()  # the object is gone: RemRelease reports RPC_E_INVALID_IPID
    finally:
        srv.stop_background(1.0)


def test_killed_client_objects_are_collected_after_ping_timeout() -> None:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=0.1, ping_count=2)
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    try:
        calc = CoCreateInstance(CLSID_Calc, str(srv.bindings[0]), calc_idl.ICalc,
                                ping_period=0)  # a client that never pings
        assert calc.Add(2, 2) == 4
        assert len(srv.exporter.objects) == 1
        deadline = time.monotonic() + 30
        while srv.exporter.objects and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.exporter.objects == {}  # collected by the server's timer
    finally:
        srv.stop_background(1.0)


_CLIENT = """
import sys, time
sys.path.insert(0, sys.argv[2])
from calc_impl import CLSID_Calc, calc_idl
from dcerpc.com import CoCreateInstance
calc = CoCreateInstance(CLSID_Calc, sys.argv[1], calc_idl.ICalc, ping_period=0.05)
print(calc.Add(20, 22), flush=True)
time.sleep(600)
"""


def test_killed_client_process_objects_are_collected(tmp_path: Path) -> None:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=1.0, ping_count=2)
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    here = str(Path(__file__).resolve().parent)
    src = os.path.dirname(os.path.dirname(os.path.abspath(dcerpc.__file__)))
    proc = subprocess.Popen([sys.executable, "-c", _CLIENT, str(srv.bindings[0]), here],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "42"
        deadline = time.monotonic() + 60  # guards against a hang only
        while srv.exporter.ping_sets == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.exporter.ping_sets == 1  # the client's pinger made its set
        assert len(srv.exporter.objects) == 1
        proc.kill()  # the client dies without releasing anything
        proc.wait(60)
        while srv.exporter.objects and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.exporter.objects == {}
        assert srv.exporter.ping_sets == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        srv.stop_background(1.0)
