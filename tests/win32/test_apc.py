"""APC queues and alertable waits (seed-semantics §2 F19, §4 APC row, T17-T21 without RPC:
another thread queues the APC where the runtime would)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from w32util import until

from dcerpc.win32 import (
    INFINITE,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    CreateEvent,
    GetCurrentThread,
    GetLastError,
    QueueUserAPC,
    SetEvent,
    SleepEx,
    ThreadHandle,
    WaitForMultipleObjects,
    WaitForMultipleObjectsEx,
    WaitForSingleObject,
    WaitForSingleObjectEx,
    pending_apcs,
)

GRACE = 0.1  # seconds we watch for something that must NOT happen


class Recorder:
    """An APC routine that records (thread ident, data) for each run."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Any]] = []

    def __call__(self, data: Any) -> None:
        self.calls.append((threading.get_ident(), data))


@pytest.fixture(autouse=True)
def _drain_own_queue():
    yield
    # leave no APC behind on the test thread for the next test
    while pending_apcs():
        SleepEx(0, True)


def test_get_current_thread_is_a_real_handle(spawn):
    mine = GetCurrentThread()
    assert isinstance(mine, ThreadHandle)
    assert mine.ident == threading.get_ident()
    theirs = spawn(GetCurrentThread).finish()
    assert theirs != mine and theirs.ident != mine.ident


def test_t17_not_run_while_busy_then_runs_once_on_target(spawn):
    routine = Recorder()
    ready, go = threading.Event(), threading.Event()
    handle: list[ThreadHandle] = []

    def target() -> tuple[int, int, list[tuple[int, Any]]]:
        handle.append(GetCurrentThread())
        ready.set()
        go.wait(5)  # "busy": not in any Win32 wait
        before = list(routine.calls)
        return threading.get_ident(), SleepEx(INFINITE, True), before

    a = spawn(target)
    assert ready.wait(5)
    assert QueueUserAPC(routine, handle[0], "state") != 0
    time.sleep(GRACE)
    assert routine.calls == []  # queued, not run: A is not in an alertable wait
    go.set()
    ident, result, before = a.finish()
    assert before == []
    assert result == WAIT_IO_COMPLETION == 0xC0
    assert routine.calls == [(ident, "state")]  # exactly once, on A


def test_t18_non_alertable_waits_never_run_apcs():
    routine = Recorder()
    ev = CreateEvent(None, False, False, None)
    QueueUserAPC(routine, GetCurrentThread(), 7)
    assert SleepEx(50, False) == 0
    assert WaitForSingleObject(ev, 20) == WAIT_TIMEOUT
    assert WaitForSingleObjectEx(ev, 20, False) == WAIT_TIMEOUT
    assert WaitForMultipleObjects([ev], False, 20) == WAIT_TIMEOUT
    assert WaitForMultipleObjectsEx([ev], False, 20, False) == WAIT_TIMEOUT
    assert routine.calls == [] and pending_apcs() == 1  # the APC survived them all
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert routine.calls == [(threading.get_ident(), 7)]
    assert pending_apcs() == 0


def test_t19_apc_runs_on_its_target_never_on_the_queuer(spawn):
    routine = Recorder()
    stop = threading.Event()
    handle: list[ThreadHandle] = []
    ready = threading.Event()

    def b_loop() -> int:
        handle.append(GetCurrentThread())
        ready.set()
        while not stop.is_set():
            SleepEx(INFINITE, True)
        return threading.get_ident()

    b = spawn(b_loop)
    assert ready.wait(5)
    QueueUserAPC(routine, handle[0], "x")
    assert until(lambda: len(routine.calls) == 1)
    assert SleepEx(int(GRACE * 1000), True) == 0  # nothing for this thread
    QueueUserAPC(lambda _: stop.set(), handle[0], None)
    b_ident = b.finish()
    assert routine.calls == [(b_ident, "x")]
    assert b_ident != threading.get_ident()


def test_t20_apc_queued_before_the_wait_returns_at_once():
    routine = Recorder()
    QueueUserAPC(routine, GetCurrentThread(), 1)
    # INFINITE would hang if the pending APC were missed; the result proves it was seen
    assert SleepEx(INFINITE, True) == WAIT_IO_COMPLETION
    assert len(routine.calls) == 1


def test_t21_alertable_sleep_without_apc_times_out():
    start = time.monotonic()
    assert SleepEx(50, True) == 0
    assert time.monotonic() - start >= 0.045  # a semantic lower bound, not a speed limit


def test_all_queued_apcs_run_fifo_in_one_wait():
    order: list[int] = []
    me = GetCurrentThread()
    for i in range(5):
        QueueUserAPC(order.append, me, i)
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert order == [0, 1, 2, 3, 4]
    assert SleepEx(0, True) == 0


def test_apc_queued_by_an_apc_runs_in_the_same_wait():
    order: list[str] = []
    me = GetCurrentThread()

    def first(_: object) -> None:
        order.append("first")
        QueueUserAPC(lambda _: order.append("second"), me, None)

    QueueUserAPC(first, me, None)
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert order == ["first", "second"]


def test_failing_apc_is_logged_and_the_next_runs(caplog):
    routine = Recorder()
    me = GetCurrentThread()

    def boom(_: object) -> None:
        raise RuntimeError("boom")

    QueueUserAPC(boom, me, None)
    QueueUserAPC(routine, me, "after")
    with caplog.at_level(logging.ERROR, logger="dcerpc.win32"):
        assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert routine.calls == [(threading.get_ident(), "after")]
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_alertable_wait_is_woken_by_apc_from_another_thread(spawn):
    routine = Recorder()
    ev = CreateEvent(None, False, False, None)
    me = GetCurrentThread()
    t = spawn(lambda: (time.sleep(0.02), QueueUserAPC(routine, me, "w")))
    assert WaitForSingleObjectEx(ev, 5000, True) == WAIT_IO_COMPLETION
    t.finish()
    assert routine.calls == [(threading.get_ident(), "w")]
    assert not ev.is_set() and WaitForSingleObject(ev, 0) == WAIT_TIMEOUT


def test_alertable_multiple_wait_and_apc(spawn):
    routine = Recorder()
    a, b = CreateEvent(None, False, False, None), CreateEvent(None, False, False, None)
    me = GetCurrentThread()
    t = spawn(lambda: QueueUserAPC(routine, me, 2))
    t.finish()
    assert WaitForMultipleObjectsEx(2, [a, b], False, 5000, True) == WAIT_IO_COMPLETION
    assert len(routine.calls) == 1
    SetEvent(b)
    assert WaitForMultipleObjectsEx([a, b], False, 5000, True) == WAIT_OBJECT_0 + 1


def test_signalled_object_wins_over_pending_apc():
    # documented choice (NT dispatcher order): the object is tested first
    routine = Recorder()
    ev = CreateEvent(None, True, True, None)
    QueueUserAPC(routine, GetCurrentThread(), None)
    assert WaitForSingleObjectEx(ev, 0, True) == WAIT_OBJECT_0
    assert routine.calls == [] and pending_apcs() == 1


def test_zero_means_current_thread_and_bad_handles_fail():
    routine = Recorder()
    assert QueueUserAPC(routine, 0, "self") == 1
    assert SleepEx(0, True) == WAIT_IO_COMPLETION
    assert routine.calls == [(threading.get_ident(), "self")]
    assert QueueUserAPC(routine, "not a thread", None) == 0  # type: ignore[arg-type]
    assert GetLastError() == 6
    assert QueueUserAPC("not callable", GetCurrentThread(), None) == 0  # type: ignore[arg-type]
    assert GetLastError() == 87
