"""Subprocess half of the bounded-memory stream test and of bench/pipes.py.

``python stream_proc.py server``: serve PipeSvc on a loopback port, print the port, run
until stdin closes, then print ``HWM <growth in KiB>``.
``python stream_proc.py client PORT MIB``: stream MIB MiB through Pump's [in, out] pipe,
print ``OK <octets back> <seconds> HWM <growth in KiB>``.
Growth is the peak resident size (VmHWM) minus the one after a warm-up call.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipesvc import SPEC, PumpImpl

import dcerpc
import dcerpc.aio


def hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def serve() -> None:
    server = dcerpc.Server()
    server.register(SPEC, PumpImpl())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    async with server:
        print(server.bindings[0].endpoint, flush=True)
        loop = asyncio.get_running_loop()
        line = await loop.run_in_executor(None, sys.stdin.readline)  # "warm" after warm-up
        base = hwm_kib()
        print("BASE", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        print(f"HWM {hwm_kib() - base}", flush=True)
        del line


async def stream(c: dcerpc.aio.AsyncProxy, total: int) -> int:
    block = b"\x5a" * (256 << 10)

    async def source():  # a generator: nothing is held but one block
        n = total
        while n > 0:
            yield block[:n]
            n -= len(block)

    got = 0
    async with c.Pump.stream(source()) as call:
        async for chunk in call.io:
            got += len(chunk)
        rv, back = await call.result()
    assert rv == 0 and back == total, (rv, back)
    return got


async def client(port: str, mib: int) -> None:
    async with dcerpc.aio.connect(f"ncacn_ip_tcp:127.0.0.1[{port}]", SPEC) as c:
        await stream(c, 1 << 20)  # warm-up
        print("WARM", flush=True)
        sys.stdin.readline()  # the server has taken its baseline
        base = hwm_kib()
        t0 = time.perf_counter()
        got = await stream(c, mib << 20)
        dt = time.perf_counter() - t0
        print(f"OK {got} {dt:.3f} HWM {hwm_kib() - base}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(serve())
    else:
        asyncio.run(client(sys.argv[2], int(sys.argv[3])))
