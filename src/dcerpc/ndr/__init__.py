"""NDR 2.0 marshalling (C706 ch. 14, [MS-RPCE] 2.2.4-2.2.6) for the interface model.

Public API::

    encode(T, value, *, little_endian=True) -> bytes
    decode(T, data, *, little_endian=True) -> value
    operation_codec(op) -> OperationCodec        # request/response stub data
    python_type(T), default_value(T)             # the Python mapping
    type_serialize(T, value), type_deserialize(T, data)   # [MS-RPCE] 2.2.6 v1
    encode_pipe_chunk(element_T, items), decode_pipe_chunk(element_T, data, offset)
    register_interface_marshaller(encode_fn, decode_fn)
    ContextHandleValue, NdrError

``T`` is a descriptor from :mod:`dcerpc.ndr.types` or a generated class carrying
``__ndr__``.  Codecs are generated per type as Python source and cached (see
:mod:`dcerpc.ndr._codegen`).

Python mapping: integers -> int, boolean -> bool, float/double -> float, GUID ->
uuid.UUID, enum -> IntEnum (unknown values decode to plain int), ``[string]``
char/wchar_t -> str (char as latin-1), other wchar_t arrays -> str (UTF-16 code units;
fixed-size ones NUL-padded on encode and stripped on decode), byte/usmall/char arrays ->
bytes, other arrays -> list (nested for several dimensions), unique/full pointer ->
value or None, ref pointer -> the pointee's value, struct -> dataclass, union ->
``U(tag, value)``, context handle -> ContextHandleValue, interface pointer -> bytes
(``MInterfacePointer.abData``) unless a marshaller is registered, range -> the inner
value (checked both ways), pipe -> list of elements (bytes/str for byte/wchar pipes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import NdrError
from ._codec import decode, encode
from ._operation import OperationCodec, operation_codec
from ._pipe import decode_pipe_chunk, encode_pipe_chunk
from ._pyclasses import default_value, python_type
from ._runtime import IFACE, ContextHandleValue
from ._typeser import type_deserialize, type_serialize

__all__ = [
    "ContextHandleValue",
    "NdrError",
    "OperationCodec",
    "decode",
    "decode_pipe_chunk",
    "default_value",
    "encode",
    "encode_pipe_chunk",
    "operation_codec",
    "python_type",
    "register_interface_marshaller",
    "type_deserialize",
    "type_serialize",
]


def register_interface_marshaller(encode_fn: Callable[[Any, Any], bytes] | None,
                                  decode_fn: Callable[[Any, bytes], Any] | None) -> None:
    """Plug in the wire form of interface pointers ([MS-DCOM] 2.2.14).

    ``encode_fn(T, value) -> bytes`` returns the ``abData`` (OBJREF) bytes of a non-None
    value of the :class:`~dcerpc.ndr.types.InterfacePointer` use T; ``decode_fn(T,
    abData) -> value`` maps them back.  The ``MInterfacePointer`` framing (unique pointer,
    ``ulCntData``, conformant byte array) stays in the codec.  Pass None to restore the
    default (``bytes`` passed through).
    """
    IFACE.encode = encode_fn if encode_fn is not None else (lambda T, v: bytes(v))
    IFACE.decode = decode_fn if decode_fn is not None else (lambda T, data: data)
