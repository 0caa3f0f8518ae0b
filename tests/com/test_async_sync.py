"""The ISynchronize family (seed-semantics §9.8: T65-T67)."""

from __future__ import annotations

import threading

from dcerpc.com import hresult
from dcerpc.com.sync import (
    COWAIT_ALERTABLE,
    COWAIT_WAITALL,
    WAIT_IO_COMPLETION,
    CoWaitForMultipleHandles,
    ManualResetEvent,
    StdEvent,
    SynchronizeContainer,
)
from dcerpc.win32 import _kernel

TIMEOUT = hresult.RPC_E_TIMEOUT


def test_t65_std_event_auto_resets() -> None:
    ev = StdEvent()
    assert ev.Wait(0, 0) == TIMEOUT
    assert ev.Signal() == hresult.S_OK
    assert ev.Wait(0, 0) == hresult.S_OK
    assert ev.Wait(0, 0) == TIMEOUT


def test_t65_manual_reset_event() -> None:
    ev = ManualResetEvent()
    ev.Signal()
    assert ev.Wait(0, 0) == hresult.S_OK
    assert ev.Wait(0, 0) == hresult.S_OK
    assert ev.Reset() == hresult.S_OK
    assert ev.Wait(0, 0) == TIMEOUT
    assert ev.GetHandle() is ev


def test_wait_wakes_on_signal_from_another_thread() -> None:
    ev = StdEvent()
    threading.Timer(0.01, ev.Signal).start()
    assert ev.Wait(0, 5000) == hresult.S_OK


def test_t66_container() -> None:
    box = SynchronizeContainer()
    assert box.WaitMultiple(0, 0) == (hresult.RPC_E_NO_SYNC, None)
    objs = [ManualResetEvent() for _ in range(64)]
    assert [box.AddSynchronize(o) for o in objs[:63]] == [hresult.S_OK] * 63
    assert box.AddSynchronize(objs[63]) == 0x80010101
    assert box.WaitMultiple(0, 10) == (0x8001011F, None)
    objs[7].Signal()
    assert box.WaitMultiple(0, 1000) == (hresult.S_OK, objs[7])
    assert box.WaitMultiple(COWAIT_WAITALL, 0)[0] == hresult.E_INVALIDARG


def test_t67_co_wait_for_multiple_handles() -> None:
    a, b = StdEvent(), StdEvent()
    assert CoWaitForMultipleHandles(0, 10, [a]) == (0x80010115, 0)
    assert CoWaitForMultipleHandles(0, 10, [])[0] == 0x80010120
    assert CoWaitForMultipleHandles(0, 10, None)[0] == hresult.E_INVALIDARG
    assert CoWaitForMultipleHandles(0x100, 10, [a])[0] == hresult.E_INVALIDARG
    b.Signal()
    assert CoWaitForMultipleHandles(0, 1000, [a, b]) == (hresult.S_OK, 1)
    a.Signal()
    assert CoWaitForMultipleHandles(COWAIT_WAITALL, 0, [a, b])[0] == 0x80010115
    assert a.Wait(0, 0) == hresult.S_OK  # WAITALL took nothing while b was unset


def test_t67_alertable_wait_runs_apc() -> None:
    ran: list[int] = []
    ev = StdEvent()
    _kernel.queue_user_apc(ran.append, threading.current_thread(), 7)
    hr, idx = CoWaitForMultipleHandles(COWAIT_ALERTABLE, 5000, [ev])
    assert (hr, idx) == (hresult.S_OK, WAIT_IO_COMPLETION)
    assert ran == [7]
    # without COWAIT_ALERTABLE a queued APC does not end the wait
    _kernel.queue_user_apc(ran.append, threading.current_thread(), 8)
    assert CoWaitForMultipleHandles(0, 10, [ev])[0] == hresult.RPC_S_CALLPENDING
    assert ran == [7]
    _kernel.SleepEx(0, True)
    assert ran == [7, 8]
