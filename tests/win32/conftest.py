from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from w32util import Worker


@pytest.fixture
def spawn():
    def _spawn(fn: Callable[[], Any]) -> Worker:
        w = Worker(fn)
        w.start()
        return w

    return _spawn
