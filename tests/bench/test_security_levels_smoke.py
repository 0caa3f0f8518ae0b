"""Smoke test of bench/security_levels.py: every level runs and every reply is right.

No timing is asserted (DESIGN.md §7: speed is measured in bench/, never in unit tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "security_levels.py"


def test_security_levels_quick_runs_every_level() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr or proc.stdout
    results = json.loads(proc.stdout)["results"]
    assert [r["level"] for r in results.values()] == [1, 5, 6]
    assert results["none"]["small_time_vs_none"] == 1.0
    assert all(r["small_calls_per_s"] > 0 and r["bulk_1mib_mb_per_s"] > 0
               for r in results.values())
