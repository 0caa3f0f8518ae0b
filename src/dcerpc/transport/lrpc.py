"""ncalrpc: local RPC over a Unix-domain stream socket.

Windows carries ncalrpc over ALPC ports named by the endpoint; here the endpoint names a
socket file in one directory: ``$DCERPC_LRPC_DIR`` when set, else
``<tempfile.gettempdir()>/dcerpc-lrpc``. ``ncalrpc:[calc]`` is the socket
``<dir>/calc``. The directory is created (mode 0700) on first listen; a stale socket
file left by a dead server is replaced. An empty endpoint gets a generated name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from .. import status as st
from ..errors import RpcError
from ..runtime.binding import NCALRPC, StringBinding
from .base import Listener

__all__ = ["connect", "listen", "socket_dir", "socket_path"]


def socket_dir() -> Path:
    """Where ncalrpc sockets live (see the module docstring)."""
    env = os.environ.get("DCERPC_LRPC_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "dcerpc-lrpc"


def socket_path(endpoint: str) -> Path:
    """The socket file of an ncalrpc endpoint; endpoints are names, not paths."""
    if not endpoint or "/" in endpoint or "\0" in endpoint or endpoint in (".", ".."):
        raise RpcError(f"invalid ncalrpc endpoint {endpoint!r}",
                       st.RPC_S_INVALID_ENDPOINT_FORMAT)
    return socket_dir() / endpoint


async def connect(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                  ) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
    loop = asyncio.get_running_loop()
    return await loop.create_unix_connection(factory, str(socket_path(binding.endpoint)))


async def listen(binding: StringBinding, factory: Callable[[], asyncio.Protocol]
                 ) -> Listener:
    loop = asyncio.get_running_loop()
    endpoint = binding.endpoint or f"dcerpc-{uuid.uuid4().hex[:12]}"
    path = socket_path(endpoint)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()  # stale socket of a server that did not clean up
    server = await loop.create_unix_server(factory, str(path))

    async def close() -> None:
        server.close()
        await server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    return Listener([StringBinding(NCALRPC, "", endpoint)], close)
