"""HRESULTs and :class:`COMError` ([MS-ERREF] 2.1, comtypes conventions).

An HRESULT is a 32-bit value whose top bit is the severity (1 = failure). The IDL type
is ``LONG`` ([MS-DTYP] 2.2.18), so on the wire it is signed; Python code spells the
failure codes unsigned (``0x80004005``), as the Windows headers do. This module
converts both ways: :func:`signed` for the encoder, :func:`unsigned` for everything
users see. ``COMError.hresult`` is always the unsigned value.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLASS_E_CLASSNOTAVAILABLE",
    "CLASS_E_NOAGGREGATION",
    "CO_E_CANCEL_DISABLED",
    "CO_E_OBJNOTCONNECTED",
    "E_ACCESSDENIED",
    "E_FAIL",
    "E_INVALIDARG",
    "E_NOINTERFACE",
    "E_NOTIMPL",
    "E_OUTOFMEMORY",
    "E_POINTER",
    "E_UNEXPECTED",
    "FAILED",
    "REGDB_E_CLASSNOTREG",
    "RPC_E_CALL_CANCELED",
    "RPC_E_CALL_COMPLETE",
    "RPC_E_CALL_PENDING",
    "RPC_E_DISCONNECTED",
    "RPC_E_INVALID_IPID",
    "RPC_E_INVALID_OXID",
    "RPC_E_NO_SYNC",
    "RPC_E_OUT_OF_RESOURCES",
    "RPC_E_SERVERFAULT",
    "RPC_E_TIMEOUT",
    "RPC_E_VERSION_MISMATCH",
    "RPC_S_CALLPENDING",
    "SUCCEEDED",
    "S_FALSE",
    "S_OK",
    "COMError",
    "hresult_name",
    "signed",
    "unsigned",
]

S_OK = 0x00000000
S_FALSE = 0x00000001
E_NOTIMPL = 0x80004001
E_NOINTERFACE = 0x80004002
E_POINTER = 0x80004003
E_FAIL = 0x80004005
E_UNEXPECTED = 0x8000FFFF
E_ACCESSDENIED = 0x80070005
E_OUTOFMEMORY = 0x8007000E
E_INVALIDARG = 0x80070057
CLASS_E_NOAGGREGATION = 0x80040110
CLASS_E_CLASSNOTAVAILABLE = 0x80040111
REGDB_E_CLASSNOTREG = 0x80040154
CO_E_OBJNOTCONNECTED = 0x800401FD
RPC_E_DISCONNECTED = 0x80010108
RPC_E_SERVERFAULT = 0x80010105
RPC_E_INVALID_OXID = 0x80010112
RPC_E_INVALID_IPID = 0x80010113
RPC_E_VERSION_MISMATCH = 0x80010110
# Asynchronous calls (seed-semantics §1.3, §7 C1)
RPC_E_CALL_CANCELED = 0x80010002
RPC_E_OUT_OF_RESOURCES = 0x80010101
RPC_S_CALLPENDING = 0x80010115
RPC_E_CALL_COMPLETE = 0x80010117
RPC_E_TIMEOUT = 0x8001011F
RPC_E_NO_SYNC = 0x80010120
CO_E_CANCEL_DISABLED = 0x80010140

# No SDK header defines RPC_E_CALL_PENDING (§7 C1): it is COM's "call is pending" code.
# Defined after _NAMES is built so the name table keeps RPC_S_CALLPENDING.
_NAMES = {v: k for k, v in globals().items()
          if isinstance(v, int) and k.isupper() and "_" in k and not k.startswith("_")}


RPC_E_CALL_PENDING = RPC_S_CALLPENDING


def unsigned(hr: int) -> int:
    """The HRESULT as Windows headers spell it (0 .. 0xFFFFFFFF)."""
    return int(hr) & 0xFFFFFFFF


def signed(hr: int) -> int:
    """The HRESULT as the ``LONG`` the wire carries (accepts either spelling)."""
    hr = int(hr) & 0xFFFFFFFF
    return hr - 0x1_0000_0000 if hr & 0x80000000 else hr


def FAILED(hr: int) -> bool:
    return bool(int(hr) & 0x80000000) or int(hr) < 0


def SUCCEEDED(hr: int) -> bool:
    return not FAILED(hr)


def hresult_name(hr: int) -> str:
    hr = unsigned(hr)
    return _NAMES.get(hr, f"0x{hr:08X}")


class COMError(Exception):
    """A failed HRESULT (comtypes' ``COMError``: ``.hresult``, ``.text``, ``.details``).

    ``hresult`` is unsigned (``0x80004005``) whichever spelling was passed in.
    """

    def __init__(self, hresult: int, text: str | None = None, details: Any = None) -> None:
        self.hresult = unsigned(hresult)
        self.text = text if text is not None else hresult_name(self.hresult)
        self.details = details
        super().__init__(self.hresult, self.text, details)

    def __str__(self) -> str:
        return f"{self.text} (HRESULT 0x{self.hresult:08X})"
