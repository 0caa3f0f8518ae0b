"""The call engine (sans-IO): bindings, and later the call table, async handles and dispatch."""

from __future__ import annotations

from .binding import NCACN_IP_TCP, NCACN_NP, NCALRPC, StringBinding

__all__ = ["NCACN_IP_TCP", "NCACN_NP", "NCALRPC", "StringBinding"]
