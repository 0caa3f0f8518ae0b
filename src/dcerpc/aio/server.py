"""``dcerpc.Server``: serve registered interfaces on TCP, ncalrpc and memory endpoints.

Managers: ``server.register(spec, impl)``; ``impl.Op(*in_args)`` returns the result
shaped per the NDR result contract (:mod:`dcerpc.runtime.dispatch`). ``async def``
managers run on the server's loop; plain ones on a bounded worker pool
(``ThreadPoolExecutor(workers)``, like MS-RPC worker threads). A worker thread cannot
be interrupted: when a call is cancelled or the server stops, the thread finishes the
manager and its result is dropped (style-anchors §11.5 point 5).

``[async]`` operations (ACF, seed-semantics F24): ``impl.Op(pAsync, *in_args)`` returns at
once and the call stays outstanding, holding no thread, until ``RpcAsyncCompleteCall`` /
``RpcAsyncAbortCall`` on ``pAsync`` from any thread (:mod:`dcerpc.aio._async_server`).
The ``[async]`` routines of one connection are started one after the other, in arrival
order (causal ordering, F12: :mod:`dcerpc.aio._async_lanes`).  With
``register(..., binding_handles=True)`` an ``[in] handle_t`` parameter receives the call's
:class:`CallContext` (the server binding handle).

Limits: more than ``max_calls`` calls in progress across all connections → fault
``nca_s_server_too_busy`` (the call did not execute); nothing is ever queued without
bound. While stopping, new calls on open connections are refused the same way.
``stop(timeout)`` stops accepting, lets in-flight calls finish within ``timeout``,
then cancels ``async`` managers, faults what is left with ``RPC_S_CALL_CANCELLED`` and
closes every connection (running down their context handles).

Authentication (docs/security.md): ``Server(auth=[acceptor, ...])`` offers one acceptor
per auth_type (``dcerpc.auth.NTLMAcceptor``, ``NegotiateAcceptor``, ...); the sans-IO
core runs the legs and protects the PDUs. ``register(spec, impl, min_level=...)`` refuses
calls to that interface below an authentication level with fault rpc_s_access_denied
(the level of an unauthenticated connection is NONE). ``security_stats`` counts the
refusals: ``bind_refused`` (bad first token / unknown auth_type), ``verifier_rejected``
(failed auth3/alter_context leg, missing/bad/replayed/reordered verifier; the
connection is faulted and closed), ``level_too_low``, and ``protocol_error`` (any other
PDU that broke the protocol, e.g. a tampered header). A manager sees the caller as
``current_call().auth_info`` (a ``dcerpc.auth.ClientIdentity``, None when
unauthenticated) and may impersonate it (``with current_call().impersonate():``,
seed-semantics §6.2: the call is ended — no impersonation through it — when it is
settled here).  ``register(..., secure_only=True)`` is RPC_IF_ALLOW_SECURE_ONLY (at least
CONNECT), ``local_only=True`` RPC_IF_ALLOW_LOCAL_ONLY (ncalrpc callers only, others are
refused with rpc_s_access_denied and counted as ``not_local``).  ncalrpc callers carry
their SO_PEERCRED credentials (``current_call().peer_credentials``).

asyncio use: ``await server.start()`` / ``await server.stop()`` or ``async with server``.
Threaded use: ``server.start_background()`` / ``server.stop_background()`` run it on the
runtime loop thread (:mod:`dcerpc._sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import inspect
import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import status as st
from ..auth._impersonation import _current as _impersonating
from ..auth._impersonation import release as release_impersonation
from ..auth.base import normalize_level
from ..errors import RpcError
from ..ndr.types import Interface
from ..protocol._config import runtime_config
from ..protocol.connection import AssociationGroups, ConnectionConfig, ConnectionState
from ..protocol.events import RequestReceived
from ..runtime.binding import NCACN_IP_TCP, NCALRPC, StringBinding
from ..runtime.contexts import ContextHandleTable, OpenHandle, rundown_callable
from ..runtime.dispatch import Dispatcher, PreparedCall, fault_status
from ..runtime.registry import InterfaceRegistry
from ..transport import Listener, start_listener
from ._async_lanes import AsyncLanes
from ._async_server import start_async_op
from ._callctx import ASYNC_CACHE, CallContext, context_for, is_async_callable, run_manager
from ._callctx import _current as _current_call
from ._eager import EAGER_DONE, resume_eager
from ._lifecycle import Lifecycle
from ._server_proto import ServerProtocol

__all__ = ["Server"]

log = logging.getLogger("dcerpc.server")


class Server(Lifecycle):
    """An RPC server (see the module docstring)."""

    def __init__(self, *, epm: bool | int = False, max_calls: int = 1000, workers: int = 16,
                 config: ConnectionConfig | None = None, auth: Iterable[Any] = ()) -> None:
        if max_calls < 1 or workers < 1:
            raise ValueError("max_calls and workers must be positive")
        self.epm = epm
        #: The endpoint mapper served with ``epm=True`` / ``epm=PORT`` (None otherwise).
        self.endpoint_mapper: Any = None
        self.max_calls = max_calls
        self.workers = workers
        # Without a config: 64 KiB fragments with peers that accept them (the client
        # proposes, we accept min(), protocol-digest §2.3).
        self.config = config if config is not None else runtime_config()
        self.registry = InterfaceRegistry()
        self.groups = AssociationGroups()
        self.handles = ContextHandleTable()
        self.dispatcher = Dispatcher(self.handles)
        self.bindings: list[StringBinding] = []
        self._endpoints: list[StringBinding] = []
        self._listeners: list[Listener] = []
        self._protocols: set[ServerProtocol] = set()
        self._inflight: dict[CallContext, tuple[ServerProtocol, asyncio.Future[Any]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Event | None = None
        self._stopping = False
        self._lanes = AsyncLanes()
        #: id(operation) -> (operation, plan or None): may the batch path serve it
        #: (aio/_batch.py)
        self._fast_plans: dict[int, tuple[Any, Any]] = {}
        #: id(impl) -> impl for managers registered with binding_handles=True
        self._handle_managers: dict[int, Any] = {}
        #: interface model id -> (model, callback(spec, call) -> status); see
        #: :meth:`set_if_callback`
        self.if_callbacks: dict[int, tuple[Interface, Any]] = {}
        #: auth_type → acceptor (dcerpc.auth.Acceptor), offered to every connection.
        self.acceptors: dict[int, Any] = {}
        for acceptor in auth:
            self.add_acceptor(acceptor)
        self._min_level: dict[int, int] = {}  # id(registry entry) → minimum auth level
        self._local_only: set[int] = set()  # id(registry entry) of RPC_IF_ALLOW_LOCAL_ONLY
        self.security_stats: Counter[str] = Counter()

    # -- configuration -------------------------------------------------------------
    def register(self, spec: Interface, impl: Any, *, object_uuid: uuid.UUID | None = None,
                 binding_handles: bool = False, min_level: int | str | None = None,
                 secure_only: bool = False, local_only: bool = False) -> None:
        """Serve ``spec`` with ``impl`` (for ``object_uuid``, else as the default manager).

        ``binding_handles=True`` (MIDL manager signatures, as ``RpcServerRegisterIf``
        registers them): each ``[in] handle_t`` parameter is passed to the manager, in
        its position, as the call's :class:`CallContext`; otherwise it is left out.
        ``min_level`` (a number or ``"connect"``, ``"integrity"``, ``"privacy"`` ...): calls
        on connections authenticated below it are refused with rpc_s_access_denied.
        ``secure_only`` (RPC_IF_ALLOW_SECURE_ONLY) is ``min_level="connect"``;
        ``local_only`` (RPC_IF_ALLOW_LOCAL_ONLY) refuses every caller that is not on
        ncalrpc the same way."""
        entry = self.registry.register(spec, impl, object_uuid)
        level = normalize_level(min_level) if min_level is not None else None
        if secure_only:
            level = max(level or 0, 2)  # below CONNECT = unauthenticated
        if level is not None:
            self._min_level[id(entry)] = level
        if local_only:
            self._local_only.add(id(entry))
        if binding_handles:
            self._handle_managers[id(impl)] = impl
        else:
            self._handle_managers.pop(id(impl), None)

    def set_if_callback(self, spec: Interface, callback: Any) -> None:
        """Call ``callback(spec, call)`` before dispatching each call of ``spec``
        (RpcServerRegisterIf2's IfCallback; ``call`` is the :class:`CallContext`, the
        server binding handle).  It runs on the server's loop and must not block; a
        non-zero status or an exception refuses the call with a ``RPC_S_ACCESS_DENIED``
        fault before any manager runs.  ``None`` removes it."""
        if callback is None:
            self.if_callbacks.pop(id(spec), None)
        else:
            self.if_callbacks[id(spec)] = (spec, callback)

    def add_acceptor(self, acceptor: Any) -> None:
        """Offer ``acceptor`` (a ``dcerpc.auth.Acceptor``) for its auth_type."""
        self.acceptors[int(acceptor.auth_type)] = acceptor

    def _refusal(self, proto: ServerProtocol, entry: Any, security: Any) -> str | None:
        """Why a call of ``entry`` on ``proto`` authenticated by ``security`` is refused
        (the ``security_stats`` key; the caller faults it with rpc_s_access_denied), or
        None: RPC_IF_ALLOW_LOCAL_ONLY, then the interface's minimum level."""
        if self._local_only and id(entry) in self._local_only and proto.protseq != NCALRPC:
            return "not_local"
        need = self._min_level.get(id(entry))
        if need is not None and (security.auth_level if security is not None else 1) < need:
            return "level_too_low"
        return None

    def new_call(self, proto: ServerProtocol, object_uuid: Any, spec: Interface,
                 operation: Any, call_id: int, security: Any) -> CallContext:
        """The :class:`CallContext` of a call arriving on ``proto`` (every dispatch path
        builds it here, so each carries the caller's identity)."""
        call = CallContext(proto.peer, proto.protseq, object_uuid, spec, operation, call_id,
                           proto.group, None, loop=proto.loop)
        if security is not None:
            call.auth_info = security.identity()
        if proto.peer_credentials is not None:
            call.peer_credentials = proto.peer_credentials
            call.local_identity = proto.local_identity
        call.link = proto  # tells a lost connection from an orphaned call (F31)
        return call

    def if_allowed(self, spec: Interface, call: CallContext) -> bool:
        hit = self.if_callbacks.get(id(spec))
        if hit is None:
            return True
        try:
            return not hit[1](hit[0], call)
        except Exception:
            log.exception("%s: the interface security callback raised", hit[0].name)
            return False

    def listen(self, string_binding: str | StringBinding) -> None:
        """Add an endpoint (call before :meth:`start`; several are allowed)."""
        binding = (string_binding if isinstance(string_binding, StringBinding)
                   else StringBinding.parse(string_binding))
        self._endpoints.append(binding)

    @property
    def interfaces(self) -> list[Interface]:
        """The registered interface models (for the endpoint mapper)."""
        return self.registry.interfaces

    @property
    def active_calls(self) -> int:
        return len(self._inflight)

    def config_for(self, sec_addr: str) -> ConnectionConfig:
        return dataclasses.replace(self.config, sec_addr=sec_addr) if sec_addr \
            else self.config

    # -- asyncio lifecycle -----------------------------------------------------------
    async def start(self) -> list[StringBinding]:
        """Start listening on every endpoint; returns the real bindings."""
        if self._loop is not None:
            raise RpcError("server already started", st.RPC_S_ALREADY_LISTENING)
        if not self._endpoints:
            raise RpcError("no endpoint: call listen() first", st.RPC_S_NO_PROTSEQS_REGISTERED)
        self._loop = asyncio.get_running_loop()
        # Made by stop() when it has calls to wait for: set and cleared on every call,
        # it would cost two method calls per call for nothing.
        self._idle = None
        self._stopping = False
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dcerpc-worker")
        endpoints = list(self._endpoints)
        if self.epm is not False:
            endpoints += self._serve_endpoint_mapper()
        try:
            for endpoint in endpoints:
                listener = await start_listener(endpoint, self._factory_for(endpoint))
                self._listeners.append(listener)
                self.bindings.extend(listener.bindings)
        except BaseException:
            await self.stop(0)
            raise
        if self.endpoint_mapper is not None:
            from ..runtime.epm import register_server

            # Every endpoint is listed (replace=False), the mapper's own included, as
            # rpcss lists itself.
            register_server(self.endpoint_mapper, self.bindings, self.interfaces,
                            "dcerpc", replace=False)
        return list(self.bindings)

    def _serve_endpoint_mapper(self) -> list[StringBinding]:
        """``epm=True``: serve the mapper here; ``epm=PORT``: also on that TCP port."""
        from ..runtime.epm import EndpointMapper, epm_idl

        if self.endpoint_mapper is None:
            from .._endpoints import OnLoop

            self.endpoint_mapper = EndpointMapper()
            self.register(epm_idl().epm, OnLoop(self.endpoint_mapper))
        if self.epm is True:
            return []
        host = next((b.network_addr for b in self._endpoints
                     if b.protseq.lower() == "ncacn_ip_tcp" and b.network_addr), "127.0.0.1")
        return [StringBinding("ncacn_ip_tcp", host, str(int(self.epm)))]

    def _factory_for(self, endpoint: StringBinding) -> Any:
        # bind_ack's sec_addr is the TCP port as text ([MS-RPCE] 2.2.2.4 / protocol-
        # digest §2.1); with port 0 it is only known once the listener is bound.
        sec_addr = [endpoint.endpoint if endpoint.protseq.lower() == NCACN_IP_TCP else ""]

        def factory(protseq: str) -> ServerProtocol:
            if protseq == NCACN_IP_TCP and sec_addr[0] in ("", "0"):
                ports = [b.endpoint for b in self.bindings if b.protseq == NCACN_IP_TCP]
                sec_addr[0] = ports[-1] if ports else ""
            return ServerProtocol(self, protseq, sec_addr[0])
        return factory

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, drain in-flight calls for ``timeout`` seconds, then cancel and
        close everything (see the module docstring)."""
        if self._loop is None:
            return
        self._stopping = True
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            await listener.close()
        if self._inflight and timeout > 0:
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)
        for call, (proto, fut) in list(self._inflight.items()):
            fut.cancel()  # async managers get CancelledError; worker threads run on
            call.end()
            self._answer_fault(proto, call, st.RPC_S_CALL_CANCELLED)
        self._inflight.clear()
        protocols = list(self._protocols)
        for proto in protocols:
            proto.close()
        if protocols:
            await asyncio.wait([p.closed for p in protocols], timeout=1.0)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.bindings = []
        self._loop = None

    # -- dispatch (called by ServerProtocol on the loop) -----------------------------
    def _dispatch(self, proto: ServerProtocol, ev: RequestReceived) -> None:
        conn = proto.conn
        assert conn is not None
        if len(self._inflight) >= self.max_calls or self._stopping:
            if not ev.maybe:
                conn.send_fault(ev.call_id, st.nca_s_server_too_busy, did_not_execute=True)
            return
        security = ev.security
        refused = self._refusal(proto, ev.interface, security) \
            if self._local_only or self._min_level else None
        if refused is not None:
            self.security_stats[refused] += 1
            if not ev.maybe:
                conn.send_fault(ev.call_id, st.RPC_S_ACCESS_DENIED, did_not_execute=True)
            return
        try:
            prepared = self.dispatcher.prepare(ev.interface, ev.opnum, ev.stub, proto.group,
                                               ev.object, little_endian=ev.little_endian)
        except RpcError as exc:
            if not ev.maybe:
                conn.send_fault(ev.call_id, exc.status & 0xFFFFFFFF, did_not_execute=True)
            return
        except Exception as exc:  # a bug in dispatch must not take the server down
            if not ev.maybe:
                conn.send_fault(ev.call_id, fault_status(exc, "dispatch"),
                                did_not_execute=True)
            return
        loop = proto.loop
        call = self.new_call(proto, ev.object, prepared.entry.spec, prepared.operation,
                             ev.call_id, security)
        call.extra["maybe"] = ev.maybe
        if prepared.plan.binding_slots and id(prepared.impl) in self._handle_managers:
            prepared.binding = call  # the server binding handle for [in] handle_t params
        if self.if_callbacks and not self.if_allowed(prepared.entry.spec, call):
            if not ev.maybe:
                conn.send_fault(ev.call_id, st.RPC_S_ACCESS_DENIED, did_not_execute=True)
            return
        method = prepared.method
        fut: asyncio.Future[Any]
        if prepared.operation.attrs.get("async"):  # Operation.is_async, inline
            fut = self._lanes.submit(proto, lambda: start_async_op(self, proto, call, prepared))
        elif ASYNC_CACHE.get(getattr(method, "__func__", None)) or is_async_callable(method):
            # (is_async_callable() looked up inline first: once per call.)
            # Run the manager eagerly (no Task unless it suspends, see aio/_eager.py);
            # it answers the call itself when it returns, in its own copy of the
            # context, where _serve_async sets current_call(). The call is registered
            # first, since it may well be answered before run_eager returns.
            if not ev.maybe:
                proto.calls[ev.call_id] = call
            self._inflight[call] = (proto, EAGER_DONE)
            if self._idle is not None:
                self._idle.clear()
            # run_eager() inline (once per call)
            coro = self._serve_async(proto, call, prepared)
            ctx = contextvars.copy_context()
            try:
                yielded = ctx.run(coro.send, None)
            except StopIteration:
                return
            fut = loop.create_task(resume_eager(coro, yielded), context=ctx)
            if call in self._inflight:
                self._inflight[call] = (proto, fut)
            return
        else:
            assert self._pool is not None
            fut = loop.run_in_executor(self._pool, context_for(call).run, run_manager,
                                       method, *prepared.manager_args)
            fut.add_done_callback(lambda f: self._finished(proto, call, prepared, f))
        if not ev.maybe:
            proto.calls[ev.call_id] = call
        self._inflight[call] = (proto, fut)
        if self._idle is not None:
            self._idle.clear()

    def _settle(self, call: CallContext) -> bool:
        """Take ``call`` out of the in-flight table; False if it was not there."""
        if self._inflight.pop(call, None) is None:
            return False
        call.end()  # no impersonation of it from now on (seed-semantics §6.2)
        if not self._inflight and self._idle is not None:
            self._idle.set()
        return True

    async def _serve_async(self, proto: ServerProtocol, call: CallContext,
                           prepared: PreparedCall) -> None:
        """Run an ``async def`` manager and answer its call (the task of the call)."""
        _current_call.set(call)  # set_current() inline
        await self._answer_when_done(proto, call, prepared, prepared.method,
                                     *(prepared.args if prepared.binding is None
                                       else prepared.manager_args))

    async def _answer_when_done(self, proto: ServerProtocol, call: CallContext,
                                prepared: PreparedCall, start: Any, *args: Any) -> None:
        """Await ``start(*args)`` (a manager's run) and answer its call, whatever the
        outcome — a manager whose call itself fails (a signature mismatch) included."""
        try:
            result = await start(*args)
        except asyncio.CancelledError:
            self._complete(proto, call, prepared, True, None, None)
            raise
        except BaseException as exc:
            self._complete(proto, call, prepared, False, exc, None)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            self._complete(proto, call, prepared, False, None, result)
        finally:
            if _impersonating.get() is not None:
                release_impersonation()  # the end of the manager reverts (§6.2)

    def _finished(self, proto: ServerProtocol, call: CallContext, prepared: PreparedCall,
                  fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            self._complete(proto, call, prepared, True, None, None)
        else:
            exc = fut.exception()
            self._complete(proto, call, prepared, False, exc,
                           None if exc is not None else fut.result())

    def _complete(self, proto: ServerProtocol, call: CallContext, prepared: PreparedCall,
                  cancelled: bool, exc: BaseException | None, result: Any) -> None:
        # _settle() inline: this runs once per call.
        inflight = self._inflight
        if inflight.pop(call, None) is None:
            return  # already answered by stop(), or dropped with its connection
        call._ended = True  # end() inline: no impersonation of it from now on (§6.2)
        if not inflight and self._idle is not None:
            self._idle.set()
        if exc is None and not cancelled and type(result) in _PLAIN:
            # The usual reply: one plain result encoded by the generated encoder (what
            # encode_result_buf does for it), answered as _answer() does.
            eresp = prepared.plan.eresp
            if eresp is not None:
                try:
                    stub = eresp([result], [])
                except Exception:
                    pass  # encode_result_buf below reports it
                else:
                    proto.calls.pop(call.call_id, None)
                    conn = proto.conn
                    if call.extra.get("maybe") or call._orphaned or conn is None \
                            or (conn.state is not _BOUND and conn.closed):
                        return
                    conn.send_response(call.call_id, memoryview(stub).toreadonly()
                                       if len(stub) > _VIEW_ABOVE else stub)
                    proto.flush_soon()
                    return
        if cancelled:
            self._answer_fault(proto, call, st.RPC_S_CALL_CANCELLED)
            return
        if exc is None:
            if type(result) not in _PLAIN and inspect.isawaitable(result):
                # a plain def that returned a coroutine
                self._chain(proto, call, prepared, result)
                return
            try:
                stub = self.dispatcher.encode_result_buf(prepared, result)
            except RpcError as err:
                log.error("%s: %s", prepared.operation.name, err)
                self._answer_fault(proto, call, err.status)
                return
            except Exception as err:
                self._answer_fault(proto, call, fault_status(err, prepared.operation.name))
                return
            self._answer(proto, call, stub)
        else:
            self._answer_fault(proto, call, fault_status(exc, prepared.operation.name))

    def _chain(self, proto: ServerProtocol, call: CallContext, prepared: PreparedCall,
               awaitable: Any) -> None:
        async def run() -> Any:
            return await awaitable

        fut = proto.loop.create_task(run(), context=context_for(call))
        self._inflight[call] = (proto, fut)
        fut.add_done_callback(lambda f: self._finished(proto, call, prepared, f))

    def _answer(self, proto: ServerProtocol, call: CallContext,
                stub: bytes | bytearray) -> None:
        proto.calls.pop(call.call_id, None)
        conn = proto.conn
        if call.extra.get("maybe") or call.orphaned or conn is None or conn.closed:
            return
        # A large stub goes as a read-only view of the encoder's buffer, which the core
        # fragments without copying.
        conn.send_response(call.call_id,
                           memoryview(stub).toreadonly() if len(stub) > _VIEW_ABOVE else stub)
        proto.flush_soon()

    def _answer_fault(self, proto: ServerProtocol, call: CallContext, status: int) -> None:
        proto.calls.pop(call.call_id, None)
        conn = proto.conn
        if call.extra.get("maybe") or call.orphaned or conn is None or conn.closed:
            return
        conn.send_fault(call.call_id, status & 0xFFFFFFFF)
        proto.flush()

    # -- connection bookkeeping --------------------------------------------------------
    def _connection_gone(self, proto: ServerProtocol, group: int) -> None:
        # Outstanding [async] calls of this connection whose cancel signal fired before
        # it died (a non-abortive cancel) missed the orphan callback: drop them here.
        for call, (owner, _fut) in list(self._inflight.items()):
            state = call.extra.get("async_state")
            if owner is proto and state is not None and state.drop():
                self._settle(call)
        if group:
            for handle in self.handles.leave(group):
                self._rundown(handle)

    def _rundown(self, handle: OpenHandle) -> None:
        fn = rundown_callable(handle)
        if fn is None:
            return
        loop = self._loop or asyncio.get_running_loop()
        if inspect.iscoroutinefunction(fn):
            fut: asyncio.Future[Any] = loop.create_task(fn(handle.obj))
        elif self._pool is not None:
            fut = loop.run_in_executor(self._pool, fn, handle.obj)
        else:
            try:
                fn(handle.obj)
            except Exception:
                log.exception("context handle rundown failed")
            return
        fut.add_done_callback(_log_rundown_error)


_BOUND = ConnectionState.BOUND
#: Response stubs above this size are handed to the core as a read-only view.
_VIEW_ABOVE = 4096
#: Result types that are never awaitable (spares an inspect call on the hot path).
_PLAIN = frozenset({int, str, bytes, bool, float, tuple, list, dict, type(None)})


def _log_rundown_error(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        exc = fut.exception()
        assert exc is not None
        log.error("context handle rundown failed", exc_info=(type(exc), exc,
                                                              exc.__traceback__))
