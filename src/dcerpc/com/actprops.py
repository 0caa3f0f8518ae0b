"""Activation property blobs ([MS-DCOM] 2.2.22): what RemoteCreateInstance and
RemoteGetClassObject carry inside an ``OBJREF_CUSTOM``.

``ACTIVATION_BLOB = dwSize, dwReserved, CustomHeader, properties…`` where the
CustomHeader and every property are pickled with type serialization version 1
([MS-RPCE] 2.2.6, :func:`dcerpc.ndr.type_serialize`). The CustomHeader lists the
properties' CLSIDs (``pclsid``) and serialized sizes (``pSizes``); ``headerSize`` is the
header's own serialized length, so the properties start at ``8 + headerSize``.

Peers differ in the private header: [MS-RPCE] says ``ObjectBufferLength`` includes the
padding to 8 and the filler is 0; impacket leaves the padding out of the length and
writes 0xCCCCCCCC. :func:`deserialize` accepts both; we write the specified form.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import ndr
from ..errors import NdrError
from . import guids as g
from ._orpc import COM_VERSION, dcom_idl
from .objref import DualStringArray, ObjRefCustom, decode_objref

__all__ = [
    "ActivationReply",
    "ActivationRequest",
    "decode_reply_blob",
    "decode_request_blob",
    "deserialize",
    "encode_reply_blob",
    "encode_request_blob",
]

#: MSHCTX_DIFFERENTMACHINE ([MS-DCOM] 2.2.22.1 destCtx).
MSHCTX_DIFFERENTMACHINE = 2


def deserialize(T: Any, data: bytes) -> Any:
    """Type-serialization-v1 decode that tolerates impacket's unpadded length."""
    if len(data) < 16:
        raise NdrError(f"serialized property too short ({len(data)} bytes)", 0)
    length = struct.unpack_from("<I", data, 8)[0]
    if length % 8 == 0 and 16 + length <= len(data):
        return ndr.type_deserialize(T, data[:16 + length])
    body = data[16:16 + length]
    if len(body) < length:
        raise NdrError(f"ObjectBufferLength {length} exceeds the {len(data) - 16} bytes "
                       "present", 8)
    padded = length + (-length % 8)
    fixed = data[:8] + struct.pack("<II", padded, 0) + body + bytes(padded - length)
    return ndr.type_deserialize(T, fixed)


def _custom_header(clsids: list[uuid.UUID], sizes: list[int], total: int,
                   header_size: int) -> Any:
    m = dcom_idl()
    return m.CustomHeader(totalSize=total, headerSize=header_size, dwReserved=0,
                          destCtx=MSHCTX_DIFFERENTMACHINE, cIfs=len(clsids),
                          classInfoClsid=g.GUID_NULL, pclsid=list(clsids),
                          pSizes=list(sizes), pdwReserved=None)


def _blob(clsids: list[uuid.UUID], props: list[bytes]) -> bytes:
    """ACTIVATION_BLOB of already serialized properties ([MS-DCOM] 2.2.22)."""
    m = dcom_idl()
    sizes = [len(p) for p in props]
    body = sum(sizes)
    # headerSize and totalSize are fixed-size fields: one pass measures the header.
    probe = ndr.type_serialize(m.CustomHeader, _custom_header(clsids, sizes, 0, 0))
    hsize = len(probe)
    header = ndr.type_serialize(m.CustomHeader,
                                _custom_header(clsids, sizes, hsize + body, hsize))
    return struct.pack("<II", hsize + body, 0) + header + b"".join(props)


def _split(blob: bytes) -> list[tuple[uuid.UUID, bytes]]:
    m = dcom_idl()
    if len(blob) < 8:
        raise NdrError("activation blob truncated", 0)
    header = deserialize(m.CustomHeader, blob[8:])
    pos = 8 + header.headerSize
    clsids = header.pclsid or []
    sizes = header.pSizes or []
    if len(clsids) != len(sizes) or header.headerSize < 16:
        raise NdrError("activation blob: inconsistent CustomHeader", 8)
    out = []
    for clsid, size in zip(clsids, sizes, strict=True):
        if pos + size > len(blob):
            raise NdrError(f"activation property {clsid} overruns the blob", pos)
        out.append((clsid, blob[pos:pos + size]))
        pos += size
    return out


# --------------------------------------------------------------------------- request
@dataclass
class ActivationRequest:
    """The parts of ActivationPropertiesIn a server acts on."""

    clsid: uuid.UUID
    iids: list[uuid.UUID]
    client_version: tuple[int, int] = COM_VERSION
    requested_protseqs: list[int] = field(default_factory=lambda: [7])


def encode_request_blob(req: ActivationRequest) -> bytes:
    """The OBJREF_CUSTOM bytes (``pActProperties.abData``) impacket and Windows send:
    InstantiationInfo, ActivationContextInfo, LocationInfo, ScmRequestInfo."""
    m = dcom_idl()

    def inst(this_size: int) -> bytes:
        return ndr.type_serialize(m.InstantiationInfoData, m.InstantiationInfoData(
            classId=req.clsid, classCtx=0, actvflags=0, fIsSurrogate=0, cIID=len(req.iids),
            instFlag=0, pIID=list(req.iids), thisSize=this_size,
            clientCOMVersion=m.COMVERSION(*req.client_version)))

    first = inst(0)
    props = [
        inst(len(first)),
        ndr.type_serialize(m.ActivationContextInfoData, m.ActivationContextInfoData(
            clientOK=0, bReserved1=0, dwReserved1=0, dwReserved2=0, pIFDClientCtx=None,
            pIFDPrototypeCtx=None)),
        ndr.type_serialize(m.LocationInfoData, m.LocationInfoData(
            machineName=None, processId=0, apartmentId=0, contextId=0)),
        ndr.type_serialize(m.ScmRequestInfoData, m.ScmRequestInfoData(
            pdwReserved=None, remoteRequest=m.customREMOTE_REQUEST_SCM_INFO(
                ClientImpLevel=2, cRequestedProtseqs=len(req.requested_protseqs),
                pRequestedProtseqs=list(req.requested_protseqs)))),
    ]
    clsids = [g.CLSID_InstantiationInfo, g.CLSID_ActivationContextInfo,
              g.CLSID_ServerLocationInfo, g.CLSID_ScmRequestInfo]
    return ObjRefCustom(g.IID_IActivationPropertiesIn, g.CLSID_ActivationPropertiesIn,
                        _blob(clsids, props)).pack()


