"""Smoke test of bench/ndr_bench.py: it runs, and the three codecs agree.

No timing is asserted (DESIGN.md §7: speed is measured in bench/, never in unit tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ndr_bench.py"


def test_ndr_bench_quick_runs_and_codecs_agree() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", "--items", "300"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr or proc.stdout
    report = json.loads(proc.stdout)
    # check_agreement() exits non-zero before timing unless encoders are byte-identical
    # and decoders return the input value; the report says so explicitly too.
    assert report["agree"] is True
    assert report["record"]["items"] == 300
    assert report["record"]["bytes"] > 300 * 12
    for who in ("impacket", "floor", "ours"):
        for op in ("encode", "decode"):
            entry = report["results_ms"][f"{who}.{op}"]
            assert entry["best_ms"] > 0
            assert entry["median_ms"] >= entry["best_ms"]
    assert set(report["pass"]) == {"encode_vs_impacket", "decode_vs_impacket",
                                   "encode_vs_floor", "decode_vs_floor"}


def test_ndr_bench_table_output() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--items", "50"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr or proc.stdout
    for word in ("impacket", "floor", "ours", "impacket/ours", "ours/floor"):
        assert word in proc.stdout
