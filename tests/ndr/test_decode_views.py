"""Decoders read any buffer in place: a memoryview or bytearray stub decodes to the
same values as ``bytes`` (byte arrays as ``bytes``, strings as ``str``), with the same
errors, and no value keeps a view of the input."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcerpc import ndr
from dcerpc.errors import NdrError
from dcerpc.ndr import types as t

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_roundtrip_hypothesis import _same, typed_values


def _no_views(v: Any) -> bool:
    if isinstance(v, memoryview | bytearray):
        return False
    if isinstance(v, list | tuple):
        return all(_no_views(x) for x in v)
    if isinstance(v, dict):
        return all(_no_views(x) for x in v.values())
    if hasattr(v, "__dataclass_fields__"):
        return all(_no_views(getattr(v, f)) for f in v.__dataclass_fields__)
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values(), st.booleans())
def test_views_decode_like_bytes(tv: tuple[t.NdrType, Any], le: bool) -> None:
    T, v = tv
    data = ndr.encode(T, v, little_endian=le)
    want = ndr.decode(T, data, little_endian=le)
    for buf in (memoryview(data), bytearray(data), memoryview(bytearray(data))):
        got = ndr.decode(T, buf, little_endian=le)
        assert _same(got, v), (T, v, got)
        assert got == want
        assert _no_views(got)


BULK = t.Operation("Bulk", 0, [
    t.Param("n", t.ULONG),
    t.Param("data", t.Pointer("ref", t.Array(t.BYTE, (t.Dim(size_is=t.Ref("n")),)))),
    t.Param("s", t.Pointer("ref", t.Array(t.WCHAR, (t.Dim(),), string=True))),
])


def test_operation_stub_as_a_view() -> None:
    codec = ndr.operation_codec(BULK)
    payload = os.urandom(100_000)
    stub = bytearray(codec.encode_request([len(payload), payload, "héllo"]))
    got = codec.decode_request(memoryview(stub))
    assert got == [len(payload), payload, "héllo"]
    assert type(got[1]) is bytes and type(got[2]) is str
    stub[-20:] = bytes(20)  # the values do not share memory with the stub
    assert got[1] == payload


def test_truncated_view_is_an_ndr_error() -> None:
    codec = ndr.operation_codec(BULK)
    stub = codec.encode_request([3, b"abc", "x"])
    for cut in range(len(stub)):
        with pytest.raises(NdrError):
            codec.decode_request(memoryview(stub)[:cut])
