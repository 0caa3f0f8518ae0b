"""What every transport's listener looks like to the server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..runtime.binding import StringBinding

__all__ = ["Listener"]


@dataclass(eq=False)
class Listener:
    """A listening endpoint: the real bindings it serves and how to stop it."""

    bindings: list[StringBinding]
    _close: Callable[[], Awaitable[None]] = field(repr=False)

    async def close(self) -> None:
        """Stop accepting connections (established ones are the server's business)."""
        await self._close()
