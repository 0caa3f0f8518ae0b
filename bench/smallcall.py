"""Small-call benchmark: our DCE/RPC call against grpcio, grpc.aio, impacket, RPyC, Pyro5
and a raw asyncio length-prefixed echo (the floor), in one run on loopback.

The call: ``Small(a: uint32, s: str) -> int32`` (bench/smallcall.idl); every server
answers ``a + len(s)`` and every reply is checked. The bulk call carries 16 MiB of bytes
(``Bulk([in] unsigned long n, [in, size_is(n)] byte *data)``) and returns ``n``.

Per contestant, each server in its own subprocess (no shared GIL with the client, the
same for every peer), on 127.0.0.1 and a free port; the client runs in this process:

* sequential: warm-up, then one call at a time for a fixed time (bounded by a count);
  p50/p99 of the per-call ``time.perf_counter`` deltas, and calls/s;
* in flight (1, 64, 1024): that many calls kept outstanding over one client for a fixed
  time (asyncio clients: n coroutines; grpc sync and RPyC: a sliding window of their
  futures; Pyro5: n threads, one proxy each, up to 64); calls/s;
* bulk: one call carrying the bytes, after a warm-up call; best of the repeats, MB/s.

Rows that cannot run (a package not installed, our runtime not there yet, impacket's lack
of concurrent calls) say so instead of a number. Targets, for ours (asyncio client) vs
the raw echo: sequential p50 latency <= 1.5x; 64 in flight >= 0.5x; bulk >= 0.5x.
PASS/FAIL is printed; the exit status is 0 whatever the numbers (a report, not a test).

    .venv/bin/python bench/smallcall.py                 # full run (a few minutes)
    .venv/bin/python bench/smallcall.py --quick         # smoke run: tiny counts, noisy
    .venv/bin/python bench/smallcall.py --only raw,ours --json
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import common

FLIGHTS = (1, 64, 1024)
TARGETS = {"seq_p50_vs_raw_max": 1.5, "flight64_vs_raw_min": 0.5, "bulk_vs_raw_min": 0.5}

# name -> (server peer for serve.py, client module, client function, packages it needs)
CONTESTANTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "raw": ("raw", "raw", "run", ()),
    "ours-aio": ("ours", "ours", "run_aio", ()),
    "ours-sync": ("ours", "ours", "run_sync", ()),
    "grpc-sync": ("grpc-sync", "grpc_peer", "run_sync", ("grpcio",)),
    "grpc-aio": ("grpc-aio", "grpc_peer", "run_aio", ("grpcio",)),
    "rpyc": ("rpyc", "rpyc_peer", "run", ("rpyc",)),
    "pyro5": ("pyro5", "pyro_peer", "run", ("Pyro5",)),
    "impacket": ("ours", "impacket_peer", "run", ("impacket",)),
}
GROUPS = {"ours": ("ours-aio", "ours-sync"), "grpc": ("grpc-sync", "grpc-aio")}
PACKAGES = ("grpcio", "rpyc", "Pyro5", "impacket")


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def _unavailable(name: str) -> str | None:
    """Why ``name`` cannot run here, or None."""
    _, mod, _, pkgs = CONTESTANTS[name]
    for pkg in pkgs:
        if _version(pkg) is None:
            return f"not available: {pkg} is not installed"
    if CONTESTANTS[name][0] == "ours":
        from _peers import ours

        why = ours.available()
        if why:
            return f"not available: our runtime is not there yet ({why})"
    try:
        importlib.import_module(f"_peers.{mod}")
    except ImportError as exc:
        return f"not available: {exc}"
    return None


def _run_one(name: str, b: common.Budget, timeout: float) -> dict[str, Any]:
    """Start the contestant's server subprocess, run its client here, check every reply."""
    out: dict[str, Any] = {"available": False, "error": None, "calls": 0, "bad_replies": 0}
    why = _unavailable(name)
    if why:
        out["error"] = why
        return out
    peer, mod, fn_name, _ = CONTESTANTS[name]
    fn: Callable[..., dict[str, Any]] = getattr(importlib.import_module(f"_peers.{mod}"), fn_name)
    out["available"] = True
    tally = common.Tally()
    box: dict[str, Any] = {}
    try:
        with common.server(peer) as addr:
            out["address"] = addr

            def client() -> None:
                try:
                    box["res"] = fn(addr, b, FLIGHTS, tally)
                except BaseException as exc:  # reported in the table, the run goes on
                    box["exc"] = exc

            # a daemon thread, so a client that hangs is reported instead of hanging the run
            th = threading.Thread(target=client, daemon=True, name=f"bench-{name}")
            th.start()
            th.join(timeout)
            if th.is_alive():
                raise TimeoutError(f"client did not finish within {timeout:.0f} s")
        if "exc" in box:
            raise box["exc"]
        out.update(box["res"])
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["calls"], out["bad_replies"] = tally.calls, tally.bad
    if tally.first_bad:
        out["first_bad_replies"] = tally.first_bad
    return out


