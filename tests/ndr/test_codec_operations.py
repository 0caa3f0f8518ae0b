"""Operation codecs: request/response stub data (C706 §12.6.4.9-10, protocol-digest §5.5)."""

from __future__ import annotations

import uuid

import pytest

from dcerpc import ndr, status
from dcerpc.ndr import types as t


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


WSTR = t.Array(t.WCHAR, (t.Dim(),), string=True)
P = t.Param


def test_digest_string_params_vector() -> None:
    # protocol-digest §5.4 [RUN]: [in, string] wchar_t *s + [in, unique, string] wchar_t *p
    op = t.Operation("Op", 0, [P("s", t.Pointer("ref", WSTR)),
                               P("p", t.Pointer("unique", WSTR))])
    codec = ndr.operation_codec(op)
    data = codec.encode_request(["hi", "xyz"])
    assert data == h("03000000 00000000 03000000 6800 6900 0000 | 0000 | 00000200 | "
                     "04000000 00000000 04000000 7800 7900 7a00 0000")
    assert codec.decode_request(data) == ["hi", "xyz"]
    assert codec.encode_request(["", None])[-4:] == h("00000000")


def test_handle_params_excluded_and_result_shapes() -> None:
    op = t.Operation("Calc", 3, [
        P("h", t.HANDLE_T),
        P("a", t.LONG),
        P("b", t.Pointer("ref", t.LONG), in_=True, out=True),
        P("out1", t.Pointer("ref", t.USHORT), in_=False, out=True),
    ], returns=t.ERROR_STATUS_T)
    codec = ndr.operation_codec(op)
    assert ndr.operation_codec(op) is codec  # cached per Operation
    assert [p.name for p in codec.in_params] == ["a", "b"]
    assert [p.name for p in codec.out_params] == ["b", "out1"]
    req = codec.encode_request([5, 6])
    assert req == h("05000000 06000000")
    assert codec.decode_request(req) == [5, 6]
    rt = codec.result_type
    assert rt is not None and rt._fields == ("return_value", "b", "out1")
    resp = codec.encode_response(rt(0, 11, 12))
    # wire: out params in declaration order, then the return value
    assert resp == h("0b000000 0c00 0000 00000000")
    got = codec.decode_response(resp)
    assert got == (0, 11, 12) and got.return_value == 0 and got.out1 == 12
    with pytest.raises(ndr.NdrError):
        codec.encode_request([1])


def test_single_result_bare_and_void_none() -> None:
    op1 = t.Operation("One", 0, [P("x", t.ULONG)], returns=t.LONG)
    c1 = ndr.operation_codec(op1)
    assert c1.result_type is None
    assert c1.encode_response(-1) == h("ffffffff")
    assert c1.decode_response(h("ffffffff")) == -1
    op0 = t.Operation("Void", 1, [P("x", t.ULONG)])
    c0 = ndr.operation_codec(op0)
    assert c0.encode_response(None) == b""
    assert c0.decode_response(b"") is None
    with pytest.raises(ndr.NdrError):
        c0.decode_response(b"\x00")  # trailing bytes


def test_out_pointer_result_is_pointee() -> None:
    op = t.Operation("Name", 0, [P("pp", t.Pointer("ref", t.Pointer("unique", WSTR)),
                                   in_=False, out=True)], returns=t.ULONG)
    codec = ndr.operation_codec(op)
    resp = codec.encode_response((0, "ab"))
    assert resp == h("00000200 03000000 00000000 03000000 6100 6200 0000 | 0000 | 00000000")
    assert codec.decode_response(resp) == (0, "ab")


def test_conformant_param_sized_by_other_param() -> None:
    op = t.Operation("Put", 0, [
        P("n", t.ULONG),
        P("a", t.Pointer("ref", t.Array(t.ULONG, (t.Dim(size_is=t.Ref("n")),)))),
        P("buf", t.Pointer("unique", t.Array(t.BYTE, (t.Dim(size_is=t.Ref("n")),)))),
    ])
    codec = ndr.operation_codec(op)
    data = codec.encode_request([None, [1, 2], b"xy"])  # n derived from a
    assert data == h("02000000 | 02000000 01000000 02000000 | 00000200 02000000 7879")
    assert codec.decode_request(data) == [2, [1, 2], b"xy"]
    with pytest.raises(ndr.NdrError) as ei:
        codec.encode_request([2, [1, 2], b"xyz"])
    assert ei.value.status == status.RPC_S_INVALID_BOUND
    with pytest.raises(ndr.NdrError):
        codec.decode_request(h("03000000 02000000 01000000 02000000 00000000"))


