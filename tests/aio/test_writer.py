"""The connection writer honours the transport's flow control: parts wait (uncopied)
while the transport is paused and go out in order on resume; ``drain_all`` hands over
everything before a close; small consecutive parts leave joined, in fewer writes."""

from __future__ import annotations

from typing import Any

from dcerpc.aio._writer import _RUN, Writer


class _Transport:
    """Records writes; pauses its protocol (the writer) once ``limit`` octets are held."""

    def __init__(self, writer: Writer, limit: int) -> None:
        self.writer, self.limit = writer, limit
        self.held: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.held.append(bytes(data))
        if sum(map(len, self.held)) >= self.limit:
            self.writer.paused = True  # what pause_writing does

    def is_closing(self) -> bool:
        return self.closing


def test_parts_wait_while_paused_and_keep_their_order() -> None:
    w = Writer()
    t = _Transport(w, limit=5 * _RUN // 2)
    parts = [bytes([i]) * _RUN for i in range(6)]  # too large to be joined
    w.write(t, parts)  # type: ignore[arg-type]
    assert t.held == parts[:3] and w.pending
    w.write(t, [b"late"])  # type: ignore[arg-type]
    assert t.held == parts[:3]
    sent = list(t.held)
    t.held.clear()
    w.resume(t)  # type: ignore[arg-type]
    assert sent + t.held == parts and w.paused and w.pending  # filled up again
    t.limit = 1 << 30
    w.resume(t)  # type: ignore[arg-type]
    assert sent + t.held == [*parts, b"late"] and not w.pending and not w.paused


def test_small_parts_are_joined_into_fewer_writes_in_order() -> None:
    w = Writer()
    t = _Transport(w, limit=1 << 30)
    header, body = b"h" * 24, memoryview(b"x" * 65000)
    parts = [header, body] * 8  # fragments of a large stub: header, view, ...
    w.write(t, parts)  # type: ignore[arg-type]
    assert b"".join(t.held) == b"".join(bytes(p) for p in parts)
    assert len(t.held) < len(parts) // 2 and not w.pending
    t.held.clear()
    w.write(t, [b"lone"])  # type: ignore[arg-type]
    assert t.held == [b"lone"]


def test_drain_all_ignores_pause_and_resume_after_close_drops() -> None:
    w = Writer()
    t = _Transport(w, limit=1)
    a, b, c = (x * _RUN for x in (b"a", b"b", b"c"))  # too large to be joined
    w.write(t, [a, b, c])  # type: ignore[arg-type]
    assert t.held == [a]
    w.drain_all(t)  # type: ignore[arg-type]
    assert t.held == [a, b, c] and not w.pending
    w.write(t, [b"d"])  # type: ignore[arg-type]
    t.closing = True
    w.resume(t)  # type: ignore[arg-type]
    assert not w.pending and t.held == [a, b, c]


def test_client_protocol_takes_a_transport_that_does_not_subclass_asyncio() -> None:
    # uvloop's transports implement asyncio.Transport without inheriting from it.
    import asyncio

    from dcerpc.aio._client_proto import ClientProtocol
    from dcerpc.protocol.connection import ConnectionConfig
    from dcerpc.protocol.constants import SyntaxId

    class Duck:
        def __init__(self) -> None:
            self.out: list[bytes] = []

        def write(self, data: Any) -> None:
            self.out.append(bytes(data))

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

    async def run() -> list[bytes]:
        proto = ClientProtocol(ConnectionConfig())
        duck = Duck()
        proto.connection_made(duck)  # type: ignore[arg-type]
        proto.bind(SyntaxId.make("9f3c2a51-7d4e-4b8a-a1c2-5e6f7a8b9c0d", 1, 0), 0)
        proto.close()
        return duck.out

    out = asyncio.run(run())
    assert out and out[0][:3] == b"\x05\x00\x0b"  # rpc_vers 5, bind
