"""The server functions of rpcdce.h over one process-wide default server.

``RpcServerUseProtseqEp`` → ``RpcServerRegisterIf(2/3)`` → ``RpcServerListen`` →
``RpcMgmtStopServerListening`` ports line by line.  Behind them is one
:class:`dcerpc.aio.Server` per process, created on first use and run on the runtime
loop thread of :mod:`dcerpc._sync` (the loop that already does all client I/O; plain
``def`` managers run on the server's worker pool, ``async def`` ones on that loop).

* ``IfSpec`` is the generated module's interface (what ``server.register`` takes: the
  module, its client class or the :class:`~dcerpc.ndr.types.Interface`); ``MgrEpv`` is the
  manager object, or a dict ``{"Op": function}``.  Managers get MIDL signatures: an
  ``[in] handle_t`` parameter receives the *server binding handle of the call* (the
  :class:`dcerpc.aio.CallContext`, usable with ``RpcServerTestCancel``), and ``[async]``
  routines receive ``pAsync`` first.
* ``IfCallback`` (RegisterIf2/3) is called as ``IfCallback(IfSpec, Context)`` before each
  call of the interface, ``Context`` being the call's server binding handle; a non-zero
  return (or an exception) refuses the call: the client gets RPC_S_ACCESS_DENIED (5).  It
  runs on the runtime loop thread and must not block.
* Status-returning functions return the ``RPC_STATUS`` int; ``RpcServerInqBindings``
  returns ``(status, RPC_BINDING_VECTOR)`` whose ``BindingH`` are :class:`dcerpc.Binding`
  handles on the real endpoints (port 0 resolved).

Deviations: ``RpcServerUseProtseq*`` after ``RpcServerListen`` returns
RPC_S_ALREADY_LISTENING (endpoints are bound when listening starts); the network address
is every interface, as on Windows, unless the extra keyword ``NetworkAddr`` names one;
``Flags`` honours RPC_IF_ALLOW_SECURE_ONLY (calls below CONNECT level are refused with
RPC_S_ACCESS_DENIED) and RPC_IF_ALLOW_LOCAL_ONLY (calls not on ncalrpc are refused the same
way); ``SecurityDescriptor``, the other flags, ``MaxRpcSize`` and per-interface ``MaxCalls``
are accepted and ignored; a non-nil ``MgrTypeUuid`` serves the calls whose *object UUID* equals it
(there is no ``RpcObjectSetType`` mapping); ``MaxCalls`` of ``RpcServerListen`` bounds the
calls in progress (beyond it: ``nca_s_server_too_busy``) and ``MinimumCallThreads`` sizes
the worker pool (at least 16).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dcerpc.errors import RpcError
from dcerpc.ndr.types import Interface
from dcerpc.runtime.binding import NCACN_IP_TCP, NCALRPC, StringBinding
from dcerpc.status import (
    RPC_S_ALREADY_LISTENING,
    RPC_S_DUPLICATE_ENDPOINT,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ENDPOINT_FORMAT,
    RPC_S_NO_BINDINGS,
    RPC_S_NO_PROTSEQS_REGISTERED,
    RPC_S_NOT_LISTENING,
    RPC_S_OK,
    RPC_S_PROTSEQ_NOT_SUPPORTED,
    RPC_S_TYPE_ALREADY_REGISTERED,
    RPC_S_UNKNOWN_IF,
)

if TYPE_CHECKING:
    from dcerpc._sync import Binding

__all__ = [
    "RPC_BINDING_VECTOR",
    "RPC_C_LISTEN_MAX_CALLS_DEFAULT",
    "RPC_C_PROTSEQ_MAX_REQS_DEFAULT",
    "RPC_IF_ALLOW_CALLBACKS_WITH_NO_AUTH",
    "RPC_IF_ALLOW_LOCAL_ONLY",
    "RPC_IF_ALLOW_SECURE_ONLY",
    "RPC_IF_ALLOW_UNKNOWN_AUTHORITY",
    "RPC_IF_AUTOLISTEN",
    "RPC_IF_OLE",
    "RPC_IF_SEC_NO_CACHE",
    "RpcBindingVectorFree",
    "RpcMgmtStopServerListening",
    "RpcMgmtWaitServerListen",
    "RpcServerInqBindings",
    "RpcServerListen",
    "RpcServerRegisterIf",
    "RpcServerRegisterIf2",
    "RpcServerRegisterIf3",
    "RpcServerRegisterIfEx",
    "RpcServerUnregisterIf",
    "RpcServerUseProtseq",
    "RpcServerUseProtseqEp",
    "default_server",
    "reset_default_server",
]

# rpcdce.h
RPC_C_LISTEN_MAX_CALLS_DEFAULT = 1234
RPC_C_PROTSEQ_MAX_REQS_DEFAULT = 10
RPC_IF_AUTOLISTEN = 0x0001
RPC_IF_OLE = 0x0002
RPC_IF_ALLOW_UNKNOWN_AUTHORITY = 0x0004
RPC_IF_ALLOW_SECURE_ONLY = 0x0008
RPC_IF_ALLOW_CALLBACKS_WITH_NO_AUTH = 0x0010
RPC_IF_ALLOW_LOCAL_ONLY = 0x0020
RPC_IF_SEC_NO_CACHE = 0x0040

_PROTSEQS = frozenset({NCACN_IP_TCP, NCALRPC, "memory"})
_NIL = uuid.UUID(int=0)
#: Seconds RpcMgmtStopServerListening lets calls in progress finish.
STOP_TIMEOUT = 5.0


class RPC_BINDING_VECTOR:
    """``Count`` and ``BindingH`` (a list of :class:`dcerpc.Binding`); iterable."""

    def __init__(self, handles: list[Binding]) -> None:
        self.BindingH = handles
        self.Count = len(handles)

    def __iter__(self) -> Iterator[Binding]:
        return iter(self.BindingH)

    def __len__(self) -> int:
        return self.Count


class _Manager:
    """A dict ``{"Op": function}`` as a manager object."""

    def __init__(self, epv: dict[str, Any]) -> None:
        for name, fn in epv.items():
            setattr(self, name, fn)


class _DefaultServer:
    """The process-wide server state behind the Rpc* server functions."""

    def __init__(self) -> None:
        # dcerpc.aio imports this package: import the server on use.
        from dcerpc.aio.server import Server

        self.lock = threading.RLock()
        self.server = Server()
        self.endpoints: list[StringBinding] = []
        #: (id(interface), manager type UUID) -> (interface, impl)
        self.registered: dict[tuple[int, uuid.UUID], tuple[Interface, Any]] = {}
        self.listening = False
        self.stopped = threading.Event()
        self.stopped.set()
        #: a RpcServerListen(..., DontWait=TRUE) that RpcMgmtWaitServerListen may wait for
        #: (even when its stop already finished: the wait then returns at once with OK)
        self.waitable = False

    # -- endpoints -----------------------------------------------------------------
    def use(self, protseq: Any, endpoint: Any, network_addr: str) -> int:
        if not isinstance(protseq, str):
            return RPC_S_INVALID_ARG
        ps = protseq.lower()
        if ps not in _PROTSEQS:
            return RPC_S_PROTSEQ_NOT_SUPPORTED
        if endpoint is None:
            endpoint = "0" if ps == NCACN_IP_TCP else f"LRPC-{uuid.uuid4().hex[:16]}"
        if not isinstance(endpoint, str):
            return RPC_S_INVALID_ARG
        try:
            binding = StringBinding(ps, network_addr, endpoint)
            binding.port  # noqa: B018 - validates a TCP endpoint
        except RpcError as exc:
            return exc.status or RPC_S_INVALID_ENDPOINT_FORMAT
        with self.lock:
            if self.listening:
                return RPC_S_ALREADY_LISTENING
            if endpoint not in ("", "0") and any(
                    b.protseq == ps and b.endpoint == endpoint for b in self.endpoints):
                return RPC_S_DUPLICATE_ENDPOINT
            self.endpoints.append(binding)
            self.server.listen(binding)
        return RPC_S_OK

    # -- interfaces ----------------------------------------------------------------
    def register(self, if_spec: Any, mgr_type: Any, mgr_epv: Any, callback: Any,
                 flags: int = 0) -> int:
        from dcerpc.aio.client import resolve_spec

        try:
            spec = resolve_spec(if_spec)
            type_uuid = _uuid_of(mgr_type)
        except (TypeError, ValueError):
            return RPC_S_INVALID_ARG
        if mgr_epv is None:
            return RPC_S_INVALID_ARG
        impl = _Manager(mgr_epv) if isinstance(mgr_epv, dict) else mgr_epv
        with self.lock:
            key = (id(spec), type_uuid)
            if key in self.registered:
                return RPC_S_TYPE_ALREADY_REGISTERED
            try:
                self.server.register(spec, impl, object_uuid=type_uuid if type_uuid != _NIL
                                     else None, binding_handles=True,
                                     secure_only=bool(flags & RPC_IF_ALLOW_SECURE_ONLY),
                                     local_only=bool(flags & RPC_IF_ALLOW_LOCAL_ONLY))
            except ValueError:
                return RPC_S_TYPE_ALREADY_REGISTERED  # another interface, same syntax
            self.registered[key] = (spec, impl)
            if callback is not None:
                self.server.set_if_callback(
                    spec, lambda _spec, call, cb=callback, s=if_spec: cb(s, call))
        return RPC_S_OK

    def unregister(self, if_spec: Any, mgr_type: Any) -> int:
        from dcerpc.aio.client import resolve_spec

        with self.lock:
            if if_spec is None:
                keys = list(self.registered)
            else:
                try:
                    spec = resolve_spec(if_spec)
                    type_uuid = _uuid_of(mgr_type)
                except (TypeError, ValueError):
                    return RPC_S_INVALID_ARG
                keys = [k for k in self.registered if k[0] == id(spec)
                        and (mgr_type is None or k[1] == type_uuid)]
            if not keys:
                return RPC_S_UNKNOWN_IF
            for key in keys:
                spec, _impl = self.registered.pop(key)
                for entry in self.server.registry.entries():
                    if entry.spec is spec or entry.spec.name == spec.name:
                        # Later calls find no manager: fault nca_s_unk_if.
                        entry.managers.pop(key[1], None)
                if not any(k[0] == key[0] for k in self.registered):
                    self.server.set_if_callback(spec, None)
        return RPC_S_OK

    # -- listening -----------------------------------------------------------------
    def listen(self, min_threads: Any, max_calls: Any, dont_wait: Any) -> int:
        if not isinstance(max_calls, int) or not isinstance(min_threads, int) \
                or max_calls < 1 or min_threads < 0:
            return RPC_S_INVALID_ARG
        with self.lock:
            if self.listening:
                return RPC_S_ALREADY_LISTENING
            if not self.endpoints:
                return RPC_S_NO_PROTSEQS_REGISTERED
            server = self.server
            server.max_calls = max_calls
            server.workers = max(16, min_threads)
            try:
                server.start_background()
            except RpcError as exc:
                return exc.status
            self.listening = True
            self.stopped.clear()
            self.waitable = bool(dont_wait)
        if not dont_wait:
            self.stopped.wait()
        return RPC_S_OK

    def stop(self) -> int:
        with self.lock:
            if not self.listening:
                return RPC_S_NOT_LISTENING
            self.listening = False
            server = self.server
        from dcerpc._sync import runtime_loop

        # Not waited for here: the caller may be a manager of a call the stop drains.
        fut = asyncio.run_coroutine_threadsafe(server.stop(STOP_TIMEOUT), runtime_loop())
        fut.add_done_callback(lambda _f: self.stopped.set())
        return RPC_S_OK

    def wait(self) -> int:
        with self.lock:
            if not self.listening and not self.waitable:
                return RPC_S_NOT_LISTENING
        self.stopped.wait()
        with self.lock:
            if not self.listening:  # this listen is over: a later wait has nothing to wait for
                self.waitable = False
        return RPC_S_OK

    def bindings(self) -> tuple[int, RPC_BINDING_VECTOR | None]:
        with self.lock:
            found = list(self.server.bindings) if self.listening else []
        if not found:
            return RPC_S_NO_BINDINGS, None
        from dcerpc._sync import Binding

        return RPC_S_OK, RPC_BINDING_VECTOR([Binding(b) for b in found])


def _uuid_of(value: Any) -> uuid.UUID:
    if value is None:
        return _NIL
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        return uuid.UUID(value)
    raise TypeError(f"not a UUID: {value!r}")


_default: list[_DefaultServer] = []
_default_lock = threading.Lock()


def default_server() -> _DefaultServer:
    """The process-wide server state (created on first use)."""
    with _default_lock:
        if not _default:
            _default.append(_DefaultServer())
        return _default[0]


def reset_default_server() -> None:
    """Forget the default server's endpoints and interfaces (not a Win32 function: for
    tests and examples that serve more than once per process).  Raises RuntimeError while
    it is listening."""
    with _default_lock:
        if _default and _default[0].listening:
            raise RuntimeError("the default server is still listening")
        _default.clear()


def RpcServerUseProtseqEp(Protseq: str, MaxCalls: int, Endpoint: str,
                          SecurityDescriptor: Any = None, *, NetworkAddr: str = "") -> int:
    """Listen on ``Protseq`` at ``Endpoint`` once ``RpcServerListen`` runs."""
    if Endpoint is None:
        return RPC_S_INVALID_ENDPOINT_FORMAT
    return default_server().use(Protseq, Endpoint, NetworkAddr)


def RpcServerUseProtseq(Protseq: str, MaxCalls: int, SecurityDescriptor: Any = None, *,
                        NetworkAddr: str = "") -> int:
    """A dynamic endpoint: a free TCP port, or a fresh ncalrpc name."""
    return default_server().use(Protseq, None, NetworkAddr)


def RpcServerRegisterIf(IfSpec: Any, MgrTypeUuid: Any = None, MgrEpv: Any = None) -> int:
    return default_server().register(IfSpec, MgrTypeUuid, MgrEpv, None)


def RpcServerRegisterIf2(IfSpec: Any, MgrTypeUuid: Any, MgrEpv: Any, Flags: int,
                         MaxCalls: int, MaxRpcSize: int, IfCallback: Any) -> int:
    return default_server().register(IfSpec, MgrTypeUuid, MgrEpv, IfCallback, Flags)


def RpcServerRegisterIfEx(IfSpec: Any, MgrTypeUuid: Any, MgrEpv: Any, Flags: int,
                          MaxCalls: int, IfCallback: Any) -> int:
    return default_server().register(IfSpec, MgrTypeUuid, MgrEpv, IfCallback, Flags)


def RpcServerRegisterIf3(IfSpec: Any, MgrTypeUuid: Any, MgrEpv: Any, Flags: int,
                         MaxCalls: int, MaxRpcSize: int, IfCallback: Any,
                         SecurityDescriptor: Any = None) -> int:
    return default_server().register(IfSpec, MgrTypeUuid, MgrEpv, IfCallback, Flags)


def RpcServerUnregisterIf(IfSpec: Any, MgrTypeUuid: Any = None,
                          WaitForCallsToComplete: int = 0) -> int:
    """Stop serving ``IfSpec`` (all interfaces for None): later calls fault with
    ``nca_s_unk_if``.  Calls in progress finish either way."""
    return default_server().unregister(IfSpec, MgrTypeUuid)


def RpcServerListen(MinimumCallThreads: int, MaxCalls: int, DontWait: int) -> int:
    """Start serving; without ``DontWait`` block until ``RpcMgmtStopServerListening``."""
    return default_server().listen(MinimumCallThreads, MaxCalls, DontWait)


def RpcMgmtStopServerListening(Binding_: Any = None) -> int:
    """Stop the default server (only the local one: ``Binding_`` must be None)."""
    if Binding_ is not None:
        return RPC_S_INVALID_ARG
    return default_server().stop()


def RpcMgmtWaitServerListen() -> int:
    """Block until the server stopped listening (after ``RpcServerListen(…, True)``)."""
    return default_server().wait()


def RpcServerInqBindings() -> tuple[int, RPC_BINDING_VECTOR | None]:
    return default_server().bindings()


def RpcBindingVectorFree(BindingVector: Any) -> tuple[int, None]:
    if not isinstance(BindingVector, RPC_BINDING_VECTOR):
        return RPC_S_INVALID_ARG, None
    return RPC_S_OK, None
