"""The asyncio client face: ``dcerpc.aio.connect(binding, spec, **options)``.

``async with dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1[4747]", calc.Calc) as c:
await c.Add(2, 3)`` — methods are named as the operations, take the [in] values and
return the result per the NDR result contract. One proxy may be used by any number of
tasks at once: calls multiplex on the pooled connections (:mod:`._channel`).

Options: ``timeout`` (seconds per call, including connecting; on expiry the call is
orphaned on the wire and :class:`RpcTimeout` raised), ``object_uuid``,
``max_xmit_frag`` / ``max_recv_frag``, ``connections`` (pool size, default 4) and
``config`` (a full :class:`ConnectionConfig`), ``auth`` (client credentials such as
``dcerpc.auth.NTLM(user, password, domain)`` or ``dcerpc.auth.Negotiate(...)``) and
``level`` (authentication level: a number 2..6 or ``"connect"``, ``"integrity"``,
``"privacy"``; default PKT_INTEGRITY when ``auth`` is given). Every pooled connection
authenticates at its bind; a refused authentication raises :class:`BindError` with
status rpc_s_access_denied.

Cancelling the task awaiting a call (``await proxy.Op(...)`` or ``await call``) has one
policy: a non-abortive cancel goes on the wire (co_cancel, C706 §12.6.4.2), so the
manager sees ``test_cancel()``, and the await raises CancelledError at once; the server's
late outcome is dropped (or kept by the :class:`RpcCall` of ``Op.start``). For the
abortive cancel, keep the handle: ``call = proxy.Op.start(...)``;
``call.cancel(abortive=True)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from .. import runtime
from .. import status as st
from ..errors import CommFailure, LocalProtocolError, RpcError, RpcTimeout
from ..ndr import operation_codec
from ..ndr.types import Interface, Operation
from ..protocol._config import runtime_config
from ..protocol.connection import ConnectionConfig
from ..protocol.constants import SyntaxId
from ..runtime.binding import StringBinding
from ..runtime.calls import CallState, ClientCall
from ..runtime.registry import syntax_of
from ..transport import MEMORY
from ._channel import Channel, get_channel, release_channel

if TYPE_CHECKING:
    from ._opcall import RpcCall
    from ._pipe_client import StreamCall

__all__ = ["AsyncProxy", "ClientOptions", "connect", "invoke", "resolve_spec"]

_PENDING = CallState.PENDING
_COMPLETE = CallState.COMPLETE


@dataclasses.dataclass(frozen=True, slots=True)
class ClientOptions:
    """Validated client options (see the module docstring)."""

    timeout: float | None = None
    object_uuid: uuid.UUID | None = None
    connections: int = 4
    config: ConnectionConfig = dataclasses.field(default_factory=runtime_config)
    #: Per-call deadline defaults (seconds): non-abortive cancel at ``deadline``, abortive
    #: ``cancel_timeout`` later (:mod:`dcerpc.aio._opcall`).
    deadline: float | None = None
    cancel_timeout: float | None = None
    #: (credentials, level) or None: what every connection authenticates with.
    security: tuple[Any, int] | None = None

    @classmethod
    def make(cls, *, timeout: float | None = None, object_uuid: uuid.UUID | str | None = None,
             max_xmit_frag: int | None = None, max_recv_frag: int | None = None,
             connections: int = 4, config: ConnectionConfig | None = None,
             deadline: float | None = None, cancel_timeout: float | None = None,
             auth: Any = None, level: int | str | None = None) -> ClientOptions:
        check_seconds(timeout=timeout, deadline=deadline, cancel_timeout=cancel_timeout)
        if connections < 1:
            raise ValueError("connections must be at least 1")
        cfg = config if config is not None else runtime_config()
        frags = {k: v for k, v in (("max_xmit_frag", max_xmit_frag),
                                   ("max_recv_frag", max_recv_frag)) if v is not None}
        if frags:
            cfg = dataclasses.replace(cfg, **frags)
        if isinstance(object_uuid, str):
            object_uuid = uuid.UUID(object_uuid)
        security = None
        if auth is not None:
            from ..auth.base import normalize_level

            if not hasattr(auth, "client_context"):
                raise TypeError(f"auth must be client credentials (dcerpc.auth.NTLM ...), "
                                f"got {auth!r}")
            security = (auth, normalize_level(level))
            if security[1] < 2:
                security = None  # level NONE: no authentication at all
        elif level is not None:
            raise ValueError("level= needs auth= credentials")
        return cls(timeout, object_uuid, connections, cfg, deadline, cancel_timeout,
                   security)


def check_seconds(**values: float | None) -> None:
    """Refuse anything but None or a non-negative number of seconds (timeouts, deadlines)."""
    for name, value in values.items():
        if value is not None and (not isinstance(value, (int, float)) or math.isnan(value)
                                  or value < 0):
            raise ValueError(f"{name} must be a non-negative number of seconds, "
                             f"got {value!r}")


def resolve_spec(spec: Any) -> Interface:
    """An interface model from a model, a generated client class or a generated module."""
    if isinstance(spec, Interface):
        return spec
    found = getattr(spec, "__interface__", None)
    if isinstance(found, Interface):
        return found
    interfaces = getattr(spec, "__interfaces__", None)
    if interfaces and len(interfaces) == 1:
        return interfaces[0]  # type: ignore[no-any-return]
    raise TypeError(f"{spec!r} is not an interface (dcerpc.ndr.types.Interface)")


def parse_binding(binding: Any) -> StringBinding:
    if isinstance(binding, StringBinding):
        return binding
    if isinstance(binding, str):
        return StringBinding.parse(binding)
    inner = getattr(binding, "string_binding", None)
    if isinstance(inner, StringBinding):
        return inner
    raise TypeError(f"not a binding: {binding!r}")


async def invoke(channel: Channel, spec: Interface, op: Operation, args: Any,
                 options: ClientOptions, object_uuid: uuid.UUID | None = None) -> Any:
    """Make one call on ``channel``; the result, or the RpcError the call ended with."""
    codec = operation_codec(op)
    stub = _request_stub(codec, args)
    call = ClientCall(spec, op)
    loop = asyncio.get_running_loop()
    timeout = options.timeout
    if timeout is None:
        return await _invoke_untimed(channel, spec, op, codec, stub, call, loop,
                                     object_uuid or options.object_uuid)
    deadline = None if timeout is None else loop.time() + timeout
    proto = None
    try:
        async with asyncio.timeout_at(deadline):
            proto, p_cont_id = await channel.acquire(_syntax(spec))
            try:
                proto.send(call, codec, p_cont_id, stub, object_uuid or options.object_uuid)
            except LocalProtocolError as exc:  # the connection died after acquire()
                raise CommFailure(f"{op.name}: {exc}") from None
            done: asyncio.Future[None] = loop.create_future()
            call.add_done_callback(lambda _c: done.done() or done.set_result(None))
            await done
    except TimeoutError:
        err = RpcTimeout(f"{spec.name}.{op.name}: no reply within {timeout} s")
        if proto is not None:
            proto.abandon(call, err)
        raise err from None
    except asyncio.CancelledError:
        if proto is not None:
            _cancel_on_wire(proto, call)
        raise
    return call.outcome()


def _cancel_on_wire(proto: Any, call: ClientCall) -> None:
    """The task awaiting ``call`` was cancelled: send co_cancel (C706 §12.6.4.2) and let
    the server end the call; its reply is dropped with the record."""
    if call.call_id is not None and not call.done() \
            and proto.conn.cancel(call.call_id, now=asyncio.get_running_loop().time()):
        proto.flush()


#: Stubs above this size are handed to the protocol core as a read-only view of the
#: encoder's buffer, which it fragments without copying (see ``send_request``).
_VIEW_ABOVE = 4096


def _request_stub(codec: Any, args: Any) -> bytearray | memoryview:
    """The request stub of a call: the encoder's own buffer, never copied into bytes."""
    stub = codec.encode_request_buf(args)
    return memoryview(stub).toreadonly() if len(stub) > _VIEW_ABOVE else stub


