"""Event objects and the wait functions (seed-semantics §4 Event row, T16)."""

from __future__ import annotations

import threading

import pytest
from w32util import until

import dcerpc.win32 as w32
from dcerpc.win32 import *  # noqa: F403 - the faithful face is meant to be star-imported
from dcerpc.win32 import (
    INFINITE,
    WAIT_FAILED,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    CloseHandle,
    CreateEvent,
    GetLastError,
    ResetEvent,
    SetEvent,
    WaitForMultipleObjects,
    WaitForSingleObject,
    wait_for_multiple,
)


def test_star_import_exports_every_name():
    ns: dict[str, object] = {}
    exec("from dcerpc.win32 import *", ns)
    for name in w32.__all__:
        assert name in ns, name
    assert ns["WAIT_IO_COMPLETION"] == 0xC0
    assert ns["INFINITE"] == 0xFFFFFFFF
    assert (ns["WM_USER"], ns["WM_APP"]) == (0x0400, 0x8000)
    assert ns["WAIT_TIMEOUT"] == 258 and ns["WAIT_FAILED"] == 0xFFFFFFFF


def test_t16_manual_reset_event_stays_signalled():
    ev = CreateEvent(None, True, False, None)
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    assert SetEvent(ev)
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert ResetEvent(ev)
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT


def test_auto_reset_event_consumes_the_signal():
    ev = CreateEvent(None, False, True, None)
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    SetEvent(ev)
    SetEvent(ev)  # setting twice is still one signal
    assert WaitForSingleObject(ev, INFINITE) == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT


def test_wait_is_woken_by_another_thread(spawn):
    ev = CreateEvent(None, False, False, None)
    t = spawn(lambda: WaitForSingleObject(ev, 5000))
    SetEvent(ev)
    assert t.finish() == WAIT_OBJECT_0
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT  # the waiter consumed it


def test_auto_reset_wakes_exactly_one_of_two_waiters(spawn):
    ev = CreateEvent(None, False, False, None)
    results: list[int] = []
    lock = threading.Lock()

    def waiter() -> None:
        r = WaitForSingleObject(ev, 10_000)
        with lock:
            results.append(r)

    a, b = spawn(waiter), spawn(waiter)
    SetEvent(ev)
    assert until(lambda: len(results) >= 1)
    # the second waiter must stay blocked: the one signal was consumed
    assert not until(lambda: len(results) >= 2, timeout=0.2)
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    SetEvent(ev)  # release the other one
    a.finish(), b.finish()
    assert results == [WAIT_OBJECT_0, WAIT_OBJECT_0]


def test_manual_reset_releases_all_waiters(spawn):
    ev = CreateEvent(None, True, False, None)
    ts = [spawn(lambda: WaitForSingleObject(ev, 10_000)) for _ in range(3)]
    SetEvent(ev)
    assert [t.finish() for t in ts] == [WAIT_OBJECT_0] * 3


def test_wait_any_returns_lowest_signalled_index():
    a, b, c = (CreateEvent(None, False, False, None) for _ in range(3))
    SetEvent(b)
    SetEvent(c)
    assert WaitForMultipleObjects([a, b, c], False, 0) == WAIT_OBJECT_0 + 1
    # only b was consumed
    assert WaitForSingleObject(c, 0) == WAIT_OBJECT_0
    assert WaitForMultipleObjects([a, b, c], False, 0) == WAIT_TIMEOUT


def test_wait_any_c_argument_order():
    a, b = CreateEvent(None, True, False, None), CreateEvent(None, True, True, None)
    assert WaitForMultipleObjects(2, [a, b], False, 0) == WAIT_OBJECT_0 + 1
    with pytest.raises(ValueError, match="nCount"):
        WaitForMultipleObjects(3, [a, b], False, 0)


def test_wait_all_is_all_or_nothing(spawn):
    a, b = CreateEvent(None, False, True, None), CreateEvent(None, False, False, None)
    assert WaitForMultipleObjects([a, b], True, 0) == WAIT_TIMEOUT
    # a partial match consumed nothing
    assert a.is_set()
    t = spawn(lambda: WaitForMultipleObjects([a, b], True, 5000))
    SetEvent(b)
    assert t.finish() == WAIT_OBJECT_0
    assert not a.is_set() and not b.is_set()


def test_too_many_handles():
    evs = [CreateEvent(None, True, True, None) for _ in range(65)]
    assert WaitForMultipleObjects(evs, False, 0) == WAIT_FAILED
    assert GetLastError() == w32.ERROR_INVALID_PARAMETER
    assert WaitForMultipleObjects(evs[:64], False, 0) == WAIT_OBJECT_0
    with pytest.raises(ValueError, match="64"):
        wait_for_multiple(evs, False, 0)


def test_closed_handle_fails():
    ev = CreateEvent(None, True, True, None)
    assert CloseHandle(ev)
    assert not CloseHandle(ev)
    assert GetLastError() == w32.ERROR_INVALID_HANDLE
    assert WaitForSingleObject(ev, 0) == WAIT_FAILED
    assert GetLastError() == w32.ERROR_INVALID_HANDLE
    assert not SetEvent(ev)
    assert WaitForSingleObject(object(), 0) == WAIT_FAILED  # type: ignore[arg-type]


def test_named_events_are_refused():
    with pytest.raises(NotImplementedError):
        CreateEvent(None, False, False, "Global\\x")
