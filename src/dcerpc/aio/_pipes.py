"""Pipe ends and the per-call pipe machinery shared by client and server.

Theory of operation
-------------------
A call with pipe parameters (C706 §14.3.11, seed-semantics F36-F41) has, on each side,
*incoming* pipes (the server's [in] pipes, the client's [out] pipes) and *outgoing*
pipes (the other way round). A :class:`Pipe` is one parameter's end as the program sees
it: ``async for chunk in pipe`` / ``await pipe.pull()`` for incoming data,
``await pipe.push(chunk)`` / ``await pipe.close()`` for outgoing data, and blocking
twins (``pull_sync``, ``push_sync``, ``close_sync``, plain iteration) for threads other
than the loop's. An ``[in, out]`` pipe parameter is one object with both directions.

:class:`PipeCall` is the call-level part, owned by the driver, on the event loop:

* ``feed(octets)``: stub octets of incoming pipes arrive in wire order; a
  :class:`~dcerpc.ndr._pipestream.ChunkReader` per pipe cuts them into chunks, delivered
  to the pipes in order (the pipes are consecutive on the wire, F39). Whatever follows
  the last terminating chunk is the non-pipe tail (the client's [out] values).
* flow control: when more than ``high_water`` octets wait unread across the call's
  incoming pipes, ``pause()`` is called (the driver stops reading the transport); once
  the reader brings it below ``low_water``, ``resume()``. A slow reader therefore slows
  the writer over TCP instead of growing memory.
* outgoing chunks are encoded in wire order and handed to ``send(octets, last)``; a push
  then waits for ``drain()`` (the transport's write buffer below its high-water mark).
* ordering (F39): incoming pipes are drained left to right, and only then may outgoing
  pipes be filled, left to right. Anything else raises ``RPC_X_WRONG_PIPE_ORDER``
  (1831, :class:`PipeError`).
* ``fail(exc)`` ends every pipe with ``exc``: a pending or later pull/push raises it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .. import status as st
from ..errors import NdrError, RpcError
from ..ndr._pipestream import ChunkReader, ChunkWriter, PipeLayout, PipeParam, _element_info

__all__ = ["HIGH_WATER", "Pipe", "PipeCall", "PipeError"]

#: Unread incoming pipe octets per call above which reading the transport pauses.
HIGH_WATER = 1 << 20


class PipeError(RpcError):
    """A pipe used against the rules (order, direction, after its end)."""

    status = st.RPC_X_WRONG_PIPE_ORDER


class Pipe:
    """One pipe parameter's end (see the module docstring)."""

    def __init__(self, call: PipeCall, pp: PipeParam, incoming: bool, outgoing: bool
                 ) -> None:
        self._call = call
        self.name = pp.name
        self.param = pp
        self.incoming = incoming
        self.outgoing = outgoing
        self.esize, _align, self.is_bytes = _element_info(pp.pipe, pp.name)
        self._chunks: deque[Any] = deque()
        self._ended = False  # terminating chunk received
        self._drained = False  # ... and handed to the reader
        self._closed = False  # our terminating chunk sent
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        #: called (on the loop) whenever data, the end or an error arrives
        self.on_arrival: Callable[[], Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Pipe {self.name} in={self.incoming} out={self.outgoing}>"

    # -- incoming ------------------------------------------------------------------
    @property
    def drained(self) -> bool:
        return self._drained

    def pull_nowait(self) -> Any:
        """The next chunk, an empty chunk at the end, or None when nothing has arrived
        yet. Raises the call's error, or PipeError when out of order."""
        if not self.incoming:
            raise PipeError(f"{self.name} is not an incoming pipe")
        self._call._check_pull(self)
        if self._chunks:
            chunk = self._chunks.popleft()
            self._call._consumed(len(chunk) * self.esize)
            return chunk
        if self._error is not None:
            raise self._error
        if self._ended:
            self._drained = True
            return self._call.empty(self)
        if self._drained:
            raise PipeError(f"{self.name}: pulled after its end", st.RPC_X_PIPE_EMPTY)
        return None

    async def pull(self) -> Any:
        """The next chunk (a list of elements, or bytes for a byte pipe); an empty chunk
        marks the end."""
        while True:
            chunk = self.pull_nowait()
            if chunk is not None:
                return chunk
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> Pipe:
        return self

    async def __anext__(self) -> Any:
        if self._drained:
            raise StopAsyncIteration
        chunk = await self.pull()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def pull_sync(self, timeout: float | None = None) -> Any:
        """:meth:`pull` from a thread other than the loop's."""
        return self._call.run_sync(self.pull(), timeout)

    def __iter__(self) -> Any:
        while True:
            chunk = self.pull_sync()
            if not chunk:
                return
            yield chunk

    def _arrive(self, chunk: Any) -> None:  # loop
        if chunk:
            self._chunks.append(chunk)
        else:
            self._ended = True
        self._wake()

    def _fail(self, exc: BaseException) -> None:  # loop
        if self._error is None:
            self._error = exc
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)
        if self.on_arrival is not None:
            self.on_arrival()

    # -- outgoing ------------------------------------------------------------------
    async def push(self, chunk: Any) -> None:
        """Send one chunk (an empty one ends the pipe, like :meth:`close`); returns once
        the transport can take more, so a slow reader slows the pusher."""
        self.push_nowait(chunk)
        await self._call.drain()

    def push_nowait(self, chunk: Any) -> None:
        """Encode and queue one chunk without waiting for the transport (loop only)."""
        if not self.outgoing:
            raise PipeError(f"{self.name} is not an outgoing pipe")
        if self._error is not None:
            raise self._error
        if self._closed:
            raise PipeError(f"{self.name}: pushed after its end", st.RPC_X_PIPE_CLOSED)
        self._call._push(self, chunk)

    async def close(self) -> None:
        """End the pipe (the empty terminating chunk). Closing twice is a no-op."""
        if not self._closed:
            await self.push(self._call.empty(self))

    def push_sync(self, chunk: Any, timeout: float | None = None) -> None:
        self._call.run_sync(self.push(chunk), timeout)

    def close_sync(self, timeout: float | None = None) -> None:
        self._call.run_sync(self.close(), timeout)