_SYNTAXES: dict[int, tuple[Interface, SyntaxId]] = {}


def _syntax(spec: Interface) -> SyntaxId:
    """``syntax_of(spec)``, computed once per interface model."""
    hit = _SYNTAXES.get(id(spec))
    if hit is None or hit[0] is not spec:
        hit = _SYNTAXES[id(spec)] = (spec, syntax_of(spec))
    return hit[1]


async def _invoke_untimed(channel: Channel, spec: Interface, op: Operation, codec: Any,
                          stub: bytes | bytearray | memoryview, call: ClientCall,
                          loop: asyncio.AbstractEventLoop,
                          object_uuid: uuid.UUID | None) -> Any:
    """:func:`invoke` without a timeout: no timeout scope, and no await at all to pick a
    connection when a bound one has room (the hot path)."""
    syntax = _syntax(spec)
    proto = None
    try:
        got = channel.acquire_now(syntax)
        proto, p_cont_id = got if got is not None else await channel.acquire(syntax)
        try:
            proto.send(call, codec, p_cont_id, stub, object_uuid)
        except LocalProtocolError as exc:  # the connection died after acquire()
            raise CommFailure(f"{op.name}: {exc}") from None
        if not call.done():
            done: asyncio.Future[None] = loop.create_future()
            call.add_done_callback(lambda _c: done.done() or done.set_result(None))
            await done
    except asyncio.CancelledError:
        if proto is not None:
            _cancel_on_wire(proto, call)
        raise
    return call.outcome()


