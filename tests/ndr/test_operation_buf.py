"""The runtime's encode variants (``*_buf``) give the same octets as the public methods,
which keep returning ``bytes``; each call gets a fresh buffer of its own."""

from __future__ import annotations

import pytest

from dcerpc import ndr
from dcerpc.ndr import types as t

P = t.Param
_OP = t.Operation("Calc", 3, [
    P("a", t.LONG),
    P("b", t.Pointer("ref", t.LONG), in_=True, out=True),
    P("data", t.Pointer("ref", t.Array(t.BYTE, (t.Dim(),))), in_=True, out=False),
], returns=t.ERROR_STATUS_T)


def test_buf_variants_match_the_public_methods() -> None:
    codec = ndr.operation_codec(_OP)
    args = [5, 6, b"xyz" * 3000]
    req = codec.encode_request(args)
    buf = codec.encode_request_buf(args)
    assert type(req) is bytes and type(buf) is bytearray and buf == req
    assert codec.encode_request_buf(args) is not buf  # fresh each time: the caller owns it
    result = codec.result_type(0, 11)  # type: ignore[misc]
    resp = codec.encode_response(result)
    rbuf = codec.encode_response_buf(result)
    assert type(resp) is bytes and type(rbuf) is bytearray and rbuf == resp
    assert codec.decode_request(buf) == args and codec.decode_response(rbuf) == (0, 11)


def test_buf_variant_errors_like_the_public_one() -> None:
    codec = ndr.operation_codec(_OP)
    with pytest.raises(ndr.NdrError):
        codec.encode_request_buf([1])
    with pytest.raises(ndr.NdrError):
        codec.encode_response_buf((1, 2, 3))
