"""Connection-oriented DCE/RPC (C706 ch. 12 + [MS-RPCE]): the PDU codec and its constants.

The sans-IO association and call state machines will live next to the codec; both never
touch sockets, threads or clocks (DESIGN.md §3).
"""

from __future__ import annotations

from . import constants
from .constants import (
    NDR64_SYNTAX,
    NDR_SYNTAX,
    PTYPE,
    AuthnLevel,
    AuthnType,
    ContDefResult,
    PfcFlags,
    ProviderReason,
    RejectReason,
    SyntaxId,
)
from .pdu import (
    AlterContext,
    AlterContextResp,
    Auth3,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    ContextElement,
    ContextResult,
    Fault,
    Orphaned,
    Pdu,
    PduReader,
    Request,
    Response,
    Shutdown,
    decode_pdu,
)

__all__ = [
    "NDR64_SYNTAX",
    "NDR_SYNTAX",
    "PTYPE",
    "AlterContext",
    "AlterContextResp",
    "Auth3",
    "AuthVerifier",
    "AuthnLevel",
    "AuthnType",
    "Bind",
    "BindAck",
    "BindNak",
    "CoCancel",
    "ContDefResult",
    "ContextElement",
    "ContextResult",
    "Fault",
    "Orphaned",
    "Pdu",
    "PduReader",
    "PfcFlags",
    "ProviderReason",
    "RejectReason",
    "Request",
    "Response",
    "Shutdown",
    "SyntaxId",
    "constants",
    "decode_pdu",
]