class _AsyncMethod:
    __slots__ = ("_codec", "_ereq", "_nin", "_op", "_proxy", "_syntax")

    def __init__(self, proxy: AsyncProxy, op: Operation) -> None:
        self._proxy, self._op = proxy, op
        # Resolved once per (proxy, operation): the hot path below looks nothing up.
        self._codec = operation_codec(op)
        self._syntax = _syntax(proxy.spec)
        # the generated request encoder, called directly on the hot path (any failure
        # goes through encode_request_buf, which reports it)
        self._nin = len(self._codec.in_params)
        try:
            self._ereq: Any = self._codec.generated("ereq")
        except Exception:
            self._ereq = None

    def __call__(self, *args: Any) -> Awaitable[Any]:
        options = self._proxy.options
        if options.deadline is not None:
            return self.start(*args)  # a per-proxy deadline needs the started-call driver
        if options.timeout is not None:
            return self._proxy._invoke(self._op, args)
        return self._untimed(args)

    async def _untimed(self, args: Any) -> Any:
        """``await proxy.Op(...)`` without timeout or deadline, as one coroutine: when a
        bound connection has room (the steady state) the request goes out without any
        other await, and the task sleeps on one future until the reply ends the call."""
        proxy = self._proxy
        channel = proxy._channel
        if channel is None or proxy._closed:
            return await proxy._invoke(self._op, args)
        got = channel.acquire_now(self._syntax)
        if got is None:
            return await proxy._invoke(self._op, args)
        proto, p_cont_id = got
        codec = self._codec
        stub = None
        ereq = self._ereq
        if ereq is not None and len(args) == self._nin:
            try:
                stub = ereq(list(args), [])
            except Exception:
                stub = None
        if stub is None:
            stub = codec.encode_request_buf(args)
        if len(stub) > _VIEW_ABOVE:
            stub = memoryview(stub).toreadonly()  # type: ignore[assignment]
        op = self._op
        call = ClientCall(proxy.spec, op)
        try:
            proto.send(call, codec, p_cont_id, stub,
                       proxy._object_uuid or proxy.options.object_uuid)
        except LocalProtocolError as exc:  # the connection died after acquire_now()
            raise CommFailure(f"{op.name}: {exc}") from None
        if call.state is _PENDING:
            done: asyncio.Future[None] = proto.loop.create_future()
            call.waiter = done  # set_result()/set_exception() wake it
            try:
                await done
            except asyncio.CancelledError:
                _cancel_on_wire(proto, call)
                raise
        if call.exception is None and call.state is _COMPLETE:  # outcome() inline
            return call.result
        return call.outcome()

    def start(self, *args: Any, deadline: float | None = None,
              cancel_timeout: float | None = None) -> RpcCall:
        """Start the call on the running loop without waiting; the returned
        :class:`RpcCall` is awaitable and has the ``concurrent.futures`` methods.
        ``deadline``/``cancel_timeout`` (seconds) override the proxy's defaults."""
        from ._opcall import RpcCall

        return RpcCall.begin(self._proxy, self._op, args, asyncio.get_running_loop(),
                             deadline=deadline, cancel_timeout=cancel_timeout)

    def stream(self, *args: Any) -> StreamCall:
        """A call whose pipe parameters stream (``async with ... as call``; see
        :mod:`dcerpc.aio._pipe_client`)."""
        from ._pipe_client import StreamCall

        return StreamCall(self._proxy, self._op, args)

    def __repr__(self) -> str:
        return f"<async RPC method {self._proxy.spec.name}.{self._op.name}>"


