"""A driver that decodes every stub before asking for the next event may let the
connection reassemble large stubs into one reused buffer (``conn.stub_buffer``): the
stub is then a read-only view of it, with the same octets; small, single-fragment and
authenticated stubs, and connections that did not opt in, keep getting ``bytes``. The
limits are checked as before."""

from __future__ import annotations

import os

import pytest
from conn_helpers import Pair, drain, elem

from dcerpc.protocol._fragments import (
    FragmentLimitError,
    ReassemblyBuffer,
    StubAssembler,
    request_parts,
)
from dcerpc.protocol.connection import ConnectionConfig
from dcerpc.protocol.events import RequestReceived, ResponseReceived

_CFG = ConnectionConfig(max_xmit_frag=0xFFFF, max_recv_frag=0xFFFF, max_stub_size=1 << 23)
_BIG = 3 << 20  # above the reuse threshold (1 MiB), many 64 KiB fragments


def _pair(opt_in: bool) -> Pair:
    pair = Pair(_CFG, _CFG)
    pair.bind(elem(0))
    if opt_in:
        pair.server.stub_buffer = ReassemblyBuffer()
        pair.client.stub_buffer = ReassemblyBuffer()
    return pair


def _request(pair: Pair, stub: bytes) -> RequestReceived:
    call_id = pair.client.send_request(0, 5, stub)
    pair.server.receive_data(b"".join(pair.client.take_parts()))
    (ev,) = drain(pair.server)
    assert isinstance(ev, RequestReceived) and ev.call_id == call_id
    return ev


def test_large_request_is_a_readonly_view_of_the_reused_buffer() -> None:
    pair = _pair(True)
    first, second = os.urandom(_BIG), os.urandom(_BIG - 12345)
    ev = _request(pair, first)
    assert isinstance(ev.stub, memoryview) and ev.stub.readonly
    assert ev.stub == first
    owner = ev.stub.obj
    ev2 = _request(pair, second)  # smaller: same buffer, overwritten
    assert ev2.stub == second and ev2.stub.obj is owner
    ev3 = _request(pair, first + b"x" * 4096)  # larger: a new buffer, the old view intact
    assert ev3.stub == first + b"x" * 4096 and ev3.stub.obj is not owner
    assert ev2.stub == second


@pytest.mark.parametrize("opt_in,size", [(False, _BIG), (True, 100_000), (True, 60_000)])
def test_bytes_without_opt_in_or_below_the_threshold(opt_in: bool, size: int) -> None:
    pair = _pair(opt_in)
    stub = os.urandom(size)
    ev = _request(pair, stub)
    assert type(ev.stub) is bytes and ev.stub == stub


def test_large_response_uses_the_client_buffer() -> None:
    pair = _pair(True)
    stub = os.urandom(_BIG)
    call_id = pair.client.send_request(0, 1, b"q")
    pair.to_server()
    assert pair.server.send_response(call_id, stub)
    pair.client.receive_data(b"".join(pair.server.take_parts()))
    (ev,) = drain(pair.client)
    assert isinstance(ev, ResponseReceived) and isinstance(ev.stub, memoryview)
    assert ev.stub == stub


def test_buffer_is_dropped_with_the_connection() -> None:
    pair = _pair(True)
    _request(pair, os.urandom(_BIG))
    pair.server.close()
    assert pair.server.stub_buffer is None


def test_limits_still_apply_before_anything_is_kept() -> None:
    asm = StubAssembler(1 << 20, 4, alloc_hint=0)
    for _ in range(4):
        asm.append(b"\0" * 1000)
    with pytest.raises(FragmentLimitError):
        asm.append(b"\0")
    with pytest.raises(FragmentLimitError):
        StubAssembler(1 << 20, 4, alloc_hint=(1 << 20) + 1)
    small = StubAssembler(1 << 21, 100)
    small.append(b"\0" * (1 << 20))
    with pytest.raises(FragmentLimitError):
        small.append(b"\0" * ((1 << 20) + 1))


def test_fill_copies_every_part_in_order() -> None:
    data = os.urandom(_BIG)
    parts = request_parts(1, 0, 0, data, 65_000)[1::2]  # the stub views
    asm = StubAssembler(1 << 23, 1000)
    for p in parts:
        asm.append(p)
    out = asm.take(ReassemblyBuffer())
    assert isinstance(out, memoryview) and out == data and asm.take() == b""
