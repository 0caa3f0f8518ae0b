"""Pipe chunks (C706 §14.3.11): ``ulong count`` (aligned to 4) then ``count`` elements;
a chunk with count 0 terminates the pipe.  The chunk layout equals a top-level
conformant array of the element type, which is how it is generated."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import NdrError
from . import types as t
from ._codec import decode_at, encode

_CHUNKS: dict[int, tuple[t.NdrType, t.Array]] = {}


def chunk_array(element: t.NdrType) -> t.Array:
    """The (cached) conformant array descriptor a chunk of ``element`` is coded as."""
    hit = _CHUNKS.get(id(element))
    if hit is not None and hit[0] is element:
        return hit[1]
    A = t.Array(element, (t.Dim(),))
    _CHUNKS[id(element)] = (element, A)
    return A


def _element(element_T: Any) -> t.NdrType:
    T = getattr(element_T, "__ndr__", element_T)
    if isinstance(T, t.Pipe):
        T = T.element
    if not isinstance(T, t.NdrType):
        raise TypeError(f"{element_T!r} is not an NDR type")
    return T


def encode_pipe_chunk(element_T: Any, items: Iterable[Any] | bytes | str, *,
                      little_endian: bool = True) -> bytes:
    """One chunk holding ``items`` (an empty sequence gives the terminating chunk).
    Alignment is relative to the start of the returned bytes."""
    A = chunk_array(_element(element_T))
    if not isinstance(items, (list, tuple, bytes, bytearray, str)):
        items = list(items)
    return encode(A, items, little_endian=little_endian)


def decode_pipe_chunk(element_T: Any, data: bytes | bytearray | memoryview, offset: int = 0,
                      *, little_endian: bool = True) -> tuple[Any, int]:
    """Decode the chunk at ``offset`` (alignment relative to offset 0 of ``data``).
    Returns (items, offset after the chunk); empty items mean the pipe has ended."""
    b = data if type(data) is bytes else bytes(data)
    if not 0 <= offset <= len(b):
        raise NdrError(f"pipe chunk offset {offset} outside the data", offset)
    return decode_at(chunk_array(_element(element_T)), b, offset, little_endian)
