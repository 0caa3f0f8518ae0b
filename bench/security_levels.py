"""Cost of the authentication levels: the small call and a 1 MiB call at NONE,
PKT_INTEGRITY and PKT_PRIVACY (NTLM), in one run, with the ratios against NONE.

The server (``dcerpc.Server`` with an NTLM acceptor, serving bench/smallcall.idl) runs in
a subprocess on 127.0.0.1; the asyncio client runs here, one connection per level, bound
once (the NTLM legs are not timed). The rounds are interleaved: each repeat times every
level in turn, so a change in machine load hits all levels alike.

* small: ``Small(a, s)`` one call at a time for ``--seconds`` (bounded by a count);
  p50 latency and calls/s; the best repeat by calls/s is reported.
* bulk: ``Bulk(n, data)`` with 1 MiB in (16 fragments of 64 KiB each way at most);
  best MB/s over the repeats.

Every reply is checked. A report, not a test: the exit status is 0 whatever the numbers.

    .venv/bin/python bench/security_levels.py              # full run (~30 s)
    .venv/bin/python bench/security_levels.py --quick      # smoke run, noisy
    .venv/bin/python bench/security_levels.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
IDL = os.path.join(HERE, "smallcall.idl")
USER, PASSWORD, DOMAIN = "bench", "Bench-Pass1", "BENCH"
LEVELS = (("none", 1), ("integrity", 5), ("privacy", 6))
BULK = 1 << 20


def _module() -> Any:
    import dcerpc.idl

    return dcerpc.idl.load(IDL)


class Impl:
    async def Small(self, a: int, s: str) -> int:
        return a + len(s)

    async def Bulk(self, n: int, data: bytes) -> int:
        return len(data)


async def _serve() -> None:
    import dcerpc
    from dcerpc.auth import NTLMAcceptor, UserTable

    server = dcerpc.Server(auth=[NTLMAcceptor(UserTable({f"{DOMAIN}\\{USER}": PASSWORD}))])
    server.register(_module().Bench, Impl())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    async with server:
        print(str(server.bindings[0]), flush=True)
        # Serve until the parent closes our stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def _small(proxy: Any, seconds: float, limit: int) -> dict[str, float]:
    lat: list[float] = []
    bad = 0
    end = time.perf_counter() + seconds
    while len(lat) < limit and time.perf_counter() < end:
        t0 = time.perf_counter()
        got = await proxy.Small(len(lat), "hello")
        lat.append(time.perf_counter() - t0)
        bad += got != len(lat) - 1 + 5
    if bad:
        raise RuntimeError(f"{bad} wrong replies")
    return {"calls_per_s": len(lat) / sum(lat), "p50_us": statistics.median(lat) * 1e6,
            "calls": len(lat)}


async def _bulk(proxy: Any, data: bytes) -> float:
    t0 = time.perf_counter()
    got = await proxy.Bulk(len(data), data)
    dt = time.perf_counter() - t0
    if got != len(data):
        raise RuntimeError(f"Bulk returned {got}, expected {len(data)}")
    return len(data) / dt / 1e6


async def _measure(binding: str, repeats: int, seconds: float, limit: int
                   ) -> dict[str, dict[str, Any]]:
    import dcerpc.aio
    from dcerpc.auth import NTLM

    mod = _module()
    data = os.urandom(BULK)
    proxies = {}
    for name, level in LEVELS:
        kw: dict[str, Any] = {} if level == 1 else {
            "auth": NTLM(USER, PASSWORD, DOMAIN), "level": level}
        proxies[name] = await dcerpc.aio.connect(binding, mod.Bench, max_xmit_frag=0xFFFF,
                                                 max_recv_frag=0xFFFF, **kw).__aenter__()
        await proxies[name].Small(0, "")  # warm-up: bind (and authenticate) now
        await _bulk(proxies[name], data)
    small: dict[str, list[dict[str, float]]] = {n: [] for n, _ in LEVELS}
    bulk: dict[str, list[float]] = {n: [] for n, _ in LEVELS}
    try:
        for _ in range(repeats):
            for name, _level in LEVELS:
                small[name].append(await _small(proxies[name], seconds, limit))
                bulk[name].append(await _bulk(proxies[name], data))
    finally:
        for proxy in proxies.values():
            await proxy.__aexit__(None, None, None)
    out: dict[str, dict[str, Any]] = {}
    for name, level in LEVELS:
        best = max(small[name], key=lambda r: r["calls_per_s"])
        out[name] = {"level": level, "small_calls_per_s": best["calls_per_s"],
                     "small_p50_us": best["p50_us"], "bulk_1mib_mb_per_s": max(bulk[name])}
    base = out["none"]
    for row in out.values():
        row["small_time_vs_none"] = base["small_calls_per_s"] / row["small_calls_per_s"]
        row["bulk_time_vs_none"] = base["bulk_1mib_mb_per_s"] / row["bulk_1mib_mb_per_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny counts")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="per small-call run")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        asyncio.run(_serve())
        return 0
    repeats, seconds, limit = (1, 0.2, 200) if args.quick else (args.repeats, args.seconds,
                                                                 1_000_000)
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        binding = proc.stdout.readline().strip()
        if not binding:
            raise RuntimeError("the server did not start")
        results = asyncio.run(_measure(binding, repeats, seconds, limit))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    report = {"timing": {"repeats": repeats, "seconds": seconds, "quick": args.quick,
                         "bulk_bytes": BULK, "python": platform.python_version()},
              "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'level':<10} {'small calls/s':>14} {'p50 us':>8} {'x NONE':>7} "
          f"{'1 MiB MB/s':>11} {'x NONE':>7}")
    for name, r in results.items():
        print(f"{name:<10} {r['small_calls_per_s']:>14.0f} {r['small_p50_us']:>8.0f} "
              f"{r['small_time_vs_none']:>7.2f} {r['bulk_1mib_mb_per_s']:>11.1f} "
              f"{r['bulk_time_vs_none']:>7.2f}")
    print("x NONE: time per call relative to level NONE (higher = costlier)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
