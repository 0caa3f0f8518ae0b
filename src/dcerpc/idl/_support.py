"""Helpers that generated modules call at run time.

The runtime's binding objects implement ``_rpc_invoke(interface, operation, args)`` and
``_rpc_invoke_async(async_state, interface, operation, args)``; generated stubs reach
them only through :func:`invoke` and :func:`invoke_async` so that a wrong first argument
fails with a clear message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ndr.types import Interface, Operation

__all__ = ["invoke", "invoke_async", "null_context_handle"]


def invoke(binding: Any, interface: Interface, operation: Operation, args: Sequence[Any]) -> Any:
    """Call ``operation`` of ``interface`` through ``binding`` with the wire [in] values."""
    method = getattr(binding, "_rpc_invoke", None)
    if method is None:
        raise TypeError(f"{interface.name}.{operation.name}: the binding argument "
                        f"({type(binding).__name__}) is not an RPC binding "
                        "(it has no _rpc_invoke method)")
    return method(interface, operation, tuple(args))


def invoke_async(async_state: Any, binding: Any, interface: Interface, operation: Operation,
                 args: Sequence[Any]) -> Any:
    """Start the [async] ``operation``; completion is reported through ``async_state``."""
    method = getattr(binding, "_rpc_invoke_async", None)
    if method is None:
        raise TypeError(f"{interface.name}.{operation.name}: the binding argument "
                        f"({type(binding).__name__}) cannot make asynchronous calls "
                        "(it has no _rpc_invoke_async method)")
    return method(async_state, interface, operation, tuple(args))


def null_context_handle() -> Any:
    """The NULL context handle value (:class:`dcerpc.ndr.ContextHandleValue` when available)."""
    from .. import ndr

    cls = getattr(ndr, "ContextHandleValue", None)
    return cls() if cls is not None else None
