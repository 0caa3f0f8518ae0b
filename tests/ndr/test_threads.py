"""Codecs are generated on first use; several threads may get there at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dcerpc import ndr
from dcerpc.ndr import types as t


def _fresh_type(i: int) -> t.Struct:
    inner = t.Struct(f"INNER{i}", [t.Field("a", t.ULONG), t.Field("s", t.Pointer(
        "unique", t.Array(t.WCHAR, (t.Dim(),), string=True)))])
    return t.Struct(f"OUTER{i}", [t.Field("n", t.ULONG), t.Field("items", t.Pointer(
        "unique", t.Array(inner, (t.Dim(size_is=t.Ref("n")),))))])


def test_concurrent_first_use_generates_consistent_codecs() -> None:
    for round_ in range(12):
        T = _fresh_type(round_)
        Inner = ndr.python_type(T.fields[1].type.target.element)  # type: ignore[attr-defined]
        value = ndr.python_type(T)(items=[Inner(k, str(k)) for k in range(20)])

        def work(_: int, T: t.Struct = T, value: object = value) -> tuple[bytes, object]:
            data = ndr.encode(T, value)
            return data, ndr.decode(T, data)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(32)))
        first = results[0][0]
        assert all(data == first for data, _ in results)
        assert all(back == results[0][1] for _, back in results)
        assert results[0][1].n == 20
