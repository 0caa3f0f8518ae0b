"""Helpers that generated codecs call, and the per-message marshalling state.

Everything here is referenced by name from the generated source (see :mod:`._codegen`):
keep the names stable.  Nothing in this module does I/O.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import status as _status
from ..errors import NdrError

#: First referent id of a message; Windows and Samba use 0x00020000 + 4*k
#: (protocol-digest §5.5). Decoders accept any non-zero value.
FIRST_REFERENT_ID = 0x00020000

#: Pad byte strings indexed by the gap length (alignment gaps are written as zeros,
#: never validated on decode: C706 §14.2.2).
PAD = tuple(bytes(n) for n in range(8))

NIL_UUID = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class ContextHandleValue:
    """A context handle on the wire: ``ulong attributes`` + ``GUID uuid`` (C706 §14.3.10.2).

    The NULL handle (20 zero bytes) is falsy.
    """

    attributes: int = 0
    uuid: uuid.UUID = NIL_UUID

    def __bool__(self) -> bool:
        return bool(self.attributes) or self.uuid.int != 0


NULL_CONTEXT_HANDLE = ContextHandleValue()


class EncState:
    """Per-message encoder state: the next referent id and the full-pointer tables."""

    __slots__ = ("full", "n", "sent")

    def __init__(self) -> None:
        self.n = FIRST_REFERENT_ID
        self.full: dict[tuple[int, Any], tuple[int, Any]] | None = None
        self.sent: set[tuple[int, Any]] | None = None


def decode_input(data: bytes | bytearray | memoryview) -> bytes | memoryview:
    """What generated decoders read: ``bytes`` as they are, any other buffer as a flat
    view of its octets — not copied. The decoders index, ``unpack_from`` and slice it,
    and turn every slice that becomes a value into ``bytes``/``str`` (a 16 MiB byte
    array received into a buffer is copied once, into its value, not twice)."""
    if type(data) is bytes:
        return data
    view = memoryview(data)
    if view.c_contiguous:
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    return view.tobytes()


class DecState:
    """Per-message decoder state: referent id -> Python object for full pointers."""

    __slots__ = ("full",)

    def __init__(self) -> None:
        self.full: dict[int, Any] = {}


_IN_PROGRESS = object()


# Values whose identity is an interpreter artefact (CPython shares small ints, interned
# strings, ...): two full pointers to equal immutable values are two referents, as two
# distinct addresses would be on Windows. Only mutable objects (structs, lists, unions)
# alias by identity.
_NO_ALIAS = (int, float, str, bytes, tuple, frozenset, uuid.UUID)


def full_id(st: EncState, obj: Any, target: Any) -> int:
    """The referent id of a full pointer to ``obj`` ([ptr], C706 §14.3.10.3): the same
    mutable Python object (by identity) always gets the same id.  Aliasing is per pointee
    type, so that a full pointer to a full pointer (whose Python values coincide) stays two
    levels."""
    if obj is None:
        return 0
    if isinstance(obj, _NO_ALIAS):
        rid = st.n
        st.n = rid + 4
        return rid
    if st.full is None:
        st.full, st.sent = {}, set()
    key = (id(obj), target)
    entry = st.full.get(key)
    if entry is not None:
        return entry[0]
    rid = st.n
    st.n = rid + 4
    st.full[key] = (rid, obj)  # keep obj alive so its id() stays unique
    return rid


def full_first(st: EncState, obj: Any, target: Any) -> bool:
    """True the first time the referent of ``obj`` is due: it is sent only once."""
    if isinstance(obj, _NO_ALIAS):
        return True
    sent = st.sent
    assert sent is not None
    key = (id(obj), target)
    if key in sent:
        return False
    sent.add(key)
    return True


def full_lookup(st: DecState, rid: int, pos: int) -> Any:
    """The object already decoded for referent id ``rid``, or ``_IN_PROGRESS``'s absence (None
    means: not seen yet, decode the referent here)."""
    obj = st.full.get(rid, None)
    if obj is _IN_PROGRESS:
        raise NdrError(f"full pointer {rid:#x} refers to a value still being decoded "
                       "(cyclic non-struct referent)", pos)
    return obj


# --------------------------------------------------------------------------- errors
def err(msg: str, pos: int | None = None, status: int | None = None) -> NdrError:
    return NdrError(msg, pos, status)


def null_ref(where: str, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: NULL [ref] pointer", pos, _status.RPC_X_NULL_REF_POINTER)


def enum_range(where: str, value: int, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: enum value {value} outside 0..32767 (enum16)", pos,
                    _status.RPC_X_ENUM_VALUE_OUT_OF_RANGE)


def range_err(where: str, value: Any, low: int, high: int, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: value {value!r} outside [range({low}, {high})]", pos,
                    _status.RPC_S_INVALID_BOUND)


def bad_tag(where: str, tag: Any, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: union discriminant {tag!r} selects no arm", pos,
                    _status.RPC_S_INVALID_TAG)


def trunc(where: str, need: int, pos: int, have: int) -> NdrError:
    return NdrError(f"{where}: truncated data, need {need} bytes, {max(have - pos, 0)} left", pos)


def count_err(where: str, what: str, want: Any, got: Any, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: {what} is {want!r} but the data has {got!r} elements", pos,
                    _status.RPC_S_INVALID_BOUND)


def bounds_err(where: str, mx: int | None, off: int, ac: int, pos: int | None = None) -> NdrError:
    return NdrError(f"{where}: bad array bounds max_count={mx} offset={off} actual_count={ac}",
                    pos, _status.RPC_S_INVALID_BOUND)


def no_term(where: str, pos: int) -> NdrError:
    return NdrError(f"{where}: [string] data has no NUL terminator", pos)


def string_err(where: str, mx: int, off: int, ac: int, unit: int, pos: int,
               have: int) -> NdrError:
    """The precise complaint about a [string]'s counts (they failed a combined check)."""
    if off or ac > mx:
        return bounds_err(where, mx, off, ac, pos)
    if not ac:
        return no_term(where, pos)
    return trunc(where, ac * unit, pos, have)