class AsyncProxy:
    """An asyncio client proxy (see the module docstring)."""

    def __init__(self, binding: Any, spec: Any, **options: Any) -> None:
        self.binding = parse_binding(binding)
        self.spec = resolve_spec(spec)
        self.options = ClientOptions.make(**options)
        self._object_uuid = self.binding.object_uuid
        self._channel: Channel | None = None
        self._methods: dict[str, _AsyncMethod] = {}
        self._closed = False

    async def _get_channel(self) -> Channel:
        if self._closed:
            raise RpcError("the proxy is closed", st.RPC_S_INVALID_BINDING)
        if self._channel is None:
            binding = self.binding
            if not binding.endpoint and binding.protseq.lower() != MEMORY:
                loop = asyncio.get_running_loop()
                # The resolver may block (an endpoint-mapper round trip through the
                # threaded face), so it runs off the loop.
                binding = await loop.run_in_executor(None, runtime.resolver, binding,
                                                     self.spec)
            if self._channel is None:
                self._channel = get_channel(binding, self.options.config,
                                            self.options.connections, self.options.security)
        return self._channel

    async def _invoke(self, op: Operation, args: Any) -> Any:
        channel = self._channel
        if channel is None or self._closed:
            channel = await self._get_channel()
        options = self.options
        if options.timeout is not None:
            return await invoke(channel, self.spec, op, args, options, self._object_uuid)
        codec = operation_codec(op)
        stub = _request_stub(codec, args)
        return await _invoke_untimed(channel, self.spec, op, codec, stub,
                                     ClientCall(self.spec, op), asyncio.get_running_loop(),
                                     self._object_uuid or options.object_uuid)

    def _start_call(self, op: Operation, args: Any) -> ClientCall | None:
        """On the loop: send a call at once and return its record, or None when that
        needs waiting (no connection bound yet, the pool is full, a timeout is set); the
        caller then goes the :meth:`_invoke` way. For the threaded face, which waits
        on the record instead of running a coroutine per call."""
        channel = self._channel
        options = self.options
        if channel is None or self._closed or options.timeout is not None:
            return None
        got = channel.acquire_now(_syntax(self.spec))
        if got is None:
            return None
        proto, p_cont_id = got
        codec = operation_codec(op)
        stub = _request_stub(codec, args)
        call = ClientCall(self.spec, op)
        try:
            proto.send(call, codec, p_cont_id, stub, self._object_uuid or options.object_uuid)
        except LocalProtocolError as exc:  # the connection died after acquire_now()
            raise CommFailure(f"{op.name}: {exc}") from None
        return call

    def __getattr__(self, name: str) -> _AsyncMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is None:
            try:
                op = self.spec.operation(name)
            except KeyError:
                raise AttributeError(f"{self.spec.name} has no operation {name!r}") from None
            method = self._methods[name] = _AsyncMethod(self, op)
        # found by ordinary attribute lookup from now on (this runs once per call else)
        self.__dict__[name] = method
        return method

    async def connect(self) -> AsyncProxy:
        """Open and bind a connection now (otherwise the first call does)."""
        channel = await self._get_channel()
        coro = channel.acquire(syntax_of(self.spec))
        timeout = self.options.timeout
        await (asyncio.wait_for(coro, timeout) if timeout is not None else coro)
        return self

    async def aclose(self) -> None:
        """Release the proxy's share of the pooled connections."""
        if not self._closed:
            self._closed = True
            if self._channel is not None:
                release_channel(self._channel)
                self._channel = None

    close = aclose

    async def __aenter__(self) -> AsyncProxy:
        try:
            return await self.connect()
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncProxy {self.spec.name} at {self.binding}>"


def connect(binding: Any, spec: Any, **options: Any) -> AsyncProxy:
    """An asyncio proxy for ``spec`` at ``binding`` (string, StringBinding or Binding)."""
    return AsyncProxy(binding, spec, **options)
