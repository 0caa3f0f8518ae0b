"""Causal dispatch of ``[async]`` manager routines: one lane per server connection.

Seed-semantics F12 ([S6], "Causal ordering"): async calls made on one binding handle from
one client thread are *dispatched* on the server in the order they were issued, although
they may *execute* (complete) out of order; ``RPC_C_OPT_BINDING_NONCAUSAL`` lifts this.
DCE/RPC carries no ordering information on the wire, so the order is kept in two places:

* the client sends the async calls of one (binding, thread) on one connection, in issue
  order (:class:`dcerpc.aio._opcall.CausalLane`);
* the server — this module — starts the ``[async]`` manager routines of one connection
  one after the other, in arrival order: the next routine is started when the previous
  one has *returned*.  By contract an ``[async]`` routine returns at once (it hands the
  call off and completes it later, F25/F28), so this costs one hand-off per call and the
  calls still run concurrently; a routine that blocks holds back only the ``[async]``
  calls queued behind it on its connection.

Synchronous operations are not laned: they run on the worker pool as they arrive (F12:
sync calls may execute at the same time as pending async calls).  A NONCAUSAL binding
sends each async call on a connection of its own from the pool, so its calls are
dispatched independently.  Calls from *different* client threads that share a connection
are dispatched in arrival order too (a stricter order than F12 requires, visible only
when a routine blocks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["AsyncLanes"]

Start = Callable[[], "asyncio.Future[Any]"]


class AsyncLanes:
    """Per-connection FIFO of ``[async]`` manager starts (see the module docstring)."""

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        #: connection -> the starts waiting behind the running routine (present while a
        #: routine of that connection runs)
        self._lanes: dict[Any, deque[tuple[Start, asyncio.Future[Any]]]] = {}

    def submit(self, conn: Any, start: Start) -> asyncio.Future[Any]:
        """Start the routine now if ``conn`` has none running, else queue it.  Returns a
        future for the routine's run (a stand-in while queued: cancelling it — as
        ``Server.stop`` does — drops the queued start)."""
        lane = self._lanes.get(conn)
        if lane is None:
            self._lanes[conn] = deque()
            return self._run(conn, start)
        stand_in: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        lane.append((start, stand_in))
        return stand_in

    def _run(self, conn: Any, start: Start) -> asyncio.Future[Any]:
        try:
            fut = start()
        except BaseException:
            self._next(conn)
            raise
        fut.add_done_callback(lambda _f: self._next(conn))
        return fut

    def _next(self, conn: Any) -> None:
        lane = self._lanes.get(conn)
        while lane:
            start, stand_in = lane.popleft()
            if stand_in.done():
                continue  # cancelled by Server.stop(): the call is already answered
            # A call whose client went away still starts: its routine sees the cancel at
            # once and the server's orphan handling drops it (no leak).
            try:
                fut = self._run_queued(conn, start)
            except BaseException as exc:  # the start itself failed: end the stand-in
                stand_in.set_exception(exc)
                continue
            _chain(fut, stand_in)
            return
        self._lanes.pop(conn, None)

    def _run_queued(self, conn: Any, start: Start) -> asyncio.Future[Any]:
        fut = start()
        fut.add_done_callback(lambda _f: self._next(conn))
        return fut

    def pending(self, conn: Any) -> int:
        """Routines of ``conn`` waiting for their turn (for tests and metrics)."""
        lane = self._lanes.get(conn)
        return len(lane) if lane else 0


def _chain(fut: asyncio.Future[Any], stand_in: asyncio.Future[Any]) -> None:
    """Mirror ``fut`` into ``stand_in`` (what the server holds), and a cancel of the
    stand-in into ``fut``."""
    def copy(f: asyncio.Future[Any]) -> None:
        if stand_in.done():
            return
        if f.cancelled():
            stand_in.cancel()
        elif f.exception() is not None:
            stand_in.set_exception(f.exception())  # type: ignore[arg-type]
        else:
            stand_in.set_result(f.result())

    def back(s: asyncio.Future[Any]) -> None:
        if s.cancelled() and not fut.done():
            with contextlib.suppress(Exception):
                fut.cancel()

    fut.add_done_callback(copy)
    stand_in.add_done_callback(back)
