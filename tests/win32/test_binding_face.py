"""The client half of the faithful face: string bindings, binding handles, options
(NONCAUSAL, CALL_TIMEOUT) and the RpcTryExcept pattern.  Real loopback TCP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from facesvc import BOUND, FaceManager, face, new_async

import dcerpc
from dcerpc.win32 import (
    INFINITE,
    RPC_C_OPT_BINDING_NONCAUSAL,
    RPC_C_OPT_CALL_TIMEOUT,
    RPC_S_CALL_CANCELLED,
    RPC_S_CANNOT_SUPPORT,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_BINDING,
    RPC_S_OK,
    WAIT_OBJECT_0,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcBindingFree,
    RpcBindingFromStringBinding,
    RpcBindingInqOption,
    RpcBindingSetOption,
    RpcException,
    RpcExceptionCode,
    RpcMgmtSetCancelTimeout,
    RpcServerTestCancel,
    RpcStringBindingCompose,
    RpcStringBindingParse,
    RpcStringFree,
    WaitForSingleObject,
)


@pytest.fixture
def served() -> Iterator[tuple[FaceManager, str]]:
    mgr = FaceManager()
    server = dcerpc.Server()
    server.register(face.Face, mgr, binding_handles=True)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    try:
        yield mgr, str(bindings[0])
    finally:
        mgr.gate.set()
        server.stop_background(2.0)


def _bind(text: str) -> Any:
    status, h = RpcBindingFromStringBinding(text)
    assert status == RPC_S_OK
    return h


def test_compose_parse_and_free_strings() -> None:
    status, s = RpcStringBindingCompose(None, "ncacn_ip_tcp", "127.0.0.1", "4747", None)
    assert (status, s) == (RPC_S_OK, "ncacn_ip_tcp:127.0.0.1[4747]")
    uid = "12345678-1234-1234-1234-123456789abc"
    status, s = RpcStringBindingCompose(uid, "ncalrpc", None, "ep[1]", "security=yes")
    assert status == RPC_S_OK
    assert RpcStringBindingParse(s) == (RPC_S_OK, uid, "ncalrpc", "", "ep[1]",
                                        "security=yes")
    assert RpcStringFree(s) == RPC_S_OK
    assert RpcStringBindingCompose("not-a-uuid", "ncacn_ip_tcp")[0] == 1705
    assert RpcStringBindingCompose(None, "bad proto")[0] == 1700
    assert RpcStringBindingCompose(None, None)[0] == 1700


def test_binding_from_string_binding_errors() -> None:
    assert RpcBindingFromStringBinding("no colon here") == (1700, None)
    assert RpcBindingFromStringBinding(42) == (RPC_S_INVALID_ARG, None)  # type: ignore[arg-type]
    status, h = RpcBindingFromStringBinding("ncacn_ip_tcp:127.0.0.1[1]")
    assert status == RPC_S_OK and isinstance(h, dcerpc.Binding)  # nothing connected yet
    assert RpcBindingFree(h) == (RPC_S_OK, None)


def test_freed_binding_is_invalid(served: Any) -> None:
    _mgr, text = served
    h = _bind(text)
    assert face.Hello(h, 1) == 2
    assert RpcBindingFree(h) == (RPC_S_OK, None)
    code = None
    try:  # RpcTryExcept
        face.Hello(h, 1)
    except RpcException:  # RpcExcept(1)
        code = RpcExceptionCode()
    assert code == RPC_S_INVALID_BINDING
    with pytest.raises(RpcException) as info:
        face.Quick(new_async(), h, 1)
    assert info.value.status == RPC_S_INVALID_BINDING
    assert RpcBindingFree(h) == (RPC_S_INVALID_BINDING, None)
    assert RpcBindingSetOption(h, RPC_C_OPT_BINDING_NONCAUSAL, 1) == RPC_S_INVALID_BINDING


def test_set_and_inq_options() -> None:
    h = _bind("ncacn_ip_tcp:127.0.0.1[1]")
    assert RpcBindingInqOption(h, RPC_C_OPT_BINDING_NONCAUSAL) == (RPC_S_OK, 0)
    assert RpcBindingSetOption(h, RPC_C_OPT_BINDING_NONCAUSAL, True) == RPC_S_OK
    assert RpcBindingInqOption(h, RPC_C_OPT_BINDING_NONCAUSAL) == (RPC_S_OK, 1)
    assert RpcBindingInqOption(h, RPC_C_OPT_CALL_TIMEOUT) == (RPC_S_OK, 0)
    assert RpcBindingSetOption(h, RPC_C_OPT_CALL_TIMEOUT, 2500) == RPC_S_OK
    assert RpcBindingInqOption(h, RPC_C_OPT_CALL_TIMEOUT) == (RPC_S_OK, 2500)
    assert RpcBindingSetOption(h, RPC_C_OPT_CALL_TIMEOUT, -5) == RPC_S_INVALID_ARG
    assert RpcBindingSetOption(h, RPC_C_OPT_CALL_TIMEOUT, "1") == RPC_S_INVALID_ARG
    assert RpcBindingSetOption(h, 13, 1) == RPC_S_CANNOT_SUPPORT  # DONT_LINGER
    assert RpcBindingSetOption(h, 999, 1) == RPC_S_INVALID_ARG
    assert RpcBindingSetOption(object(), RPC_C_OPT_CALL_TIMEOUT, 1) == RPC_S_INVALID_BINDING
    assert RpcExceptionCode() == RPC_S_OK  # outside a handler
    h.free()


def test_call_timeout_cancels_non_abortively_first(served: Any) -> None:
    """The manager sees the cancel (TestCancel == 0) and its answer is the outcome."""
    mgr, text = served
    h = _bind(text)
    try:
        assert RpcBindingSetOption(h, RPC_C_OPT_CALL_TIMEOUT, 50) == RPC_S_OK
        assert face.WaitCancel(h, 0) == 100  # 100 + RpcServerTestCancel(h) == RPC_S_OK
        assert mgr.saw_cancel == [RPC_S_OK]
    finally:
        h.free()


def test_call_timeout_escalates_to_abortive(served: Any) -> None:
    """A manager that ignores the cancel: the call ends with RPC_S_CALL_CANCELLED after the
    cancel timeout; the server had seen the non-abortive cancel."""
    mgr, text = served
    assert RpcMgmtSetCancelTimeout(0) == RPC_S_OK
    try:
        h = _bind(text)
    finally:
        assert RpcMgmtSetCancelTimeout(1) == RPC_S_OK
    try:
        assert RpcBindingSetOption(h, RPC_C_OPT_CALL_TIMEOUT, 50) == RPC_S_OK
        code = None
        try:
            face.WaitCancel(h, 1)
        except RpcException:
            code = RpcExceptionCode()
        assert code == RPC_S_CALL_CANCELLED
        # The first stage's co_cancel reaches the server (it may trail the local end).
        assert mgr.wait_entered(1)
        assert mgr.handles[-1].cancelled.wait_sync(BOUND)
        mgr.gate.set()
        # The async path obeys the same option.
        a = new_async()
        face.Hold(a, h, 2)  # even n: the routine returns, the call stays outstanding
        assert WaitForSingleObject(a.u.hEvent, INFINITE) == WAIT_OBJECT_0
        assert RpcAsyncCompleteCall(a, None)[0] == RPC_S_CALL_CANCELLED
        assert mgr.wait_entered(2, BOUND)
        call = RpcAsyncGetCallHandle(mgr.held[2])
        assert call.cancelled.wait_sync(BOUND)  # the co_cancel went first
        assert RpcServerTestCancel(call) == RPC_S_OK
    finally:
        h.free()
    assert mgr.saw_cancel == [RPC_S_OK]
