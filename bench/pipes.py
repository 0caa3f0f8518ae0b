"""Async pipes: stream N MiB (default 1024) through an ``[in, out]`` byte pipe between
two processes on loopback and print MB/s and each process's peak memory growth.

    PYTHONPATH=src python bench/pipes.py [MIB]

The client pushes N MiB into ``Pump``'s pipe; the server reads it all, then pushes as
many octets back (F39: [in] pipes are drained before [out] pipes are filled), so 2 x N
MiB cross the connection. MB/s counts both directions.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "pipes"))

import bigstream


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    got, secs, server_kib, client_kib = bigstream.run(mib)
    assert got == mib << 20
    mb = 2 * (mib << 20) / 1e6
    print(f"pipes: {mib} MiB in + {mib} MiB out through an [in, out] pipe in {secs:.2f} s "
          f"= {mb / secs:.1f} MB/s; peak RSS growth server {server_kib / 1024:.1f} MiB, "
          f"client {client_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
