"""asyncio drivers and the asyncio face: ``dcerpc.aio.connect`` and ``dcerpc.aio.Server``.

The drivers are thin pumps around the sans-IO cores (DESIGN.md §3-§4): one write per
PDU batch, one timer per connection from ``get_timer()``, calls completed exactly once.
"""

from __future__ import annotations

from ._callctx import CallContext, CancelSignal, current_call
from .client import AsyncProxy, ClientOptions, connect
from .server import Server

__all__ = ["AsyncProxy", "CallContext", "CancelSignal", "ClientOptions", "Server", "connect",
           "current_call"]
