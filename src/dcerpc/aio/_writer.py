"""Writing a connection's output to its transport under the transport's flow control.

A multi-megabyte stub leaves the protocol core as header octets and views of the
encoder's buffer (``take_parts``). Handing them all to ``transport.write`` at once makes
the transport copy whatever the socket does not take at once into its own buffer — most
of the stub, as costly as encoding it. So parts are written only while the transport
is below its high-water mark; the rest waits here, uncopied, until ``resume_writing``.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Writer"]

#: Writes above this size go to the transport as a memoryview: what it cannot send at
#: once it then buffers without first slicing (copying) the rest.
_BIG = 1 << 16


class Writer:
    """The write side of one connection's protocol (see the module docstring)."""

    __slots__ = ("_backlog", "paused")

    def __init__(self) -> None:
        self._backlog: deque[bytes | bytearray | memoryview] = deque()
        self.paused = False

    def write(self, transport: asyncio.Transport,
              parts: list[bytes | bytearray | memoryview]) -> None:
        """Write ``parts`` in order after anything still waiting."""
        backlog = self._backlog
        if backlog or self.paused:
            backlog.extend(parts)
            return
        for i, data in enumerate(parts):
            if self.paused:  # set by transport.write via pause_writing
                backlog.extend(parts[i:])
                return
            transport.write(memoryview(data) if len(data) > _BIG else data)

    def resume(self, transport: asyncio.Transport | None) -> None:
        """The transport drained below its low-water mark: write what waits."""
        self.paused = False
        backlog = self._backlog
        if transport is None or transport.is_closing():
            backlog.clear()
            return
        while backlog and not self.paused:
            data = backlog.popleft()
            transport.write(memoryview(data) if len(data) > _BIG else data)

    def drain_all(self, transport: asyncio.Transport | None) -> None:
        """Hand everything waiting to the transport now, whatever its buffer holds
        (before ``write_eof``/``close``, which must come after the data)."""
        backlog = self._backlog
        if transport is not None and not transport.is_closing():
            while backlog:
                data = backlog.popleft()
                transport.write(memoryview(data) if len(data) > _BIG else data)
        backlog.clear()

    @property
    def pending(self) -> bool:
        return bool(self._backlog)
