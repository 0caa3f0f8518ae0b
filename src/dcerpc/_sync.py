"""The threaded face: ``dcerpc.connect`` and ``dcerpc.Binding``.

All network I/O happens on one asyncio loop (DESIGN.md §4). Threaded users get a
*runtime loop thread*, started on first use (like grpc's poller thread); a blocking call
is ``run_coroutine_threadsafe`` + wait. Proxies and bindings hold no thread state, so
any number of threads may share one. The loop is uvloop's when uvloop is installed.
Calling a blocking method *on* the runtime loop thread (from an ``async def`` manager,
say) would deadlock and is refused.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from . import status as st
from .aio._opcall import CallDriver, RpcCall
from .aio.client import AsyncProxy, _request_stub, parse_binding
from .errors import RpcError
from .ndr import operation_codec
from .ndr._pipestream import pipe_layout
from .ndr.types import Interface, Operation
from .runtime.binding import StringBinding
from .runtime.calls import ClientCall

__all__ = ["Binding", "SyncProxy", "connect", "run_sync", "runtime_loop"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def runtime_loop() -> asyncio.AbstractEventLoop:
    """The runtime loop, started on a daemon thread on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = _new_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=run, name="dcerpc-runtime", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (DESIGN.md §7), else asyncio's."""
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on the runtime loop and block until it ends."""
    loop = runtime_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RpcError("a blocking RPC call cannot be made on the runtime loop thread; "
                       "use dcerpc.aio there", st.RPC_S_WRONG_KIND_OF_BINDING)
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def call_sync(proxy: AsyncProxy, op: Operation, args: Any) -> Any:
    """One blocking call through ``proxy``: sent from the runtime loop, waited for here.

    The hot path costs one loop wake-up and no task: the loop sends the request
    (:meth:`AsyncProxy._start_call`) and the reply releases a lock this thread waits on.
    When the call has to wait for a connection it runs as a task (:meth:`_invoke`).
    """
    loop = runtime_loop()
    if threading.current_thread() is _thread:
        raise RpcError("a blocking RPC call cannot be made on the runtime loop thread; "
                       "use dcerpc.aio there", st.RPC_S_WRONG_KIND_OF_BINDING)
    lock = threading.Lock()
    lock.acquire()
    box: list[Any] = []

    def done(outcome: Any) -> None:
        box.append(outcome)
        lock.release()

    def start() -> None:
        try:
            call = proxy._start_call(op, args)
        except BaseException as exc:
            done(exc)
            return
        if call is not None:
            call.add_done_callback(done)
        else:
            loop.create_task(proxy._invoke(op, args)).add_done_callback(done)

    loop.call_soon_threadsafe(start)
    lock.acquire()
    outcome = box[0]
    if isinstance(outcome, ClientCall):
        return outcome.outcome()
    if isinstance(outcome, asyncio.Future):
        return outcome.result()
    raise outcome


@atexit.register
def _stop_loop() -> None:
    loop = _loop
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(loop.stop)


class _SyncMethod:
    __slots__ = ("_op", "_proxy")

    def __init__(self, proxy: SyncProxy, op: Operation) -> None:
        self._proxy, self._op = proxy, op

    def __call__(self, *args: Any) -> Any:
        return call_sync(self._proxy._aproxy, self._op, args)

    def start(self, *args: Any) -> RpcCall:
        """Start the call without blocking; the returned :class:`RpcCall` is waited on,
        cancelled or given callbacks from any thread."""
        return RpcCall.begin(self._proxy._aproxy, self._op, args, runtime_loop())

    def stream(self, *args: Any) -> Any:
        """A call whose pipes stream, for threads: ``with proxy.Op.stream(...) as call``
        (:class:`dcerpc.aio._pipe_client.SyncStreamCall`)."""
        from .aio._pipe_client import SyncStreamCall

        return SyncStreamCall(self._proxy._aproxy, self._op, args, runtime_loop())

    def __repr__(self) -> str:
        return f"<RPC method {self._proxy.spec.name}.{self._op.name}>"


class SyncProxy:
    """A thread-safe blocking proxy: methods named as the operations."""

    def __init__(self, binding: Any, spec: Any, **options: Any) -> None:
        self._aproxy = AsyncProxy(binding, spec, **options)
        self.spec: Interface = self._aproxy.spec
        self.binding: StringBinding = self._aproxy.binding
        self._methods: dict[str, _SyncMethod] = {}

    def __getattr__(self, name: str) -> _SyncMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is None:
            try:
                op = self.spec.operation(name)
            except KeyError:
                raise AttributeError(f"{self.spec.name} has no operation {name!r}") from None
            method = self._methods[name] = _SyncMethod(self, op)
        return method

    def connect(self) -> SyncProxy:
        run_sync(self._aproxy.connect())
        return self

    def close(self) -> None:
        run_sync(self._aproxy.aclose())

    def __enter__(self) -> SyncProxy:
        try:
            return self.connect()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SyncProxy {self.spec.name} at {self.binding}>"


def connect(binding: Any, spec: Any, **options: Any) -> SyncProxy:
    """A thread-safe synchronous proxy for ``spec`` at ``binding``."""
    return SyncProxy(binding, spec, **options)


class Binding:
    """A MIDL-style binding handle for the generated module functions ``Op(hBinding, …)``.

    It shares pooled connections with :func:`connect` (same endpoint and options).
    Options are those of :func:`connect`.
    """

    def __init__(self, string_binding: Any, **options: Any) -> None:
        self.string_binding = parse_binding(string_binding)
        self.options = options
        self._proxies: dict[int, tuple[Interface, AsyncProxy]] = {}
        self._lock = threading.Lock()

    def _proxy(self, interface: Interface) -> AsyncProxy:
        with self._lock:
            hit = self._proxies.get(id(interface))
            if hit is None or hit[0] is not interface:
                hit = (interface, AsyncProxy(self.string_binding, interface, **self.options))
                self._proxies[id(interface)] = hit
            return hit[1]

    def _rpc_invoke(self, interface: Interface, operation: Operation, args: Any) -> Any:
        return call_sync(self._proxy(interface), operation, tuple(args))

    def _rpc_invoke_async(self, async_state: Any, interface: Interface, operation: Operation,
                          args: Any) -> None:
        """Start ``operation`` as an MS-RPC async call completed through ``async_state``
        (an ``RPC_ASYNC_STATE``); returns None at once, like a MIDL async stub (F6).

        The handle is validated first, so a bad or busy handle raises without touching the
        call already pending on it (F3).  The request is marshalled here, on the caller's
        thread: a failure to issue the call raises and no notification ever comes (F6).
        Everything later (connecting, a comm failure, a fault, a cancel) ends the call
        through the one completion notification (F11)."""
        from .win32._async import RpcNotificationTypeCallback, async_call_begin, async_call_failed

        if pipe_layout(operation).streams:  # pipes stream (F36-F41): dcerpc.win32._pipes
            from .win32._pipes import invoke_async_pipes

            return invoke_async_pipes(self, async_state, interface, operation, tuple(args))
        proxy = self._proxy(interface)
        loop = runtime_loop()
        ac = _AsyncCall(async_state, proxy, operation, loop)
        async_call_begin(async_state, ac.on_cancel)
        # F22: a notification routine runs on a runtime thread, never on the caller's and
        # never on the loop thread (it may block or wait for another call).
        ac.via_pool = async_state.NotificationType == RpcNotificationTypeCallback
        try:
            if proxy._closed:
                raise RpcError("the binding is closed", st.RPC_S_INVALID_BINDING)
            codec = operation_codec(operation)
            stub = _request_stub(codec, tuple(args))
            loop.call_soon_threadsafe(ac.start, codec, stub)
        except BaseException:
            async_call_failed(async_state)
            raise

    def close(self) -> None:
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
        for _iface, proxy in proxies:
            run_sync(proxy.aclose())

    def __enter__(self) -> Binding:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Binding {self.string_binding}>"


class _AsyncCall(CallDriver):
    """One call issued by :meth:`Binding._rpc_invoke_async`, driven by
    :class:`~dcerpc.aio._opcall.CallDriver` (F13: a cancel is scheduled after the call's
    ``start``).  Its one completion ends the ``RPC_ASYNC_STATE`` for *this* call: a late
    reply of an orphaned call never completes a later call on a re-used handle.
    """

    __slots__ = ("async_state", "via_pool")

    def __init__(self, async_state: Any, proxy: AsyncProxy, operation: Operation,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(proxy, operation, loop)
        self.async_state = async_state
        self.via_pool = False

    def _complete(self, result: Any, exc: BaseException | None) -> None:
        from .win32._async import async_call_complete

        status = st.RPC_S_OK if exc is None else getattr(exc, "status", st.RPC_S_CALL_FAILED)
        if self.via_pool:
            fut = self.loop.run_in_executor(None, async_call_complete, self.async_state,
                                            result, status)
            fut.add_done_callback(_consume)
        else:
            async_call_complete(self.async_state, result, status)

    def on_cancel(self, abortive: bool) -> None:
        """RpcAsyncCancelCall (seed-semantics §5.1)."""
        self.request_cancel(abortive)


def _consume(fut: Any) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        logging.getLogger("dcerpc.client").error(
            "async call notification failed", exc_info=fut.exception())
