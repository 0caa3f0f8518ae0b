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
#: Consecutive parts are joined into writes of about this size (see ``Writer._pump``).
_RUN = 1 << 18


class Writer:
    """The write side of one connection's protocol (see the module docstring)."""

    __slots__ = ("_backlog", "paused")

    def __init__(self) -> None:
        self._backlog: deque[bytes | bytearray | memoryview] = deque()
        self.paused = False

    def write(self, transport: asyncio.Transport,
              parts: list[bytes | bytearray | memoryview]) -> None:
        """Write ``parts`` in order after anything still waiting."""
        self._backlog.extend(parts)
        if not self.paused:
            self._pump(transport)

    def resume(self, transport: asyncio.Transport | None) -> None:
        """The transport drained below its low-water mark: write what waits."""
        self.paused = False
        if transport is None or transport.is_closing():
            self._backlog.clear()
            return
        self._pump(transport)

    def _pump(self, transport: asyncio.Transport) -> None:
        """Write from the backlog until it is empty or the transport pauses us
        (``transport.write`` calls ``pause_writing``, which sets ``paused``).

        A large stub's fragments are a 24-octet header and a view of the stub each;
        written one by one they would cost two send calls per 64 KiB fragment, one of
        them a packet of its own under TCP_NODELAY. Consecutive parts are therefore
        joined into writes of about ``_RUN`` octets: one copy of small pieces in memory
        that stays warm, against hundreds of system calls per 16 MiB."""
        backlog = self._backlog
        while backlog and not self.paused:
            data = backlog.popleft()
            if backlog and len(data) < _RUN:
                run, size = [data], len(data)
                while backlog and size < _RUN:
                    nxt = backlog.popleft()
                    run.append(nxt)
                    size += len(nxt)
                data = b"".join(run)
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
