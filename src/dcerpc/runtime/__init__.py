"""The call engine (sans-IO): bindings, the interface registry, server dispatch,
context handles, and the client call record.

``resolver`` is the endpoint-resolution hook (a settable module attribute, see
:mod:`._resolve`): ``dcerpc.runtime.resolver = my_lookup``.
"""

from __future__ import annotations

from ._resolve import Resolver, no_resolver
from .binding import NCACN_IP_TCP, NCACN_NP, NCALRPC, StringBinding
from .calls import CallState, ClientCall
from .contexts import ContextHandleTable, OpenHandle, rundown_callable
from .dispatch import Dispatcher, PreparedCall, fault_status
from .registry import InterfaceRegistry, RegisteredInterface, syntax_of

#: ``(StringBinding, Interface) -> StringBinding`` for bindings without an endpoint.
resolver: Resolver = no_resolver

__all__ = [
    "NCACN_IP_TCP",
    "NCACN_NP",
    "NCALRPC",
    "CallState",
    "ClientCall",
    "ContextHandleTable",
    "Dispatcher",
    "InterfaceRegistry",
    "OpenHandle",
    "PreparedCall",
    "RegisteredInterface",
    "Resolver",
    "StringBinding",
    "fault_status",
    "no_resolver",
    "resolver",
    "rundown_callable",
    "syntax_of",
]
