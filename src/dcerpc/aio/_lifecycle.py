"""The lifecycle shared by every server object: ``async with`` and the threaded
``start_background``/``stop_background`` pair (DESIGN.md §4: the threaded face runs the
asyncio server on the runtime loop thread)."""

from __future__ import annotations

from typing import Any, TypeVar

from ..runtime.binding import StringBinding

__all__ = ["Lifecycle"]

S = TypeVar("S", bound="Lifecycle")


class Lifecycle:
    """Mixin for classes with ``async start() -> bindings`` and ``async stop(timeout)``."""

    async def start(self) -> list[StringBinding]:
        raise NotImplementedError

    async def stop(self, timeout: float = 5.0) -> None:
        raise NotImplementedError

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_background(self) -> list[StringBinding]:
        """Start on the runtime loop thread; returns the real bindings."""
        from .._sync import run_sync

        result: Any = run_sync(self.start())
        return result  # type: ignore[no-any-return]

    def stop_background(self, timeout: float = 5.0) -> None:
        """Stop from any thread but the runtime loop's, waiting up to ``timeout``."""
        from .._sync import run_sync

        run_sync(self.stop(timeout))
