"""Large stubs leave without being copied: immutable stubs (bytes, read-only views) are
fragmented as header + views; mutable ones are copied first, so that a caller changing
its buffer afterwards cannot change what is sent. Either way the octets are the same."""

from __future__ import annotations

import os

import pytest
from conn_helpers import Pair, drain, elem

from dcerpc.protocol._fragments import append_response, response_parts
from dcerpc.protocol.connection import ConnectionConfig
from dcerpc.protocol.events import RequestReceived, ResponseReceived

_CFG = ConnectionConfig(max_xmit_frag=0xFFFF, max_recv_frag=0xFFFF, max_stub_size=1 << 22)


@pytest.mark.parametrize("size", [1, 48, 49, 4096, 70_000])
def test_response_parts_match_append_response(size: int) -> None:
    stub = os.urandom(size)
    for payload in (48, 4096):
        want = bytes(append_response(bytearray(), 7, 3, 2, stub, payload))
        assert b"".join(response_parts(7, 3, 2, stub, payload)) == want


@pytest.mark.parametrize("kind", ["bytes", "readonly", "bytearray", "writable"])
def test_large_request_stub_kinds_send_the_same_octets(kind: str) -> None:
    stub = os.urandom(200_000)
    buf = bytearray(stub)
    arg = {"bytes": stub, "readonly": memoryview(buf).toreadonly(), "bytearray": buf,
           "writable": memoryview(buf)}[kind]
    pair = Pair(_CFG, _CFG)
    pair.bind(elem(0))
    call_id = pair.client.send_request(0, 5, arg)
    parts = pair.client.take_parts()
    if kind in ("bytearray", "writable"):
        buf[:4] = b"XXXX"  # a mutable stub was copied at send time: no effect
    pair.server.receive_data(b"".join(parts))
    (ev,) = drain(pair.server)
    assert isinstance(ev, RequestReceived) and ev.call_id == call_id and ev.stub == stub


@pytest.mark.parametrize("kind", ["bytes", "readonly", "bytearray"])
@pytest.mark.parametrize("size", [10, 200_000])
def test_response_stub_kinds_send_the_same_octets(kind: str, size: int) -> None:
    stub = os.urandom(size)
    arg = {"bytes": stub, "readonly": memoryview(bytearray(stub)).toreadonly(),
           "bytearray": bytearray(stub)}[kind]
    pair = Pair(_CFG, _CFG)
    pair.bind(elem(0))
    call_id = pair.client.send_request(0, 1, b"q")
    pair.to_server()
    assert pair.server.send_response(call_id, arg)
    if kind == "bytearray":
        arg[:4] = b"XXXX"  # type: ignore[index]  # copied when queued: no effect
    pair.client.receive_data(b"".join(pair.server.take_parts()))
    (ev,) = drain(pair.client)
    assert ev == ResponseReceived(call_id, 0, stub)
