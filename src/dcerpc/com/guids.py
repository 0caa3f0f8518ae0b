"""GUID, IID and CLSID helpers and the well-known identifiers of [MS-DCOM] 1.9 / 2.2.

Every identifier is a :class:`uuid.UUID`. :func:`GUID` accepts the spellings people
paste: ``"{00000000-0000-0000-C000-000000000046}"``, bare text, a UUID, or the 16-byte
little-endian wire form (``uuid.UUID(bytes_le=…)``).
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "GUID",
    "GUID_NULL",
    "CLSID_ActivationContextInfo",
    "CLSID_ActivationPropertiesIn",
    "CLSID_ActivationPropertiesOut",
    "CLSID_InstanceInfo",
    "CLSID_InstantiationInfo",
    "CLSID_PropsOutInfo",
    "CLSID_ScmReplyInfo",
    "CLSID_ScmRequestInfo",
    "CLSID_SecurityInfo",
    "CLSID_ServerLocationInfo",
    "CLSID_SpecialSystemProperties",
    "IID_IActivationPropertiesIn",
    "IID_IActivationPropertiesOut",
    "IID_ICallFactory",
    "IID_ICancelMethodCalls",
    "IID_IClassFactory",
    "IID_IClientSecurity",
    "IID_IRemUnknown",
    "IID_IRemUnknown2",
    "IID_ISynchronize",
    "IID_IUnknown",
    "guid_text",
]


def GUID(value: Any) -> uuid.UUID:
    """A UUID from text (with or without braces), a UUID, or 16 wire bytes (LE)."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        if len(b) != 16:
            raise ValueError(f"a GUID is 16 bytes, got {len(b)}")
        return uuid.UUID(bytes_le=b)
    if isinstance(value, str):
        return uuid.UUID(value.strip().strip("{}"))
    raise TypeError(f"not a GUID: {value!r}")


def guid_text(g: uuid.UUID) -> str:
    """Registry spelling: ``{6B29FC40-CA47-1067-B31D-00DD010662DA}``."""
    return "{" + str(g).upper() + "}"


def _ole(n: int) -> uuid.UUID:
    """The COM ``xxxxxxxx-0000-0000-C000-000000000046`` family."""
    return uuid.UUID(f"{n:08x}-0000-0000-c000-000000000046")


GUID_NULL = uuid.UUID(int=0)
IID_IUnknown = _ole(0x00000000)
IID_IClassFactory = _ole(0x00000001)
IID_ICancelMethodCalls = _ole(0x00000029)
IID_ISynchronize = _ole(0x00000030)
IID_IRemUnknown = _ole(0x00000131)
IID_IClientSecurity = _ole(0x0000013D)
IID_IRemUnknown2 = _ole(0x00000143)
IID_ICallFactory = uuid.UUID("1c733a30-2a1c-11ce-ade5-00aa0044773d")
IID_IActivationPropertiesIn = _ole(0x000001A2)
IID_IActivationPropertiesOut = _ole(0x000001A3)

# [MS-DCOM] 1.9: activation property CLSIDs
CLSID_ActivationPropertiesIn = _ole(0x00000338)
CLSID_ActivationPropertiesOut = _ole(0x00000339)
CLSID_PropsOutInfo = _ole(0x00000339)
CLSID_ServerLocationInfo = _ole(0x000001A4)
CLSID_ActivationContextInfo = _ole(0x000001A5)
CLSID_SecurityInfo = _ole(0x000001A6)
CLSID_ScmRequestInfo = _ole(0x000001AA)
CLSID_InstantiationInfo = _ole(0x000001AB)
CLSID_InstanceInfo = _ole(0x000001AD)
CLSID_ScmReplyInfo = _ole(0x000001B6)
CLSID_SpecialSystemProperties = _ole(0x000001B9)
