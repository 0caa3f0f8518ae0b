"""dcerpc: DCE/RPC and DCOM for Python, with asynchronous calls as first-class citizens."""

from __future__ import annotations

from . import status
from ._endpoints import use_endpoint_mapper
from ._sync import Binding, SyncProxy, connect
from .aio import CallContext, Server, current_call
from .aio._opcall import RpcCall
from .aio._pipe_server import streaming
from .aio._pipes import Pipe, PipeError
from .errors import (
    BindError,
    CallCancelled,
    CallFault,
    CommFailure,
    IdlError,
    LocalProtocolError,
    NdrError,
    ProtocolError,
    RemoteProtocolError,
    RpcError,
    RpcTimeout,
    SecurityError,
)

__version__ = "0.1.0"

__all__ = [
    "BindError",
    "Binding",
    "CallCancelled",
    "CallContext",
    "CallFault",
    "CommFailure",
    "IdlError",
    "LocalProtocolError",
    "NdrError",
    "Pipe",
    "PipeError",
    "ProtocolError",
    "RemoteProtocolError",
    "RpcCall",
    "RpcError",
    "RpcTimeout",
    "SecurityError",
    "Server",
    "SyncProxy",
    "connect",
    "current_call",
    "status",
    "streaming",
    "use_endpoint_mapper",
]

use_endpoint_mapper()
