"""RpcNotificationTypeIoc: a completion packet is posted to ``u.IOC.hIOPort`` (F20).

Thread rule: the runtime's completing thread only *posts*
``(dwNumberOfBytesTransferred, dwCompletionKey, lpOverlapped)`` exactly as the client
preset them (captured at invocation), as PostQueuedCompletionStatus does.  Whichever thread
calls ``GetQueuedCompletionStatus`` on the port dequeues it (FIFO, one packet to one
thread).  A preset ``lpOverlapped`` of None still dequeues with ``ok == True``.  The port is
the client's: the runtime never closes it (F15); a packet for a closed port is lost and
logged, and the outcome stays collectable.
"""

from __future__ import annotations

from typing import Any

from dcerpc.win32._async import RpcNotificationTypeIoc
from dcerpc.win32._ports import IoCompletionPort, PostQueuedCompletionStatus

MECHANISM = RpcNotificationTypeIoc


def use(state: Any, port: IoCompletionPort, key: int, bytes: int = 0,
        overlapped: Any = None) -> Any:
    """Select completion-port notification with the packet the runtime will post."""
    state.NotificationType = RpcNotificationTypeIoc
    ioc = state.u.IOC
    ioc.hIOPort = port
    ioc.dwCompletionKey = key
    ioc.dwNumberOfBytesTransferred = bytes
    ioc.lpOverlapped = overlapped
    return state


def deliver(state: Any, selection: tuple[Any, ...]) -> bool:
    _kind, port, nbytes, key, overlapped = selection
    return bool(PostQueuedCompletionStatus(port, nbytes, key, overlapped))
