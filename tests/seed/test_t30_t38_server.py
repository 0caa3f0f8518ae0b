"""Seed-semantics §9.4, T30-T38: server-side ``[async]`` managers of the §8 server —
completing later from another thread or inside the routine, AsyncVoid, completing twice,
raising before the hand-off, aborting, and RpcServerTestCancel (F25-F30)."""

from __future__ import annotations

import threading
from typing import Any

from seedlib import (
    BOUND,
    GRACE,
    AsyncFunc,
    AsyncVoid,
    final,
    new_state,
    wait_until,
)

from dcerpc.errors import RpcError
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_IN_PROGRESS,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_ASYNC_HANDLE,
    RPC_S_INVALID_BINDING,
    RPC_S_NO_CALL_ACTIVE,
    RPC_S_OK,
)
from dcerpc.win32 import (
    RpcAsyncAbortCall,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncGetCallStatus,
    RpcServerTestCancel,
)


def on_thread(fn: Any, *args: Any) -> Any:
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    t.join(BOUND)
    return out[0]


def collect(Async: Any) -> tuple[int, Any]:
    assert wait_until(lambda: final(Async), BOUND)
    return RpcAsyncCompleteCall(Async, None)


def test_t30_another_server_thread_completes_later(binding: Any, server: Any) -> None:
    """T30 (F25, F26)."""
    Async = new_state()
    AsyncFunc(Async, binding, 30)
    assert server.wait_calls(1)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    p = server.calls[0].p_async
    assert on_thread(RpcAsyncCompleteCall, p, (5, 30)) == RPC_S_OK
    status, reply = collect(Async)
    assert status == RPC_S_OK and (reply.return_value, reply.r) == (5, 30)


def test_t31_completing_inside_the_routine_on_the_dispatch_thread(
        binding: Any, server: Any) -> None:
    """T31 (F25): opportunistically asynchronous."""
    where: list[tuple[int, int]] = []

    def policy(p: Any, n: int | None) -> None:
        where.append((threading.get_ident(), RpcAsyncCompleteCall(p, (31, n))))

    server.policy = policy
    Async = new_state()
    AsyncFunc(Async, binding, 2)
    status, reply = collect(Async)
    assert status == RPC_S_OK and (reply.return_value, reply.r) == (31, 2)
    assert where == [(server.calls[0].thread_ident, RPC_S_OK)]


def test_t32_async_void_needs_a_server_complete_too(binding: Any, server: Any) -> None:
    """T32 (F26)."""
    Async = new_state()
    AsyncVoid(Async, binding)
    assert server.wait_calls(1)
    assert not wait_until(lambda: final(Async), GRACE)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    assert RpcAsyncCompleteCall(server.calls[0].p_async, None) == RPC_S_OK
    assert collect(Async) == (RPC_S_OK, None)


def test_t33_complete_or_abort_after_complete_is_an_invalid_handle(
        binding: Any, server: Any) -> None:
    """T33 (F26) [D 1914]."""
    Async = new_state()
    AsyncFunc(Async, binding, 33)
    assert server.wait_calls(1)
    p = server.calls[0].p_async
    assert RpcAsyncCompleteCall(p, (0, 33)) == RPC_S_OK
    assert RpcAsyncCompleteCall(p, (0, 34)) == RPC_S_INVALID_ASYNC_HANDLE
    assert RpcAsyncAbortCall(p, 5) == RPC_S_INVALID_ASYNC_HANDLE
    status, reply = collect(Async)
    assert status == RPC_S_OK and reply.r == 33


def test_t34_raising_before_the_hand_off_faults_the_call(binding: Any, server: Any) -> None:
    """T34 (F28): the code reaches the client; the server never completes."""
    def policy(p: Any, n: int | None) -> None:
        raise RpcError("refused before the hand-off", 0x4242)

    server.policy = policy
    Async = new_state()
    AsyncFunc(Async, binding, 34)
    assert collect(Async) == (0x4242, None)
    p = server.calls[0].p_async
    assert RpcAsyncCompleteCall(p, (0, 1)) == RPC_S_INVALID_ASYNC_HANDLE  # already ended


def test_t35_abort_reaches_the_client_as_the_status(binding: Any, server: Any) -> None:
    """T35 (F27)."""
    Async = new_state()
    AsyncFunc(Async, binding, 35)
    assert server.wait_calls(1)
    assert server.abort(0, 5) == RPC_S_OK
    assert collect(Async) == (5, None)


def test_t36_abort_with_code_zero_is_refused_and_the_call_lives_on(
        binding: Any, server: Any) -> None:
    """T36 (F27) [D 87]."""
    Async = new_state()
    AsyncFunc(Async, binding, 36)
    assert server.wait_calls(1)
    assert server.abort(0, 0) == RPC_S_INVALID_ARG
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
    assert server.complete(0, 36, (36,)) == RPC_S_OK
    status, reply = collect(Async)
    assert status == RPC_S_OK and reply.return_value == 36


def test_t37_test_cancel_sees_a_non_abortive_cancel(binding: Any, server: Any) -> None:
    """T37 (F29, F33)."""
    Async = new_state()
    AsyncFunc(Async, binding, 37)
    assert server.wait_calls(1)
    h = RpcAsyncGetCallHandle(server.calls[0].p_async)
    assert h is server.calls[0].binding
    assert RpcServerTestCancel(h) == RPC_S_CALL_IN_PROGRESS
    assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
    assert wait_until(lambda: RpcServerTestCancel(h) == RPC_S_OK, BOUND)
    assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING  # non-abortive: waits
    assert server.complete(0, 9, (37,)) == RPC_S_OK
    status, reply = collect(Async)
    assert status == RPC_S_OK and reply.return_value == 9


def test_t38_test_cancel_without_a_call_or_with_a_bogus_handle() -> None:
    """T38 (F29)."""
    assert on_thread(RpcServerTestCancel, 0) == RPC_S_NO_CALL_ACTIVE
    assert RpcServerTestCancel(0) == RPC_S_NO_CALL_ACTIVE
    assert RpcServerTestCancel(object()) == RPC_S_INVALID_BINDING
