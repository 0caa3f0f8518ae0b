"""Python declarations build the same model as IDL, and encode the same bytes."""

from __future__ import annotations

import dataclasses
import uuid
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import pytest

import dcerpc.idl as idl
from dcerpc import ndr
from dcerpc.errors import IdlError
from dcerpc.idl._structure import structure
from dcerpc.idl.decl import (
    async_op,
    case,
    enum,
    fixed,
    guid,
    in_out,
    interface,
    long,
    make_module,
    opnum,
    out,
    range_,
    ref,
    size_is,
    struct,
    switch_is,
    ulong,
    union,
    unique,
    ushort,
    wstr,
)
from dcerpc.ndr import types as t

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "phonebook" / "phonebook.idl"


@enum
class PB_KIND(IntEnum):
    PbHome = 0
    PbWork = 1
    PbMobile = 2


@struct
class PB_NUMBER:
    kind: PB_KIND
    digits: wstr


@union(switch_type=ulong)
class PB_EXTRA:
    empty: Annotated[None, case(0)]
    birthday: Annotated[ulong, case(1)]
    note: Annotated[wstr, case(2)]


@struct
class PB_ENTRY:
    id: guid
    name: wstr
    count: Annotated[ulong, range_(0, 16)]
    numbers: Annotated[unique[list[PB_NUMBER]], size_is("count")]
    extra_kind: ulong
    extra: Annotated[PB_EXTRA, switch_is("extra_kind")]


@interface(uuid="6a2c2d54-0b4e-4a58-9c39-2b2f6cdb7c01", version=(1, 0))
class PhoneBook:
    def AddEntry(self, entry: ref[PB_ENTRY], index: out[ulong]) -> long: ...

    def Lookup(self, name: wstr, entry: out[PB_ENTRY | None]) -> long: ...

    def Count(self, generation: in_out[ulong], total: out[ulong]) -> long: ...


def test_same_model_as_the_idl() -> None:
    m = idl.load(EXAMPLE)
    assert structure(PhoneBook) == structure(m.PhoneBook)
    assert structure(PB_ENTRY.__ndr__) == structure(m.PB_ENTRY.__ndr__)


def test_same_bytes_as_the_idl() -> None:
    m = idl.load(EXAMPLE)
    ours = PB_ENTRY(id=uuid.UUID(int=5), name="ann", count=1,
                    numbers=[PB_NUMBER(PB_KIND.PbWork, "12")], extra_kind=2,
                    extra=PB_EXTRA(2, "hi"))
    theirs = m.PB_ENTRY(id=uuid.UUID(int=5), name="ann", count=1,
                        numbers=[m.PB_NUMBER(m.PB_KIND.PbWork, "12")], extra_kind=2,
                        extra=m.PB_EXTRA(2, "hi"))
    assert ndr.encode(PB_ENTRY, ours) == ndr.encode(m.PB_ENTRY, theirs)
    assert ndr.decode(PB_ENTRY, ndr.encode(PB_ENTRY, ours)) == ours


def test_dataclass_defaults_follow_the_idl_rules() -> None:
    assert dataclasses.is_dataclass(PB_ENTRY)
    e = PB_ENTRY()
    assert (e.id, e.name, e.count, e.numbers, e.extra) == (uuid.UUID(int=0), None, None, None,
                                                           None)
    assert PB_NUMBER().kind is PB_KIND.PbHome
    assert PB_EXTRA.__ndr__.py is PB_EXTRA and issubclass(PB_EXTRA, t.UnionValue)


def test_module_shape_and_stubs() -> None:
    mod = make_module("pb", PhoneBook, PB_ENTRY)
    calls: list[tuple[object, ...]] = []

    class Binding:
        def _rpc_invoke(self, iface: object, op: t.Operation, args: tuple[object, ...]) -> int:
            calls.append((iface, op.name, args))
            return 0

    assert mod.__interfaces__ == [PhoneBook]
    assert mod.Count(Binding(), 4) == 0
    assert mod.PhoneBookClient(Binding()).Lookup("x") == 0
    assert calls == [(PhoneBook, "Count", (4,)), (PhoneBook, "Lookup", ("x",))]


def test_opnums_async_fixed_arrays() -> None:
    @struct
    class FIX:
        raw: Annotated[bytes, fixed(4)]
        shorts: Annotated[list[ushort], fixed(2)]

    @interface(uuid="11111111-2222-3333-4444-555555555555")
    class X:
        def A(self) -> None: ...

        @opnum(5)
        @async_op
        def B(self, f: FIX) -> None: ...

        def C(self) -> None: ...

    assert [(o.name, o.opnum, o.is_async) for o in X.operations] == [
        ("A", 0, False), ("B", 5, True), ("C", 6, False)]
    assert FIX().raw == bytes(4) and FIX().shorts == [0, 0]
    assert FIX.__ndr__.fields[1].type.dims[0].fixed == 2


def test_ambiguous_types_are_rejected() -> None:
    with pytest.raises(IdlError, match="cannot map"):
        @struct
        class Bad:
            x: int
