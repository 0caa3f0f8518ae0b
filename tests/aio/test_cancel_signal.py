"""CancelSignal makes its threading.Event only when a worker waits; set() before or after
that wait must both be seen."""

from __future__ import annotations

import asyncio
import threading

from dcerpc.aio._callctx import CancelSignal


def test_wait_sync_sees_a_set_made_before_the_wait() -> None:
    loop = asyncio.new_event_loop()
    try:
        sig = CancelSignal(loop)
        assert not sig.is_set() and not sig.wait_sync(0)
        sig.set()
        assert sig.is_set() and sig.wait_sync(0)
    finally:
        loop.close()


def test_wait_sync_wakes_when_set_later() -> None:
    async def main() -> bool:
        sig = CancelSignal(asyncio.get_running_loop())
        seen: list[bool] = []
        worker = threading.Thread(target=lambda: seen.append(sig.wait_sync(10)))
        worker.start()
        await asyncio.sleep(0.05)
        sig.set()
        await asyncio.get_running_loop().run_in_executor(None, worker.join)
        return seen == [True]

    assert asyncio.run(main())


def test_async_wait_and_callbacks_fire_once() -> None:
    async def main() -> list[str]:
        sig = CancelSignal(asyncio.get_running_loop())
        fired: list[str] = []
        sig.add_callback(lambda: fired.append("cb"))
        waiter = asyncio.ensure_future(sig.wait())
        await asyncio.sleep(0)
        sig.set()
        sig.set()
        assert await waiter
        await asyncio.sleep(0)
        return fired

    assert asyncio.run(main()) == ["cb"]
