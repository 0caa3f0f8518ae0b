"""Pipe parameters as streams: an operation's stub cut into its non-pipe part and its
pipe chunks, encoded and decoded piece by piece.

Wire layout (C706 §14.3.11; MIDL "Combining Pipe and Nonpipe Parameters"): a request
carries the non-pipe [in] values first, then each [in] pipe as chunks ending with an
empty chunk; a response carries each [out] pipe first, then the non-pipe [out] values
and the return value. This is the layout :class:`~._operation.OperationCodec` produces
for whole messages, so both modes interoperate octet for octet.

Alignment is relative to the start of the stub (C706 §14.2.2), so the streaming codecs
track the absolute position. A chunk is ``ulong count`` (aligned to 4) and ``count``
elements aligned to the element's alignment; pipe elements have a fixed size (no
pointers, no conformance: MIDL restrictions on pipe element types), so the element
octets are position independent once their start is aligned. The non-pipe [out] values
follow the last terminating chunk, i.e. start at a position ≡ 0 (mod 4); when it is
≡ 4 (mod 8) they are coded behind a 4-octet placeholder so 8-aligned types line up.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ..errors import NdrError
from . import types as t
from ._codec import decode_at, encode
from ._layout import align_of, elem_kind, flat, unrange
from ._operation import OperationCodec, _pipe_of
from ._pipe import chunk_array

__all__ = ["ChunkReader", "ChunkWriter", "PipeLayout", "pipe_layout"]

#: Largest chunk a reader accepts (its elements are buffered whole): a peer claiming
#: more is refused instead of growing memory.
MAX_CHUNK_OCTETS = 16 << 20

_U32 = {True: struct.Struct("<I"), False: struct.Struct(">I")}


@dataclass(frozen=True, slots=True)
class PipeParam:
    """One pipe parameter: its position among the operation's params and element type."""

    index: int
    param: t.Param
    pipe: t.Pipe

    @property
    def name(self) -> str:
        return self.param.name


def _element_info(P: t.Pipe, where: str) -> tuple[int, int, bool]:
    fl = flat(P.element)
    if fl is None:
        raise NdrError(f"{where}: pipe element type is not of fixed size")
    A = chunk_array(P.element)
    return fl.size, align_of(P.element), elem_kind(A) == "bytes"


class PipeLayout:
    """How an operation's pipes and non-pipe values are laid out (see the module
    docstring); one per operation (:func:`pipe_layout`)."""

    def __init__(self, op: t.Operation) -> None:
        self.op = op
        self.pipes = [PipeParam(i, p, P) for i, p in enumerate(op.params)
                      if (P := _pipe_of(p.type)) is not None]
        self.in_pipes = [pp for pp in self.pipes if pp.param.in_]
        self.out_pipes = [pp for pp in self.pipes if pp.param.out]
        pipe_ids = {id(pp.param) for pp in self.pipes}
        plain = [p for p in op.params if id(p) not in pipe_ids]
        self.plain = OperationCodec(t.Operation(op.name, op.opnum, plain, op.returns,
                                                dict(op.attrs)))
        pad = t.Param("_pipe_pad", t.ULONG, in_=False, out=True)
        self._plain_pad = OperationCodec(t.Operation(op.name, op.opnum, [pad, *plain],
                                                     op.returns, dict(op.attrs)))
        # Positions: the manager / caller sees the params in IDL order.
        self.in_order = [p for p in op.params if p.in_ and not isinstance(
            unrange(p.type), t.Handle)]

    @property
    def streams(self) -> bool:
        return bool(self.pipes)

    def writer(self, pp: PipeParam, pos: int, little_endian: bool = True) -> ChunkWriter:
        return ChunkWriter(pp.pipe, pos, little_endian, f"{self.op.name}({pp.name})")

    def reader(self, pp: PipeParam, little_endian: bool = True) -> ChunkReader:
        return ChunkReader(pp.pipe, little_endian, f"{self.op.name}({pp.name})")

    # -- the non-pipe parts ----------------------------------------------------------
    def encode_plain_request(self, args: list[Any], little_endian: bool = True) -> bytearray:
        return self.plain.encode_request_buf(args, little_endian=little_endian)

    def decode_plain_request(self, data: bytes, little_endian: bool = True
                             ) -> tuple[list[Any], int]:
        """The non-pipe [in] values at the start of ``data`` and the octets they take
        (NdrError when ``data`` is too short or malformed)."""
        fn = self.plain._fn("dreq", little_endian)
        try:
            values, pos = fn(data, 0)
        except NdrError:
            raise
        except Exception as exc:  # short data shows as a low-level error
            raise NdrError(f"{self.op.name}: {exc}") from None
        return values, pos

    def encode_plain_response(self, result: Any, pos: int, request: list[Any] | None,
                              little_endian: bool = True) -> bytes:
        """The non-pipe [out] values and return value, to be sent from stub offset
        ``pos`` (≡ 0 mod 4)."""
        if pos % 8 == 0:
            return bytes(self.plain.encode_response_buf(result, request=request,
                                                        little_endian=little_endian))
        values = self.plain._unshape(result)
        shaped = self._plain_pad._shape([values[0], 0, *values[1:]]
                                         if self.op.returns is not None else [0, *values])
        buf = self._plain_pad.encode_response_buf(shaped, request=request,
                                                  little_endian=little_endian)
        return bytes(buf[4:])

    def decode_plain_response(self, data: bytes, pos: int, little_endian: bool = True
                              ) -> Any:
        """The non-pipe results from ``data`` received at stub offset ``pos``."""
        if pos % 8 == 0:
            return self.plain.decode_response(data, little_endian=little_endian)
        values = self._plain_pad._run_dec("dresp", b"\0\0\0\0" + bytes(data), little_endian)
        return self.plain._shape(
            [values[-1], *values[1:-1]] if self.op.returns is not None else values[1:])


