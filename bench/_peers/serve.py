"""Server subprocess of bench/smallcall.py: ``python serve.py PEER``.

Starts PEER's server on 127.0.0.1 (a free port), prints ``READY <address>`` and serves
until its stdin is closed by the bench process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers.common import arun, serve_until_stdin_closes


def _ready(addr: str) -> None:
    sys.stdout.write(f"READY {addr}\n")
    sys.stdout.flush()


def _serve_asyncio(start: object) -> None:
    """Run an ``async def () -> address`` server on this thread's loop; stop on stdin EOF."""

    async def main() -> None:
        addr = await start()  # type: ignore[operator]
        _ready(addr)
        await asyncio.Event().wait()

    threading.Thread(target=serve_until_stdin_closes, daemon=True).start()
    arun(main())


def main(peer: str) -> None:
    if peer == "raw":
        from _peers import raw
        _serve_asyncio(raw.serve)
    elif peer == "grpc-sync":
        from _peers import grpc_peer
        _ready(grpc_peer.serve_sync())
        serve_until_stdin_closes()
    elif peer == "grpc-aio":
        from _peers import grpc_peer
        _serve_asyncio(grpc_peer.serve_aio)
    elif peer == "rpyc":
        from _peers import rpyc_peer
        _ready(rpyc_peer.serve())
        serve_until_stdin_closes()
    elif peer == "pyro5":
        from _peers import pyro_peer
        _ready(pyro_peer.serve())
        serve_until_stdin_closes()
    elif peer == "ours":
        from _peers import ours
        _serve_asyncio(ours.serve)
    else:
        raise SystemExit(f"unknown peer {peer!r}")


if __name__ == "__main__":
    main(sys.argv[1])
