"""Extended error information in ORPCTHAT: the error information ORPC extension
([MS-DCOM] 2.2.21.1-2.2.21.3).

A server method that fails with a description (``COMError(hresult, "text")``) answers
with an ORPCTHAT carrying one ``ORPC_EXTENT`` whose ``id`` is CLSID_ERROR_EXTENSION and
whose ``data`` is an OBJREF_CUSTOM (unmarshaler CLSID_ErrorObject, IID_IErrorInfo) with
the IErrorInfo fields in ``pObjectData`` (2.2.21.2):

    dwVersion (0) | dwHelpContext | iid | dwSourceSignature [Source]
    | dwDescriptionSignature [Description] | dwHelpFileSignature [HelpFile]

each signature 0xFFFFFFFF when the string follows and 0 when it does not; a string is
an ErrorInfoString (2.2.21.3): ``dwMax`` (UTF-16 units with the NUL), ``dwOffSet``
(0), ``dwActual`` (= dwMax), ``Name``. The client turns it back into the raised
:class:`~dcerpc.com.COMError`'s ``text`` and ``details``; extensions it does not know
are skipped.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any, NamedTuple

from ..errors import NdrError
from .objref import ObjRefCustom, decode_objref

__all__ = [
    "CLSID_ERROR_EXTENSION",
    "CLSID_ErrorObject",
    "ErrorDetails",
    "IID_IErrorInfo",
    "decode_error_object",
    "encode_error_object",
    "error_extensions",
    "error_from_orpcthat",
]

#: [MS-DCOM] 1.9: the ORPC_EXTENT id, and the OBJREF_CUSTOM unmarshaler CLSID.
CLSID_ERROR_EXTENSION = uuid.UUID("0000031c-0000-0000-c000-000000000046")
CLSID_ErrorObject = uuid.UUID("0000031b-0000-0000-c000-000000000046")
#: oaidl.idl
IID_IErrorInfo = uuid.UUID("1cf2b120-547d-101b-8e65-08002b2bd119")

_PRESENT = 0xFFFFFFFF
_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<II16s")
_STR = struct.Struct("<III")
#: a bound on each string, so a hostile peer cannot make us allocate without limit
_MAX_CHARS = 1 << 16


class ErrorDetails(NamedTuple):
    """The IErrorInfo fields, in comtypes' ``COMError.details`` order."""

    description: str | None
    source: str | None
    helpfile: str | None
    helpcontext: int
    iid: uuid.UUID | None


def _string(text: str | None) -> bytes:
    if text is None:
        return _U32.pack(0)
    name = (text + "\0").encode("utf-16-le")
    n = len(name) // 2
    return _U32.pack(_PRESENT) + _STR.pack(n, 0, n) + name


def encode_error_object(details: ErrorDetails) -> bytes:
    """``pObjectData`` of the OBJREF_CUSTOM ([MS-DCOM] 2.2.21.2)."""
    iid = details.iid or uuid.UUID(int=0)
    return (_HEAD.pack(0, details.helpcontext & 0xFFFFFFFF, iid.bytes_le)
            + _string(details.source) + _string(details.description)
            + _string(details.helpfile))


def _read_string(data: bytes, pos: int) -> tuple[str | None, int]:
    # The signature may sit right after the previous string (as 2.2.21.2 draws it) or
    # on the next 4-byte boundary (NDR alignment): take whichever reads as a signature.
    for at in (pos, (pos + 3) & ~3):
        if at + 4 <= len(data) and _U32.unpack_from(data, at)[0] in (0, _PRESENT):
            pos = at
            break
    else:
        raise NdrError("ErrorObjectData: bad string signature", pos)
    (sig,) = _U32.unpack_from(data, pos)
    pos += 4
    if sig == 0:
        return None, pos
    if pos + _STR.size > len(data):
        raise NdrError("ErrorInfoString truncated", pos)
    dw_max, dw_offset, dw_actual = _STR.unpack_from(data, pos)
    pos += _STR.size
    if dw_offset != 0 or dw_actual > dw_max or dw_max > _MAX_CHARS:
        raise NdrError(f"ErrorInfoString: dwMax {dw_max}, dwOffSet {dw_offset}, "
                       f"dwActual {dw_actual}", pos)
    end = pos + 2 * dw_actual
    if end > len(data):
        raise NdrError("ErrorInfoString Name truncated", pos)
    text = data[pos:end].decode("utf-16-le", errors="replace")
    return text.split("\0", 1)[0], end


def decode_error_object(data: bytes) -> ErrorDetails:
    """The fields of ``pObjectData``; malformed data raises :class:`NdrError`."""
    data = bytes(data)
    if len(data) < _HEAD.size:
        raise NdrError("ErrorObjectData truncated", 0)
    _version, helpcontext, iid = _HEAD.unpack_from(data, 0)
    pos = _HEAD.size
    source, pos = _read_string(data, pos)
    description, pos = _read_string(data, pos)
    helpfile, pos = _read_string(data, pos)
    return ErrorDetails(description, source, helpfile, helpcontext,
                        uuid.UUID(bytes_le=iid))


def error_extensions(details: ErrorDetails) -> Any:
    """The ``ORPC_EXTENT_ARRAY`` of an ORPCTHAT carrying ``details``."""
    from ._orpc import dcom_idl

    m = dcom_idl()
    objref = ObjRefCustom(IID_IErrorInfo, CLSID_ErrorObject,
                          encode_error_object(details)).pack()
    padded = objref + b"\0" * (-len(objref) % 8)  # data is size_is((size+7)&~7)
    extent = m.ORPC_EXTENT(id=CLSID_ERROR_EXTENSION, size=len(objref), data=padded)
    # extent is size_is((size+1)&~1): an even number of (unique) slots
    return m.ORPC_EXTENT_ARRAY(size=1, reserved=0, extent=[extent, None])


def error_from_orpcthat(that: Any) -> ErrorDetails | None:
    """The error information in an ORPCTHAT, or None; unknown extensions, and an error
    extension we cannot read, are skipped ([MS-DCOM] 2.2.21: extensions are optional)."""
    ext = getattr(that, "extensions", None)
    for extent in (getattr(ext, "extent", None) or []):
        if extent is None or extent.id != CLSID_ERROR_EXTENSION:
            continue
        try:
            ref = decode_objref(bytes(extent.data)[:extent.size])
            if isinstance(ref, ObjRefCustom) and ref.clsid == CLSID_ErrorObject:
                return decode_error_object(ref.pObjectData)
        except NdrError:
            continue
    return None
