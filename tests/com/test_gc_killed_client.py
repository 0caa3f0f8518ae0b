"""Issue 6 acceptance: the objects of a client process killed with SIGKILL are
garbage-collected once its pings stop ([MS-DCOM] 3.1.2.5.1.2-3: ``ping_period *
ping_count`` without a ping), while a live client's objects stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import dcerpc
from dcerpc.com import CoCreateInstance, ComServer
from dcerpc.com._ping import _PINGERS

from .calc_impl import Calc, CLSID_Calc, calc_idl

# The child holds two activated objects and a third one it got as an [out] interface
# pointer, pings every 0.1 s, says "ready" and then sleeps until it is killed.
_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from calc_impl import CLSID_Calc, calc_idl
from dcerpc.com import CoCreateInstance, register_interface
register_interface(calc_idl.IStats)
a = CoCreateInstance(CLSID_Calc, sys.argv[1], calc_idl.ICalc, ping_period=0.1)
b = CoCreateInstance(CLSID_Calc, sys.argv[1], calc_idl.ICalc, ping_period=0.1)
s = a.GetStats(calc_idl.IStats.uuid)
print("ready", a.Add(100, 1), b.Add(100, 2), s.Count(), flush=True)
time.sleep(600)
"""


def _wait(cond: Any, limit: float = 60.0) -> bool:
    # A generous bound that only guards against a hang; no timing is asserted.
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_sigkilled_client_objects_are_collected_live_client_kept() -> None:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=0.5, ping_count=3)
    srv.register_class(CLSID_Calc, Calc)
    collected: list[Any] = []
    lock = threading.Lock()

    def on_disconnect(obj: Any) -> None:
        with lock:
            collected.append(obj)

    srv.exporter.on_disconnect = on_disconnect
    srv.start_background()
    binding = str(srv.bindings[0])
    here = str(Path(__file__).resolve().parent)
    src = os.path.dirname(os.path.dirname(os.path.abspath(dcerpc.__file__)))
    proc: subprocess.Popen[str] | None = None
    live = None
    try:
        # the live client: this process, pinging every 0.1 s from its daemon thread
        live = CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc, ping_period=0.1)
        assert live.Add(1, 2) == 3
        live_objs = {id(e.obj): e.obj for e in srv.exporter.objects.values()}
        assert len(live_objs) == 1

        proc = subprocess.Popen([sys.executable, "-c", _CHILD, binding, here],
                                env={**os.environ, "PYTHONPATH": src},
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().split() == ["ready", "101", "102", "0"]
        with srv.exporter._lock:
            child_objs = [e.obj for e in srv.exporter.objects.values()
                          if id(e.obj) not in live_objs]
        assert len(child_objs) == 3  # two Calcs and the Stats from GetStats
        assert sorted(x for o in child_objs for x in o.seen) == [101, 102]
        # both clients' ping sets exist (the child's ComplexPing has arrived)
        assert _wait(lambda: srv.exporter.ping_sets == 2)

        proc.send_signal(signal.SIGKILL)  # dies without RemRelease or a last ping
        proc.wait(60)
        assert _wait(lambda: len(collected) >= 3)
        with lock:
            assert sorted(map(id, collected)) == sorted(map(id, child_objs))
        # the live client's object survives further collection rounds: wait two more
        # full timeouts (its pinger keeps it alive), then it still answers
        time.sleep(2 * srv.exporter.timeout)
        with lock:
            assert len(collected) == 3
        assert [id(e.obj) for e in srv.exporter.objects.values()] == list(live_objs)
        assert srv.exporter.ping_sets == 1
        assert live.Add(20, 22) == 42
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        pinger = _PINGERS.get(binding)
        if pinger is not None:
            pinger.stop()
        if live is not None:
            live.Release()
        srv.stop_background(1.0)
    # the live client's own Release disconnected its object: the hook saw it last
    assert collected[-1] is next(iter(live_objs.values()))
