"""The server's batch path (aio/_batch.py): several requests in one received chunk.

Each test writes its requests as one ``write`` on a raw socket, so the server receives
them together; the usual ones are answered straight from the chunk, the rest (unknown
opnum, a manager that suspends or raises, a plain ``def`` manager, a cancel PDU, a full
server, a request cut short) by the general path. Every call must be answered exactly
once, the synchronous answers in request order.
"""

from __future__ import annotations

import asyncio
import contextvars
from pathlib import Path
from typing import Any

import pytest
from svc import run

import dcerpc
import dcerpc.aio
import dcerpc.idl
import dcerpc.ndr
from dcerpc import status as st
from dcerpc.aio import _server_proto
from dcerpc.protocol import PTYPE, ContextElement, PduReader, Request
from dcerpc.protocol.connection import ClientConnection
from dcerpc.protocol.constants import PFC_FIRST_FRAG, PFC_LAST_FRAG
from dcerpc.protocol.pdu import CoCancel, decode_pdu
from dcerpc.runtime import syntax_of

IDL = """
[uuid(7d3c6a1e-52b0-4f3e-9c41-0b8a2f6d5e19), version(1.0)]
interface BatchT
{
    long Add([in] long a, [in] long b);
    long Slow([in] long a);
    long Fail([in] long a);
    long Who([in] long a);
    long Plain([in] long a);
    long Mark([in] long a);
}
"""

_var: contextvars.ContextVar[int] = contextvars.ContextVar("batch_test_var", default=0)


class Impl:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[int] = []

    async def Add(self, a: int, b: int) -> int:
        return a + b

    async def Slow(self, a: int) -> int:
        await self.release.wait()
        return a * 10

    async def Fail(self, a: int) -> int:
        raise ValueError("no")

    async def Who(self, a: int) -> int:
        return dcerpc.current_call().call_id + a

    def Plain(self, a: int) -> int:
        return a + 1

    async def Mark(self, a: int) -> int:
        old = _var.get()  # a value set by an earlier manager must not leak here
        _var.set(a)
        return old


@pytest.fixture(scope="module")
def mod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = Path(tmp_path_factory.mktemp("batch")) / "batcht.idl"
    path.write_text(IDL)
    return dcerpc.idl.load(path)


def _request(mod: Any, call_id: int, opname: str, *args: int, opnum: int | None = None
             ) -> bytes:
    op = mod.BatchT.operation(opname)
    stub = dcerpc.ndr.operation_codec(op).encode_request(list(args))
    return Request(call_id=call_id, pfc_flags=PFC_FIRST_FRAG | PFC_LAST_FRAG,
                   alloc_hint=len(stub), p_cont_id=0,
                   opnum=op.opnum if opnum is None else opnum, stub_data=stub).encode()


def _value(mod: Any, opname: str, pdu: Any) -> int:
    codec = dcerpc.ndr.operation_codec(mod.BatchT.operation(opname))
    return codec.decode_response(pdu.stub_data)


class _Peer:
    """A raw client: bind, write octets, read PDUs."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.pdus = PduReader(65535)

    @classmethod
    async def open(cls, server: dcerpc.Server, mod: Any) -> _Peer:
        port = int(server.bindings[0].endpoint)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        core = ClientConnection()
        core.bind([ContextElement(p_cont_id=0, abstract_syntax=syntax_of(mod.BatchT))])
        writer.write(core.data_to_send())
        peer = cls(reader, writer)
        (ack,) = await peer.read(1)
        assert PTYPE.bind_ack == ack.PTYPE
        return peer

    async def read(self, n: int) -> list[Any]:
        out: list[Any] = []
        while len(out) < n:
            while (raw := self.pdus.next_pdu()) is not None:
                out.append(decode_pdu(raw))
            if len(out) >= n:
                break
            chunk = await asyncio.wait_for(self.reader.read(65536), 10)
            if not chunk:
                break
            self.pdus.receive_data(chunk)
        return out


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Offsets returned by every batch-path run: proves the batch path took calls."""
    taken: list[int] = []
    real = _server_proto.serve_chunk

    def spy(proto: Any, conn: Any, data: bytes) -> int:
        pos = real(proto, conn, data)
        taken.append(pos)
        return pos

    monkeypatch.setattr(_server_proto, "serve_chunk", spy)
    return taken


