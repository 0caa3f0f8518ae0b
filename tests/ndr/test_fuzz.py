"""Fuzz the generated decoders: random bytes and mutated valid encodings must raise only
NdrError (never IndexError, struct.error, UnicodeDecodeError, RecursionError, or hang)."""

from __future__ import annotations

import contextlib
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcerpc import ndr
from dcerpc.ndr import types as t


def S(name: str, *fields: tuple[str, t.NdrType]) -> t.Struct:
    return t.Struct(name, [t.Field(n, T) for n, T in fields])


WSTR = t.Array(t.WCHAR, (t.Dim(),), string=True)
CSTR = t.Array(t.CHAR, (t.Dim(),), string=True)
E = t.Enum("FZE", {"A": 0, "B": 1})
ITEM = S("FZITEM", ("a", t.ULONG), ("b", t.USHORT), ("s", t.Pointer("unique", WSTR)))
RECORD = S("FZREC", ("id", t.ULONG), ("name", t.Pointer("unique", WSTR)), ("count", t.ULONG),
           ("items", t.Pointer("unique", t.Array(ITEM, (t.Dim(size_is=t.Ref("count")),)))))
RUS = S("FZRUS", ("Length", t.USHORT), ("MaximumLength", t.USHORT),
        ("Buffer", t.Pointer("unique", t.Array(t.WCHAR, (t.Dim(
            size_is=t.BinOp("/", t.Ref("MaximumLength"), t.Const(2)),
            length_is=t.BinOp("/", t.Ref("Length"), t.Const(2))),)))))
U = t.Union("FZU", t.USHORT, [t.Arm([1], "l", t.ULONG), t.Arm([2], "s", t.Pointer("unique", CSTR)),
                              t.Arm([3], "e", None), t.Arm([], "d", t.HYPER)])
SW = S("FZSW", ("level", t.USHORT), ("u", t.Switch(U, t.Ref("level"))), ("g", t.GUID))
NODE = t.Struct("FZNODE", [])
NODE.fields = [t.Field("v", t.LONG), t.Field("next", t.Pointer("unique", NODE))]
FNODE = t.Struct("FZFNODE", [])
FNODE.fields = [t.Field("v", E), t.Field("next", t.Pointer("ptr", FNODE)),
                t.Field("o", t.Pointer("ptr", FNODE))]
CONF = S("FZCONF", ("n", t.USHORT), ("m", t.Range(t.ULONG, 0, 50)),
         ("a", t.Array(t.ULONG, (t.Dim(size_is=t.Ref("n"), length_is=t.Ref("m")),))))
MULTI = t.Array(t.USHORT, (t.Dim(), t.Dim(fixed=2)))
VARY = S("FZV", ("f", t.ULONG), ("l", t.ULONG),
         ("a", t.Array(t.USMALL, (t.Dim(fixed=8, first_is=t.Ref("f"), length_is=t.Ref("l")),))),
         ("c", t.Array(t.CHAR, (t.Dim(fixed=6),), string=True)))
IP = S("FZIP", ("ip", t.InterfacePointer("IFoo")), ("ch", t.ContextHandle()))

TYPES = [RECORD, RUS, SW, NODE, t.Pointer("ptr", FNODE), CONF, MULTI, VARY, IP, WSTR, CSTR,
         t.Array(ITEM, (t.Dim(),)), t.Pointer("unique", t.Pointer("unique", WSTR))]

It, R = ndr.python_type(ITEM), ndr.python_type(RECORD)
SAMPLES: list[tuple[t.NdrType, object]] = [
    (RECORD, R(1, "name", None, [It(1, 2, "x"), It(3, 4, None), It(5, 6, "yz")])),
    (RUS, ndr.python_type(RUS)(Buffer="hello")),
    (SW, ndr.python_type(SW)(u=ndr.python_type(U)(2, "abc"), g=uuid.UUID(int=5))),
    (NODE, ndr.python_type(NODE)(1, ndr.python_type(NODE)(2, ndr.python_type(NODE)(3)))),
    (CONF, ndr.python_type(CONF)(4, None, [1, 2])),
    (MULTI, [[1, 2], [3, 4]]),
    (VARY, ndr.python_type(VARY)(1, None, b"ab", "hi")),
    (IP, ndr.python_type(IP)(b"objref", ndr.ContextHandleValue(1, uuid.UUID(int=9)))),
]

OP = t.Operation("FzOp", 0, [
    t.Param("n", t.ULONG),
    t.Param("a", t.Pointer("ref", t.Array(t.ULONG, (t.Dim(size_is=t.Ref("n")),)))),
    t.Param("r", t.Pointer("unique", RECORD)),
    t.Param("out", t.Pointer("ref", t.Pointer("unique", WSTR)), in_=False, out=True),
], returns=t.LONG)


def _decode_only_ndr_errors(T: t.NdrType, data: bytes, le: bool) -> None:
    with contextlib.suppress(ndr.NdrError):
        ndr.decode(T, data, little_endian=le)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TYPES), st.binary(max_size=96), st.booleans())
def test_random_bytes(T: t.NdrType, data: bytes, le: bool) -> None:
    _decode_only_ndr_errors(T, data, le)


@pytest.mark.parametrize(("T", "value"), SAMPLES, ids=[T.name if hasattr(T, "name") else
                                                        type(T).__name__ for T, _ in SAMPLES])
def test_mutated_valid_encodings(T: t.NdrType, value: object) -> None:
    rng = random.Random(1234)
    for le in (True, False):
        good = ndr.encode(T, value, little_endian=le)
        assert ndr.encode(T, ndr.decode(T, good, little_endian=le), little_endian=le) == good
        for _ in range(300):
            data = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                pos = rng.randrange(len(data)) if data else 0
                if op < 0.5 and data:
                    data[pos] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
                elif op < 0.7:
                    del data[pos:pos + rng.randint(1, 4)]
                elif op < 0.85:
                    data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
                elif data:
                    word = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000, 2])
                    data[pos:pos + 4] = word.to_bytes(4, "little" if le else "big")
            _decode_only_ndr_errors(T, bytes(data), le)


def test_truncations_of_valid_encodings() -> None:
    for T, value in SAMPLES:
        good = ndr.encode(T, value)
        for cut in range(len(good)):
            with pytest.raises(ndr.NdrError):
                ndr.decode(T, good[:cut])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80), st.booleans())
def test_operation_decoders(data: bytes, le: bool) -> None:
    codec = ndr.operation_codec(OP)
    for fn in (codec.decode_request, codec.decode_response):
        with contextlib.suppress(ndr.NdrError):
            fn(data, little_endian=le)


def test_mutated_operation_request() -> None:
    codec = ndr.operation_codec(OP)
    good = codec.encode_request([None, [1, 2, 3], SAMPLES[0][1]])
    rng = random.Random(99)
    for _ in range(500):
        data = bytearray(good)
        pos = rng.randrange(len(data))
        data[pos] = rng.randrange(256)
        with contextlib.suppress(ndr.NdrError):
            codec.decode_request(bytes(data))