def test_out_array_sized_by_in_param_and_deref_count() -> None:
    op = t.Operation("Read", 0, [
        P("max", t.ULONG),
        P("count", t.Pointer("ref", t.ULONG), in_=False, out=True),
        P("data", t.Pointer("ref", t.Array(t.BYTE, (t.Dim(
            size_is=t.Ref("max"), length_is=t.Deref(t.Ref("count"))),))), in_=False, out=True),
    ])
    codec = ndr.operation_codec(op)
    # in the response "max" is not available: max_count comes from the data
    resp = codec.encode_response((None, b"abc"))
    assert resp == h("03000000 | 03000000 00000000 03000000") + b"abc"
    assert codec.decode_response(resp) == (3, b"abc")
    # with the request's values, max_count is the [in] size, as MIDL stubs send it
    request = codec.decode_request(codec.encode_request([16]))
    resp = codec.encode_response((None, b"abc"), request=request)
    assert resp == h("03000000 | 10000000 00000000 03000000") + b"abc"
    assert codec.decode_response(resp) == (3, b"abc")
    with pytest.raises(ndr.NdrError):  # more data than the caller's buffer
        codec.encode_response((None, b"abc"), request=[2])


def test_full_pointer_ids_span_parameters() -> None:
    node = t.Struct("FPN", [t.Field("v", t.ULONG)])
    N = ndr.python_type(node)
    op = t.Operation("Two", 0, [P("a", t.Pointer("ptr", node)), P("b", t.Pointer("ptr", node))])
    codec = ndr.operation_codec(op)
    x = N(5)
    data = codec.encode_request([x, x])
    assert data == h("00000200 05000000 00000200")
    a, b = codec.decode_request(data)
    assert a is b and a == N(5)
    # each message starts again at 0x00020000
    assert codec.encode_request([N(1), None]) == h("00000200 01000000 00000000")


def test_context_handle_and_guid_params() -> None:
    g = uuid.uuid4()
    op = t.Operation("Close", 0, [P("ph", t.Pointer("ref", t.ContextHandle("H")),
                                    in_=True, out=True)], returns=t.LONG)
    codec = ndr.operation_codec(op)
    ch = ndr.ContextHandleValue(0, g)
    assert codec.encode_request([ch]) == bytes(4) + g.bytes_le
    resp = codec.encode_response((0, ndr.ContextHandleValue()))
    assert resp == bytes(24)
    assert codec.decode_response(resp) == (0, ndr.ContextHandleValue())


def test_big_endian_request() -> None:
    op = t.Operation("BE", 0, [P("a", t.USHORT), P("s", t.Pointer("unique", WSTR))])
    codec = ndr.operation_codec(op)
    data = codec.encode_request([1, "a"], little_endian=False)
    assert data == h("0001 0000 00020000 00000002 00000000 00000002 0061 0000")
    assert codec.decode_request(data, little_endian=False) == [1, "a"]


def test_pipe_params_follow_non_pipe_in_data() -> None:
    pipe = t.Pipe(t.ULONG, "ULONG_PIPE")
    op = t.Operation("Push", 0, [P("p", pipe), P("x", t.USHORT)],
                     returns=t.ULONG)
    codec = ndr.operation_codec(op)
    data = codec.encode_request([[1, 2], 9])
    assert data == h("0900 0000 | 02000000 01000000 02000000 | 00000000")
    assert codec.decode_request(data) == [[1, 2], 9]
    assert codec.encode_request([[], 9]) == h("0900 0000 00000000")
    bp = t.Pipe(t.BYTE)
    op2 = t.Operation("Pull", 1, [P("out", t.Pointer("ref", bp), in_=False, out=True)],
                      returns=t.ULONG)
    c2 = ndr.operation_codec(op2)
    resp = c2.encode_response((0, b"abc"))
    # [out] pipes precede the non-pipe [out] data
    assert resp == h("03000000") + b"abc" + h("00 00000000 00000000")
    assert c2.decode_response(resp) == (0, b"abc")
