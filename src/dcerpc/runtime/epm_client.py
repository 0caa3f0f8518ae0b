"""Endpoint resolution through a remote endpoint mapper (RpcEpResolveBinding).

A binding without an endpoint (``ncacn_ip_tcp:host``) is completed by asking the endpoint
mapper on the same host for ``ept_map`` of a tower naming the interface and the protocol
with an empty endpoint ([MS-RPCE] 2.2.1.2.5; C706 appendix O). The call itself is
made by a caller-supplied function, so this module stays sans-IO and usable from threads
and event loops alike::

    invoke(binding_str, interface, operation, args) -> result      # resolve()
    await invoke(binding_str, interface, operation, args)          # resolve_async()

``interface`` is the ``epm`` :class:`~dcerpc.ndr.types.Interface`, ``operation`` the
``ept_map`` :class:`~dcerpc.ndr.types.Operation`, ``args`` its [in] values
(``obj, map_tower, entry_handle, max_towers``) and ``result`` the operation's result
(``entry_handle, num_towers, ITowers, status``), as :mod:`dcerpc.ndr` shapes them.

Errors: a non-zero ``status`` or no usable tower raises
:class:`~dcerpc.errors.RpcError` with the Win32 number rpcrt4 maps it to
(``EP_S_NOT_REGISTERED`` → ``EPT_S_NOT_REGISTERED`` 1753).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import NdrError, RpcError
from ..ndr import ContextHandleValue
from ..protocol.constants import NDR_SYNTAX
from .binding import NCACN_IP_TCP, NCACN_NP, NCALRPC, StringBinding
from .epm import EPT_S_CANT_PERFORM_OP, EPT_S_NOT_REGISTERED, NIL_UUID, epm_idl
from .towers import decode_tower, encode_tower

__all__ = [
    "WIN32_EPT_S_CANT_PERFORM_OP",
    "WIN32_EPT_S_NOT_REGISTERED",
    "epm_binding",
    "map_request",
    "map_result",
    "resolve",
    "resolve_async",
]

#: The Win32 numbers rpcrt4 reports for the DCE ``ept_s_*`` codes (winerror.h).
WIN32_EPT_S_CANT_PERFORM_OP = 1752
WIN32_EPT_S_NOT_REGISTERED = 1753
_WIN32_OF = {EPT_S_NOT_REGISTERED: WIN32_EPT_S_NOT_REGISTERED,
             EPT_S_CANT_PERFORM_OP: WIN32_EPT_S_CANT_PERFORM_OP}

#: Well-known endpoint-mapper endpoints other than the TCP/UDP port (135 by default).
_EPM_ENDPOINTS = {NCACN_NP: r"\pipe\epmapper", NCALRPC: "epmapper", "ncacn_http": "593"}
#: How many towers one ept_map asks for (Windows and impacket ask for 4).
MAX_TOWERS = 4

Invoke = Callable[[str, Any, Any, list[Any]], Any]
AsyncInvoke = Callable[[str, Any, Any, list[Any]], Awaitable[Any]]


def _binding(value: StringBinding | str) -> StringBinding:
    return StringBinding.parse(value) if isinstance(value, str) else value


def epm_binding(binding: StringBinding | str, epm_port: int = 135) -> StringBinding:
    """Where the endpoint mapper for ``binding`` listens: same protocol and host."""
    sb = _binding(binding)
    protseq = sb.protseq.lower()
    endpoint = str(epm_port) if protseq in (NCACN_IP_TCP, "ncadg_ip_udp") \
        else _EPM_ENDPOINTS.get(protseq)
    if endpoint is None:
        raise RpcError(f"no endpoint mapper endpoint known for {sb.protseq}",
                       WIN32_EPT_S_CANT_PERFORM_OP)
    return StringBinding(sb.protseq, sb.network_addr, endpoint, sb.options)


def map_request(binding: StringBinding | str, interface: Any, *,
                transfer_syntax: Any = NDR_SYNTAX, max_towers: int = MAX_TOWERS) -> list[Any]:
    """The [in] values of the ept_map call that resolves ``binding`` for ``interface``.

    The object is the binding's object UUID (or nil, which Windows sends as a non-NULL
    pointer to the nil UUID); the tower carries an empty endpoint and the address, or
    0.0.0.0 when it is not an IPv4 literal (the mapper does not use it).
    """
    sb = _binding(binding)
    octets = encode_tower(interface, sb.with_endpoint(""), transfer_syntax)
    tower = epm_idl().twr_t(tower_length=len(octets), tower_octet_string=octets)
    obj = sb.object_uuid if sb.object_uuid is not None else NIL_UUID
    return [obj, tower, ContextHandleValue(), max_towers]


def map_result(binding: StringBinding | str, result: Any) -> StringBinding:
    """``binding`` with the endpoint of the first returned tower of the same protocol."""
    sb = _binding(binding)
    _handle, num_towers, towers, status = result
    if status:
        raise RpcError(f"endpoint mapper: ept_map for {sb} failed with status 0x{status:08X}",
                       _WIN32_OF.get(status, status))
    for twr in list(towers or [])[:num_towers]:
        if twr is None:
            continue
        try:
            tower = decode_tower(bytes(twr.tower_octet_string))
        except NdrError:
            continue  # skip what we cannot read; another tower may do
        if tower.protseq == sb.protseq.lower() and tower.endpoint:
            return sb.with_endpoint(tower.endpoint)
    raise RpcError(f"endpoint mapper returned no {sb.protseq} endpoint for {sb}",
                   WIN32_EPT_S_NOT_REGISTERED)


def _plan(binding: StringBinding | str, interface: Any, epm_port: int, kwargs: dict[str, Any]
          ) -> tuple[StringBinding, str, Any, Any, list[Any]] | StringBinding:
    sb = _binding(binding)
    if sb.endpoint:
        return sb  # fully bound already: nothing to ask (RpcEpResolveBinding does the same)
    mod = epm_idl()
    args = map_request(sb, interface, **kwargs)
    return sb, str(epm_binding(sb, epm_port)), mod.epm, mod.epm.operation("ept_map"), args


def _pick(invoke: Any, connect: Any) -> Any:
    fn = invoke if invoke is not None else connect
    if fn is None or (invoke is not None and connect is not None):
        raise TypeError("pass exactly one of invoke= / connect= (the call function)")
    return fn


def resolve(string_binding: StringBinding | str, interface: Any, *,
            invoke: Invoke | None = None, connect: Invoke | None = None,
            epm_port: int = 135, transfer_syntax: Any = NDR_SYNTAX,
            max_towers: int = MAX_TOWERS) -> StringBinding:
    """Complete a partial binding through the remote endpoint mapper (one ept_map).

    ``invoke`` (``connect`` is accepted as another name for it) performs the call.
    Returns the binding with its endpoint filled in; a binding that already has one is
    returned unchanged without a call.
    """
    fn = _pick(invoke, connect)
    plan = _plan(string_binding, interface, epm_port,
                 {"transfer_syntax": transfer_syntax, "max_towers": max_towers})
    if isinstance(plan, StringBinding):
        return plan
    sb, where, epm, op, args = plan
    return map_result(sb, fn(where, epm, op, args))


async def resolve_async(string_binding: StringBinding | str, interface: Any, *,
                        invoke: AsyncInvoke | None = None, connect: AsyncInvoke | None = None,
                        epm_port: int = 135, transfer_syntax: Any = NDR_SYNTAX,
                        max_towers: int = MAX_TOWERS) -> StringBinding:
    """:func:`resolve` with an awaitable ``invoke``."""
    fn = _pick(invoke, connect)
    plan = _plan(string_binding, interface, epm_port,
                 {"transfer_syntax": transfer_syntax, "max_towers": max_towers})
    if isinstance(plan, StringBinding):
        return plan
    sb, where, epm, op, args = plan
    return map_result(sb, await fn(where, epm, op, args))

