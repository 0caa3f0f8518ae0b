"""Seed-semantics §9.5, T40-T44: abortive and non-abortive RpcAsyncCancelCall over a real
call (F33-F35, §5.1)."""

from __future__ import annotations

from typing import Any

from seedlib import BOUND, BOUND_MS, GRACE_MS, AsyncFunc, new_state, wait_until

from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_OK,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
)
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    CreateEvent,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcNotificationTypeEvent,
    RpcServerTestCancel,
    WaitForSingleObject,
)


def event_state() -> tuple[Any, Any]:
    Async = new_state(RpcNotificationTypeEvent)
    Async.u.hEvent = ev = CreateEvent(None, False, False, None)
    return Async, ev


def test_t40_abortive_cancel_completes_promptly_with_call_cancelled(
        binding: Any, server: Any) -> None:
    """T40 (F33, F35) [D on the server side]."""
    Async, ev = event_state()
    AsyncFunc(Async, binding, 40)
    assert server.wait_calls(1)  # the server holds the call indefinitely
    assert RpcAsyncCancelCall(Async, True) == RPC_S_OK
    assert WaitForSingleObject(ev, 1000) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(Async, None) == (RPC_S_CALL_CANCELLED, None)
    assert server.complete(0, 40, (40,)) == RPC_S_OK  # late: discarded
    assert WaitForSingleObject(ev, GRACE_MS) == WAIT_TIMEOUT
    assert RpcAsyncGetCallStatus(Async) != RPC_S_OK  # the client's outcome is unchanged


def test_t41_an_ignored_non_abortive_cancel_gets_the_servers_result(
        binding: Any, server: Any) -> None:
    """T41 (F33)."""
    Async, ev = event_state()
    AsyncFunc(Async, binding, 41)
    assert server.wait_calls(1)
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
    assert WaitForSingleObject(ev, GRACE_MS) == WAIT_TIMEOUT
    assert server.complete(0, 3, (41,)) == RPC_S_OK
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    status, reply = RpcAsyncCompleteCall(Async, None)
    assert status == RPC_S_OK and reply.return_value == 3


def test_t42_the_server_honours_a_cancel_by_aborting_with_call_cancelled(
        binding: Any, server: Any) -> None:
    """T42 (F33, F34)."""
    Async, ev = event_state()
    AsyncFunc(Async, binding, 42)
    assert server.wait_calls(1)
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
    h = server.calls[0].binding
    assert wait_until(lambda: RpcServerTestCancel(h) == RPC_S_OK, BOUND)
    assert server.abort(0, RPC_S_CALL_CANCELLED) == RPC_S_OK
    assert WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(Async, None) == (RPC_S_CALL_CANCELLED, None)


def test_t43_non_abortive_then_abortive(binding: Any, server: Any) -> None:
    """T43 (F33): the documented timeout pattern."""
    Async, ev = event_state()
    AsyncFunc(Async, binding, 43)
    assert server.wait_calls(1)
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
    assert WaitForSingleObject(ev, 300) == WAIT_TIMEOUT
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    assert RpcAsyncCancelCall(Async, True) == RPC_S_OK
    assert WaitForSingleObject(ev, 1000) == WAIT_OBJECT_0
    assert RpcAsyncCompleteCall(Async, None) == (RPC_S_CALL_CANCELLED, None)


def test_t44_cancel_on_an_uninitialised_state_is_an_invalid_handle() -> None:
    """T44 (F33)."""
    assert RpcAsyncCancelCall(RPC_ASYNC_STATE(), True) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncCancelCall(RPC_ASYNC_STATE(), False) == RPC_S_INVALID_ASYNC_HANDLE
