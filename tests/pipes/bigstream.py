"""Run a server and a client process streaming through Pump; used by the tests and the
benchmark. Returns (octets back, seconds, server growth KiB, client growth KiB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(mib: int, timeout: float = 600) -> tuple[int, float, int, int]:
    py = sys.executable
    srv = subprocess.Popen([py, str(HERE / "stream_proc.py"), "server"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    cli = None
    try:
        assert srv.stdin is not None and srv.stdout is not None
        port = srv.stdout.readline().strip()
        cli = subprocess.Popen([py, str(HERE / "stream_proc.py"), "client", port, str(mib)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert cli.stdin is not None and cli.stdout is not None
        assert cli.stdout.readline().strip() == "WARM"
        srv.stdin.write("warm\n")
        srv.stdin.flush()
        assert srv.stdout.readline().strip() == "BASE"
        cli.stdin.write("go\n")
        cli.stdin.flush()
        out = cli.stdout.readline().split()
        cli.wait(timeout)
        srv.stdin.write("done\n")
        srv.stdin.flush()
        hwm = srv.stdout.readline().split()
        srv.wait(timeout)
    finally:
        for p in (cli, srv):
            if p is not None and p.poll() is None:
                p.kill()
    assert out and out[0] == "OK", out
    return int(out[1]), float(out[2]), int(hwm[1]), int(out[4])