_LAYOUTS: dict[int, tuple[t.Operation, PipeLayout]] = {}


def pipe_layout(op: t.Operation) -> PipeLayout:
    """The (cached) pipe layout of an operation."""
    hit = _LAYOUTS.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    layout = PipeLayout(op)
    _LAYOUTS[id(op)] = (op, layout)
    return layout


class ChunkWriter:
    """Encodes the chunks of one pipe starting at stub offset ``pos``."""

    __slots__ = ("align", "closed", "esize", "is_bytes", "le", "pipe", "pos", "where")

    def __init__(self, pipe: t.Pipe, pos: int, little_endian: bool, where: str) -> None:
        self.pipe = pipe
        self.pos = pos
        self.le = little_endian
        self.where = where
        self.esize, self.align, self.is_bytes = _element_info(pipe, where)
        self.closed = False

    def chunk(self, items: Any) -> bytes:
        """One chunk holding ``items`` (bytes for a byte pipe, else a sequence); an empty
        one ends the pipe."""
        if self.closed:
            raise NdrError(f"{self.where}: the pipe has ended")
        if self.is_bytes and isinstance(items, (bytes, bytearray, memoryview)):
            count = len(items)
            body = bytes(items)
        else:
            if not isinstance(items, (list, tuple, bytes, bytearray, str)):
                items = list(items)
            count = len(items)
            body = b""
            if count:
                enc = encode(chunk_array(self.pipe.element), items, little_endian=self.le)
                body = bytes(enc[-(-4 // self.align) * self.align:])
        pos = self.pos
        pad = -pos & 3
        head = bytearray(pad) + _U32[self.le].pack(count)
        pos += pad + 4
        if count:
            epad = -pos & (self.align - 1)
            head += bytes(epad)
            pos += epad
        pos += len(body)
        self.pos = pos
        if not count:
            self.closed = True
        return bytes(head) + body

    def end(self) -> bytes:
        return self.chunk(b"" if self.is_bytes else [])


class ChunkReader:
    """Decodes the chunks of one pipe from stub octets fed as they arrive.

    ``feed`` the octets; ``next()`` returns the items of the next complete chunk, None
    when more octets are needed, and an empty value once the terminating chunk was read
    (``done`` is then True and ``tail`` holds the unread octets that follow).
    """

    __slots__ = ("_buf", "_off", "_pending", "align", "done", "esize", "is_bytes", "le",
                 "pipe", "pos", "where")

    def __init__(self, pipe: t.Pipe, little_endian: bool, where: str, pos: int = 0) -> None:
        self.pipe = pipe
        self.le = little_endian
        self.where = where
        self.esize, self.align, self.is_bytes = _element_info(pipe, where)
        self.pos = pos  # stub offset of _buf[_off]
        self._buf = bytearray()
        self._off = 0
        self._pending: int | None = None  # count of the chunk whose elements we await
        self.done = False

    def start_at(self, pos: int) -> None:
        self.pos = pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._off and self._off > len(self._buf) // 2:
            del self._buf[:self._off]
            self._off = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._off

    @property
    def tail(self) -> bytes:
        return bytes(self._buf[self._off:])

    def next(self) -> Any:
        if self.done:
            raise NdrError(f"{self.where}: the pipe has ended")
        buf, off, pos = self._buf, self._off, self.pos
        if self._pending is None:
            pad = -pos & 3
            if len(buf) - off < pad + 4:
                return None
            count = _U32[self.le].unpack_from(buf, off + pad)[0]
            if count * self.esize > MAX_CHUNK_OCTETS:
                raise NdrError(f"{self.where}: a pipe chunk of {count} elements exceeds "
                               f"{MAX_CHUNK_OCTETS} octets")
            off += pad + 4
            pos += pad + 4
            self._off, self.pos = off, pos
            if count == 0:
                self.done = True
                return b"" if self.is_bytes else []
            self._pending = count
        count = self._pending
        epad = -pos & (self.align - 1)
        size = count * self.esize
        if len(buf) - off < epad + size:
            return None
        start = off + epad
        self._pending = None
        self._off = start + size
        self.pos = pos + epad + size
        if self.is_bytes:
            return bytes(buf[start:start + size])
        # The element octets behind a count at offset 0 decode as a chunk on their own.
        A = chunk_array(self.pipe.element)
        lead = -(-4 // self.align) * self.align
        fake = _U32[self.le].pack(count) + bytes(lead - 4) + bytes(buf[start:start + size])
        items, end = decode_at(A, fake, 0, self.le)
        if end != len(fake):
            raise NdrError(f"{self.where}: malformed pipe chunk")
        return items