def _ratio(x: float | None, y: float | None) -> float | None:
    return x / y if x and y else None


def _get(r: dict[str, Any], *path: Any) -> float | None:
    cur: Any = r
    for k in path:
        if not isinstance(cur, dict) or cur.get(k) is None:
            return None
        cur = cur[k]
    return float(cur)


def analyse(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    raw = results.get("raw", {})
    ratios = {}
    for name, r in results.items():
        ratios[name] = {
            "seq_p50_vs_raw": _ratio(_get(r, "seq", "p50_us"), _get(raw, "seq", "p50_us")),
            "flight64_vs_raw": _ratio(_get(r, "flight", 64), _get(raw, "flight", 64)),
            "bulk_vs_raw": _ratio(_get(r, "bulk", "mb_per_s"), _get(raw, "bulk", "mb_per_s")),
        }
    ours = ratios.get("ours-aio", {})
    seq, f64, bulk = (ours.get(k) for k in ("seq_p50_vs_raw", "flight64_vs_raw", "bulk_vs_raw"))
    passed = {
        "seq_latency": None if seq is None else seq <= TARGETS["seq_p50_vs_raw_max"],
        "flight64": None if f64 is None else f64 >= TARGETS["flight64_vs_raw_min"],
        "bulk": None if bulk is None else bulk >= TARGETS["bulk_vs_raw_min"],
    }
    return {"ratios": ratios, "pass": passed}


# ------------------------------------------------------------------ report
def _n(x: float | None, fmt: str = "{:,.0f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def table(report: dict[str, Any]) -> str:
    b = report["budget"]
    head = ("| peer | seq p50 µs | seq p99 µs | seq calls/s | 1 in flight | 64 in flight "
            f"| 1024 in flight | bulk {b['bulk_bytes'] / (1 << 20):g} MiB MB/s "
            "| p50 vs raw | 64 vs raw | bulk vs raw |")
    lines = [head, "|---" * 11 + "|"]
    for name, r in report["results"].items():
        if r.get("error"):
            lines.append(f"| {name} | {' '.join(r['error'].split())} |" + " |" * 10)
            continue
        q = report["ratios"][name]
        errs = r.get("errors") or {}

        def cell(x: float | None, phase: str, errs: dict[str, str] = errs) -> str:
            return "error" if phase in errs else _n(x)

        lines.append(" | ".join([
            f"| {name}", cell(_get(r, "seq", "p50_us"), "seq"),
            cell(_get(r, "seq", "p99_us"), "seq"), cell(_get(r, "seq", "calls_per_s"), "seq"),
            *(cell(_get(r, "flight", n), f"flight {n}") for n in FLIGHTS),
            cell(_get(r, "bulk", "mb_per_s"), "bulk"),
            _n(q["seq_p50_vs_raw"], "{:.2f}x"), _n(q["flight64_vs_raw"], "{:.2f}x"),
            _n(q["bulk_vs_raw"], "{:.2f}x"),
        ]) + " |")
    out = ["\n".join(lines), ""]
    words = {True: "PASS", False: "FAIL", None: "(ours or raw did not run)"}
    o = report["ratios"].get("ours-aio", {})
    out.append("Targets (ours = asyncio client, vs the raw asyncio echo):")
    out.append(f"  sequential p50 <= {TARGETS['seq_p50_vs_raw_max']}x raw: "
               f"{_n(o.get('seq_p50_vs_raw'), '{:.2f}x')} {words[report['pass']['seq_latency']]}")
    out.append(f"  64 in flight >= {TARGETS['flight64_vs_raw_min']}x raw: "
               f"{_n(o.get('flight64_vs_raw'), '{:.2f}x')} {words[report['pass']['flight64']]}")
    out.append(f"  bulk MB/s >= {TARGETS['bulk_vs_raw_min']}x raw: "
               f"{_n(o.get('bulk_vs_raw'), '{:.2f}x')} {words[report['pass']['bulk']]}")
    calls = sum(r["calls"] for r in report["results"].values())
    bad = sum(r["bad_replies"] for r in report["results"].values())
    out.append(f"Replies checked: {calls:,}, wrong: {bad}")
    for name, r in report["results"].items():
        for phase, msg in (r.get("errors") or {}).items():
            out.append(f"  error: {name} {phase}: {' '.join(msg.split())}")
        for text in r.get("first_bad_replies", []):
            out.append(f"  wrong reply: {name}: {text}")
    return "\n".join(out)


def select(only: str | None) -> list[str]:
    if not only:
        return list(CONTESTANTS)
    wanted: list[str] = []
    for word in (w.strip() for w in only.split(",") if w.strip()):
        names = GROUPS.get(word, (word,))
        for n in names:
            if n not in CONTESTANTS:
                raise SystemExit(f"--only: unknown contestant {n!r}; known: "
                                 f"{', '.join([*CONTESTANTS, *GROUPS])}")
            if n not in wanted:
                wanted.append(n)
    return [n for n in CONTESTANTS if n in wanted]  # always the table's order


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny counts, noisy numbers")
    ap.add_argument("--json", action="store_true", help="print the report as JSON only")
    ap.add_argument("--json-file", metavar="PATH", help="also write the JSON report to PATH")
    ap.add_argument("--only", help="comma-separated contestants or groups "
                                   f"({', '.join([*CONTESTANTS, *GROUPS])})")
    ap.add_argument("--seconds", type=float, help="time per sequential/in-flight measurement")
    ap.add_argument("--timeout", type=float, help="give up on a contestant after this long")
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                    help="event loop of the asyncio contestants and the floor, client and "
                         "server alike (grpc.aio keeps asyncio's)")
    args = ap.parse_args(argv)
    os.environ[common.LOOP_ENV] = args.loop
    b = common.QUICK if args.quick else common.FULL
    if args.seconds is not None:
        b = common.Budget(**{**asdict(b), "seq_seconds": args.seconds,
                             "flight_seconds": args.seconds})
    timeout = args.timeout or (60.0 if args.quick else 300.0)
    names = select(args.only)
    results = {}
    for name in names:
        if not args.json:
            print(f"... {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        results[name] = _run_one(name, b, timeout)
        results[name]["wall_s"] = round(time.perf_counter() - t0, 2)
    report: dict[str, Any] = {
        "budget": asdict(b), "quick": args.quick, "flights": list(FLIGHTS),
        "loop": args.loop, "python": platform.python_version(), "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "results": results, "targets": TARGETS,
    }
    report.update(analyse(results))
    report["all_correct"] = all(r["bad_replies"] == 0 for r in results.values())
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, default=str)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
