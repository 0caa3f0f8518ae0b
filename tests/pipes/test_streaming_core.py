"""The sans-IO streaming of request and response fragments (protocol/_streaming.py),
on a client and a server core joined in memory."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from dcerpc import status as st
from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol._fragments import REQUEST_HEADER, RESPONSE_HEADER
from dcerpc.protocol._streaming import (
    ClientStreams,
    RequestData,
    RequestStarted,
    ResponseData,
    ServerStreams,
)
from dcerpc.protocol.connection import ConnectionConfig
from dcerpc.protocol.constants import PFC_FIRST_FRAG, PFC_LAST_FRAG
from dcerpc.protocol.events import CallOrphaned, FaultReceived, RequestReceived

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))
from conn_helpers import Pair

FIRST, LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)
SMALL = ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432)


def _pair(stream_opnums: set[int], rng: random.Random | None = None) -> Pair:
    pair = Pair(SMALL, SMALL, rng=rng, max_chunk=700)
    pair.bind()
    ServerStreams(pair.server, lambda iface, opnum: opnum in stream_opnums)
    ClientStreams(pair.client)
    return pair


def _frames(data: bytes, header: object) -> list[tuple[int, int, int]]:
    """(pfc_flags, alloc_hint, stub length) of each PDU in ``data``."""
    out, pos = [], 0
    while pos < len(data):
        f = header.unpack_from(data, pos)  # type: ignore[attr-defined]
        out.append((f[3], f[8], f[5] - 24))
        pos += f[5]
    return out


def test_request_streams_fragment_by_fragment_with_first_and_last() -> None:
    pair = _pair({7})
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    assert cs.sending
    cs.send_request_part(call_id, b"a" * 3000)
    wire = pair.client.data_to_send()
    frames = _frames(wire, REQUEST_HEADER)
    assert frames[0][0] & FIRST and not any(f & LAST for f, _h, _n in frames)
    assert all(h == 0 for _f, h, _n in frames)  # alloc_hint unknown: 0
    pair.server.receive_data(wire)
    events = []
    while (ev := pair.server.next_event()).__class__.__name__ != "NeedData":
        events.append(ev)
    assert isinstance(events[0], RequestStarted) and events[0].opnum == 7
    assert all(isinstance(e, RequestData) and not e.last for e in events[1:])
    assert sum(len(e.stub) for e in events) == 3000
    cs.send_request_part(call_id, b"b" * 10, last=True)
    assert not cs.sending
    events = pair.to_server()
    assert len(events) == 1 and events[0].last and events[0].stub == b"b" * 10
    # the reply, streamed too
    ss: ServerStreams = pair.server._streaming
    assert ss.send_response_part(call_id, b"r" * 2000)
    assert ss.send_response_part(call_id, b"s" * 5, last=True)
    wire = pair.server.data_to_send()
    frames = _frames(wire, RESPONSE_HEADER)
    assert frames[0][0] & FIRST and frames[-1][0] & LAST
    pair.client.receive_data(wire)
    got = []
    while (ev := pair.client.next_event()).__class__.__name__ != "NeedData":
        got.append(ev)
    assert all(isinstance(e, ResponseData) for e in got)
    assert got[0].first and got[-1].last and b"".join(e.stub for e in got) == \
        b"r" * 2000 + b"s" * 5
    assert pair.client.calls_in_progress == 0 and pair.server.calls_in_progress == 0


def test_non_streaming_calls_keep_the_reassembled_path() -> None:
    pair = _pair({7})
    pair.client.send_request(0, 3, b"x" * 5000)
    events = pair.to_server()
    assert len(events) == 1 and isinstance(events[0], RequestReceived)
    assert events[0].stub == b"x" * 5000


def test_chopped_stream_arrives_whole() -> None:
    pair = _pair({7}, random.Random(4))
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    data = bytes(range(256)) * 40
    for k in range(0, len(data), 999):
        cs.send_request_part(call_id, data[k:k + 999], last=k + 999 >= len(data))
    events = pair.to_server()
    assert b"".join(e.stub for e in events) == data and events[-1].last


def test_another_request_may_not_start_inside_a_streamed_one() -> None:
    pair = _pair({7})
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    cs.send_request_part(call_id, b"a" * 10)
    pair.to_server()
    # a second request (a misbehaving peer) while the first is incomplete
    bad = REQUEST_HEADER.pack(5, 0, 0, FIRST | LAST, b"\x10\0\0\0", 28, 0, 99, 4, 0, 3)
    with pytest.raises(RemoteProtocolError):
        pair.server.receive_data(bad + b"\0\0\0\0")
        while pair.server.next_event().__class__.__name__ != "NeedData":
            pass


def test_orphaned_stream_drops_its_fragments_and_frees_the_connection() -> None:
    pair = _pair({7})
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    cs.send_request_part(call_id, b"a" * 10)
    pair.to_server()
    assert pair.client.orphan(call_id)
    cs.abort_request(call_id)
    assert any(isinstance(e, CallOrphaned) for e in pair.to_server())
    # late fragments of the orphaned call are dropped; the next call goes through
    late = REQUEST_HEADER.pack(5, 0, 0, 0, b"\x10\0\0\0", 28, 0, call_id, 0, 0, 7)
    pair.server.receive_data(late + b"zzzz")
    pair.client.send_request(0, 3, b"next")
    events = pair.to_server()
    assert [type(e) for e in events] == [RequestReceived]


def test_fault_mid_request_ends_the_client_call_and_stops_the_request() -> None:
    pair = _pair({7})
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    cs.send_request_part(call_id, b"a" * 10)
    pair.to_server()
    assert pair.server.send_fault(call_id, 0x1234)
    events = pair.to_client()
    assert isinstance(events[0], FaultReceived) and events[0].status == 0x1234
    assert cs.send_request_part(call_id, b"more") is False  # nothing more goes out
    assert pair.client.data_to_send() == b""


def test_too_many_calls_faults_the_stream_without_executing() -> None:
    cfg = ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432, max_concurrent_calls=1)
    pair = Pair(SMALL, cfg)
    pair.bind()
    ServerStreams(pair.server, lambda iface, opnum: True)
    ClientStreams(pair.client)
    pair.client.send_request(0, 3, b"x")  # in progress on the server
    pair.to_server()
    cs: ClientStreams = pair.client._streaming
    call_id = cs.begin_request(0, 7)
    cs.send_request_part(call_id, b"y", last=True)
    assert pair.to_server() == []
    ev = pair.to_client()
    assert isinstance(ev[0], FaultReceived) and ev[0].status == st.nca_s_server_too_busy
