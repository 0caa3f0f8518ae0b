"""The streaming pipe codec equals the whole-message codec octet for octet
(C706 §14.3.11 chunks; alignment relative to the stub start, §14.2.2)."""

from __future__ import annotations

import pytest
from pipesvc import SPEC

from dcerpc.errors import NdrError
from dcerpc.ndr import operation_codec
from dcerpc.ndr._pipestream import MAX_CHUNK_OCTETS, pipe_layout


def _stream_request(op_name: str, plain: list, chunks: list) -> bytes:
    op = SPEC.operation(op_name)
    lay = pipe_layout(op)
    pre = bytes(lay.encode_plain_request(plain))
    w = lay.writer(lay.in_pipes[0], len(pre))
    return pre + b"".join(w.chunk(c) for c in chunks) + w.end()


@pytest.mark.parametrize(("op_name", "plain", "chunks", "whole"), [
    ("Echo", [7], [b"hello", b" world"], b"hello world"),
    ("Sum", [3], [[1, 2], [3]], [1, 2, 3]),
    ("Copy", [], [[1, 2, 3], [2**40]], [1, 2, 3, 2**40]),  # hyper: 8-aligned elements
])
def test_request_chunks_decode_as_whole_message(op_name: str, plain: list, chunks: list,
                                               whole: object) -> None:
    op = SPEC.operation(op_name)
    data = _stream_request(op_name, plain, chunks)
    assert operation_codec(op).decode_request(data) == [*plain, whole]
    # and the one-chunk encoding is what the whole-message encoder sends
    one = _stream_request(op_name, plain, [whole])
    assert bytes(operation_codec(op).encode_request([*plain, whole])) == one


def test_response_pipe_then_plain_values_at_an_offset_of_4_mod_8() -> None:
    op = SPEC.operation("Echo")
    lay = pipe_layout(op)
    w = lay.writer(lay.out_pipes[0], 0)
    body = w.chunk(b"abc") + w.end()
    assert len(body) % 8 == 4  # the hyper that follows needs 4 octets of padding
    tail = lay.encode_plain_response((5, 2**40), len(body), None)
    whole = bytes(operation_codec(op).encode_response((5, b"abc", 2**40)))
    assert body + tail == whole
    r = lay.reader(lay.out_pipes[0])
    r.feed(whole)
    assert r.next() == b"abc" and r.next() == b"" and r.done
    assert tuple(lay.decode_plain_response(r.tail, r.pos)) == (5, 2**40)


def test_reader_waits_for_whole_chunks_fed_octet_by_octet() -> None:
    data = _stream_request("Copy", [], [[1, 2], [3]])
    lay = pipe_layout(SPEC.operation("Copy"))
    r = lay.reader(lay.in_pipes[0])
    got = []
    for k in range(len(data)):
        r.feed(data[k:k + 1])
        while not r.done and (chunk := r.next()) is not None:
            got.append(chunk)
    assert got == [[1, 2], [3], []]


def test_reader_refuses_a_huge_chunk_claim() -> None:
    lay = pipe_layout(SPEC.operation("Sum"))
    r = lay.reader(lay.in_pipes[0])
    r.feed((MAX_CHUNK_OCTETS // 4 + 1).to_bytes(4, "little"))
    with pytest.raises(NdrError):
        r.next()
