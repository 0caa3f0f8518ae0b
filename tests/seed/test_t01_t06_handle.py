"""Seed-semantics §9.1, T1-T6: initialising the async handle, runtime-owned fields, one
handle per outstanding call, re-initialisation before reuse (F1-F4)."""

from __future__ import annotations

from typing import Any

import pytest
from seedlib import BOUND, AsyncFunc, final, new_state, wait_until

from dcerpc.errors import RpcError
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_OK,
)
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    RPC_ASYNC_STATE_SIZE,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    sizeof,
)


def test_t01_initialize_with_sizeof_succeeds_and_sets_size() -> None:
    """T1 (F1)."""
    Async = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == RPC_S_OK
    assert Async.Size == RPC_ASYNC_STATE_SIZE == sizeof(Async)


@pytest.mark.parametrize("delta", [-1, 1])
def test_t02_a_wrong_size_is_invalid_arg(delta: int) -> None:
    """T2 (F1): Size - 1 and Size + 1 return 87."""
    Async = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE) + delta) == RPC_S_INVALID_ARG


def test_t03_a_never_initialised_state_is_an_invalid_handle() -> None:
    """T3 (F2): GetCallStatus, CompleteCall and CancelCall all return 1914."""
    Async = RPC_ASYNC_STATE()
    assert RpcAsyncGetCallStatus(Async) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncCancelCall(Async, True) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncCancelCall(Async, False) == RPC_S_INVALID_ASYNC_HANDLE


def test_t04_touching_the_signature_invalidates_the_handle(binding: Any, server: Any) -> None:
    """T4 (F2) [D 1914]: the stub raises and nothing reaches the server."""
    Async = new_state()
    Async.Signature ^= 1
    assert RpcAsyncGetCallStatus(Async) == RPC_S_INVALID_ASYNC_HANDLE
    with pytest.raises(RpcError) as info:
        AsyncFunc(Async, binding, 1)
    assert info.value.status == RPC_S_INVALID_ASYNC_HANDLE
    assert not server.wait_calls(1, 0.05)


def test_t05_reusing_a_pending_handle_raises_and_leaves_the_first_call(
        binding: Any, server: Any) -> None:
    """T5 (F3) [D]."""
    Async = new_state()
    AsyncFunc(Async, binding, 1)
    assert server.wait_calls(1)
    with pytest.raises(RpcError) as info:
        AsyncFunc(Async, binding, 2)
    assert info.value.status == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    assert server.complete(0, 10, (11,)) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    status, reply = RpcAsyncCompleteCall(Async, None)
    assert status == RPC_S_OK and (reply.return_value, reply.r) == (10, 11)
    assert [d.n for d in server.calls] == [1]  # the second call never left the client


def test_t06_strict_reuse_needs_reinitialisation_and_xp_mode_does_not(
        binding: Any, server: Any) -> None:
    """T6 (F4) [D]: strict by default; ``xp_mode`` allows reuse after a final Complete."""
    Async = new_state()
    AsyncFunc(Async, binding, 1)
    assert server.wait_calls(1) and server.complete(0, 1, (1,)) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK
    with pytest.raises(RpcError) as info:  # step 2: no re-initialisation
        AsyncFunc(Async, binding, 2)
    assert info.value.status == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == RPC_S_OK  # step 3
    AsyncFunc(Async, binding, 3)
    assert server.wait_calls(2) and server.complete(1, 3, (3,)) == RPC_S_OK
    assert wait_until(lambda: final(Async), BOUND)
    assert RpcAsyncCompleteCall(Async, None)[0] == RPC_S_OK

    Xp = new_state()  # step 4: XP mode
    Xp.xp_mode = True
    AsyncFunc(Xp, binding, 4)
    assert server.wait_calls(3) and server.complete(2, 4, (4,)) == RPC_S_OK
    assert wait_until(lambda: final(Xp), BOUND)
    assert RpcAsyncCompleteCall(Xp, None)[0] == RPC_S_OK
    AsyncFunc(Xp, binding, 5)  # reused without RpcAsyncInitializeHandle
    assert server.wait_calls(4) and server.complete(3, 5, (5,)) == RPC_S_OK
    assert wait_until(lambda: final(Xp), BOUND)
    status, reply = RpcAsyncCompleteCall(Xp, None)
    assert status == RPC_S_OK and reply.return_value == 5
