"""CPU per small call on each side, and function calls per small call.

``python bench/cpu_per_call.py [--calls N] [--flight 64] [--profile]``

Default: the ``ours`` server runs in its own interpreter (``_peers/serve.py``), the
client is ``flight`` coroutines over one ``dcerpc.aio`` proxy calling ``Small``; after a
warm-up, ``N`` calls are timed and each side's CPU time is divided by ``N`` (the
client's from ``time.process_time``, the server's from ``/proc/PID/stat``, Linux).

``--bulk``: CPU and minor page faults per 16 MiB ``Bulk`` call on each side instead.

``--profile``: client and server in one process over TCP loopback under cProfile;
prints the function calls per small call (both sides together), all and Python-level.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _peers import ours  # noqa: E402
from _peers.common import args_for, expected  # noqa: E402


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(c: Any, n_calls: int, flight: int) -> None:
    left = [n_calls]
    wrong = 0

    async def worker(w: int) -> None:
        nonlocal wrong
        i = w
        while left[0] > 0:
            left[0] -= 1
            a, s = args_for(i)
            if await c.Small(a, s) != expected(a, s):
                wrong += 1
            i += flight

    await asyncio.gather(*(worker(w) for w in range(flight)))
    if wrong:
        raise SystemExit(f"{wrong} wrong replies")




async def _drive_bulk(c: Any, n_calls: int) -> None:
    data = bytes(range(256)) * (BULK // 256)
    for _ in range(n_calls):
        if await c.Bulk(len(data), data) != len(data):
            raise SystemExit("wrong bulk reply")


#: The bulk call's payload (as in bench/smallcall.py).
BULK = 16 << 20


def _faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _proc_faults(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def measure_bulk(n_calls: int) -> None:
    """CPU and minor page faults per 16 MiB ``Bulk`` call on each side."""
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_peers", "serve.py"), "ours"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit(f"server did not start: {line}")
        binding = line[1]

        async def main() -> tuple[float, float, float, int, int]:
            import dcerpc.aio

            mod = ours._module()
            async with dcerpc.aio.connect(binding, mod.Bench, config=ours._config()) as c:
                await _drive_bulk(c, 3)
                s0, sf0, f0 = _proc_cpu(proc.pid), _proc_faults(proc.pid), _faults()
                t0, w0 = time.process_time(), time.perf_counter()
                await _drive_bulk(c, n_calls)
                cpu, wall = time.process_time() - t0, time.perf_counter() - w0
                return (cpu, _proc_cpu(proc.pid) - s0, wall, _faults() - f0,
                        _proc_faults(proc.pid) - sf0)

        cpu, scpu, wall, cf, sf = asyncio.run(main())
        print(f"bulk: client {cpu / n_calls * 1e3:.1f} ms/call ({cf / n_calls:.0f} faults)  "
              f"server {scpu / n_calls * 1e3:.1f} ms/call ({sf / n_calls:.0f} faults)  "
              f"{n_calls * BULK / wall / 1e6:,.0f} MB/s")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(10)


def measure(n_calls: int, flight: int) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_peers", "serve.py"), "ours"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit(f"server did not start: {line}")
        binding = line[1]

        async def main() -> tuple[float, float, float]:
            import dcerpc.aio

            mod = ours._module()
            async with dcerpc.aio.connect(binding, mod.Bench, config=ours._config()) as c:
                await _drive(c, 2000, flight)
                s0 = _proc_cpu(proc.pid)
                t0, w0 = time.process_time(), time.perf_counter()
                await _drive(c, n_calls, flight)
                cpu, wall = time.process_time() - t0, time.perf_counter() - w0
                return cpu, _proc_cpu(proc.pid) - s0, wall

        cpu, scpu, wall = asyncio.run(main())
        print(f"client {cpu / n_calls * 1e6:.1f} µs/call  server {scpu / n_calls * 1e6:.1f} "
              f"µs/call  {n_calls / wall:,.0f} calls/s ({flight} in flight)")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(10)


def profile(n_calls: int, flight: int) -> None:
    import cProfile
    import pstats

    async def main() -> None:
        binding = await ours.serve()
        await _client_warm_and_profile(binding)

    async def _client_warm_and_profile(binding: str) -> None:
        import dcerpc.aio

        mod = ours._module()
        async with dcerpc.aio.connect(binding, mod.Bench, config=ours._config()) as c:
            await _drive(c, 2000, flight)
            prof = cProfile.Profile()
            prof.enable()
            await _drive(c, n_calls, flight)
            prof.disable()
        stats = pstats.Stats(prof)
        total = sum(v[1] for v in stats.stats.values())  # type: ignore[attr-defined]
        python = sum(v[1] for k, v in stats.stats.items()  # type: ignore[attr-defined]
                     if k[0] != "~")
        print(f"function calls per small call (both sides): {total / n_calls:.1f}, "
              f"Python-level: {python / n_calls:.1f}")
        if os.environ.get("CPU_PROFILE_TOP"):
            stats.sort_stats("tottime").print_stats(int(os.environ["CPU_PROFILE_TOP"]))

    asyncio.run(main())


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=40000)
    p.add_argument("--flight", type=int, default=64)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--bulk", action="store_true",
                   help="CPU and page faults per 16 MiB Bulk call instead (--calls 40)")
    a = p.parse_args()
    if a.bulk:
        measure_bulk(a.calls if a.calls != 40000 else 40)
        raise SystemExit(0)
    (profile if a.profile else measure)(a.calls, a.flight)
