"""Interface pointers among an ORPC call's parameters, and result shaping.

The NDR codec carries an interface pointer as its ``MInterfacePointer.abData`` bytes
(an OBJREF, :mod:`.objref`); this module finds those parameters in an operation
(through ``[ref]`` pointers: ``[out, iid_is(riid)] IUnknown **ppv``) and works out the
IID each one is marshaled for: the ``[iid_is]`` argument, else the declared interface's
IID, else IUnknown ([MS-DCOM] 2.2.14, MIDL ``iid_is``).

HRESULT convention: in an ``[object]`` interface a ``long`` return value is the
HRESULT (the model keeps no typedef names; HRESULT is ``LONG`` in [MS-DTYP]).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .. import ndr
from ..ndr import types as t
from .guids import IID_IUnknown

__all__ = ["IfaceParam", "OpShape", "fix_longs", "op_shape", "pack_values"]


def _is_long(T: t.NdrType) -> bool:
    while isinstance(T, t.Pointer) and T.kind == "ref":
        T = T.target
    return isinstance(T, t.Primitive) and T.kind == "long"


def fix_longs(values: list[Any], indexes: tuple[int, ...]) -> None:
    """Map unsigned HRESULT spellings (0x80004005) of top-level ``long`` values to the
    signed value the wire carries; values outside both ranges are left for the encoder
    to reject."""
    for i in indexes:
        v = values[i]
        if type(v) is int and 0x80000000 <= v <= 0xFFFFFFFF:
            values[i] = v - 0x1_0000_0000


def _iface_type(T: t.NdrType) -> t.InterfacePointer | None:
    while isinstance(T, t.Pointer) and T.kind == "ref":
        T = T.target
    return T if isinstance(T, t.InterfacePointer) else None


@dataclass(frozen=True)
class IfaceParam:
    index: int  # among the operation codec's in (or out) values
    desc: t.InterfacePointer

    def iid(self, named_ins: dict[str, Any]) -> uuid.UUID:
        e = self.desc.iid_is
        if isinstance(e, t.Ref) and isinstance(named_ins.get(e.name), uuid.UUID):
            return named_ins[e.name]  # type: ignore[no-any-return]
        return self.desc.iid or IID_IUnknown


@dataclass(frozen=True)
class OpShape:
    """What the COM layer needs about one wire (ORPC) operation."""

    op: t.Operation
    in_names: tuple[str, ...]  # the codec's [in] values, ORPCthis first
    out_types: tuple[t.NdrType, ...]  # the [out] values after ORPCthat
    in_ifaces: tuple[IfaceParam, ...]
    out_ifaces: tuple[IfaceParam, ...]  # index among out_types
    hresult: bool
    long_ins: tuple[int, ...] = ()  # top-level long [in] values (HRESULT spellings)
    long_outs: tuple[int, ...] = ()  # same among out_types

    def named(self, ins: list[Any]) -> dict[str, Any]:
        return dict(zip(self.in_names, ins, strict=False))

    def failure_outs(self) -> list[Any]:
        """[out] values that accompany a failed HRESULT (defaults, NULL pointers)."""
        return [ndr.default_value(T) for T in self.out_types]


_SHAPES: dict[int, tuple[t.Operation, OpShape]] = {}


def op_shape(op: t.Operation) -> OpShape:
    hit = _SHAPES.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    codec = ndr.operation_codec(op)
    ins = codec.in_params
    outs = [p for p in codec.out_params if p.name != "ORPCthat"]
    shape = OpShape(
        op, tuple(p.name for p in ins), tuple(p.type for p in outs),
        tuple(IfaceParam(i, d) for i, p in enumerate(ins) if (d := _iface_type(p.type))),
        tuple(IfaceParam(i, d) for i, p in enumerate(outs) if (d := _iface_type(p.type))),
        isinstance(op.returns, t.Primitive) and op.returns.kind == "long",
        tuple(i for i, p in enumerate(ins) if _is_long(p.type)),
        tuple(i for i, p in enumerate(outs) if _is_long(p.type)))
    _SHAPES[id(op)] = (op, shape)
    return shape


def pack_values(values: list[Any]) -> Any:
    """The [out] values as a method returns them: one bare, several a tuple, none None."""
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
