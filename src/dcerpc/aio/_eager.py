"""Run an ``async def`` manager eagerly: a Task only if it really suspends.

Most managers never wait for anything (``return a + len(s)``): creating a Task for each
call costs a Task object, a ``call_soon`` and a loop turn before the manager even starts,
which is a large share of a small call's server CPU. So the coroutine is started at once,
in the call's own context (``coro.send(None)``, as Python 3.12's eager task factory
does); only if it yields — it awaits something that is not ready — is the rest of it
handed to a Task, which first waits for what the coroutine yielded and then delegates
to it (:func:`resume_eager`). Behaviour is the same as a Task from the start, except that
the manager's synchronous part runs within the current callback.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["EAGER_DONE", "resume_eager", "run_eager"]


class _EagerDone:
    """Stands in for the task of a call whose manager completed synchronously (what
    ``Server.stop`` may try to cancel: there is nothing left to cancel)."""

    __slots__ = ()

    def cancel(self, msg: Any = None) -> bool:
        return False

    def done(self) -> bool:
        return True


EAGER_DONE: Any = _EagerDone()


def run_eager(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
              ctx: contextvars.Context) -> Any:
    """Start ``coro`` in ``ctx`` now; :data:`EAGER_DONE` if it finished (its result is
    dropped: the coroutine answers its call itself), else the Task running the rest."""
    try:
        yielded = ctx.run(coro.send, None)
    except StopIteration:
        return EAGER_DONE
    return loop.create_task(resume_eager(coro, yielded), context=ctx)


@types.coroutine
def resume_eager(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, None, Any]:
    """``yield from coro`` for a coroutine that already made its first step and yielded
    ``yielded``: hand that to the Task first (it waits for the future, or just takes a
    turn for a bare ``yield``), then go on exactly as ``yield from`` would, forwarding
    exceptions the Task throws in (cancellation) to the coroutine."""
    send, throw = coro.send, coro.throw
    while True:
        try:
            yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                yielded = throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = send(None)
        except StopIteration as stop:
            return stop.value
