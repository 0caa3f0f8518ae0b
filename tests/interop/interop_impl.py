"""Managers for interop.idl, served by ``dcerpc serve --impl interop_impl:Test``.

Methods receive the [in] values in IDL order and return the return value followed by
the [out] values (one value bare, several as a tuple), the dispatcher's contract.
Every result is derived from the arguments so a client can check the round trip.
"""

from __future__ import annotations

import zlib
from typing import Any

import dcerpc
from dcerpc import status
from dcerpc.ndr import python_type


class Test:
    """InteropTest (d575aa6b-7652-40b5-b124-7345543c2078 v1.0)."""

    def Add(self, a: int, b: int) -> int:
        return a + b

    def Greet(self, name: str, title: str | None) -> tuple[int, str]:
        who = f"{title} {name}" if title is not None else name
        return 0, f"Hello, {who}!"

    def EchoRecord(self, rec: Any) -> tuple[int, Any]:
        rec.id += 1
        rec.name = (rec.name or "").upper()
        rec.where.x, rec.where.y = rec.where.y, rec.where.x
        rec.stamp = -rec.stamp
        return 0, rec

    def SumArray(self, count: int, values: list[int]) -> tuple[int, int]:
        return 0, sum(values)

    def SumWindow(self, used: int, window: list[int]) -> tuple[int, int]:
        return 0, sum(window)

    def Fill(self, size: int, value: int) -> tuple[int, int, bytes]:
        # Half the buffer is transmitted: length_is(*used) < size_is(size).
        used = size // 2
        return 0, used, bytes((value + i) & 0xFF for i in range(used))

    def Checksum(self, size: int, data: bytes) -> tuple[int, int]:
        return 0, zlib.crc32(data)

    def AddFull(self, a: int | None, b: int | None) -> tuple[int, int]:
        # A NULL full pointer counts as -1000 so the client can tell it arrived as NULL.
        return 0, (-1000 if a is None else a) + (-1000 if b is None else b)

    def Transform(self, kind: int, value: Any) -> tuple[int, int, Any]:
        cls = type(value)
        if kind == 1:  # number → point (n, -n)
            point = _arm_class(cls, 2)(value.value, -value.value)
            return 0, 2, cls(2, point)
        if kind == 2:  # point → text
            return 0, 3, cls(3, f"{value.value.x},{value.value.y}")
        if kind == 3:  # text → number (its length)
            return 0, 1, cls(1, len(value.value or ""))
        raise dcerpc.CallFault("bad union tag", status.RPC_X_BAD_STUB_DATA)

    def Tally(self, count: int, items: list[Any]) -> tuple[int, int, str]:
        return 0, sum(i.where.x for i in items), ",".join(i.name or "" for i in items)


class Aux:
    """InteropAux (4c2b6822-52a0-44cb-8d28-1867025668ee v2.1)."""

    def Ping(self, cookie: int) -> tuple[int, int]:
        return 0, cookie ^ 0xA5A5A5A5



def _arm_class(union_cls: Any, tag: int) -> Any:
    """The generated class of a union arm (the union class carries its descriptor)."""
    arm = next(a for a in union_cls.__ndr__.arms if tag in a.cases)
    return python_type(arm.type)


class Partial:
    """InteropTest with only ``Add``: the other opnums fault with nca_s_op_rng_error."""

    def Add(self, a: int, b: int) -> int:
        return a + b


#: An instance works as well as a class for ``--impl``.
aux_instance = Aux()
