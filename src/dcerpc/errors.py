"""The exception hierarchy shared by every layer.

Every class carries a class-level default ``status`` (a Windows / NCA number from
:mod:`dcerpc.status`) so that ``raise CallFault()`` still maps to a wire code.
"""

from __future__ import annotations

from . import status as _status

__all__ = [
    "BindError",
    "CallCancelled",
    "CallFault",
    "CommFailure",
    "IdlError",
    "LocalProtocolError",
    "NdrError",
    "ProtocolError",
    "RemoteProtocolError",
    "RpcError",
    "RpcTimeout",
    "SecurityError",
]


class RpcError(Exception):
    """Base of every error the runtime raises; ``.status`` is the Windows/NCA number."""

    status: int = _status.RPC_S_CALL_FAILED

    def __init__(self, message: str = "", status: int | None = None) -> None:
        if status is not None:
            self.status = status
        super().__init__(message or _status.status_name(self.status))

    @property
    def status_name(self) -> str:
        return _status.status_name(self.status)


class NdrError(RpcError, ValueError):
    """Malformed or unencodable NDR data (C706 ch. 14). Maps to ``rpc_x_bad_stub_data``.

    ``offset`` is the stub offset at which decoding failed, when known.
    """

    status = _status.RPC_X_BAD_STUB_DATA

    def __init__(self, message: str, offset: int | None = None, status: int | None = None) -> None:
        self.offset = offset
        if offset is not None:
            message = f"{message} (at offset {offset})"
        super().__init__(message, status)


class ProtocolError(RpcError):
    status = _status.RPC_S_PROTOCOL_ERROR


class LocalProtocolError(ProtocolError):
    """The local side misused the protocol core (a bug in the caller)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids; the connection is dead."""


class BindError(RpcError):
    """bind_nak or a rejected presentation context."""

    status = _status.RPC_S_CALL_FAILED_DNE


class CallFault(RpcError):
    """The server answered with a fault PDU."""


class CallCancelled(RpcError):
    status = _status.RPC_S_CALL_CANCELLED


class CommFailure(RpcError):
    status = _status.RPC_S_COMM_FAILURE


class RpcTimeout(RpcError):
    status = _status.RPC_S_TIMEOUT


class SecurityError(RpcError):
    status = _status.RPC_S_ACCESS_DENIED


class IdlError(Exception):
    """An IDL/ACF source could not be compiled; the message names file:line:column."""

    def __init__(self, message: str, filename: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.filename, self.line, self.column = filename, line, column
        where = ":".join(str(p) for p in (filename, line, column) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)
