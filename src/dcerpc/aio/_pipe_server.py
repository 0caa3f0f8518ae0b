"""Serving operations with pipe parameters as streams (seed-semantics F36-F41).

Which calls stream: an operation with pipe parameters that is ``[async]`` (ACF), or whose
manager is ``async def``, or a plain ``def`` marked with :func:`streaming`. Any other
pipe operation keeps the whole-message mode (pipes as lists, :mod:`dcerpc.ndr._operation`);
the octets on the wire are the same either way.

Manager arguments: every ``[in]`` parameter and every pipe parameter, in IDL order; a
pipe parameter is a :class:`~dcerpc.aio._pipes.Pipe` (F36: pipes by reference). The
result is the return value and the non-pipe ``[out]`` values (the NDR result contract
without the pipes). ``[async]`` managers receive ``pAsync`` first and finish with
``RpcAsyncCompleteCall`` / ``RpcAsyncAbortCall`` as for any ``[async]`` operation.

Rules enforced here (F39): the manager may complete only once its ``[in]`` pipes are
drained — otherwise an ``async def``/plain manager's call faults with
``RPC_X_PIPE_DISCIPLINE_ERROR`` (1917), and ``RpcAsyncCompleteCall`` returns 1917 and
leaves the call outstanding; ``[out]`` pipes still open at completion are closed for the
manager. The request's non-pipe values are decoded as soon as they have arrived, and the
manager starts then, while the pipe data is still coming.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any

from .. import status as st
from ..errors import NdrError, RpcError
from ..ndr import types as t
from ..ndr._pipestream import pipe_layout
from ..protocol._streaming import RequestData, RequestStarted, ServerStreams
from ..runtime.dispatch import fault_status
from ..runtime.registry import RegisteredInterface
from ._async_server import REPLY, ServerAsyncState
from ._callctx import CallContext, context_for, set_current
from ._pipes import PipeCall, PipeError, wait_writable, wake_drain

if TYPE_CHECKING:
    from ._server_proto import ServerProtocol

__all__ = ["attach", "on_event", "streaming"]

log = logging.getLogger("dcerpc.server")


def streaming(fn: Any) -> Any:
    """Mark a plain ``def`` manager method to receive its pipes as streams (it runs on a
    worker thread and uses the blocking pipe methods)."""
    fn.__dcerpc_stream_pipes__ = True
    return fn


def _has_pipes(op: t.Operation) -> bool:
    return pipe_layout(op).streams


def _streams(entry: Any, opnum: int) -> bool:
    if not isinstance(entry, RegisteredInterface):
        return False
    op = entry.by_opnum.get(opnum)
    if op is None or not _has_pipes(op):
        return False
    if op.is_async:
        return True
    method = getattr(entry.manager(None), op.name, None)
    return method is not None and (inspect.iscoroutinefunction(method) or bool(
        getattr(method, "__dcerpc_stream_pipes__", False)))


def attach(proto: ServerProtocol) -> None:
    """Stream pipe calls on this connection when the server has any pipe operation."""
    if any(_has_pipes(op) for spec in proto.server.interfaces for op in spec.operations):
        ServerStreams(proto.conn, _streams)
        proto._pipe_calls = {}  # type: ignore[attr-defined]


def on_event(proto: ServerProtocol, ev: RequestStarted | RequestData) -> None:
    calls = proto._pipe_calls  # type: ignore[attr-defined]
    if isinstance(ev, RequestStarted):
        sc = calls[ev.call_id] = _ServerPipeCall(proto, ev)
    else:
        sc = calls.get(ev.call_id)
        if sc is None:
            return
    sc.data(ev.stub, ev.last)


class _PipeAsyncState(ServerAsyncState):
    """``pAsync`` of a pipe call: Complete refuses while [in] pipes are undrained."""

    __slots__ = ("pipes",)

    def server_complete(self, reply: Any) -> int:
        pc = self.pipes
        if pc is not None and not pc.incoming_drained and self.outstanding:
            return st.RPC_X_PIPE_DISCIPLINE_ERROR  # F39, T48 [D]
        return super().server_complete(reply)


class _ServerPipeCall:
    """One streamed call on the server (see the module docstring)."""

    def __init__(self, proto: ServerProtocol, ev: RequestStarted) -> None:
        self.proto = proto
        self.server = proto.server
        self.call_id = ev.call_id
        self.ev = ev
        self.le = ev.little_endian
        self.prefix = bytearray()
        self.first_pos: int | None = None  # stub offset of the first pipe octet
        self.next_try = 0
        self.dispatched = False
        self.ended = False
        self.pc: PipeCall | None = None
        self.call: CallContext | None = None
        self.plain_args: list[Any] = []
        self.state: _PipeAsyncState | None = None

    # -- request octets ------------------------------------------------------------
    def data(self, stub: bytes, last: bool) -> None:
        if self.ended:
            return
        if self.dispatched:
            assert self.pc is not None
            try:
                pos, self.first_pos = self.first_pos, None
                self.pc.feed(stub, pos)
                if last:
                    self.pc.data_ended()
                    if self.pc.tail:
                        raise NdrError(f"{self.ev.interface.spec.name}: "
                                       f"{len(self.pc.tail)} octets after the pipes")
            except NdrError as exc:
                self.pc.fail(exc)
                self.fault(st.RPC_X_BAD_STUB_DATA)
            return
        self.prefix += stub
        if len(self.prefix) < self.next_try and not last:
            return  # retry decoding when twice as much has come (no quadratic cost)
        self.next_try = 2 * len(self.prefix) + 64
        entry: RegisteredInterface = self.ev.interface
        op = entry.by_opnum[self.ev.opnum]
        layout = pipe_layout(op)
        try:
            args, used = layout.decode_plain_request(bytes(self.prefix), self.le)
        except NdrError:
            if last or len(self.prefix) > self.server.config.max_stub_size:
                self.fault(st.RPC_X_BAD_STUB_DATA, did_not_execute=True)
            return
        rest = bytes(self.prefix[used:])
        self.prefix = bytearray()
        self.first_pos = used
        if not self.dispatch(entry, op, args):
            return
        self.data(rest, last) if rest or last else None

    # -- dispatch ------------------------------------------------------------------
    def dispatch(self, entry: RegisteredInterface, op: t.Operation, args: list[Any]) -> bool:
        proto, server, ev = self.proto, self.server, self.ev
        impl = entry.manager(ev.object)
        method = getattr(impl, op.name, None) if impl is not None else None
        if method is None:
            self.fault(st.nca_s_unk_if if impl is None else st.nca_s_op_rng_error, True)
            return False
        if len(server._inflight) >= server.max_calls or server._stopping:
            self.fault(st.nca_s_server_too_busy, True)
            return False
        refused = server._refusal(proto, entry, ev.security)  # the same admission as
        if refused is not None:                                # every other call
            server.security_stats[refused] += 1
            self.fault(st.RPC_S_ACCESS_DENIED, True)
            return False
        loop = proto.loop
        layout = pipe_layout(op)
        conn = proto.conn
        assert conn is not None
        streams: ServerStreams = conn._streaming

        def send(data: bytes, last: bool) -> bool:
            ok = streams.send_response_part(self.call_id, data, last)
            proto.flush()
            return ok

        async def drain() -> None:
            await wait_writable(proto, lambda: conn.closed)
            if conn.closed or (self.ended and self.call is not None and self.call.orphaned):
                raise RpcError("the client went away", st.RPC_S_CALL_FAILED)

        def pause() -> None:
            if proto.transport is not None:
                proto.transport.pause_reading()

        def resume() -> None:
            tr = proto.transport
            if tr is not None and not tr.is_closing() and not proto._writer.paused:
                tr.resume_reading()

        pc = self.pc = PipeCall(layout, server=True, loop=loop, send=send, drain=drain,
                                pause=pause, resume=resume, little_endian=self.le)
        self.plain_args = args
        it = iter(args)
        margs = [pc.pipes[p.name] if p.name in pc.pipes else next(it)
                 for p in op.params if (p.in_ or p.name in pc.pipes)
                 and not isinstance(p.type, t.Handle)]
        call = self.call = server.new_call(proto, ev.object, entry.spec, op, self.call_id,
                                           ev.security)
        if server.if_callbacks and not server.if_allowed(entry.spec, call):
            self.fault(st.RPC_S_ACCESS_DENIED, True)
            return False
        call.extra["pipes"] = pc
        call.cancelled.add_callback(self._gone)
        fut: asyncio.Future[Any]
        if op.is_async:
            state = self.state = _PipeAsyncState(call, loop, self._finish)
            state.pipes = pc
            call.extra["async_state"] = state
            if inspect.iscoroutinefunction(method):
                fut = loop.create_task(method(state, *margs), context=context_for(call))
            else:
                assert server._pool is not None
                fut = loop.run_in_executor(server._pool, context_for(call).run, method,
                                           state, *margs)
            fut.add_done_callback(self._async_manager_done)
        elif inspect.iscoroutinefunction(method):
            fut = loop.create_task(self._run_async(method, margs), context=context_for(call))
        else:
            assert server._pool is not None
            fut = loop.run_in_executor(server._pool, context_for(call).run, method, *margs)
            fut.add_done_callback(self._plain_done)
        proto.calls[self.call_id] = call
        server._inflight[call] = (proto, fut)
        if server._idle is not None:
            server._idle.clear()
        self.dispatched = True
        return True

    async def _run_async(self, method: Any, margs: list[Any]) -> None:
        assert self.call is not None
        set_current(self.call)
        try:
            result = await method(*margs)
        except asyncio.CancelledError:
            self.fault(st.RPC_S_CALL_CANCELLED)
            raise
        except BaseException as exc:
            self.fault(_status_of(exc, self.call.operation.name))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            self.reply(result)

    def _plain_done(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            self.fault(st.RPC_S_CALL_CANCELLED)
        elif fut.exception() is not None:
            exc = fut.exception()
            assert exc is not None and self.call is not None
            self.fault(_status_of(exc, self.call.operation.name))
        else:
            self.reply(fut.result())

    def _async_manager_done(self, fut: asyncio.Future[Any]) -> None:
        state = self.state
        assert state is not None
        if fut.cancelled():
            if state.claim():
                self.fault(st.RPC_S_CALL_CANCELLED)
            return
        exc = fut.exception()
        if exc is not None and state.claim():
            assert self.call is not None
            self.fault(_status_of(exc, self.call.operation.name))

    def _finish(self, kind: int, value: Any) -> None:  # RpcAsyncCompleteCall/AbortCall
        if kind == REPLY:
            self.reply(value)
        else:
            self.fault(value)

    # -- endings -------------------------------------------------------------------
    def reply(self, result: Any) -> None:
        if self.ended:
            return
        pc = self.pc
        assert pc is not None and self.call is not None
        if not pc.incoming_drained:
            self.fault(st.RPC_X_PIPE_DISCIPLINE_ERROR)
            return
        layout = pc.layout
        try:
            for p in pc.outgoing:
                if not p._closed:
                    p.push_nowait(pc.empty(p))
            tail = layout.encode_plain_response(result, pc.send_pos, self.plain_args)
        except (RpcError, TypeError, ValueError) as exc:
            log.error("%s: %s", layout.op.name, exc)
            self.fault(_status_of(exc, layout.op.name) if isinstance(exc, RpcError)
                       else st.nca_s_fault_unspec)
            return
        conn = self.proto.conn
        self._end()
        if conn is not None and not conn.closed and not self.call.orphaned:
            conn._streaming.send_response_part(self.call_id, tail, True)
            self.proto.flush()

    def fault(self, status: int, did_not_execute: bool = False) -> None:
        if self.ended:
            return
        self._end()
        if self.pc is not None:
            self.pc.fail(RpcError("the call ended with a fault", status))
        conn = self.proto.conn
        if conn is not None and not conn.closed and not (self.call and self.call.orphaned):
            conn._streaming.forget(self.call_id)
            conn.send_fault(self.call_id, status & 0xFFFFFFFF, did_not_execute=did_not_execute)
            self.proto.flush()

    def _end(self, teardown: bool = False) -> None:
        self.ended = True
        self.proto._pipe_calls.pop(self.call_id, None)  # type: ignore[attr-defined]
        if self.call is not None:
            if not teardown:  # (the connection's teardown is iterating its calls)
                self.proto.calls.pop(self.call_id, None)
            self.server._settle(self.call)

    def _gone(self) -> None:
        """co_cancel (nothing to do: the manager tests it) or the client went away."""
        call = self.call
        if call is None or not call.orphaned or self.ended:
            return
        if self.state is not None:
            self.state.drop()
        if self.pc is not None:
            self.pc.fail(RpcError("the client went away", st.RPC_S_CALL_FAILED))
        self._end(teardown=True)
        wake_drain(self.proto)


def _status_of(exc: BaseException, where: str) -> int:
    if isinstance(exc, PipeError):
        return int(exc.status)
    return fault_status(exc, where)
