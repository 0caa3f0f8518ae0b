"""Writing a connection's output to its transport under the transport's flow control.

A multi-megabyte stub leaves the protocol core as header octets and views of the
encoder's buffer (``take_parts``). Handing them all to ``transport.write`` at once makes
the transport copy whatever the socket does not take at once into its own buffer — most
of the stub, as costly as encoding it. So parts are written only while the transport
is below its high-water mark; the rest waits here, uncopied, until ``resume_writing``.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque

__all__ = ["Writer"]

#: Writes above this size go to the transport as a memoryview: what it cannot send at
#: once it then buffers without first slicing (copying) the rest.
_BIG = 1 << 16
#: Consecutive parts are joined into writes of about this size (see ``Writer._pump``).
_RUN = 1 << 18
#: A small part followed by one of at least this size (a fragment header, then a view
#: of the stub) starts a gathered write (see ``Writer._gather``).
_GATHER = 1 << 14
#: Most buffers handed to one ``os.writev`` (IOV_MAX is 1024 on Linux): 32 fragments.
_IOV = 64


class Writer:
    """The write side of one connection's protocol (see the module docstring)."""

    __slots__ = ("_backlog", "_fd", "paused")

    def __init__(self) -> None:
        self._backlog: deque[bytes | bytearray | memoryview] = deque()
        self.paused = False
        #: the socket's descriptor for gathered writes (None: not looked up yet, -1:
        #: not a plain socket transport, or a gathered write failed once)
        self._fd: int | None = None

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
            if backlog and len(data) < _GATHER <= len(backlog[0]) and self._gather(
                    transport, data):
                continue
            if backlog and len(data) < _RUN:
                run, size = [data], len(data)
                while backlog and size < _RUN:
                    nxt = backlog.popleft()
                    run.append(nxt)
                    size += len(nxt)
                data = b"".join(run)
            transport.write(memoryview(data) if len(data) > _BIG else data)

    def _gather(self, transport: asyncio.Transport,
                first: bytes | bytearray | memoryview) -> bool:
        """Send ``first`` and the parts after it (a large stub's fragment headers and
        views) with one ``os.writev`` straight to the socket, without joining them: no
        copy of the stub in user space.  Only while the transport holds nothing (so the
        order on the wire stays), and only on a plain socket (never under TLS, whose
        transport also answers "socket").  True when the parts were taken (what the
        socket did not accept is back at the front of the backlog, and one run of it
        went to the transport, whose buffering then paces us as before); False when the
        caller should write ``first`` the usual way."""
        fd = self._fd
        if fd is None:
            fd = self._fd = _socket_fd(transport)
        if fd < 0 or transport.get_write_buffer_size() or transport.is_closing():
            return False
        backlog = self._backlog
        parts = [first]
        while backlog and len(parts) < _IOV:
            parts.append(backlog.popleft())
        try:
            sent = os.writev(fd, parts)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # Let the transport meet (and report) the error in its own way.
            self._fd = -1
            backlog.extendleft(reversed(parts))
            return False
        for i, part in enumerate(parts):
            size = len(part)
            if sent < size:
                rest = parts[i + 1:]
                rest.reverse()
                backlog.extendleft(rest)
                # The socket is full: the remainder of this part goes to the transport
                # (it buffers it and waits for the socket to drain); at most one part.
                transport.write(memoryview(part)[sent:])
                return True
            sent -= size
        return True

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


def _socket_fd(transport: asyncio.Transport) -> int:
    """The descriptor of a plain (not TLS) socket transport, else -1 (also where the
    platform has no ``os.writev``)."""
    if not hasattr(os, "writev"):
        return -1
    try:
        if transport.get_extra_info("sslcontext") is not None:
            return -1
        sock = transport.get_extra_info("socket")
        return int(sock.fileno()) if sock is not None else -1
    except (AttributeError, OSError, ValueError, TypeError):
        return -1
