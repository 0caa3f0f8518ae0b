"""Top-level encode/decode of one value, with codecs generated and cached per type."""

from __future__ import annotations

from typing import Any

from ..errors import NdrError
from . import types as t
from ._codegen import UNITS
from ._dec import root_decoder
from ._enc import root_encoder
from ._layout import unrange
from ._runtime import LOW_LEVEL_ERRORS, decode_input, map_decode_error, map_encode_error

_ENC: dict[bool, dict[Any, Any]] = {True: {}, False: {}}
_DEC: dict[bool, dict[Any, Any]] = {True: {}, False: {}}


def descriptor(T: Any) -> t.NdrType:
    """The descriptor of T (a descriptor, or a generated class carrying ``__ndr__``)."""
    if isinstance(T, t.NdrType):
        return T
    nd = getattr(T, "__ndr__", None)
    if isinstance(nd, t.NdrType):
        return nd
    raise TypeError(f"{T!r} is neither an NDR type descriptor nor a class with __ndr__")


def label(T: t.NdrType) -> str:
    U = unrange(T)
    return getattr(U, "name", None) or type(U).__name__


def encoder(T: Any, little_endian: bool = True) -> Any:
    cache = _ENC[little_endian]
    fn = cache.get(T)
    if fn is None:
        u = UNITS[little_endian]
        with u.lock:  # generation mutates the shared unit; the hit path takes no lock
            fn = cache.get(T)
            if fn is None:
                D = descriptor(T)
                fn = u.ns[u.fn("root_e", D, lambda name: root_encoder(u, D, name))]
                cache[T] = fn
    return fn


def decoder(T: Any, little_endian: bool = True) -> Any:
    cache = _DEC[little_endian]
    fn = cache.get(T)
    if fn is None:
        u = UNITS[little_endian]
        with u.lock:  # generation mutates the shared unit; the hit path takes no lock
            fn = cache.get(T)
            if fn is None:
                D = descriptor(T)
                fn = u.ns[u.fn("root_d", D, lambda name: root_decoder(u, D, name))]
                cache[T] = fn
    return fn


def encode(T: Any, value: Any, *, little_endian: bool = True) -> bytes:
    """Marshal ``value`` as a top-level [in] parameter of type T would be (NDR 2.0)."""
    fn = encoder(T, little_endian)
    try:
        return bytes(fn(value))
    except NdrError:
        raise
    except LOW_LEVEL_ERRORS as exc:
        raise map_encode_error(exc, label(descriptor(T))) from exc


def decode_at(T: Any, b: bytes, pos: int, little_endian: bool = True) -> tuple[Any, int]:
    """Decode one top-level T at ``pos`` of ``b``; returns (value, end offset)."""
    fn = decoder(T, little_endian)
    try:
        return fn(b, pos)  # type: ignore[no-any-return]
    except NdrError:
        raise
    except LOW_LEVEL_ERRORS as exc:
        raise map_decode_error(exc, label(descriptor(T))) from None


def decode(T: Any, data: bytes | bytearray | memoryview, *, little_endian: bool = True) -> Any:
    """Unmarshal one top-level T from ``data``; trailing bytes are an error."""
    b = decode_input(data)
    value, pos = decode_at(T, b, 0, little_endian)
    if pos != len(b):
        raise NdrError(f"{len(b) - pos} trailing bytes after {label(descriptor(T))}", pos)
    return value
