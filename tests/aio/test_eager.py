"""Eager manager runs: a coroutine that never waits completes without a Task; one that
waits continues in a Task exactly as if it had been one from the start (results,
exceptions, cancellation delivered where it waits, its context kept)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from dcerpc.aio._eager import EAGER_DONE, run_eager

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("eager_test", default="outer")


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_a_coroutine_that_does_not_wait_finishes_at_once() -> None:
    seen: list[str] = []

    async def body() -> None:
        VAR.set("inner")
        seen.append(VAR.get())

    async def main() -> None:
        ctx = contextvars.copy_context()
        assert run_eager(asyncio.get_running_loop(), body(), ctx) is EAGER_DONE
        assert seen == ["inner"] and ctx[VAR] == "inner" and VAR.get() == "outer"
        assert not EAGER_DONE.cancel()

    _run(main())


def test_a_coroutine_that_waits_goes_on_in_a_task_in_its_context() -> None:
    async def body(fut: asyncio.Future[int]) -> int:
        VAR.set("inner")
        await asyncio.sleep(0)  # a bare yield
        value = await fut  # a real wait
        return value + len(VAR.get())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        task = run_eager(loop, body(fut), contextvars.copy_context())
        assert isinstance(task, asyncio.Task) and not task.done()
        loop.call_later(0.01, fut.set_result, 10)
        assert await task == 15
        assert VAR.get() == "outer"

    _run(main())


def test_exceptions_and_cancellation_reach_the_coroutine() -> None:
    log: list[str] = []

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def waits() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            log.append("cancelled inside")
            raise

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = run_eager(loop, fails(), contextvars.copy_context())
        with pytest.raises(ValueError, match="boom"):
            await task
        task = run_eager(loop, waits(), contextvars.copy_context())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["cancelled inside"]

    _run(main())
