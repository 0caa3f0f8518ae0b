"""`make demo` runs `dcerpc demo`: it must work end to end."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    proc = subprocess.run([sys.executable, "-m", "dcerpc.cli", "demo"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "round trip: equal" in out
    assert "decoded response: AddEntry_result(return_value=0, index=7)" in out
    assert "Count(0)             -> Count_result(return_value=0, generation=1, total=1)" in out
    assert "numbers=['555-0100', '555-0199']" in out
    assert "server stopped" in out
    assert "NonAsyncFunc: hello from the AsyncRPC client" in out
    assert out.rstrip().endswith("AsyncRPC client finished with status 0")
