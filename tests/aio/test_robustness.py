"""Hostile peers on a raw socket: garbage, truncated PDUs, requests before bind, a flood
of fragments. The offender's connection is closed (after a fault where the spec wants
one) and the server keeps serving the next client."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from svc import make_server, run, svc

import dcerpc
import dcerpc.aio
from dcerpc import status as st
from dcerpc.protocol import PTYPE, ConnectionConfig, ContextElement, PduReader, Request
from dcerpc.protocol.connection import ClientConnection
from dcerpc.protocol.constants import PFC_FIRST_FRAG, PFC_LAST_FRAG
from dcerpc.protocol.pdu import decode_pdu
from dcerpc.runtime import syntax_of


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    out = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 10):
            out += chunk
    except ConnectionError:
        pass
    return out


async def _still_serving(server: dcerpc.Server) -> None:
    async with dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
        assert await c.Add(2, 3) == 5


def _pdus(data: bytes) -> list[object]:
    reader = PduReader(65535)
    reader.receive_data(data)
    out = []
    while (raw := reader.next_pdu()) is not None:
        out.append(decode_pdu(raw))
    return out


@pytest.mark.parametrize("payload", [
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4, id="http"),
    pytest.param(bytes(range(256)) * 8, id="binary"),
    pytest.param(b"\x05\x00\x0b\x03\x10\x00\x00\x00\xff\xff\x00\x00", id="truncated-bind"),
])
def test_garbage_closes_the_connection_and_the_server_goes_on(payload: bytes) -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = int(server.bindings[0].endpoint)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            await _read_all(reader)  # EOF (maybe after a bind_nak/fault): the server hung up
            assert reader.at_eof()
            writer.close()
            await _still_serving(server)

    run(main())


def test_request_before_bind_gets_a_protocol_fault() -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = int(server.bindings[0].endpoint)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(Request(call_id=7, pfc_flags=PFC_FIRST_FRAG | PFC_LAST_FRAG,
                                 p_cont_id=0, opnum=0, stub_data=b"\0" * 8).encode())
            await writer.drain()
            answer = await _read_all(reader)
            (fault,) = _pdus(answer)
            assert PTYPE.fault == fault.PTYPE and fault.status == st.nca_s_proto_error
            assert fault.call_id == 7
            writer.close()
            await _still_serving(server)

    run(main())


def test_a_flood_of_fragments_is_cut_off_with_bounded_memory() -> None:
    limit = 256 * 1024
    cfg = ConnectionConfig(max_stub_size=limit)

    async def main() -> tuple[int, int, bytes]:
        server, _ = make_server(config=cfg)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = int(server.bindings[0].endpoint)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            core = ClientConnection()
            core.bind([ContextElement(p_cont_id=0, abstract_syntax=syntax_of(svc.TestSvc))])
            writer.write(core.data_to_send())
            await asyncio.wait_for(reader.read(65536), 10)  # bind_ack
            chunk = b"\xaa" * 1000
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            sent = 0
            try:
                for i in range(10_000):  # ~10 MB in 10,000 fragments of one request
                    flags = PFC_FIRST_FRAG if i == 0 else 0
                    writer.write(Request(call_id=1, pfc_flags=flags, alloc_hint=0,
                                         p_cont_id=0, opnum=0, stub_data=chunk).encode())
                    await writer.drain()
                    sent += 1
            except ConnectionError:
                pass
            answer = await _read_all(reader)
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            writer.close()
            await _still_serving(server)
            return sent, peak, answer

    sent, peak, answer = run(main())
    assert sent < 10_000 or answer  # cut off: the server stopped reading or faulted
    faults = [p for p in _pdus(answer) if PTYPE.fault == p.PTYPE]
    assert faults, "the server answers the oversized call with a fault before closing"
    assert peak < 4 * limit  # nowhere near the 10 MB the client tried to push


def test_big_endian_request_is_decoded_in_the_senders_byte_order() -> None:
    """C706 §14.1: the stub is in the sender's drep; Windows only sends little-endian, but
    other DCE peers may not."""
    op = svc.TestSvc.operation("Add")
    codec = dcerpc.ndr.operation_codec(op)

    async def main() -> object:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = int(server.bindings[0].endpoint)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            core = ClientConnection()
            core.bind([ContextElement(p_cont_id=0, abstract_syntax=syntax_of(svc.TestSvc))])
            writer.write(core.data_to_send())
            await asyncio.wait_for(reader.read(65536), 10)  # bind_ack
            stub = codec.encode_request([40, 2], little_endian=False)
            writer.write(Request(packed_drep=b"\x00\x00\x00\x00", call_id=7,
                                 pfc_flags=PFC_FIRST_FRAG | PFC_LAST_FRAG,
                                 alloc_hint=len(stub), p_cont_id=0, opnum=op.opnum,
                                 stub_data=stub).encode())
            data = await asyncio.wait_for(reader.read(65536), 10)
            writer.close()
            (resp,) = _pdus(data)
            assert PTYPE.response == resp.PTYPE and resp.call_id == 7
            le = bool(resp.packed_drep[0] & 0x10)
            return codec.decode_response(resp.stub_data, little_endian=le)

    assert run(main()) == 42
