"""Property tests: random type descriptors and values; decode(encode(v)) == v, both byte
orders, and re-encoding the decoded value gives the same bytes."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcerpc import ndr
from dcerpc.ndr import types as t

_names = itertools.count()
# id(descriptor) -> (descriptor, pattern, info): how to build consistent values
_META: dict[int, tuple[Any, str, Any]] = {}

INTS = {
    "small": (-128, 127), "usmall": (0, 255), "byte": (0, 255), "char": (0, 255),
    "short": (-2**15, 2**15 - 1), "ushort": (0, 2**16 - 1), "wchar": (0, 2**16 - 1),
    "long": (-2**31, 2**31 - 1), "ulong": (0, 2**32 - 1), "int3264": (-2**31, 2**31 - 1),
    "uint3264": (0, 2**32 - 1), "error_status_t": (0, 2**32 - 1),
    "hyper": (-2**63, 2**63 - 1), "uhyper": (0, 2**64 - 1),
}
PRIMS = [t.Primitive(k) for k in [*INTS, "boolean", "float", "double"]]
WSTR = t.Array(t.WCHAR, (t.Dim(),), string=True)
CSTR = t.Array(t.CHAR, (t.Dim(),), string=True)


def _name(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def _meta(T: Any, pattern: str, info: Any = None) -> Any:
    _META[id(T)] = (T, pattern, info)
    return T


# ---------------------------------------------------------------- type strategies
@st.composite
def enums(draw: Any) -> t.Enum:
    vals = draw(st.lists(st.integers(0, 32767), min_size=1, max_size=4, unique=True))
    return t.Enum(_name("E"), {f"M{i}": v for i, v in enumerate(vals)},
                  v1_enum=draw(st.booleans()))


leaves = st.one_of(
    st.sampled_from(PRIMS), st.just(t.GUID), st.just(t.ContextHandle()), enums(),
    st.builds(lambda lo, span: t.Range(t.ULONG, lo, lo + span),
              st.integers(0, 1000), st.integers(0, 1000)),
    st.sampled_from([t.Pointer("unique", WSTR), t.Pointer("unique", CSTR)]),
    st.builds(lambda k, n: t.Array(t.Primitive(k), (t.Dim(fixed=n),)),
              st.sampled_from(["byte", "ushort", "ulong", "hyper", "wchar"]), st.integers(1, 4)),
)


def composite(any_inner: st.SearchStrategy[t.NdrType]) -> st.SearchStrategy[t.NdrType]:
    # a conformant struct may only be a top-level value or a pointee (C706 §14.3.7.1)
    inner = any_inner.filter(lambda T: not _is_conformant(T))
    fields = st.lists(inner, min_size=1, max_size=3)

    def plain(ts: list[t.NdrType]) -> t.Struct:
        return _meta(t.Struct(_name("S"), [t.Field(f"f{i}", T) for i, T in enumerate(ts)]),
                     "plain")

    def counted(ts: list[t.NdrType], el: t.NdrType, kind: str) -> t.Struct:
        fs = [t.Field(f"f{i}", T) for i, T in enumerate(ts)]
        arr = t.Array(el, (t.Dim(size_is=t.Ref("n")),))
        fs += [t.Field("n", t.ULONG), t.Field("a", t.Pointer(kind, arr))]
        return _meta(t.Struct(_name("C"), fs), "counted")

    def conformant(ts: list[t.NdrType], el: t.NdrType) -> t.Struct:
        fs = [t.Field(f"f{i}", T) for i, T in enumerate(ts)]
        fs += [t.Field("n", t.ULONG), t.Field("a", t.Array(el, (t.Dim(size_is=t.Ref("n")),)))]
        return _meta(t.Struct(_name("K"), fs), "conformant")

    def varying(el: t.NdrType, fixed: int) -> t.Struct:
        fs = [t.Field("l", t.ULONG),
              t.Field("a", t.Array(el, (t.Dim(fixed=fixed, length_is=t.Ref("l")),)))]
        return _meta(t.Struct(_name("V"), fs), "varying", fixed)

    def cvp(el: t.NdrType) -> t.Struct:
        fs = [t.Field("m", t.ULONG), t.Field("l", t.ULONG),
              t.Field("a", t.Pointer("unique", t.Array(el, (t.Dim(
                  size_is=t.Ref("m"), length_is=t.Ref("l")),))))]
        return _meta(t.Struct(_name("CV"), fs), "cvp")

    def union(arms: list[t.NdrType | None], enc: bool, ms: bool, sw: t.NdrType) -> t.NdrType:
        U = t.Union(_name("U"), sw, [t.Arm([i + 1], f"a{i}", T) for i, T in enumerate(arms)],
                    encapsulated=enc, ms_union=ms)
        if enc:
            return _meta(U, "union")
        S = t.Struct(_name("W"), [t.Field("level", sw), t.Field("u", t.Switch(U, t.Ref("level")))])
        return _meta(S, "switch", U)

    el = st.one_of(leaves, inner)
    return st.one_of(
        fields.map(plain),
        st.builds(counted, st.lists(inner, max_size=2), el, st.sampled_from(["unique", "ptr"])),
        st.builds(conformant, st.lists(inner, max_size=2), el),
        st.builds(varying, el, st.integers(1, 4)),
        st.builds(cvp, el),
        st.builds(union, st.lists(st.one_of(st.none(), inner), min_size=1, max_size=3),
                  st.booleans(), st.booleans(), st.sampled_from([t.USHORT, t.ULONG, t.USMALL])),
        st.builds(lambda T, k: t.Pointer(k, T), any_inner, st.sampled_from(["unique", "ptr"])),
    )


def _is_conformant(T: t.NdrType) -> bool:
    return id(T) in _META and _META[id(T)][1] == "conformant"


types = st.recursive(leaves, composite, max_leaves=6)


# ---------------------------------------------------------------- value strategies
@st.composite
def values(draw: Any, T: t.NdrType) -> Any:
    """A fully specified value of T."""
    if isinstance(T, t.Range):
        return draw(st.integers(T.low, T.high))
    if isinstance(T, t.Primitive):
        if T.kind == "boolean":
            return draw(st.booleans())
        if T.kind in ("float", "double"):
            return draw(st.floats(allow_nan=False, width=32 if T.kind == "float" else 64))
        return draw(st.integers(*INTS[T.kind]))
    if isinstance(T, t.Guid):
        return draw(st.uuids())
    if isinstance(T, t.ContextHandle):
        return ndr.ContextHandleValue(draw(st.integers(0, 2**32 - 1)), draw(st.uuids()))
    if isinstance(T, t.Enum):
        cls = ndr.python_type(T)
        return draw(st.sampled_from(list(cls)))
    if isinstance(T, t.Pointer):
        if T.target is WSTR:
            return draw(st.none() | st.text(max_size=6))
        if T.target is CSTR:
            return draw(st.none() | st.text(st.characters(max_codepoint=255,
                                                          blacklist_characters="\0"), max_size=6))
        return draw(st.none() | values(T.target))
    if isinstance(T, t.Array):  # fixed leaf arrays and element lists below
        n = T.dims[0].fixed
        k = T.element.kind  # type: ignore[attr-defined]
        if k == "byte":
            return draw(st.binary(min_size=n, max_size=n))
        if k == "wchar":
            return draw(st.text(st.characters(min_codepoint=1, max_codepoint=0xD7FF),
                                max_size=n)).rstrip("\0")
        return [draw(values(T.element)) for _ in range(n)]
    meta = _META[id(T)]
    pattern = meta[1]
    if pattern == "union":
        return draw(union_values(T))  # type: ignore[arg-type]
    cls = ndr.python_type(T)
    if pattern == "switch":
        u = draw(union_values(meta[2]))
        return cls(u.tag, u)
    fields = {f.name: f for f in T.fields}  # type: ignore[attr-defined]
    out = {}
    for name, f in fields.items():
        if name.startswith("f"):
            out[name] = draw(values(f.type))
    if pattern in ("counted", "conformant"):
        arr = fields["a"].type
        arr = arr.target if isinstance(arr, t.Pointer) else arr
        items = draw(elements(arr.element, 0, 4))
        if pattern == "counted" and draw(st.booleans()):
            items = None
        out["a"] = items
        out["n"] = len(items) if items is not None else 0
    elif pattern == "varying":
        items = draw(elements(fields["a"].type.element, 0, meta[2]))
        out.update(l=len(items), a=items)
    elif pattern == "cvp":
        items = draw(st.none() | elements(fields["a"].type.target.element, 0, 4))
        n = len(items) if items is not None else 0
        out.update(m=n + draw(st.integers(0, 2)) if items is not None else 0, l=n, a=items)
    return cls(**out)


@st.composite
def elements(draw: Any, el: t.NdrType, lo: int, hi: int) -> Any:
    if isinstance(el, t.Primitive) and el.kind in ("byte", "char", "usmall"):
        return draw(st.binary(min_size=lo, max_size=hi))
    if isinstance(el, t.Primitive) and el.kind == "wchar":
        return draw(st.text(st.characters(min_codepoint=0, max_codepoint=0xD7FF),
                            min_size=lo, max_size=hi))
    return draw(st.lists(values(el), min_size=lo, max_size=hi))


@st.composite
def union_values(draw: Any, U: t.Union) -> Any:
    arm = draw(st.sampled_from(U.arms))
    val = None if arm.type is None else draw(values(arm.type))
    return ndr.python_type(U)(arm.cases[0], val)


def _blank_counts(v: Any) -> Any:
    """The same value with its count fields set to None (the encoder derives them)."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        T = getattr(type(v), "__ndr__", None)
        pattern = _META.get(id(T), (None, None))[1]
        if pattern in ("counted", "conformant", "varying", "switch") and v.__dict__:
            names = {"counted": ["n"], "conformant": ["n"], "varying": ["l"],
                     "switch": ["level"]}[pattern]
            return dataclasses.replace(v, **{n: None for n in names})
    return v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


@st.composite
def typed_values(draw: Any) -> tuple[t.NdrType, Any]:
    T = draw(types)
    return T, draw(values(T))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values(), st.booleans(), st.booleans())
def test_roundtrip(tv: tuple[t.NdrType, Any], le: bool, blank: bool) -> None:
    T, v = tv
    inp = _blank_counts(v) if blank else v
    data = ndr.encode(T, inp, little_endian=le)
    got = ndr.decode(T, data, little_endian=le)
    assert _same(got, v), (T, v, got)
    assert ndr.encode(T, got, little_endian=le) == data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(typed_values(), min_size=1, max_size=3), st.booleans())
def test_operation_roundtrip(tvs: list[tuple[t.NdrType, Any]], le: bool) -> None:
    params = [t.Param(f"p{i}", T) for i, (T, _) in enumerate(tvs)]
    op = t.Operation(_name("Op"), 0, params)
    codec = ndr.operation_codec(op)
    args = [v for _, v in tvs]
    data = codec.encode_request(args, little_endian=le)
    assert codec.decode_request(data, little_endian=le) == args
