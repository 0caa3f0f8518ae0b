"""The client as an object exporter: local Python COM objects passed to servers.

A client that passes one of its own COM objects (a class with ``_com_interfaces_``, as
servers use, :mod:`.comobject`) as an ``[in]`` interface pointer — a callback, an event
sink — exports it: the OBJREF names an object exporter living in the client process,
and the server calls it back through an ordinary proxy ([MS-DCOM] 3.2.4.1.1.1: the
client side of an interface pointer is whoever marshaled it).

The exporter is a :class:`~dcerpc.com.ComServer` without classes (its OXID resolver,
IRemUnknown2 and the objects' interfaces; activation answers REGDB_E_CLASSNOTREG),
started on the runtime loop thread the first time it is needed. Garbage collection is
ComServer's: an object the server stops pinging for ``ping_period * ping_count``
seconds is disconnected. The client never pings its own objects.

Where it listens, never silently on every interface:

* by default, for a server reached over ``ncacn_ip_tcp``, on the local address the
  operating system routes to that server's host (an ephemeral port; loopback for a
  server on 127.0.0.1) — one exporter per such address; for ``ncalrpc``, on a private
  ``ncalrpc`` endpoint;
* or exactly where :func:`set_local_exporter` says (``bindings=``), with its ``auth=`` /
  ``min_level=`` guarding the callbacks, for every server.

:func:`close_local_exporter` stops it (objects it exported are disconnected; a later
marshal starts a new one); it is also stopped at process exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import socket
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..runtime.binding import StringBinding
from . import hresult as hr
from .hresult import COMError
from .objref import ObjRefStandard

if TYPE_CHECKING:
    from .server import ComServer

__all__ = ["close_local_exporter", "local_exporters", "set_local_exporter"]

_lock = threading.RLock()
_AUTO: dict[str, ComServer] = {}  # by listen binding
_explicit: ComServer | None = None
_options: dict[str, Any] = {}


def _make(bindings: Iterable[str], options: dict[str, Any]) -> ComServer:
    from .server import ComServer

    srv = ComServer(*bindings, **options)
    srv.start_background()
    return srv


def set_local_exporter(bindings: Iterable[str] | None = None, *, auth: Iterable[Any] = (),
                       min_level: int | str | None = None, ping_period: float = 120.0,
                       ping_count: int = 3, noping: bool = False) -> ComServer | None:
    """Configure the client's object exporter (see the module docstring).

    With ``bindings`` the exporter is started now on exactly those endpoints (e.g.
    ``["ncacn_ip_tcp:192.0.2.7[0]"]``) and used for every server; without, the
    options apply to the exporters started on demand. Any running exporter is closed
    first. Returns the started exporter, or None."""
    global _explicit
    close_local_exporter()
    opts: dict[str, Any] = {"auth": list(auth), "min_level": min_level,
                            "ping_period": ping_period, "ping_count": ping_count,
                            "noping": noping}
    with _lock:
        _options.clear()
        _options.update(opts)
        if bindings is None:
            return None
        _explicit = _make(list(bindings), opts)
        return _explicit


def close_local_exporter() -> None:
    """Stop every exporter of this process (its objects are disconnected)."""
    global _explicit
    with _lock:
        servers = [*(_AUTO.values()), *([_explicit] if _explicit is not None else [])]
        _AUTO.clear()
        _explicit = None
    for srv in servers:
        with contextlib.suppress(Exception):  # at exit the runtime loop may be gone
            srv.stop_background(1.0)


atexit.register(close_local_exporter)


def local_exporters() -> list[ComServer]:
    """The running exporters of this process."""
    with _lock:
        return [*(_AUTO.values()), *([_explicit] if _explicit is not None else [])]


def _route_address(host: str) -> str:
    """The local address the OS would use to reach ``host`` (no packet is sent:
    connecting a UDP socket only picks the route)."""
    try:
        family, _, _, _, addr = socket.getaddrinfo(host, 135, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            return str(s.getsockname()[0])
    except OSError as exc:
        raise COMError(hr.E_FAIL, f"no local address reaches {host!r} ({exc}); "
                       "choose one with dcerpc.com.set_local_exporter(bindings=...)") from None


def _listen_binding(peer: str) -> str:
    b = StringBinding.parse(peer)
    protseq = b.protseq.lower()
    if protseq == "ncacn_ip_tcp":
        addr = _route_address(b.network_addr or "127.0.0.1")
        if ":" in addr:
            addr = f"[{addr}]" if not addr.startswith("[") else addr
        return f"ncacn_ip_tcp:{addr}[0]"
    if protseq == "ncalrpc":
        return f"ncalrpc:[dcerpc-com-{os.getpid()}-{secrets.token_hex(4)}]"
    raise COMError(hr.E_NOTIMPL, f"no local exporter for {protseq}; choose one with "
                   "dcerpc.com.set_local_exporter(bindings=...)")


def exporter_for(peer: str) -> ComServer:
    """The exporter whose OBJREFs a server at ``peer`` (a string binding) can reach."""
    with _lock:
        if _explicit is not None:
            return _explicit
        key = _listen_binding(peer)
        if key.startswith("ncalrpc:"):
            for k, srv in _AUTO.items():
                if k.startswith("ncalrpc:"):
                    return srv
        srv = _AUTO.get(key)
        if srv is None:
            opts = dict(_options) or {"ping_period": 120.0}
            srv = _AUTO[key] = _make([key], opts)
        return srv


def marshal_local(obj: Any, iid: uuid.UUID, peer: str) -> bytes:
    """OBJREF bytes of a local COM object for a server at ``peer``."""
    ref = exporter_for(peer).marshal(obj, iid)
    if ref is None:
        raise COMError(hr.E_NOINTERFACE, f"{type(obj).__name__} lacks {iid}")
    return ref


def local_object(ref: ObjRefStandard) -> Any:
    """The local object an OBJREF names if one of our exporters holds it, else None
    (a server handing back the client's own object gives the client the object)."""
    for srv in local_exporters():
        if srv.exporter.oxid == ref.std.oxid:
            return srv.exporter.object_of(ref.std.oid)
    return None


def is_com_object(value: Any) -> bool:
    return (hasattr(value, "_com_interfaces_") or hasattr(value, "_com_query_interface_")
            or hasattr(value, "_com_local_object_"))
