"""``RpcServerInqCallAttributes`` and ``RPC_CALL_ATTRIBUTES_V2`` (rpcasync.h; seed-semantics
F69, T80).

The caller's security attributes (and a few facts about the call) for a server binding
handle: the :class:`dcerpc.aio.CallContext` a manager's ``[in] handle_t`` receives or
``RpcAsyncGetCallHandle(pAsync)`` returns, or None for the call the calling manager is
serving.  It may be called from any thread while an ``[async]`` call is OUTSTANDING — the
manager routine need not be running (F69) — and returns RPC_S_INVALID_BINDING once the
call was completed or aborted, like ``RpcImpersonateClient`` (F68 [D]).

The principal names follow MSDN's buffer protocol: ``*BufferLength`` is the size in bytes
of the buffer (a :class:`bytearray` here) the name is written to as UTF-16LE with a
terminating NUL; a buffer too short leaves it untouched, sets the length to the size
needed and makes the call return ERROR_MORE_DATA (234) after filling everything else; a
nonzero length with no buffer is ERROR_INVALID_PARAMETER.  :meth:`RPC_CALL_ATTRIBUTES_V2.
client_principal` / ``server_principal`` decode a filled buffer.

What is filled honestly and what is not:

* ``ServerPrincipalName``: the name the client addressed the server by, when its security
  package carries it (NTLM's MsvAvTargetName, [MS-NLMP] 2.2.2.1; the Kerberos ticket's
  service principal); otherwise the length is set to 0, as MSDN says for a protocol
  sequence that cannot tell.
* ``ClientPrincipalName``: ``DOMAIN\\user`` of the authenticated caller; on ncalrpc
  without authentication, the peer's ``uid:<n>`` (SO_PEERCRED).
* Without authentication the call fails with RPC_S_BINDING_HAS_NO_AUTH unless
  RPC_QUERY_NO_AUTH_REQUIRED is in ``Flags`` (then level NONE / service NONE).
* ``ClientPID`` (RPC_QUERY_CLIENT_PID) only on ncalrpc, as on Windows; ``IsClientLocal`` is
  rcclLocal on ncalrpc and rcclClientUnknownLocality elsewhere; ``KernelModeCaller`` is
  always FALSE; ``CallLocalAddress`` is not filled (left None).
* ``ncadg_*`` calls: RPC_S_CANNOT_SUPPORT (F69).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import status as st
from ..auth import _impersonation as _imp
from ._impersonate import _call_of

__all__ = [
    "RPC_CALL_ATTRIBUTES_V1",
    "RPC_CALL_ATTRIBUTES_V2",
    "RPC_CALL_ATTRIBUTES_VERSION",
    "RPC_CALL_STATUS_CANCELLED",
    "RPC_CALL_STATUS_DISCONNECTED",
    "RPC_PROTSEQ_HTTP",
    "RPC_PROTSEQ_LRPC",
    "RPC_PROTSEQ_NMP",
    "RPC_PROTSEQ_TCP",
    "RPC_QUERY_CALL_LOCAL_ADDRESS",
    "RPC_QUERY_CLIENT_PID",
    "RPC_QUERY_CLIENT_PRINCIPAL_NAME",
    "RPC_QUERY_IS_CLIENT_LOCAL",
    "RPC_QUERY_NO_AUTH_REQUIRED",
    "RPC_QUERY_SERVER_PRINCIPAL_NAME",
    "RpcServerInqCallAttributes",
    "RpcServerInqCallAttributesW",
    "rcclClientUnknownLocality",
    "rcclInvalid",
    "rcclLocal",
    "rcclRemote",
    "rcsCancelled",
    "rcsDisconnected",
    "rcsInProgress",
    "rcsInvalid",
    "rctGuaranteed",
    "rctInvalid",
    "rctNormal",
    "rctTraining",
]

RPC_CALL_ATTRIBUTES_VERSION = 2
RPC_QUERY_SERVER_PRINCIPAL_NAME = 0x02
RPC_QUERY_CLIENT_PRINCIPAL_NAME = 0x04
RPC_QUERY_CALL_LOCAL_ADDRESS = 0x08
RPC_QUERY_CLIENT_PID = 0x10
RPC_QUERY_IS_CLIENT_LOCAL = 0x20
RPC_QUERY_NO_AUTH_REQUIRED = 0x40
RPC_CALL_STATUS_CANCELLED = 0x01
RPC_CALL_STATUS_DISCONNECTED = 0x02

#: rpcdce.h RPC_PROTSEQ_* (the ``ProtocolSequence`` member).
RPC_PROTSEQ_TCP = 0x1
RPC_PROTSEQ_NMP = 0x2
RPC_PROTSEQ_LRPC = 0x3
RPC_PROTSEQ_HTTP = 0x4
_PROTSEQS = {"ncacn_ip_tcp": RPC_PROTSEQ_TCP, "ncacn_np": RPC_PROTSEQ_NMP,
             "ncalrpc": RPC_PROTSEQ_LRPC, "ncacn_http": RPC_PROTSEQ_HTTP}

#: RpcCallClientLocality, RpcCallStatus, RpcCallType (rpcasync.h).
rcclInvalid, rcclLocal, rcclRemote, rcclClientUnknownLocality = 0, 1, 2, 3
rcsInvalid, rcsInProgress, rcsCancelled, rcsDisconnected = 0, 1, 2, 3
rctInvalid, rctNormal, rctTraining, rctGuaranteed = 0, 1, 2, 3


@dataclass
class RPC_CALL_ATTRIBUTES_V1:
    """``RPC_CALL_ATTRIBUTES_V1_W``: the security members only."""

    Version: int = 1
    Flags: int = 0
    ServerPrincipalNameBufferLength: int = 0
    ServerPrincipalName: bytearray | None = None
    ClientPrincipalNameBufferLength: int = 0
    ClientPrincipalName: bytearray | None = None
    AuthenticationLevel: int = 0
    AuthenticationService: int = 0
    NullSession: bool = False

    def server_principal(self) -> str | None:
        """The server principal name written by the last successful call, or None."""
        return _decode(self.ServerPrincipalName, self.ServerPrincipalNameBufferLength)

    def client_principal(self) -> str | None:
        """The client principal name written by the last successful call, or None."""
        return _decode(self.ClientPrincipalName, self.ClientPrincipalNameBufferLength)


@dataclass
class RPC_CALL_ATTRIBUTES_V2(RPC_CALL_ATTRIBUTES_V1):
    """``RPC_CALL_ATTRIBUTES_V2_W`` (Version 2 adds the call's facts)."""

    Version: int = RPC_CALL_ATTRIBUTES_VERSION
    KernelModeCaller: bool = False
    ProtocolSequence: int = 0
    IsClientLocal: int = rcclInvalid
    ClientPID: int | None = None
    CallStatus: int = rcsInvalid
    CallType: int = rctInvalid
    CallLocalAddress: Any = None
    OpNum: int = 0
    InterfaceUuid: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=0))


