"""A small indent-aware source writer (grpclib ``plugin/main.py`` style)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Writer:
    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    def line(self, text: str = "") -> None:
        self._lines.append(("    " * self._level + text) if text else "")

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.line()

    @contextlib.contextmanager
    def indent(self) -> Iterator[None]:
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    def source(self) -> str:
        return "\n".join(self._lines).rstrip() + "\n"