def underivable(where: str, name: str) -> NdrError:
    return NdrError(f"{where}: field {name!r} is None and cannot be derived from the data")


# --------------------------------------------------------------------------- values
def wlen(s: Any) -> int:
    """Length in UTF-16 code units of a ``wchar_t`` array value (``str`` or a sequence)."""
    if isinstance(s, str):
        return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) >> 1
    return len(s)


def wenc(s: Any, le: bool) -> bytes:
    """Encode a wchar_t array value: ``str`` (UTF-16, surrogates passed through) or ints."""
    if isinstance(s, str):
        return s.encode("utf-16-le" if le else "utf-16-be", "surrogatepass")
    return struct.pack(f"{'<' if le else '>'}{len(s)}H", *s)


def cenc(s: Any) -> bytes:
    """Encode a ``char`` string value: ``str`` (latin-1 so every byte round-trips) or bytes."""
    if isinstance(s, str):
        return s.encode("latin-1")
    return bytes(s)


def as_bytes(v: Any, where: str) -> bytes:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        raise NdrError(f"{where}: expected bytes, got str")
    return bytes(v)


def check_len(where: str, data_len: int, want: int) -> None:
    if data_len != want:
        raise count_err(where, "the declared size", want, data_len)


def flatten(value: Any, shape: tuple[int, ...], where: str = "array") -> list[Any]:
    """Row-major elements of a nested-list multidimensional array value (C706 §14.3.3.5)."""
    if len(shape) == 1:
        if len(value) != shape[0]:
            raise count_err(where, "dimension size", shape[0], len(value))
        return list(value)
    if len(value) != shape[0]:
        raise count_err(where, "dimension size", shape[0], len(value))
    out: list[Any] = []
    for row in value:
        out += flatten(row, shape[1:], where)
    return out


def unflatten(items: list[Any], shape: tuple[int, ...]) -> list[Any]:
    if len(shape) == 1:
        return items
    step = 1
    for d in shape[1:]:
        step *= d
    return [unflatten(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def dims_of(value: Any, ndims: int, unit_len: Callable[[Any], int] | None = None) -> list[int]:
    """The extents of a nested-list value, outermost first (inner rows must agree)."""
    out = []
    v = value
    for k in range(ndims):
        if k == ndims - 1 and unit_len is not None:
            out.append(unit_len(v) if v is not None else 0)
        else:
            out.append(len(v))
        if k < ndims - 1:
            v = v[0] if len(v) else None
            if v is None:
                out += [0] * (ndims - 1 - k)
                break
    return out


# --------------------------------------------------------------------------- interface pointers
class InterfaceMarshaller:
    """The pluggable wire form of interface pointers ([MS-DCOM] 2.2.14 ``MInterfacePointer``).

    ``encode(T, value) -> bytes`` returns the ``abData`` OBJREF bytes for a non-None value;
    ``decode(T, abData) -> value`` maps them back.  The default passes ``bytes`` through.
    """

    __slots__ = ("decode", "encode")

    def __init__(self) -> None:
        self.encode: Callable[[Any, Any], bytes] = lambda t, v: bytes(v)
        self.decode: Callable[[Any, bytes], Any] = lambda t, data: data


IFACE = InterfaceMarshaller()


# --------------------------------------------------------------------------- error mapping
_OFFSET_RE = re.compile(r"at offset (\d+)")


def map_decode_error(exc: BaseException, what: str) -> NdrError:
    """Turn a stray low-level exception of a generated decoder into an NdrError."""
    if isinstance(exc, struct.error):
        m = _OFFSET_RE.search(str(exc))
        return NdrError(f"{what}: truncated data ({exc})", int(m.group(1)) if m else None)
    if isinstance(exc, RecursionError):
        return NdrError(f"{what}: data nested too deeply")
    return NdrError(f"{what}: malformed data ({type(exc).__name__}: {exc})")


def map_encode_error(exc: BaseException, what: str) -> NdrError:
    if isinstance(exc, RecursionError):
        return NdrError(f"{what}: value nested too deeply")
    if isinstance(exc, OverflowError) or (isinstance(exc, struct.error)
                                          and "range" in str(exc)):
        return NdrError(f"cannot encode {what}: value out of range ({exc})")
    return NdrError(f"cannot encode {what}: {type(exc).__name__}: {exc}")


#: Exceptions a generated codec may leak on bad input; the public entry points map them.
LOW_LEVEL_ERRORS = (struct.error, TypeError, AttributeError, ValueError, OverflowError,
                    IndexError, KeyError, ZeroDivisionError, RecursionError, UnicodeError,
                    MemoryError)
