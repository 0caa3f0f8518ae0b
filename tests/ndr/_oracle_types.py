"""Machinery for using impacket's NDR engine as an independent byte oracle.

impacket (``impacket.dcerpc.v5.ndr``) marshals NDR 2.0 with two kinds of
non-determinism that have nothing to do with correctness:

* **Referent ids** are ``random.randint(1, 65535)`` per pointer (``NDRPOINTER.__init__``).
  C706 §14.3.10 lets them be any non-zero value; Windows numbers them ``0x00020000 + 4·k``
  in marshalling order ([MS-RPCE] 2.2.4.2 / protocol-digest §5.5), and so does our codec.
  :func:`normalise_referent_ids` walks the impacket object tree, stamps every non-NULL
  pointer with a unique marker id, marshals once, reads the order in which the markers
  appear in the stream, and renumbers the pointers ``0x20000, 0x20004, …`` in that order.
  The order therefore comes from impacket's own marshalling, not from a second opinion.

* **Alignment gaps** are filled with per-call-site filler bytes (``0xAA``, ``0xAB``,
  ``0xBB`` … ``0xEF``); C706 §14.2.2 leaves gap contents unspecified and our codec writes
  zeros. :func:`pad_filler` temporarily swaps those filler constants in the code objects of
  impacket's ``getData`` methods (nothing else in those functions uses them). Marshalling
  the same object with filler ``0x00`` and with filler ``0xFF`` gives, by comparison,
  the exact set of gap positions (:func:`marshal` returns it as ``pad_mask``), and the
  ``0x00`` run is the byte string our codec must produce bit for bit. The untouched run
  (impacket's own fillers) is kept too: our decoder is fed those bytes, which proves it
  ignores gap contents as C706 requires.
"""

from __future__ import annotations

import contextlib
import inspect
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from impacket.dcerpc.v5 import ndr as impndr

# The one-byte constants impacket writes into alignment gaps (ndr.py 0.13.1: NDR.getData
# 0xBF, getDataReferent 0xEF/0xCC, NDRArray 0xCA/0xDD, conformant-varying 0xCB,
# NDRSTRUCT 0xEE/0xAB, NDRUNION 0xBC/0xBB/0xBD/0xBE, NDRPOINTER 0xAA, NDRCALL 0xAB/0xCE).
_FILLERS = frozenset(bytes([b]) for b in (
    0xAA, 0xAB, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xCA, 0xCB, 0xCC, 0xCE, 0xDD, 0xEE, 0xEF,
))

WINDOWS_FIRST_REFERENT = 0x00020000
_MARKER_BASE = 0x5A6B0000  # marker ids: never a value the corpus uses as data


def _padding_functions() -> list[Any]:
    """Every plain function defined in impacket's ndr module that writes a filler byte."""
    out = []
    for obj in vars(impndr).values():
        if not (inspect.isclass(obj) and obj.__module__ == impndr.__name__):
            continue
        for fn in vars(obj).values():
            if inspect.isfunction(fn) and any(c in _FILLERS for c in fn.__code__.co_consts):
                out.append(fn)
    return out


_PAD_FUNCS = _padding_functions()


@contextlib.contextmanager
def pad_filler(byte: int) -> Iterator[None]:
    """Make impacket fill every alignment gap with ``byte`` for the duration."""
    fill = bytes([byte])
    saved = [(fn, fn.__code__) for fn in _PAD_FUNCS]
    try:
        for fn, code in saved:
            consts = tuple(fill if c in _FILLERS else c for c in code.co_consts)
            fn.__code__ = code.replace(co_consts=consts)
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code


def iter_pointers(obj: Any) -> Iterator[impndr.NDRPOINTER]:
    """Every non-NULL NDRPOINTER reachable from ``obj`` (fields and array elements)."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, impndr.NDRPOINTER) and cur.fields.get("ReferentID"):
            yield cur
        if isinstance(cur, impndr.NDR):
            stack.extend(cur.fields.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def normalise_referent_ids(obj: impndr.NDR) -> int:
    """Renumber ``obj``'s pointers 0x20000, 0x20004, … in impacket's marshalling order.

    Returns the number of non-NULL pointers found.
    """
    ptrs = list(iter_pointers(obj))
    for k, p in enumerate(ptrs):
        p.fields["ReferentID"] = _MARKER_BASE + k
    with pad_filler(0x00):
        data = obj.getData()
    where: dict[int, int] = {}
    for pos in range(0, len(data) - 3, 4):  # NDR20 referent ids are 4-aligned
        (word,) = struct.unpack_from("<I", data, pos)
        k = word - _MARKER_BASE
        if 0 <= k < len(ptrs):
            if k in where:
                raise AssertionError(f"referent marker {word:#x} appears twice")
            where[k] = pos
    if len(where) != len(ptrs):
        raise AssertionError(f"{len(ptrs)} pointers but {len(where)} marker ids in the stream")
    for n, k in enumerate(sorted(where, key=where.__getitem__)):
        ptrs[k].fields["ReferentID"] = WINDOWS_FIRST_REFERENT + 4 * n
    return len(ptrs)


@dataclass
class Marshalled:
    """impacket's marshalling of one object, normalised for comparison."""

    zero_padded: bytes  # gaps filled with 0x00: what a conforming encoder writes
    native: bytes  # impacket's own filler bytes in the gaps (decoder input)
    pad_mask: bytes  # 1 where the byte is an alignment gap, else 0
    pointers: int


def marshal(obj: impndr.NDR) -> Marshalled:
    """Normalise ``obj``'s referent ids, then marshal it three ways (see module doc)."""
    n = normalise_referent_ids(obj)
    with pad_filler(0x00):
        zero = obj.getData()
    with pad_filler(0xFF):
        ones = obj.getData()
    native = obj.getData()
    if not (len(zero) == len(ones) == len(native)):
        raise AssertionError("impacket output length depends on the pad filler")
    mask = bytes(int(a != b) for a, b in zip(zero, ones, strict=True))
    return Marshalled(zero, native, mask, n)


def call_class(*fields: tuple[str, Any], name: str = "OracleCall") -> type[impndr.NDRCALL]:
    """An NDRCALL subclass with these (name, impacket type) top-level parameters."""
    return type(name, (impndr.NDRCALL,), {"structure": tuple(fields)})


def struct_class(name: str, *fields: tuple[str, Any]) -> type[impndr.NDRSTRUCT]:
    return type(name, (impndr.NDRSTRUCT,), {"structure": tuple(fields)})


def pointer_class(name: str, target: Any) -> type[impndr.NDRPOINTER]:
    return type(name, (impndr.NDRPOINTER,), {"referent": (("Data", target),)})


def hexdump_diff(ours: bytes, theirs: bytes, mask: bytes | None = None,
                 labels: str = "ours vs impacket") -> str:
    """A side-by-side dump (4 bytes a row) marking differing bytes and gap bytes."""
    rows = []
    width = max(len(ours), len(theirs))
    for off in range(0, width, 4):
        a, b = ours[off:off + 4], theirs[off:off + 4]
        m = mask[off:off + 4] if mask else b""
        flag = "  " if a == b else "<>"
        gaps = "".join("p" if x else "." for x in m)
        rows.append(f"{off:5d}: {a.hex(' '):<11}  {b.hex(' '):<11} {flag} {gaps}")
    return f"{labels} (p = alignment gap in impacket's output)\n" + "\n".join(rows)
