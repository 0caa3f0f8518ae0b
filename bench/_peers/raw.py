"""The floor: a raw asyncio length-prefixed echo with no RPC layer at all.

Frame (little-endian): ``length:u32`` then ``length`` bytes of payload, payload =
``id:u32 kind:u8 body``. kind 0 (small): body = ``a:u32`` + UTF-8 ``s``, reply body
``a + len(s)`` as i32; kind 1 (bulk): body = the bytes, reply body their count as u32.
A reply is ``length:u32 id:u32 value``.

This is the fastest straightforward stdlib-asyncio code for the job, so it is the floor:

* server: a ``BufferedProtocol`` receiving straight into one reusable buffer (grown to fit
  a frame, never shrunk), answering everything parsed in one write; the bulk payload is
  handed over as a view, not copied;
* client: an ``asyncio.Protocol`` that pipelines (many ids in flight on one connection)
  and coalesces the frames issued in one loop iteration into one write; bulk data goes
  out in 1 MiB views under the transport's flow control.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from .common import Budget, Phases, Tally, arun, bulk_async, flight_async, seq_async

_HDR = struct.Struct("<IIB")  # length, id, kind
_REQ_SMALL = struct.Struct("<IIBI")  # length, id, kind, a
_REPLY = struct.Struct("<IIi")  # length, id, value
_LEN = struct.Struct("<I")
_ID_VALUE = struct.Struct("<Ii")
_ID_KIND = struct.Struct("<IB")
_CHUNK = 1 << 20


class _Framer:
    """Cuts a byte stream into length-prefixed payloads (one bytearray, consumed in place)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[memoryview]:
        buf = self.buf
        buf += data
        out = []
        pos, end = 0, len(buf)
        while end - pos >= 4:
            (n,) = _LEN.unpack_from(buf, pos)
            if end - pos - 4 < n:
                break
            out.append(memoryview(buf[pos + 4:pos + 4 + n]))  # one copy
            pos += 4 + n
        if pos:
            del buf[:pos]
        return out


class _ServerProtocol(asyncio.BufferedProtocol):
    """Reads straight into one buffer (``recv_into``), grown to fit a large frame and kept
    for the next one, so a 16 MiB frame is received without intermediate chunks or a
    fresh allocation (page faults on a new 16 MiB buffer cost as much as the transfer)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buf = bytearray(1 << 16)
        self.filled = 0

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.buf) - self.filled < 4096:
            self._grow(2 * len(self.buf))
        return memoryview(self.buf)[self.filled:]

    def _grow(self, size: int) -> None:
        # a new bytearray, not a resize: asyncio may still hold a view of the old one
        new = bytearray(size)
        new[:self.filled] = self.buf[:self.filled]
        self.buf = new

    def buffer_updated(self, nbytes: int) -> None:
        buf = self.buf
        end = self.filled + nbytes
        pos = 0
        replies = []
        while end - pos >= 4:
            (n,) = _LEN.unpack_from(buf, pos)
            if end - pos - 4 < n:
                break
            rid, kind = _ID_KIND.unpack_from(buf, pos + 4)
            if kind == 0:
                (a,) = _LEN.unpack_from(buf, pos + 9)
                value = a + len(buf[pos + 13:pos + 4 + n].decode("utf-8"))
            else:
                with memoryview(buf)[pos + 9:pos + 4 + n] as data:
                    value = len(data)  # handed over in place: the floor copies nothing
            replies.append(_REPLY.pack(8, rid, value))
            pos += 4 + n
        if replies:
            self.transport.write(b"".join(replies))  # one write for everything parsed
        rest = end - pos
        if pos:
            buf[:rest] = buf[pos:end]  # same-size slice assignment: no resize
        self.filled = rest
        if rest >= 4:
            (n,) = _LEN.unpack_from(buf, 0)
            if n + 4 > len(buf):
                self._grow(n + 4 + (1 << 16))


async def serve() -> str:
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(_ServerProtocol, "127.0.0.1", 0)
    return str(srv.sockets[0].getsockname()[1])


class _ClientProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.framer = _Framer()
        self.pending: dict[int, asyncio.Future[int]] = {}
        self.next_id = 0
        self.outbox: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.drained: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.drained = None

    def data_received(self, data: bytes) -> None:
        for p in self.framer.feed(data):
            rid, value = _ID_VALUE.unpack_from(p)
            fut = self.pending.pop(rid)
            if not fut.done():
                fut.set_result(value)

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("raw echo connection lost"))

    def _call(self, frame: bytes, rid: int) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.pending[rid] = fut
        # Pipelining: frames issued in the same loop iteration leave in one write
        # (one send syscall), as a pipelined client does; a lone call is written at the
        # end of the iteration it was issued in, so sequential latency does not wait.
        if not self.outbox:
            loop.call_soon(self._flush)
        self.outbox.append(frame)
        return fut

    def _flush(self) -> None:
        out, self.outbox = self.outbox, []
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def small(self, a: int, s: str) -> asyncio.Future[int]:
        rid = self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        body = s.encode("utf-8")
        return self._call(_REQ_SMALL.pack(9 + len(body), rid, 0, a) + body, rid)

    async def bulk(self, data: bytes) -> int:
        """Send ``data`` in 1 MiB views, waiting whenever the transport pauses us: no copy
        of the payload is made (one big write would be copied into asyncio's buffer and
        shifted down after every partial send)."""
        rid = self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        if self.outbox:
            self._flush()  # keep frames in order
        self.transport.write(_HDR.pack(5 + len(data), rid, 1))
        with memoryview(data) as view:
            for off in range(0, len(view), _CHUNK):
                self.transport.write(view[off:off + _CHUNK])
                if self.drained is not None:
                    await self.drained
        return await fut


async def _run(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(_ClientProtocol, "127.0.0.1", int(addr))
    try:
        ph = Phases()
        await ph.arun("seq", lambda: seq_async(proto.small, b, tally))
        for n in flights:
            await ph.arun("flight", lambda n=n: flight_async(proto.small, n, b, tally), n)
        await ph.arun("bulk", lambda: bulk_async(proto.bulk, b, tally))
        return ph.res
    finally:
        transport.close()


def run(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    return arun(_run(addr, b, flights, tally))
