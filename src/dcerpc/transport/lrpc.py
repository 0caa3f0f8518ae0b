"""ncalrpc: local RPC over a Unix-domain stream socket.

Windows carries ncalrpc over ALPC ports named by the endpoint; here the endpoint names a
socket file in one directory: ``$DCERPC_LRPC_DIR`` when set, else
``<tempfile.gettempdir()>/dcerpc-lrpc``. ``ncalrpc:[calc]`` is the socket
``<dir>/calc``. The directory is created (mode 0700) on first listen; a stale socket
file left by a dead server is replaced. An empty endpoint gets a generated name.

The server learns who its local callers are from the socket: ``SO_PEERCRED`` gives the
peer process's ``(uid, gid, pid)`` as the kernel recorded them at connect time
(:func:`peer_credentials`), what ALPC gives a Windows ncalrpc server.  They are
``current_call().peer_credentials`` and, for a caller that did not authenticate, the
identity impersonation gives (:func:`local_identity`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .. import status as st
from ..errors import RpcError
from ..runtime.binding import NCALRPC, StringBinding
from .base import Listener

__all__ = ["PeerCredentials", "connect", "listen", "local_identity", "peer_credentials",
           "socket_dir", "socket_path"]


class PeerCredentials(NamedTuple):
    """The connecting process as the kernel saw it (``struct ucred``)."""

    uid: int
    gid: int
    pid: int


def peer_credentials(transport: Any) -> PeerCredentials | None:
    """``SO_PEERCRED`` of a Unix-socket transport; None where the OS has no such option
    or the socket is gone."""
    sock = transport.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", raw)  # struct ucred: pid, uid, gid
    except (OSError, struct.error):
        return None
    return PeerCredentials(uid, gid, pid)


def local_identity(creds: PeerCredentials) -> Any:
    """The :class:`~dcerpc.auth.ClientIdentity` of a local caller: principal ``uid:<n>``,
    user the account name (the uid as text when it has none), auth_type NONE (0: no
    security package was involved) and level PKT_PRIVACY — a local socket is as private
    as Windows considers ncalrpc to be."""
    from ..auth.base import AuthLevel, AuthType, ClientIdentity

    try:
        import pwd

        user = pwd.getpwuid(creds.uid).pw_name
    except (ImportError, KeyError):
        user = str(creds.uid)
    return ClientIdentity(principal=f"uid:{creds.uid}", user=user, domain="",
                          auth_type=int(AuthType.NONE),
                          auth_level=int(AuthLevel.PKT_PRIVACY))


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
