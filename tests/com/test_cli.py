"""``dcerpc com serve``: the COM server from the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import dcerpc
from dcerpc.com import CoCreateInstanceEx

from .calc_impl import CLSID_Calc, calc_idl

HERE = Path(__file__).resolve().parent
HANG_GUARD = 60.0  # guards against a hung child only


def _env() -> dict[str, str]:
    src = os.path.dirname(os.path.dirname(os.path.abspath(dcerpc.__file__)))
    return {**os.environ, "PYTHONPATH": src}


def test_com_serve_hosts_a_class(tmp_path: Path) -> None:
    from interop.serving import _LineReader  # the interop suite's pipe reader

    impl = tmp_path / "named_impl.py"
    impl.write_text(
        "from calc_impl import Calc\n\n"
        "class ByName(Calc):\n"
        "    _com_interfaces_ = ['ICalc', 'IStats']  # resolved against --idl\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcerpc.cli", "com", "serve", "--idl", str(HERE / "calc.idl"),
         "--class", f"{CLSID_Calc}={impl}:ByName", "--bind", "ncacn_ip_tcp:127.0.0.1[0]"],
        cwd=HERE, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = _LineReader(proc.stdout)
        line = out.next("the listening line")
        assert line.startswith("listening on ncacn_ip_tcp:127.0.0.1["), line
        binding = line.removeprefix("listening on ")
        calc, stats = CoCreateInstanceEx(CLSID_Calc, binding,
                                         [calc_idl.ICalc, calc_idl.IStats])
        assert calc is not None and stats is not None
        assert calc.Add(5, 6) == 11 and stats.Count() == 1
        calc.Release()
        stats.Release()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(HANG_GUARD)
    assert rc == 0, proc.stderr.read() if proc.stderr else rc


def test_com_serve_usage_errors() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dcerpc.cli", "com", "serve",
                               "--idl", str(HERE / "calc.idl"), *args,
                               "--bind", "ncacn_ip_tcp:127.0.0.1[0]"],
                              cwd=HERE, env=_env(), capture_output=True, text=True,
                              timeout=HANG_GUARD)

    r = run("--class", "not-a-guid=calc_impl:Calc")
    assert r.returncode == 2 and "is not a CLSID" in r.stderr
    r = run("--class", f"{CLSID_Calc}=calc_impl:Missing")
    assert r.returncode == 2 and "has no class 'Missing'" in r.stderr
