"""The endpoint mapper, wired into the faces.

* Clients: a binding without an endpoint (``ncacn_ip_tcp:host``) is completed by an
  ``ept_map`` call to the endpoint mapper of that host (C706 ch. 6, [MS-RPCE] 2.2.1.2.5),
  on TCP port 135 unless configured otherwise (``DCERPC_EPM_PORT`` in the environment, or
  :func:`use_endpoint_mapper`). This resolver is installed when :mod:`dcerpc` is imported.
* Servers: ``dcerpc.Server(epm=True)`` also serves the endpoint mapper interface on its
  own endpoints and registers its interfaces there; ``epm=PORT`` additionally listens for
  it on that TCP port of the server's host (what ``dcerpc serve --epm PORT`` does).
"""

from __future__ import annotations

import os
from typing import Any

from . import runtime
from .ndr.types import Interface, Operation
from .runtime import epm_client
from .runtime.binding import StringBinding

__all__ = ["DEFAULT_EPM_PORT", "OnLoop", "epm_resolver", "use_endpoint_mapper"]

#: The well-known endpoint of the endpoint mapper (C706 appendix H), overridable.
DEFAULT_EPM_PORT = int(os.environ.get("DCERPC_EPM_PORT", "135"))


def _invoke(where: str, interface: Interface, operation: Operation, args: Any) -> Any:
    from ._sync import Binding

    binding = Binding(where)
    try:
        return binding._rpc_invoke(interface, operation, args)
    finally:
        binding.close()


def epm_resolver(port: int = DEFAULT_EPM_PORT) -> runtime.Resolver:
    """A resolver hook asking the endpoint mapper on ``port`` of the binding's host."""

    def resolve(binding: StringBinding, interface: Interface) -> StringBinding:
        return epm_client.resolve(binding, interface, invoke=_invoke, epm_port=port)

    return resolve


def use_endpoint_mapper(port: int = DEFAULT_EPM_PORT) -> None:
    """Resolve endpoint-less bindings through the endpoint mapper on TCP ``port``."""
    runtime.resolver = epm_resolver(port)


class OnLoop:
    """Present a manager's routines as ``async def`` so that the server runs them on its
    event loop, one at a time: for quick in-memory managers that are not thread-safe
    (the endpoint mapper's registry)."""

    def __init__(self, impl: Any) -> None:
        self._impl = impl

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._impl, name)

        async def routine(*args: Any) -> Any:
            return fn(*args)

        routine.__name__ = name
        return routine
