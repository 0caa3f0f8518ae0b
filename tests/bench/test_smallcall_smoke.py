"""Smoke test of bench/smallcall.py: the raw echo and our runtime run, every reply is right.

Only raw + ours: the optional peers (grpcio, RPyC, Pyro5) are not test dependencies.
No timing is asserted (DESIGN.md §7: speed is measured in bench/, never in unit tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "smallcall.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), "--quick", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def test_smallcall_quick_raw_and_ours_reply_correctly() -> None:
    proc = _run("--only", "raw,ours", "--json")
    assert proc.returncode == 0, proc.stderr or proc.stdout
    report = json.loads(proc.stdout)
    assert list(report["results"]) == ["raw", "ours-aio", "ours-sync"]
    for name, r in report["results"].items():
        assert r["error"] is None, f"{name}: {r['error']}"
        assert not r["errors"], f"{name}: {r['errors']}"  # per-phase failures
        assert r["bad_replies"] == 0, f"{name}: {r.get('first_bad_replies')}"
        assert r["seq"]["calls"] >= report["budget"]["seq_min_calls"]
        assert r["seq"]["p99_us"] >= r["seq"]["p50_us"] > 0
        assert r["bulk"]["bytes"] == report["budget"]["bulk_bytes"]
        assert r["bulk"]["mb_per_s"] > 0
    for name in ("raw", "ours-aio"):  # the clients that keep calls in flight
        flight = report["results"][name]["flight"]
        assert set(flight) == {"1", "64", "1024"}
        assert all(v > 0 for v in flight.values())
    # every call counted was checked: warm-up + sequential + in flight + bulk
    raw = report["results"]["raw"]
    assert raw["calls"] > raw["seq"]["calls"] + report["budget"]["warmup"]
    assert report["all_correct"] is True
    assert set(report["pass"]) == {"seq_latency", "flight64", "bulk"}
    assert all(v in (True, False) for v in report["pass"].values())


def test_smallcall_table_and_only_selection() -> None:
    proc = _run("--only", "raw")
    assert proc.returncode == 0, proc.stderr or proc.stdout
    assert "| raw |" in proc.stdout
    assert "ours-aio" not in proc.stdout
    assert "Replies checked:" in proc.stdout and "wrong: 0" in proc.stdout
    bad = _run("--only", "nosuchpeer")
    assert bad.returncode != 0
    assert "unknown contestant" in bad.stderr