def decode_request_blob(abdata: bytes) -> ActivationRequest:
    """Parse ActivationPropertiesIn (an OBJREF_CUSTOM). Raises :class:`NdrError`."""
    m = dcom_idl()
    ref = decode_objref(abdata)
    if not isinstance(ref, ObjRefCustom) or ref.clsid != g.CLSID_ActivationPropertiesIn:
        raise NdrError("pActProperties is not an ActivationPropertiesIn OBJREF_CUSTOM")
    req: ActivationRequest | None = None
    protseqs: list[int] = [7]
    for clsid, data in _split(ref.pObjectData):
        if clsid == g.CLSID_InstantiationInfo:
            info = deserialize(m.InstantiationInfoData, data)
            v = info.clientCOMVersion
            req = ActivationRequest(info.classId, list(info.pIID or []),
                                    (v.MajorVersion, v.MinorVersion))
        elif clsid == g.CLSID_ScmRequestInfo:
            scm = deserialize(m.ScmRequestInfoData, data)
            if scm.remoteRequest is not None:
                protseqs = list(scm.remoteRequest.pRequestedProtseqs or [])
    if req is None:
        raise NdrError("activation request without InstantiationInfo")
    req.requested_protseqs = protseqs
    return req


# --------------------------------------------------------------------------- reply
@dataclass
class ActivationReply:
    """ActivationPropertiesOut: per requested IID an HRESULT and an OBJREF (or None),
    plus the object exporter's OXID, bindings and IRemUnknown IPID."""

    iids: list[uuid.UUID]
    hresults: list[int]
    objrefs: list[bytes | None]
    oxid: int
    bindings: DualStringArray
    ipid_rem_unknown: uuid.UUID
    authn_hint: int = 1
    server_version: tuple[int, int] = COM_VERSION


def encode_reply_blob(rep: ActivationReply) -> bytes:
    """OBJREF_CUSTOM bytes of ActivationPropertiesOut: PropsOutInfo then ScmReplyInfo, in
    that order (impacket takes them by position, protocol-digest §7.4)."""
    from .hresult import signed

    m = dcom_idl()
    words, sec = rep.bindings.words()
    props_out = m.PropsOutInfo(
        cIfs=len(rep.iids), piid=list(rep.iids), phresults=[signed(h) for h in rep.hresults],
        ppIntfData=[None if o is None else m.MInterfacePointer(len(o), o) for o in rep.objrefs])
    scm = m.ScmReplyInfoData(pdwReserved=None, remoteReply=m.customREMOTE_REPLY_SCM_INFO(
        Oxid=rep.oxid,
        pdsaOxidBindings=m.DUALSTRINGARRAY(wNumEntries=len(words), wSecurityOffset=sec,
                                           aStringArray=words),
        ipidRemUnknown=rep.ipid_rem_unknown, authnHint=rep.authn_hint,
        serverVersion=m.COMVERSION(*rep.server_version)))
    props = [ndr.type_serialize(m.PropsOutInfo, props_out),
             ndr.type_serialize(m.ScmReplyInfoData, scm)]
    return ObjRefCustom(g.IID_IActivationPropertiesOut, g.CLSID_ActivationPropertiesOut,
                        _blob([g.CLSID_PropsOutInfo, g.CLSID_ScmReplyInfo], props)).pack()


def decode_reply_blob(abdata: bytes) -> ActivationReply:
    """Parse ActivationPropertiesOut. Raises :class:`NdrError` when malformed."""
    from .hresult import unsigned

    m = dcom_idl()
    ref = decode_objref(abdata)
    if not isinstance(ref, ObjRefCustom):
        raise NdrError("ppActProperties is not an OBJREF_CUSTOM")
    parts = _split(ref.pObjectData)
    props = scm = None
    for i, (clsid, data) in enumerate(parts):
        # PropsOutInfo and ActivationPropertiesOut share a CLSID; the first one is it.
        if clsid == g.CLSID_PropsOutInfo and props is None:
            props = deserialize(m.PropsOutInfo, data)
        elif clsid == g.CLSID_ScmReplyInfo or (i == 1 and scm is None):
            scm = deserialize(m.ScmReplyInfoData, data)
    if props is None or scm is None or scm.remoteReply is None:
        raise NdrError("activation reply lacks PropsOutInfo or ScmReplyInfo")
    r = scm.remoteReply
    dsa = r.pdsaOxidBindings
    bindings = (DualStringArray.from_words(list(dsa.aStringArray), dsa.wSecurityOffset)
                if dsa is not None else DualStringArray())
    return ActivationReply(
        list(props.piid or []), [unsigned(h) for h in props.phresults or []],
        [None if p is None else bytes(p.abData) for p in props.ppIntfData or []],
        r.Oxid, bindings, r.ipidRemUnknown, r.authnHint,
        (r.serverVersion.MajorVersion, r.serverVersion.MinorVersion))
