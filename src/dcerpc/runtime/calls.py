"""The client-side call record: every call is an object that ends exactly once.

A :class:`ClientCall` is created when a call starts and ends through exactly one of
:meth:`~ClientCall.set_result` / :meth:`~ClientCall.set_exception` (reply, fault, cancel,
comm failure, timeout — DESIGN.md §6). Later completions are ignored and reported as
``False``, so racing paths (a reply arriving as the timeout fires, a connection dying
with the call in flight) cannot end a call twice. Callbacks registered with
:meth:`~ClientCall.add_done_callback` run once, in order, on whatever thread completes
the call; the drivers attach their futures this way, and a later ``Op.start()`` API can
hand the record itself out.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from ..errors import CallCancelled, CallFault, RpcError, RpcTimeout
from ..ndr.types import Interface, Operation

__all__ = ["CallState", "ClientCall"]

log = logging.getLogger("dcerpc.client")


class CallState(enum.Enum):
    PENDING = "PENDING"
    COMPLETE = "COMPLETE"  # a reply arrived
    FAULTED = "FAULTED"  # the server sent a fault
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    FAILED = "FAILED"  # the connection failed, or the call could not be sent


_PENDING, _COMPLETE = CallState.PENDING, CallState.COMPLETE


def _state_for(exc: BaseException) -> CallState:
    if isinstance(exc, CallFault):
        return CallState.FAULTED
    if isinstance(exc, CallCancelled):
        return CallState.CANCELLED
    if isinstance(exc, RpcTimeout):
        return CallState.TIMED_OUT
    return CallState.FAILED


class ClientCall:
    """One outgoing call (see the module docstring)."""

    __slots__ = ("_callbacks", "call_id", "exception", "interface", "operation", "result",
                 "state", "waiter")

    def __init__(self, interface: Interface, operation: Operation) -> None:
        self.interface = interface
        self.operation = operation
        self.call_id: int | None = None
        self.state = CallState.PENDING
        self.result: Any = None
        self.exception: BaseException | None = None
        self._callbacks: list[Callable[[ClientCall], Any]] = []
        #: an asyncio future the driver sleeps on: its result is set (to None) when the
        #: call ends, after the callbacks, unless it is done already (its task was
        #: cancelled). Cheaper than a callback that does the same.
        self.waiter: Any = None

    def done(self) -> bool:
        return self.state is not _PENDING

    def set_result(self, result: Any) -> bool:
        if self.state is not _PENDING:  # done() inline: once per reply
            return False
        self.state, self.result = _COMPLETE, result
        if self._callbacks or self.waiter is not None:
            self._fire()
        return True

    def set_exception(self, exc: BaseException) -> bool:
        if self.done():
            return False
        self.state, self.exception = _state_for(exc), exc
        self._fire()
        return True

    def outcome(self) -> Any:
        """The result, or raise the exception the call ended with."""
        if self.state is CallState.PENDING:
            raise RpcError("the call has not completed")
        if self.exception is not None:
            raise self.exception
        return self.result

    def add_done_callback(self, fn: Callable[[ClientCall], Any]) -> None:
        if self.done():
            self._run(fn)
        else:
            self._callbacks.append(fn)

    def _fire(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:  # _run() inline: once per completed call
            try:
                fn(self)
            except Exception:  # a callback must not break the engine (style-anchors §11.6)
                log.exception("call completion callback failed")
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _run(self, fn: Callable[[ClientCall], Any]) -> None:
        try:
            fn(self)
        except Exception:  # a callback must not break the engine (style-anchors §11.6)
            log.exception("call completion callback failed")

    def __repr__(self) -> str:
        return f"<ClientCall {self.interface.name}.{self.operation.name} " \
               f"id={self.call_id} {self.state.value}>"
