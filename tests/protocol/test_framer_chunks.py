"""The connection's framer cuts PDUs out of the received chunks without copying them
into a stream buffer: however the stream is chopped, it yields the PDUs PduReader
yields, byte for byte, and large fragments of multi-fragment calls may come as views."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as stt

from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol._connection_base import _Framer
from dcerpc.protocol._fragments import StubAssembler, append_request
from dcerpc.protocol.pdu import PduReader


def _stream(seed: int) -> bytes:
    rnd = random.Random(seed)
    out = bytearray()
    for call_id in range(1, 6):
        size = rnd.choice([0, 5, 100, 5000, 20000, 70000])
        stub = bytes(rnd.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        out = append_request(out, call_id, 0, 1, stub[:size], rnd.choice([4096, 8192, 65000]))
    return bytes(out)


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def _read(reader: PduReader, chunks: list[bytes]) -> list[bytes]:
    out = []
    for chunk in chunks:
        reader.receive_data(chunk)
        while (pdu := reader.next_pdu()) is not None:
            out.append(bytes(pdu))
    assert reader.buffered == 0
    return out


@settings(max_examples=60, deadline=None)
@given(seed=stt.integers(0, 20), cuts=stt.lists(stt.integers(0, 1 << 20), max_size=40))
def test_same_pdus_as_pdureader_however_chopped(seed: int, cuts: list[int]) -> None:
    data = _stream(seed)
    chunks = _cut(data, cuts)
    assert _read(_Framer(0xFFFF), chunks) == _read(PduReader(0xFFFF), [data])


def test_large_middle_fragments_come_as_views_of_the_chunk() -> None:
    data = bytes(append_request(bytearray(), 7, 0, 1, b"\xab" * 50000, 16000))
    reader = _Framer(0xFFFF)
    reader.receive_data(data)
    pdus = []
    while (pdu := reader.next_pdu()) is not None:
        pdus.append(pdu)
    assert len(pdus) == 4
    assert [type(p) for p in pdus] == [memoryview] * 3 + [bytes]  # the last is small
    assert b"".join(bytes(p)[24:] for p in pdus) == b"\xab" * 50000


def test_bad_header_in_a_chunk_is_refused_at_once() -> None:
    reader = _Framer(0xFFFF)
    with pytest.raises(RemoteProtocolError):
        reader.receive_data(b"\x04\x00\x00\x03\x10\x00\x00\x00\x10\x00")
    reader = _Framer(100)
    with pytest.raises(RemoteProtocolError):
        reader.receive_data(b"\x05\x00\x00\x03\x10\x00\x00\x00\xff\x00")


def test_views_into_large_buffers_are_copied_past_the_stub_limit() -> None:
    # A 5000-octet fragment viewed in a 1 MiB chunk would keep the whole chunk alive:
    # past max_stub_size (+ slack) the assembler keeps a copy, so memory stays bounded.
    asm = StubAssembler(max_stub_size=1 << 16, max_fragments=100)
    small_chunk, big_chunk = bytes(8000), bytes(1 << 20)
    asm.append(memoryview(small_chunk)[:5000])
    asm.append(memoryview(big_chunk)[:5000])
    kinds = [type(p) for p in asm._parts]
    assert kinds == [memoryview, bytes]
    assert asm.take() == bytes(10000)


def test_a_large_fragment_straddling_two_chunks_comes_as_a_view_that_stays_valid() -> None:
    data = bytes(append_request(bytearray(), 7, 0, 1, bytes(range(256)) * 200, 16000))
    reader = _Framer(0xFFFF)
    reader.receive_data(data[:10000])  # the first fragment (16024 octets) is cut short
    assert reader.next_pdu() is None
    reader.receive_data(data[10000:])
    first = reader.next_pdu()
    assert type(first) is memoryview and first.readonly and len(first) == 16024
    rest = []
    while (pdu := reader.next_pdu()) is not None:
        rest.append(bytes(pdu))
    reader.receive_data(data[:20000])  # the framer's next buffer is a new one
    while reader.next_pdu() is not None:
        pass
    assert bytes(first) + b"".join(rest) == data  # the view was not overwritten
