"""The client async-handle state machine, driven directly (seed-semantics §3.1, §5.1)."""

from __future__ import annotations

import pytest

from dcerpc.errors import LocalProtocolError, RpcError
from dcerpc.runtime.async_state import AsyncHandleCore, AsyncState
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_CALL,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_OK,
)

SIZE = 112


def pending(**kw) -> AsyncHandleCore:
    core = AsyncHandleCore(**kw)
    assert core.initialize(SIZE, SIZE) == RPC_S_OK
    core.begin()
    return core


def test_t1_t2_initialize_checks_size():
    core = AsyncHandleCore()
    assert core.initialize(SIZE - 1, SIZE) == RPC_S_INVALID_ARG
    assert core.initialize(SIZE + 1, SIZE) == RPC_S_INVALID_ARG
    assert core.state is AsyncState.RAW
    assert core.initialize(SIZE, SIZE) == RPC_S_OK
    assert core.state is AsyncState.INIT


def test_t3_raw_handle_is_invalid_everywhere():
    core = AsyncHandleCore()
    assert core.get_call_status() == RPC_S_INVALID_ASYNC_HANDLE
    assert core.complete_call() == (RPC_S_INVALID_ASYNC_HANDLE, None)
    assert core.cancel(True) == RPC_S_INVALID_ASYNC_HANDLE
    with pytest.raises(RpcError) as ei:
        core.begin()
    assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE


def test_t5_second_call_on_pending_handle_raises_and_first_is_untouched():
    core = pending()
    with pytest.raises(RpcError) as ei:
        core.begin()
    assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE
    assert core.initialize(SIZE, SIZE) == RPC_S_INVALID_ASYNC_HANDLE  # [D] no orphaning
    assert core.complete("first") is True
    assert core.complete_call() == (RPC_S_OK, "first")


@pytest.mark.parametrize("xp_mode", [False, True])
def test_t6_reuse_after_done_strict_and_xp(xp_mode):
    core = pending(xp_mode=xp_mode)
    core.complete(1)
    assert core.complete_call() == (RPC_S_OK, 1)
    if xp_mode:
        core.begin()
        assert core.state is AsyncState.PENDING
    else:
        with pytest.raises(RpcError) as ei:
            core.begin()
        assert ei.value.status == RPC_S_INVALID_ASYNC_HANDLE
        assert core.initialize(SIZE, SIZE) == RPC_S_OK
        core.begin()
        assert core.state is AsyncState.PENDING


def test_t8_t9_pending_then_ready_then_done():
    core = pending()
    for _ in range(3):
        assert core.get_call_status() == RPC_S_ASYNC_CALL_PENDING
        assert core.complete_call() == (RPC_S_ASYNC_CALL_PENDING, None)
    assert core.state is AsyncState.PENDING
    assert core.complete((7, 42)) is True
    assert core.get_call_status() == RPC_S_OK
    assert core.complete_call() == (RPC_S_OK, (7, 42))
    assert core.state is AsyncState.DONE


def test_t10_t11_error_outcome_hands_out_no_reply():
    core = pending()
    assert core.complete(reply="ignored", status=0x1234) is True
    status = core.get_call_status()
    assert status not in (RPC_S_ASYNC_CALL_PENDING, RPC_S_OK)
    assert core.complete_call() == (0x1234, None)


def test_t12_complete_exactly_once_and_second_collect_is_1915():
    core = pending()
    assert core.complete(1) is True
    assert core.complete(2) is False
    assert core.complete(status=RPC_S_CALL_CANCELLED) is False
    assert core.complete_call() == (RPC_S_OK, 1)
    assert core.complete_call() == (RPC_S_INVALID_ASYNC_CALL, None)
    assert core.cancel(True) == RPC_S_INVALID_ASYNC_CALL
    assert core.get_call_status() == RPC_S_INVALID_ASYNC_CALL
    assert core.complete(3) is False  # nothing to notify after DONE


def test_t14_invocation_failure_is_dead_and_never_notifies():
    core = pending()
    core.invocation_failed()
    assert core.state is AsyncState.DEAD_NO_NOTIFY
    assert core.complete(1) is False
    assert core.cancel(False) == RPC_S_INVALID_ASYNC_CALL  # F13: never cancel it
    assert core.complete_call() == (RPC_S_INVALID_ASYNC_CALL, None)
    with pytest.raises(RpcError):
        core.begin()  # strict: re-initialise first
    assert core.initialize(SIZE, SIZE) == RPC_S_OK
    core.begin()


def test_invocation_failed_only_from_pending():
    core = pending()
    core.complete(1)
    with pytest.raises(LocalProtocolError):
        core.invocation_failed()


def test_abortive_cancel_forces_1818_and_tells_driver_once():
    seen: list[bool] = []
    core = AsyncHandleCore()
    core.initialize(SIZE, SIZE)
    core.begin(on_cancel=seen.append)
    assert core.cancel(True) == RPC_S_OK
    assert core.state is AsyncState.CANCEL_REQUESTED
    assert core.get_call_status() == RPC_S_ASYNC_CALL_PENDING
    assert core.complete_call() == (RPC_S_ASYNC_CALL_PENDING, None)
    assert core.cancel(True) == RPC_S_OK
    assert seen == [True]
    # Even if a reply races the driver's 1818, the results are discarded (§5.1).
    assert core.complete("late reply") is True
    assert core.complete_call() == (RPC_S_CALL_CANCELLED, None)


def test_non_abortive_cancel_keeps_server_outcome_and_can_be_upgraded():
    seen: list[bool] = []
    core = AsyncHandleCore()
    core.initialize(SIZE, SIZE)
    core.begin(on_cancel=seen.append)
    assert core.cancel(False) == RPC_S_OK
    assert core.cancel(False) == RPC_S_OK
    assert seen == [False]
    assert core.complete(5) is True
    assert core.complete_call() == (RPC_S_OK, 5)

    core.initialize(SIZE, SIZE)
    core.begin(on_cancel=seen.append)
    core.cancel(False)
    core.cancel(True)  # the timer ran out: upgrade (§5.1 timeout pattern)
    assert seen == [False, False, True]
    core.complete(5)
    assert core.complete_call() == (RPC_S_CALL_CANCELLED, None)


def test_driver_may_complete_from_inside_on_cancel():
    core = AsyncHandleCore()
    core.initialize(SIZE, SIZE)
    core.begin(on_cancel=lambda abortive: core.complete(status=RPC_S_CALL_CANCELLED))
    assert core.cancel(True) == RPC_S_OK
    assert core.state is AsyncState.READY
    assert core.get_call_status() == RPC_S_CALL_CANCELLED


def test_cancel_after_ready_changes_nothing():
    core = pending()
    core.complete(9)
    assert core.cancel(True) == RPC_S_OK
    assert core.complete_call() == (RPC_S_OK, 9)


def test_cancel_with_no_call_is_1915():
    core = AsyncHandleCore()
    core.initialize(SIZE, SIZE)
    assert core.cancel(False) == RPC_S_INVALID_ASYNC_CALL
    assert core.get_call_status() == RPC_S_INVALID_ASYNC_CALL


class CountingLock:
    def __init__(self) -> None:
        self.entered = 0

    def __enter__(self) -> None:
        self.entered += 1

    def __exit__(self, *exc) -> None:
        return None


def test_injected_lock_guards_every_transition():
    lock = CountingLock()
    core = AsyncHandleCore(lock=lock)
    core.initialize(SIZE, SIZE)
    core.begin()
    before = lock.entered
    core.complete(1)
    core.get_call_status()
    core.complete_call()
    assert lock.entered == before + 3
    assert core.lock is lock