def _server(mod: Any, **kw: Any) -> tuple[dcerpc.Server, Impl]:
    server = dcerpc.Server(**kw)
    impl = Impl()
    server.register(mod.BatchT, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    return server, impl


async def _warm(peer: _Peer, mod: Any) -> None:
    # The general path sees each manager first (its async-ness is then remembered).
    for i, name in enumerate(("Add", "Slow", "Fail", "Who", "Mark"), 1000):
        args = (1, 2) if name == "Add" else (1,)
        if name == "Slow":
            continue
        peer.writer.write(_request(mod, i, name, *args))
        (pdu,) = await peer.read(1)
        assert pdu.call_id == i


def test_a_mixed_batch_answers_every_call_once_in_order(mod: Any, served: list[int]) -> None:
    async def main() -> list[Any]:
        server, impl = _server(mod)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            peer.writer.write(_request(mod, 1, "Slow", 0))  # general path: first sight
            await asyncio.sleep(0.05)
            served.clear()
            peer.writer.write(b"".join([
                _request(mod, 2, "Add", 40, 2),
                _request(mod, 3, "Slow", 3),  # suspends: finishes in a Task
                _request(mod, 4, "Who", 100),
                _request(mod, 5, "Add", 1, 2, opnum=9),  # unknown opnum: general path
                CoCancel(call_id=3).encode(),
                _request(mod, 6, "Fail", 0),
                _request(mod, 7, "Plain", 6),  # a plain def: the worker pool
                _request(mod, 8, "Add", 5, 5),
            ]))
            first = await peer.read(6)
            impl.release.set()
            rest = await peer.read(2)
            peer.writer.close()
            return first + rest

    pdus = run(main())
    assert served and served[0] > 0  # the batch path took the calls before opnum 9
    ids = [p.call_id for p in pdus]
    assert sorted(ids) == [1, 2, 3, 4, 5, 6, 7, 8]  # each answered exactly once
    by_id = {p.call_id: p for p in pdus}
    assert _value(mod, "Add", by_id[2]) == 42
    assert _value(mod, "Who", by_id[4]) == 104  # current_call() inside the manager
    assert PTYPE.fault == by_id[5].PTYPE and by_id[5].status == st.nca_s_op_rng_error
    assert PTYPE.fault == by_id[6].PTYPE
    assert _value(mod, "Plain", by_id[7]) == 7
    assert _value(mod, "Add", by_id[8]) == 10
    assert _value(mod, "Slow", by_id[3]) == 30 and by_id[3].cancel_count == 1
    assert _value(mod, "Slow", by_id[1]) == 0
    sync = [i for i in ids if i in (2, 4, 5, 6)]
    assert sync == [2, 4, 5, 6]  # answered in request order


def test_calls_after_a_suspended_one_stay_on_the_batch_path(mod: Any,
                                                             served: list[int]) -> None:
    async def main() -> tuple[list[Any], int]:
        server, impl = _server(mod)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            peer.writer.write(_request(mod, 1, "Slow", 0))
            await asyncio.sleep(0.05)
            served.clear()
            batch = [_request(mod, 2, "Slow", 2)]
            batch += [_request(mod, i, "Add", i, 1) for i in range(3, 10)]
            data = b"".join(batch)
            peer.writer.write(data)
            adds = await peer.read(7)
            during = server.active_calls  # the two Slow calls
            impl.release.set()
            slow = await peer.read(2)
            peer.writer.close()
            assert served[0] == len(data)  # the whole chunk by the batch path
            return adds + slow, during

    pdus, during = run(main())
    assert during == 2
    assert [p.call_id for p in pdus[:7]] == list(range(3, 10))
    assert [_value(mod, "Add", p) for p in pdus[:7]] == [i + 1 for i in range(3, 10)]
    assert sorted(p.call_id for p in pdus[7:]) == [1, 2]


def test_managers_do_not_see_each_others_context_variables(mod: Any,
                                                           served: list[int]) -> None:
    async def main() -> list[Any]:
        server, _ = _server(mod)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            peer.writer.write(b"".join(_request(mod, i, "Mark", i) for i in range(1, 6)))
            pdus = await peer.read(5)
            peer.writer.close()
            return pdus

    pdus = run(main())
    assert [_value(mod, "Mark", p) for p in pdus] == [0] * 5
    assert any(served)


def test_a_full_server_refuses_the_surplus_of_a_batch(mod: Any, served: list[int]) -> None:
    async def main() -> list[Any]:
        server, impl = _server(mod, max_calls=2)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            peer.writer.write(_request(mod, 1, "Slow", 0))
            await asyncio.sleep(0.05)
            peer.writer.write(b"".join([_request(mod, 2, "Slow", 1),
                                        _request(mod, 3, "Add", 1, 1),
                                        _request(mod, 4, "Slow", 1)]))
            refused = await peer.read(2)
            impl.release.set()
            done = await peer.read(2)
            peer.writer.close()
            return refused + done

    pdus = run(main())
    refused = {p.call_id: p for p in pdus[:2]}
    assert set(refused) == {3, 4}
    for p in refused.values():
        assert PTYPE.fault == p.PTYPE and p.status == st.nca_s_server_too_busy
    assert sorted(p.call_id for p in pdus[2:]) == [1, 2]


@pytest.mark.parametrize("cut", [1, 9, 23, 30])
def test_a_request_cut_by_the_chunk_end_waits_for_its_rest(mod: Any, served: list[int],
                                                          cut: int) -> None:
    async def main() -> list[Any]:
        server, _ = _server(mod)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            reqs = [_request(mod, i, "Add", i, i) for i in range(1, 5)]
            data = b"".join(reqs)
            split = len(reqs[0]) + len(reqs[1]) + cut
            peer.writer.write(data[:split])
            first = await peer.read(2)
            await asyncio.sleep(0.02)
            peer.writer.write(data[split:])
            rest = await peer.read(2)
            peer.writer.close()
            return first + rest

    pdus = run(main())
    assert [p.call_id for p in pdus] == [1, 2, 3, 4]
    assert [_value(mod, "Add", p) for p in pdus] == [2, 4, 6, 8]


def test_eof_inside_a_kept_request_is_a_truncated_stream(mod: Any, served: list[int]) -> None:
    async def main() -> tuple[list[Any], bool]:
        server, _ = _server(mod)
        async with server:
            peer = await _Peer.open(server, mod)
            await _warm(peer, mod)
            data = _request(mod, 1, "Add", 1, 1) + _request(mod, 2, "Add", 2, 2)[:30]
            peer.writer.write(data)
            peer.writer.write_eof()
            pdus = await peer.read(3)
            eof = peer.reader.at_eof() or not await asyncio.wait_for(
                peer.reader.read(65536), 10)
            peer.writer.close()
            return pdus, eof

    pdus, eof = run(main())
    assert pdus[0].call_id == 1 and _value(mod, "Add", pdus[0]) == 2
    assert all(p.call_id != 2 or PTYPE.response != p.PTYPE for p in pdus)
    assert eof  # the server closed the connection


def test_the_client_batch_path_hands_faults_to_the_general_path(
        mod: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many calls in flight on one proxy: replies and faults arrive mixed in the same
    chunks; each call gets its own outcome, once."""
    from dcerpc.aio import _client_proto

    taken: list[int] = []
    real = _client_proto.take_replies

    def spy(proto: Any, conn: Any, data: bytes) -> int:
        pos = real(proto, conn, data)
        taken.append(pos)
        return pos

    monkeypatch.setattr(_client_proto, "take_replies", spy)

    async def main() -> list[Any]:
        server, _ = _server(mod)
        async with server, dcerpc.aio.connect(server.bindings[0], mod.BatchT) as c:
            async def one(i: int) -> Any:
                try:
                    return await (c.Fail(i) if i % 5 == 4 else c.Add(i, 1))
                except dcerpc.RpcError as exc:
                    return type(exc)
            return list(await asyncio.gather(*(one(i) for i in range(300))))

    out = run(main())
    assert any(taken)  # replies were taken by the batch path
    for i, got in enumerate(out):
        if i % 5 == 4:
            assert isinstance(got, type) and issubclass(got, dcerpc.RpcError)
        else:
            assert got == i + 1
