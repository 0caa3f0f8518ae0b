"""Thread message queues and message-only windows (seed-semantics §2 F21, §4, T24)."""

from __future__ import annotations

import threading
import time
from typing import Any

from dcerpc.win32 import (
    MSG,
    PM_NOREMOVE,
    PM_REMOVE,
    WM_APP,
    WM_QUIT,
    WM_USER,
    CreateWindow,
    DestroyWindow,
    DispatchMessage,
    GetLastError,
    GetMessage,
    PeekMessage,
    PostMessage,
    PostQuitMessage,
    Window,
)


def drain() -> None:
    while PeekMessage(None, 0, 0, PM_REMOVE) is not None:
        pass


def test_t24_posted_from_another_thread_handled_only_on_dispatch_on_owner(spawn):
    calls: list[tuple[int, Any]] = []
    state = object()

    def wndproc(hwnd: Window, msg: int, wparam: int, lparam: Any) -> str:
        calls.append((threading.get_ident(), (hwnd, msg, wparam, lparam)))
        return "handled"

    made, posted = threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def owner() -> tuple[int, MSG | None, list[Any], Any]:
        box["hwnd"] = CreateWindow(wndproc=wndproc)
        made.set()
        posted.wait(5)
        msg = GetMessage(timeout=5000)
        before = list(calls)
        result = DispatchMessage(msg) if msg is not None else None
        return threading.get_ident(), msg, before, result

    w = spawn(owner)
    assert made.wait(5)
    hwnd = box["hwnd"]
    assert PostMessage(hwnd, WM_APP + 1, 0, state)  # returns without running the handler
    assert calls == []
    posted.set()
    ident, msg, before, result = w.finish()
    assert msg is not None
    assert (msg.hwnd, msg.message, msg.wParam) == (hwnd, 0x8001, 0)
    assert msg.lParam is state
    assert before == []  # not called before dispatch
    assert result == "handled"
    assert calls == [(ident, (hwnd, 0x8001, 0, state))]
    assert ident != threading.get_ident()


def test_queues_are_per_thread(spawn):
    drain()
    w = spawn(lambda: CreateWindow())
    hwnd = w.finish()
    PostMessage(hwnd, WM_USER, 1, 2)
    assert PeekMessage(None, 0, 0, PM_NOREMOVE) is None  # it went to the owner's queue
    assert len(hwnd.queue) == 1


def test_dispatch_on_a_foreign_thread_does_not_call_the_procedure(spawn):
    calls: list[int] = []
    hwnd = CreateWindow(wndproc=lambda *a: calls.append(1))
    PostMessage(hwnd, WM_USER + 5)
    msg = GetMessage(timeout=1000)
    assert msg is not None
    assert spawn(lambda: (DispatchMessage(msg), GetLastError())).finish() == (0, 1408)
    assert calls == []
    DispatchMessage(msg)
    assert calls == [1]


def test_wm_quit_ends_the_classic_loop():
    drain()
    hwnd = CreateWindow()
    seen: list[int] = []
    PostMessage(hwnd, WM_USER + 1)
    PostMessage(hwnd, WM_USER + 2)
    PostQuitMessage(3)
    PostMessage(hwnd, WM_USER + 3)  # after the quit: not reached by the loop
    while msg := GetMessage(timeout=1000):
        seen.append(msg.message)
        DispatchMessage(msg)  # no procedure: returns 0
    assert msg is not None and msg.message == WM_QUIT and msg.wParam == 3
    assert seen == [WM_USER + 1, WM_USER + 2]
    drain()


def test_get_message_timeout_returns_none():
    drain()
    start = time.monotonic()
    assert GetMessage(timeout=30) is None
    assert time.monotonic() - start >= 0.025


def test_peek_message_remove_and_noremove():
    drain()
    hwnd = CreateWindow()
    assert PeekMessage(None, 0, 0, PM_REMOVE) is None
    PostMessage(hwnd, WM_APP, 7, "x")
    m1 = PeekMessage(None, 0, 0, PM_NOREMOVE)
    m2 = PeekMessage(None, 0, 0, PM_REMOVE)
    assert m1 is m2 and tuple(m2) == (hwnd, WM_APP, 7, "x")
    assert PeekMessage(None, 0, 0, PM_REMOVE) is None


def test_filters_by_window_and_range():
    drain()
    a, b = CreateWindow(), CreateWindow()
    PostMessage(a, WM_USER + 1)
    PostMessage(b, WM_APP + 1)
    PostMessage(None, WM_USER + 9)  # a thread message
    assert GetMessage(b, timeout=1000).hwnd is b  # type: ignore[union-attr]
    assert GetMessage(None, WM_USER + 5, WM_USER + 10, timeout=1000).hwnd is None  # type: ignore[union-attr]
    assert PeekMessage(-1, 0, 0, PM_NOREMOVE) is None  # no thread message left
    m = GetMessage(timeout=1000)
    assert m is not None and m.hwnd is a and m.message == WM_USER + 1


def test_destroyed_window_rejects_posts(spawn):
    hwnd = CreateWindow()
    assert spawn(lambda: DestroyWindow(hwnd)).finish() is False  # only the owner may
    assert DestroyWindow(hwnd)
    assert not PostMessage(hwnd, WM_USER)
    assert GetLastError() == 1400
