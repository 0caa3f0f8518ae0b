"""Calling operations with pipe parameters as streams: ``proxy.Op.stream(...)``.

::

    async with proxy.Echo.stream(scale, None) as call:   # None: push [in] pipe by hand
        await call.inp.push(b"...")
        await call.inp.close()
        async for chunk in call.outp:
            ...
        result = await call.result()

Arguments are the operation's ``[in]`` parameters in IDL order; for an ``[in]`` (or
``[in, out]``) pipe give ``None`` and push through ``call.<name>``, or an iterable /
async iterable of chunks that is pushed (then closed) by a task of the call. ``[out]``
pipes are not arguments: read them as ``call.<name>`` (async iterator, ``pull()``).
``await call.result()`` gives the return value and the non-pipe ``[out]`` values (the
result contract without the pipes); it needs every ``[in]`` pipe closed
(``RPC_X_WRONG_PIPE_ORDER`` otherwise) and discards ``[out]`` pipe data not read yet.
Leaving the ``async with`` block before the call ended abandons it (orphaned, C706
§12.6.4.8). ``call.cancel(abortive=False)`` sends co_cancel; ``abortive=True`` also
orphans the call and fails it with :class:`~dcerpc.errors.CallCancelled` at once.

Flow: while the request streams, its connection carries no other request (fragments of
two requests never interleave, C706 §12.6.2), so other calls go to another pooled
connection. Pushes wait while the transport's write buffer is above its high-water
mark; incoming pipe data pauses reading the connection once more than
:data:`~dcerpc.aio._pipes.HIGH_WATER` octets wait unread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any

from .. import status as st
from ..errors import CallCancelled, CommFailure, NdrError, RpcError
from ..ndr import types as t
from ..ndr._pipestream import pipe_layout
from ..protocol._streaming import ClientStreams, ResponseData
from ..runtime.calls import ClientCall
from ._pipes import Pipe, PipeCall, PipeError, wait_writable

if TYPE_CHECKING:
    from ._client_proto import ClientProtocol
    from .client import AsyncProxy

__all__ = ["StreamCall", "SyncStreamCall", "on_response_data"]


def on_response_data(proto: ClientProtocol, ev: ResponseData) -> None:
    calls = getattr(proto, "_pipe_calls", None)
    sc = calls.get(ev.call_id) if calls else None
    if sc is not None:
        sc._response(ev)


class StreamCall:
    """A streamed call (see the module docstring)."""

    def __init__(self, proxy: AsyncProxy, op: t.Operation, args: tuple[Any, ...]) -> None:
        self.proxy = proxy
        self.op = op
        self.layout = pipe_layout(op)
        if not self.layout.streams:
            raise TypeError(f"{op.name} has no pipe parameters")
        self.args = args
        self.record = ClientCall(proxy.spec, op)
        self.pc: PipeCall | None = None
        self.proto: ClientProtocol | None = None
        self.call_id: int | None = None
        self._feeders: list[asyncio.Task[Any]] = []

    def __getattr__(self, name: str) -> Pipe:
        pc = self.__dict__.get("pc")
        if pc is not None and name in pc.pipes:
            return pc.pipes[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    @property
    def pipes(self) -> dict[str, Pipe]:
        assert self.pc is not None
        return self.pc.pipes

    async def __aenter__(self) -> StreamCall:
        await self.start()
        return self

    async def __aexit__(self, et: Any, exc: Any, tb: Any) -> None:
        if not self.record.done():
            self.abandon(CallCancelled(f"{self.op.name}: abandoned"))
        for task in self._feeders:
            task.cancel()
        if self._feeders:
            await asyncio.gather(*self._feeders, return_exceptions=True)

    # -- starting --------------------------------------------------------------------
    async def start(self) -> None:
        from .client import _syntax

        proxy, op, layout = self.proxy, self.op, self.layout
        in_params = [p for p in layout.in_order]
        if len(self.args) != len(in_params):
            raise TypeError(f"{op.name}: expected {len(in_params)} [in] values "
                            f"({', '.join(p.name for p in in_params)}), got {len(self.args)}")
        sources: dict[str, Any] = {}
        plain: list[Any] = []
        pipe_names = {pp.name for pp in layout.pipes}
        for p, value in zip(in_params, self.args, strict=True):
            if p.name in pipe_names:
                sources[p.name] = value
            else:
                plain.append(value)
        prefix = layout.encode_plain_request(plain)
        channel = await proxy._get_channel()
        loop = asyncio.get_running_loop()
        proto, p_cont_id = await channel.acquire(_syntax(proxy.spec))
        self.proto = proto
        streams = proto.conn._streaming
        if streams is None:
            streams = ClientStreams(proto.conn)
        try:
            call_id = streams.begin_request(p_cont_id, op.opnum,
                                            object=proxy._object_uuid
                                            or proxy.options.object_uuid, now=loop.time())
        except RpcError as exc:
            raise CommFailure(f"{op.name}: {exc}") from None
        self.call_id = self.record.call_id = call_id
        proto.calls[call_id] = (self.record, layout.plain)
        if getattr(proto, "_pipe_calls", None) is None:
            proto._pipe_calls = {}  # type: ignore[attr-defined]
        proto._pipe_calls[call_id] = self  # type: ignore[attr-defined]

        def send(data: bytes, last: bool) -> bool:
            if not streams.send_request_part(call_id, data, last):
                raise self.record.exception or PipeError("the call has ended",
                                                         st.RPC_X_PIPE_CLOSED)
            proto.flush()
            if last and proto._on_idle is not None:
                proto._on_idle(proto)  # the connection may carry other requests again
            return True

        async def drain() -> None:
            await wait_writable(proto, lambda: proto.dead)
            if self.record.done() and self.record.exception is not None:
                raise self.record.exception

        def pause() -> None:
            if proto.transport is not None:
                proto.transport.pause_reading()

        def resume() -> None:
            if proto.transport is not None and not proto.transport.is_closing():
                proto.transport.resume_reading()

        pc = self.pc = PipeCall(layout, server=False, loop=loop, send=send, drain=drain,
                                pause=pause, resume=resume)
        pc.send_pos = len(prefix)
        self.record.add_done_callback(self._ended)
        send(bytes(prefix), not pc.outgoing)
        for name, source in sources.items():
            if source is not None:
                self._feeders.append(loop.create_task(self._feed(pc.pipes[name], source)))

    async def _feed(self, pipe: Pipe, source: Any) -> None:
        try:
            if isinstance(source, AsyncIterable):
                async for chunk in source:
                    if chunk:
                        await pipe.push(chunk)
            elif isinstance(source, (bytes, bytearray, memoryview)):
                if source:
                    await pipe.push(source)
            elif isinstance(source, Iterable):
                for chunk in source:
                    if chunk:
                        await pipe.push(chunk)
            else:
                raise TypeError(f"{pipe.name}: not an iterable of chunks: {source!r}")
            await pipe.close()
        except RpcError:
            pass  # the call ended: its outcome says why
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self.abandon(RpcError(f"{pipe.name}: feeding the pipe failed: {exc!r}",
                                      st.RPC_X_PIPE_DISCIPLINE_ERROR))
            raise

    # -- response octets ---------------------------------------------------------------
    def _response(self, ev: ResponseData) -> None:
        pc, proto = self.pc, self.proto
        assert pc is not None and proto is not None
        try:
            pc.feed(ev.stub, 0 if ev.first else None)
            if ev.last:
                pc.data_ended()
                if pc.error is not None:
                    raise pc.error
                result = self.layout.decode_plain_response(bytes(pc.tail), pc.tail_pos)
        except NdrError as exc:
            proto.abandon(self.record, exc)
            return
        if ev.last:
            proto.calls.pop(ev.call_id, None)
            self.record.set_result(result)
            proto._call_ended()

    def _ended(self, record: ClientCall) -> None:
        proto, pc = self.proto, self.pc
        if proto is not None:
            calls = getattr(proto, "_pipe_calls", {})
            calls.pop(self.call_id, None)
            streams = proto.conn._streaming
            if streams is not None and self.call_id is not None:
                sending = streams.sending
                streams.abort_request(self.call_id)
                if sending and not streams.sending and proto._on_idle is not None:
                    proto._on_idle(proto)
        if pc is not None and record.exception is not None:
            pc.fail(record.exception)
        elif pc is not None:
            for p in pc.incoming:  # no more data will come for unread pipes
                if not p._ended:
                    p._fail(PipeError(f"{p.name}: the call ended", st.RPC_X_PIPE_EMPTY))

    # -- the end -----------------------------------------------------------------------
    async def result(self) -> Any:
        """The return value and non-pipe [out] values (see the module docstring)."""
        pc = self.pc
        assert pc is not None, "the call was not started"
        if self._feeders:  # the pipes fed from iterables: let them finish
            await asyncio.gather(*self._feeders, return_exceptions=True)
        if not pc.outgoing_closed and not self.record.done():
            raise PipeError(f"{self.op.name}: close the [in] pipes before the result (F39)")
        for p in pc.incoming:
            with contextlib.suppress(RpcError):
                while not p.drained and not self.record.done():
                    await p.pull()
        if not self.record.done():
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.record.add_done_callback(lambda _c: done.done() or done.set_result(None))
            await done
        return self.record.outcome()

    def cancel(self, abortive: bool = False) -> None:
        """co_cancel the call; ``abortive`` also orphans it (see the module docstring)."""
        proto = self.proto
        if proto is None or self.record.done() or self.call_id is None:
            return
        if abortive:
            self.abandon(CallCancelled(f"{self.op.name}: cancelled"))
        elif proto.conn.cancel(self.call_id, now=proto.loop.time()):
            proto.flush()

    def abandon(self, exc: RpcError) -> None:
        proto = self.proto
        if proto is None:
            self.record.set_exception(exc)
            return
        proto.abandon(self.record, exc)

    def __await__(self) -> Any:
        return self.result().__await__()


class SyncStreamCall:
    """:class:`StreamCall` for threads (``dcerpc.connect(...).Op.stream(...)``)::

        with proxy.Echo.stream(2, None) as call:
            call.inp.push_sync(b"abc"); call.inp.close_sync()
            data = b"".join(call.outp)        # blocking iteration
            rv, total = call.result()

    The pipes are the same objects with their blocking methods (``push_sync``,
    ``close_sync``, ``pull_sync``, iteration); an iterable given for an ``[in]`` pipe is
    pushed by the loop. Not for use on the loop's own thread."""

    def __init__(self, proxy: AsyncProxy, op: t.Operation, args: tuple[Any, ...],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._call = StreamCall(proxy, op, args)

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> SyncStreamCall:
        self._run(self._call.start())
        return self

    def __exit__(self, et: Any, exc: Any, tb: Any) -> None:
        self._run(self._call.__aexit__(et, exc, tb))

    def __getattr__(self, name: str) -> Pipe:
        return getattr(self.__dict__["_call"], name)  # type: ignore[no-any-return]

    def result(self, timeout: float | None = None) -> Any:
        return self._run(self._call.result(), timeout)

    def cancel(self, abortive: bool = False) -> None:
        self._loop.call_soon_threadsafe(self._call.cancel, abortive)
