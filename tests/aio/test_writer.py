"""The connection writer honours the transport's flow control: parts wait (uncopied)
while the transport is paused and go out in order on resume; ``drain_all`` hands over
everything before a close; small consecutive parts leave joined, in fewer writes."""

from __future__ import annotations

from typing import Any

import pytest

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


class _SocketTransport(_Transport):
    """A transport over one end of a real socket pair: ``os.writev`` reaches the peer
    directly (gathered writes), ``write`` is recorded and sent in order by ``pump``."""

    def __init__(self, writer: Writer, sock: Any) -> None:
        super().__init__(writer, limit=1 << 16)
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.held))


def _drain(peer: Any, into: bytearray) -> None:
    peer.setblocking(False)
    try:
        while chunk := peer.recv(1 << 20):
            into += chunk
    except BlockingIOError:
        pass


def test_fragments_go_out_gathered_and_in_order_when_the_socket_fills() -> None:
    import socket
    import threading

    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        w = Writer()
        t = _SocketTransport(w, a)
        stub = bytes(range(256)) * 4096  # 1 MiB, far more than the socket takes at once
        parts: list[Any] = []
        for off in range(0, len(stub), 65504):
            parts += [off.to_bytes(24, "little"), memoryview(stub)[off:off + 65504]]
        expected = b"".join(bytes(p) for p in parts)
        w.write(t, parts)
        got = bytearray()
        _drain(b, got)
        # The socket took a first share directly; the rest waits, in order, partly in the
        # transport (which paused the writer) and partly in the writer's backlog.
        assert 0 < len(got) < len(expected) and w.paused and w.pending
        b.setblocking(True)
        b.settimeout(10)

        def read() -> None:
            while len(got) < len(expected):
                chunk = b.recv(1 << 20)
                if not chunk:
                    return
                got.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        for _ in range(10_000):
            if not t.held and not w.pending:
                break
            held = b"".join(t.held)
            t.held.clear()
            a.setblocking(True)
            a.sendall(held)  # what the transport sends once the socket is writable
            a.setblocking(False)
            w.resume(t)  # type: ignore[arg-type]
        if t.held:
            a.setblocking(True)
            a.sendall(b"".join(t.held))
        reader.join(10)
        assert bytes(got) == expected and not w.pending
    finally:
        a.close()
        b.close()


def test_no_gathered_write_while_the_transport_holds_data_or_without_a_socket() -> None:
    import socket

    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        w = Writer()
        t = _SocketTransport(w, a)
        t.held.append(b"earlier")  # the transport still holds octets: keep the order
        parts = [b"h" * 24, memoryview(b"x" * 65000)]
        w.write(t, parts)  # type: ignore[arg-type]
        assert b"".join(t.held) == b"earlier" + b"h" * 24 + b"x" * 65000
        b.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing reached the socket directly
            b.recv(10)
        # A transport without a socket (TLS, pipes, tests) always takes the usual path.
        w2 = Writer()
        t2 = _Transport(w2, limit=1 << 30)
        w2.write(t2, parts)  # type: ignore[arg-type]
        assert b"".join(t2.held) == b"h" * 24 + b"x" * 65000
    finally:
        a.close()
        b.close()
