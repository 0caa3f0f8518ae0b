"""The unauthenticated little-endian call fast path (precompiled 24-octet headers, no PDU
objects, stubs as views) must be octet- and event-identical to the general codec path."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest
from conn_helpers import Pair, drain, elem

from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol._fragments import (
    append_request,
    append_response,
    iter_fragments,
    request_parts,
)
from dcerpc.protocol.connection import ConnectionConfig
from dcerpc.protocol.constants import PFC_FIRST_FRAG, PFC_LAST_FRAG
from dcerpc.protocol.events import RequestReceived, ResponseReceived
from dcerpc.protocol.pdu import Request, Response

_ONE = int(PFC_FIRST_FRAG) | int(PFC_LAST_FRAG)


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 1000])
@pytest.mark.parametrize("prefix", [b"", b"queued"])
def test_fast_framing_matches_the_pdu_codec(size: int, prefix: bytes) -> None:
    stub = os.urandom(size)
    frags = list(iter_fragments(stub, 48))
    want_req = prefix + b"".join(
        Request(call_id=7, pfc_flags=f, alloc_hint=h, p_cont_id=3, opnum=9,
                stub_data=c).encode() for f, h, c in frags)
    want_resp = prefix + b"".join(
        Response(call_id=7, pfc_flags=f, alloc_hint=h, p_cont_id=3, cancel_count=2,
                 stub_data=c).encode() for f, h, c in frags)
    assert bytes(append_request(bytearray(prefix), 7, 3, 9, stub, 48)) == want_req
    assert bytes(append_response(bytearray(prefix), 7, 3, 2, stub, 48)) == want_resp
    parts = request_parts(7, 3, 9, stub, 48) if size else []
    if size:
        assert prefix + b"".join(parts) == want_req


def _big_endian(data: bytes) -> bytes:
    """A client's output re-encoded with a big-endian drep: forces the general path."""
    out = []
    pos = 0
    while pos < len(data):
        n = int.from_bytes(data[pos + 8:pos + 10], "little")
        raw = data[pos:pos + n]
        body = Request(call_id=int.from_bytes(raw[12:16], "little"), pfc_flags=raw[3],
                       alloc_hint=int.from_bytes(raw[16:20], "little"),
                       p_cont_id=int.from_bytes(raw[20:22], "little"),
                       opnum=int.from_bytes(raw[22:24], "little"), stub_data=raw[24:],
                       packed_drep=b"\x00\x00\x00\x00")
        out.append(body.encode())
        pos += n
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 5, 5000, 20000])
def test_fast_and_general_paths_give_the_same_request_events(size: int) -> None:
    stub = os.urandom(size)
    fast, slow = Pair(ConnectionConfig(max_xmit_frag=1432)), Pair()
    for pair in (fast, slow):
        pair.bind(elem(0))
        pair.client.send_request(0, 4, stub)
    data = fast.client.data_to_send()
    fast.server.receive_data(data)
    slow.client.data_to_send()
    slow.server.receive_data(_big_endian(data))
    got_fast, got_slow = drain(fast.server), drain(slow.server)
    # Same events, except that the general path reports the big-endian drep it was fed.
    assert all(not e.little_endian for e in got_slow if isinstance(e, RequestReceived))
    assert got_fast == [dataclasses.replace(e, little_endian=True)
                        if isinstance(e, RequestReceived) else e for e in got_slow]
    (ev,) = got_fast
    assert isinstance(ev, RequestReceived) and type(ev.stub) is bytes and ev.stub == stub


@pytest.mark.parametrize("size", [0, 3, 9000, 70000])
def test_fragmented_reply_reassembles_through_the_fast_path(size: int) -> None:
    rng = random.Random(size)
    pair = Pair(ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432,
                                 max_stub_size=1 << 20), rng=rng, max_chunk=3000)
    pair.bind(elem(0))
    call_id = pair.client.send_request(0, 1, b"q")
    pair.to_server()
    stub = os.urandom(size)
    assert pair.server.send_response(call_id, stub)
    (ev,) = pair.to_client()
    assert ev == ResponseReceived(call_id, 0, stub)
    assert type(ev.stub) is bytes


def test_fast_path_enforces_the_stub_limit() -> None:
    pair = Pair(server_config=ConnectionConfig(max_stub_size=64))
    pair.bind(elem(0))
    pair.client.send_request(0, 1, bytes(100))
    pair.server.receive_data(pair.client.data_to_send())
    with pytest.raises(RemoteProtocolError, match="exceeds the limit"):
        drain(pair.server)


def test_large_request_goes_out_as_parts_in_order() -> None:
    pair = Pair(ConnectionConfig(max_xmit_frag=0xFFFF, max_recv_frag=0xFFFF,
                                 max_stub_size=1 << 22))
    pair.bind(elem(0))
    small = pair.client.send_request(0, 1, b"first")
    stub = os.urandom(300_000)
    big = pair.client.send_request(0, 2, stub)
    last = pair.client.send_request(0, 3, b"last")
    parts = pair.client.take_parts()
    assert len(parts) > 3 and pair.client.take_parts() == []
    pair.server.receive_data(b"".join(parts))
    evs = drain(pair.server)
    assert [(e.call_id, e.opnum, e.stub) for e in evs] == [
        (small, 1, b"first"), (big, 2, stub), (last, 3, b"last")]
    assert pair.client.data_to_send() == b""
