"""Bounded-wait helpers for the win32 tests (no test may hang)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

JOIN = 5.0  # seconds; a bound so that a broken wait fails instead of hanging


def until(pred: Callable[[], bool], timeout: float = JOIN) -> bool:
    """Poll ``pred`` until true or the bound runs out (for observing other threads)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return pred()


class Worker(threading.Thread):
    """A daemon thread that records its target's result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as e:  # reported by finish()
            self.error = e

    def finish(self) -> Any:
        self.join(JOIN)
        assert not self.is_alive(), "worker thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result