def _decode(buf: bytearray | None, length: int) -> str | None:
    if buf is None or length < 2:
        return None
    return bytes(buf[:length - 2]).decode("utf-16-le")


def _put_name(attrs: Any, which: str, name: str | None) -> int:
    """Write ``name`` into ``attrs.<which>`` per MSDN's buffer protocol; a status."""
    length_field = f"{which}BufferLength"
    length = int(getattr(attrs, length_field))
    buf = getattr(attrs, which)
    if length and buf is None:
        return st.ERROR_INVALID_PARAMETER
    if name is None:
        setattr(attrs, length_field, 0)  # the package does not tell (MSDN: length 0)
        return st.RPC_S_OK
    data = name.encode("utf-16-le") + b"\0\0"
    if length < len(data) or buf is None or len(buf) < len(data):
        setattr(attrs, length_field, len(data))
        return st.ERROR_MORE_DATA
    buf[:len(data)] = data
    setattr(attrs, length_field, len(data))
    return st.RPC_S_OK


def RpcServerInqCallAttributes(ClientBinding: Any, RpcCallAttributes: Any) -> int:
    """Fill ``RpcCallAttributes`` (an :class:`RPC_CALL_ATTRIBUTES_V2` or ``_V1``) for the
    call of ``ClientBinding`` (None = the current call); an RPC_STATUS (module docstring).
    """
    attrs = RpcCallAttributes
    status, call = _call_of(ClientBinding)
    if status != st.RPC_S_OK:
        return status
    version = int(getattr(attrs, "Version", 0))
    if version not in (1, 2):
        return st.ERROR_INVALID_PARAMETER
    if not call.active:
        return st.RPC_S_INVALID_BINDING  # completed or aborted: the handle is gone (F68 [D])
    if str(call.protseq).startswith("ncadg_"):
        return st.RPC_S_CANNOT_SUPPORT
    flags = int(attrs.Flags)
    identity = _imp.caller_identity(call)
    authenticated = call.auth_info is not None and int(call.auth_info.auth_level) >= 2
    if identity is None and not flags & RPC_QUERY_NO_AUTH_REQUIRED:
        return st.RPC_S_BINDING_HAS_NO_AUTH
    result = st.RPC_S_OK
    if flags & RPC_QUERY_SERVER_PRINCIPAL_NAME:
        server_name = getattr(call.auth_info, "server_principal", None) if authenticated \
            else None
        got = _put_name(attrs, "ServerPrincipalName", server_name)
        if got == st.ERROR_INVALID_PARAMETER:
            return got
        result = got if got != st.RPC_S_OK else result
    if flags & RPC_QUERY_CLIENT_PRINCIPAL_NAME:
        got = _put_name(attrs, "ClientPrincipalName",
                        identity.principal if identity is not None else None)
        if got == st.ERROR_INVALID_PARAMETER:
            return got
        result = got if got != st.RPC_S_OK else result
    if authenticated:
        info = call.auth_info
        attrs.AuthenticationLevel = int(info.auth_level)
        attrs.AuthenticationService = int(info.auth_type)
        attrs.NullSession = not info.user  # NTLM anonymous logon ([MS-NLMP] 3.2.5.1.2)
    else:
        attrs.AuthenticationLevel = 1  # RPC_C_AUTHN_LEVEL_NONE
        attrs.AuthenticationService = 0  # RPC_C_AUTHN_NONE
        attrs.NullSession = False
    if version >= 2:
        _fill_v2(attrs, call, flags)
    return result


RpcServerInqCallAttributesW = RpcServerInqCallAttributes


def _fill_v2(attrs: Any, call: Any, flags: int) -> None:
    protseq = str(call.protseq).lower()
    local = protseq == "ncalrpc"
    attrs.KernelModeCaller = False
    attrs.ProtocolSequence = _PROTSEQS.get(protseq, 0)
    if flags & RPC_QUERY_IS_CLIENT_LOCAL:
        attrs.IsClientLocal = rcclLocal if local else rcclClientUnknownLocality
    if flags & RPC_QUERY_CLIENT_PID:
        creds = getattr(call, "peer_credentials", None)
        attrs.ClientPID = int(creds.pid) if local and creds is not None else None
    if call.disconnected:
        attrs.CallStatus = rcsDisconnected
    elif call.test_cancel():
        attrs.CallStatus = rcsCancelled
    else:
        attrs.CallStatus = rcsInProgress
    attrs.CallType = rctNormal
    attrs.OpNum = int(call.operation.opnum)
    iface_uuid = getattr(call.interface, "uuid", None)
    attrs.InterfaceUuid = iface_uuid if iface_uuid is not None else uuid.UUID(int=0)