class PipeCall:
    """The pipes of one call on one side (see the module docstring); loop-bound."""

    def __init__(self, layout: PipeLayout, *, server: bool, loop: asyncio.AbstractEventLoop,
                 send: Callable[[bytes, bool], bool], drain: Callable[[], Awaitable[None]],
                 pause: Callable[[], Any], resume: Callable[[], Any],
                 little_endian: bool = True, high_water: int = HIGH_WATER) -> None:
        self.layout = layout
        self.loop = loop
        self.server = server
        self._send, self._drain, self._pause, self._resume = send, drain, pause, resume
        self.le = little_endian
        self.high_water, self.low_water = high_water, high_water // 4
        self.pipes: dict[str, Pipe] = {}
        self.incoming: list[Pipe] = []
        self.outgoing: list[Pipe] = []
        for pp in layout.pipes:
            inc = pp.param.in_ if server else pp.param.out
            out = pp.param.out if server else pp.param.in_
            pipe = Pipe(self, pp, inc, out)
            self.pipes[pp.name] = pipe
            if inc:
                self.incoming.append(pipe)
            if out:
                self.outgoing.append(pipe)
        self._readers = [ChunkReader(p.param.pipe, little_endian, f"{layout.op.name}("
                                     f"{p.name})") for p in self.incoming]
        self._rindex = 0
        self._buffered = 0
        self._paused = False
        #: stub octets after the incoming pipes (the client's non-pipe [out] values)
        self.tail = bytearray()
        self.tail_pos = 0
        self._writer: ChunkWriter | None = None
        self._windex = 0
        self.send_pos = 0  # stub offset of the next outgoing octet
        self.error: BaseException | None = None

    # -- helpers for Pipe ---------------------------------------------------------------
    @staticmethod
    def empty(pipe: Pipe) -> Any:
        return b"" if pipe.is_bytes else []

    def run_sync(self, coro: Any, timeout: float | None) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coro.close()
            raise RuntimeError("a blocking pipe method was called on the event loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def incoming_drained(self) -> bool:
        return all(p.drained for p in self.incoming)

    @property
    def outgoing_closed(self) -> bool:
        return all(p._closed for p in self.outgoing)

    def _check_pull(self, pipe: Pipe) -> None:
        for p in self.incoming:
            if p is pipe:
                return
            if not p.drained:
                raise PipeError(f"{pipe.name} pulled before {p.name} was drained (F39)")

    def _consumed(self, octets: int) -> None:
        self._buffered -= octets
        if self._paused and self._buffered <= self.low_water:
            self._paused = False
            self._resume()

    # -- incoming octets (loop) --------------------------------------------------------
    @property
    def reading_done(self) -> bool:
        return self._rindex >= len(self._readers)

    def feed(self, data: bytes | bytearray | memoryview, pos: int | None = None) -> None:
        """Stub octets in wire order (``pos``: stub offset of the first octet, given the
        first time). Raises NdrError for malformed chunks."""
        if self.reading_done:
            self.tail += data
            return
        reader = self._readers[self._rindex]
        if pos is not None and not reader.buffered:
            reader.start_at(pos)
        reader.feed(data)
        while True:
            chunk = reader.next()
            if chunk is None:
                break
            pipe = self.incoming[self._rindex]
            self._buffered += len(chunk) * reader.esize
            pipe._arrive(chunk)
            if reader.done:
                self._rindex += 1
                rest = reader.tail
                if self.reading_done:
                    self.tail_pos = reader.pos
                    self.tail += rest
                    break
                reader2 = self._readers[self._rindex]
                reader2.start_at(reader.pos)
                reader2.feed(rest)
                reader = reader2
        if not self._paused and self._buffered > self.high_water:
            self._paused = True
            self._pause()

    def data_ended(self) -> None:
        """The peer sent its last octet: an incomplete pipe is a protocol error."""
        if not self.reading_done:
            self.fail(NdrError(f"{self.layout.op.name}: the stub ended inside a pipe"))

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        for p in self.pipes.values():
            p._fail(exc)
        if self._paused:
            self._paused = False
            self._resume()

    # -- outgoing (loop) -----------------------------------------------------------------
    def _push(self, pipe: Pipe, chunk: Any) -> None:
        if self.error is not None:
            raise self.error
        if self.server and not self.incoming_drained:
            raise PipeError(f"{pipe.name} pushed before the [in] pipes were drained (F39)")
        index = self.outgoing.index(pipe)
        if index != self._windex:
            raise PipeError(f"{pipe.name} pushed before "
                            f"{self.outgoing[self._windex].name} was closed (F39)")
        if self._writer is None:
            # We always send little-endian (the drep of our PDUs).
            self._writer = ChunkWriter(pipe.param.pipe, self.send_pos, True,
                                       f"{self.layout.op.name}({pipe.name})")
        data = self._writer.chunk(chunk)
        self.send_pos = self._writer.pos
        if self._writer.closed:
            pipe._closed = True
            self._writer = None
            self._windex += 1
        last = not self.server and self._windex >= len(self.outgoing)
        self._send(data, last)

    async def drain(self) -> None:
        if self.error is not None:
            raise self.error
        await self._drain()


def wake_drain(proto: Any) -> None:
    """The transport of ``proto`` can take more (or is gone): wake waiting pushes."""
    waiters = getattr(proto, "_drain_waiters", None)
    if waiters:
        proto._drain_waiters = []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


async def wait_writable(proto: Any, closed: Callable[[], bool]) -> None:
    """Return once ``proto``'s writer is below the transport's high-water mark."""
    writer = proto._writer
    while (writer.paused or writer.pending) and not closed():
        fut = proto.loop.create_future()
        if getattr(proto, "_drain_waiters", None) is None:
            proto._drain_waiters = []
        proto._drain_waiters.append(fut)
        await fut
