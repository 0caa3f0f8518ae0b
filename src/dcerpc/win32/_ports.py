"""I/O completion ports in Python (seed-semantics §2 F20, §4).

A port is a FIFO of completion packets ``(bytes, key, overlapped)`` that any thread may
dequeue.  Only the stand-alone form ``CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0,
n)`` exists here: associating file handles needs real overlapped I/O and is out of scope.

Results follow the Win32 function, not pywin32's ``(rc, ...)`` variant: GQCS returns
``(True, bytes, key, overlapped)`` for a packet.  Because a caller may post
``overlapped=None``, success is recognised by the boolean, never by the overlapped value.
On failure it returns ``(False, 0, 0, None)`` and the last error says why:

* WAIT_TIMEOUT (258): nothing arrived in time (``dwMilliseconds = 0`` is a poll);
* ERROR_ABANDONED_WAIT_0 (735): the port was closed while this call waited on it;
* ERROR_INVALID_HANDLE (6): the port was already closed when the call began.

Packets still queued when the port is closed are discarded.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from dcerpc.status import (
    ERROR_ABANDONED_WAIT_0,
    ERROR_INVALID_HANDLE,
    ERROR_SUCCESS,
    INFINITE,
    WAIT_TIMEOUT,
)
from dcerpc.win32._kernel import SetLastError, _Closeable, _deadline, _remaining

INVALID_HANDLE_VALUE = -1  # as pywin32 spells it (win32file.INVALID_HANDLE_VALUE)


@dataclass(frozen=True, slots=True)
class Dequeued:
    """One GQCS outcome with its error code (ERROR_SUCCESS when ``ok``)."""

    ok: bool
    bytes_transferred: int
    key: int
    overlapped: Any
    last_error: int

    def as_tuple(self) -> tuple[bool, int, int, Any]:
        return (self.ok, self.bytes_transferred, self.key, self.overlapped)


class IoCompletionPort(_Closeable):
    """FIFO of completion packets; a packet goes to exactly one of the waiting threads."""

    def __init__(self, concurrency: int = 0) -> None:
        # NumberOfConcurrentThreads throttles runnable threads in the NT scheduler; there is
        # no equivalent for Python threads, so it is recorded and otherwise ignored.
        self.concurrency = concurrency
        self._cond = threading.Condition(threading.Lock())
        self._packets: deque[tuple[int, int, Any]] = deque()
        self.closed = False
        self.waiting = 0  # threads blocked in get (observable, e.g. before a close)

    def __repr__(self) -> str:
        return f"<IoCompletionPort queued={len(self._packets)} closed={self.closed}>"

    def post_queued_completion_status(self, bytes_transferred: int = 0, key: int = 0,
                                      overlapped: Any = None) -> bool:
        with self._cond:
            if self.closed:
                return False
            self._packets.append((bytes_transferred, key, overlapped))
            self._cond.notify()  # one packet, one waiter
        return True

    def get_queued_completion_status(self, ms: int | None = INFINITE) -> Dequeued:
        deadline = _deadline(ms)
        with self._cond:
            if self.closed:
                return Dequeued(False, 0, 0, None, ERROR_INVALID_HANDLE)
            while not self._packets:
                left = _remaining(deadline)
                if left is not None and left <= 0:
                    return Dequeued(False, 0, 0, None, WAIT_TIMEOUT)
                self.waiting += 1
                try:
                    self._cond.wait(left)
                finally:
                    self.waiting -= 1
                if self.closed:
                    return Dequeued(False, 0, 0, None, ERROR_ABANDONED_WAIT_0)
            nbytes, key, overlapped = self._packets.popleft()
        return Dequeued(True, nbytes, key, overlapped, ERROR_SUCCESS)

    def close(self) -> None:
        """Wake every waiter with ERROR_ABANDONED_WAIT_0 (F20) and drop queued packets."""
        with self._cond:
            self.closed = True
            self._packets.clear()
            self._cond.notify_all()


def CreateIoCompletionPort(FileHandle: int, ExistingCompletionPort: Any = None,
                           CompletionKey: int = 0, NumberOfConcurrentThreads: int = 0
                           ) -> IoCompletionPort:
    """Only ``CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, n)`` is supported."""
    if FileHandle != INVALID_HANDLE_VALUE or ExistingCompletionPort not in (None, 0):
        raise NotImplementedError(
            "only CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, n) is supported; "
            "associating file handles with a port needs overlapped I/O, which this "
            "emulation does not provide")
    return IoCompletionPort(NumberOfConcurrentThreads)


def PostQueuedCompletionStatus(CompletionPort: IoCompletionPort,
                               dwNumberOfBytesTransferred: int = 0, dwCompletionKey: int = 0,
                               lpOverlapped: Any = None) -> bool:
    if not isinstance(CompletionPort, IoCompletionPort) or not (
            CompletionPort.post_queued_completion_status(
                dwNumberOfBytesTransferred, dwCompletionKey, lpOverlapped)):
        SetLastError(ERROR_INVALID_HANDLE)
        return False
    return True


def GetQueuedCompletionStatus(CompletionPort: IoCompletionPort, dwMilliseconds: int
                              ) -> tuple[bool, int, int, Any]:
    """``(ok, bytes, key, overlapped)``; on failure GetLastError() tells why (see module)."""
    if not isinstance(CompletionPort, IoCompletionPort):
        SetLastError(ERROR_INVALID_HANDLE)
        return (False, 0, 0, None)
    result = CompletionPort.get_queued_completion_status(dwMilliseconds)
    SetLastError(result.last_error)
    return result.as_tuple()
