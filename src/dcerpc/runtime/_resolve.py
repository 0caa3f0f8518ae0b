"""The endpoint-resolution hook for bindings without an endpoint.

A client given ``ncacn_ip_tcp:host`` (no port) must ask the host's endpoint mapper
(C706 ch. 6, protocol-digest §6) which endpoint serves the interface. That lookup lives
with the endpoint-mapper code; the call path only calls :data:`dcerpc.runtime.resolver`,
a settable callable ``(StringBinding, Interface) -> StringBinding``. Until something
installs a real one, it fails the call with ``RPC_S_NO_ENDPOINT_FOUND`` as Windows does
when the mapper has no entry.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import status as st
from ..errors import RpcError
from ..ndr.types import Interface
from .binding import StringBinding

__all__ = ["Resolver", "no_resolver"]

Resolver = Callable[[StringBinding, Interface], StringBinding]


def no_resolver(binding: StringBinding, interface: Interface) -> StringBinding:
    """The default hook: no endpoint mapper is wired in, so nothing can be resolved."""
    raise RpcError(f"no endpoint for {interface.name} at {binding} "
                   "(the binding names no endpoint and no resolver is installed)",
                   st.RPC_S_NO_ENDPOINT_FOUND)
