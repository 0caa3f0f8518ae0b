"""The server half of the faithful face: RpcServerUseProtseqEp / RegisterIf(2/3) / Listen /
StopServerListening on the process-wide default server, explicit ``[in] handle_t`` on
the manager, the interface security callback.  Real loopback TCP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from facesvc import BOUND, FaceManager, face

import dcerpc
from dcerpc.aio import CallContext
from dcerpc.status import nca_s_unk_if
from dcerpc.win32 import (
    RPC_BINDING_VECTOR,
    RPC_S_ACCESS_DENIED,
    RPC_S_ALREADY_LISTENING,
    RPC_S_INVALID_ARG,
    RPC_S_NOT_LISTENING,
    RPC_S_OK,
    RpcBindingFree,
    RpcBindingFromStringBinding,
    RpcBindingToStringBinding,
    RpcBindingVectorFree,
    RpcException,
    RpcExceptionCode,
    RpcMgmtStopServerListening,
    RpcMgmtWaitServerListen,
    RpcServerInqBindings,
    RpcServerListen,
    RpcServerRegisterIf,
    RpcServerRegisterIf2,
    RpcServerRegisterIf3,
    RpcServerUnregisterIf,
    RpcServerUseProtseq,
    RpcServerUseProtseqEp,
)
from dcerpc.win32._server import default_server, reset_default_server

RPC_S_PROTSEQ_NOT_SUPPORTED = 1703
RPC_S_TYPE_ALREADY_REGISTERED = 1712
RPC_S_NO_PROTSEQS_REGISTERED = 1714
RPC_S_NO_BINDINGS = 1718


def _stop() -> None:
    if default_server().listening:
        assert RpcMgmtStopServerListening(None) == RPC_S_OK
        assert RpcMgmtWaitServerListen() == RPC_S_OK
    reset_default_server()


@pytest.fixture
def listening() -> Iterator[tuple[FaceManager, str]]:
    reset_default_server()
    mgr = FaceManager()
    assert RpcServerUseProtseqEp("ncacn_ip_tcp", 20, "0", None,
                                 NetworkAddr="127.0.0.1") == RPC_S_OK
    assert RpcServerRegisterIf(face, None, mgr) == RPC_S_OK
    assert RpcServerListen(1, 20, True) == RPC_S_OK
    try:
        status, vector = RpcServerInqBindings()
        assert status == RPC_S_OK and isinstance(vector, RPC_BINDING_VECTOR)
        status, text = RpcBindingToStringBinding(vector.BindingH[0])
        assert status == RPC_S_OK
        assert RpcBindingVectorFree(vector) == (RPC_S_OK, None)
        yield mgr, text
    finally:
        mgr.gate.set()
        _stop()


def _client(text: str) -> Any:
    status, h = RpcBindingFromStringBinding(text)
    assert status == RPC_S_OK
    return h


def test_inq_bindings_resolves_port_zero(listening: Any) -> None:
    _mgr, text = listening
    b = dcerpc.runtime.binding.StringBinding.parse(text)
    assert b.protseq == "ncacn_ip_tcp" and b.network_addr == "127.0.0.1"
    assert b.port not in (None, 0)


def test_handle_t_reaches_the_manager_as_the_call_handle(listening: Any) -> None:
    mgr, text = listening
    h = _client(text)
    try:
        assert face.Hello(h, 41) == 42  # TestCancel(h) was RPC_S_CALL_IN_PROGRESS
        assert face.Hello(h, 1) == 2
    finally:
        assert RpcBindingFree(h) == (RPC_S_OK, None)
    assert len(mgr.handles) == 2
    assert all(isinstance(x, CallContext) for x in mgr.handles)
    assert mgr.handles[0] is not mgr.handles[1]  # one handle per call
    assert mgr.handles[0].operation.name == "Hello"


def test_listen_blocks_until_stop_server_listening() -> None:
    reset_default_server()
    assert RpcServerListen(1, 20, False) == RPC_S_NO_PROTSEQS_REGISTERED
    assert RpcServerUseProtseq("ncacn_ip_tcp", 20, None, NetworkAddr="127.0.0.1") == RPC_S_OK
    assert RpcServerRegisterIf(face, None, {"Hello": lambda h, n: n * 2}) == RPC_S_OK
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(RpcServerListen(1, 20, False)))
    t.start()
    try:
        assert _wait(lambda: default_server().listening)
        assert not result  # still blocked in RpcServerListen
        assert RpcServerListen(1, 20, True) == RPC_S_ALREADY_LISTENING
        status, vector = RpcServerInqBindings()
        assert status == RPC_S_OK
        h = vector.BindingH[0]
        assert face.Hello(h, 21) == 42  # a dict of functions as the manager EPV
        h.free()
    finally:
        assert RpcMgmtStopServerListening(None) == RPC_S_OK
        t.join(BOUND)
    assert result == [RPC_S_OK]
    assert RpcMgmtStopServerListening(None) == RPC_S_NOT_LISTENING
    assert RpcMgmtWaitServerListen() == RPC_S_NOT_LISTENING
    assert RpcServerInqBindings() == (RPC_S_NO_BINDINGS, None)
    reset_default_server()


def test_bad_arguments_return_win32_statuses() -> None:
    reset_default_server()
    try:
        assert RpcServerUseProtseqEp("ncacn_bogus", 1, "1") == RPC_S_PROTSEQ_NOT_SUPPORTED
        assert RpcServerUseProtseqEp("ncacn_ip_tcp", 1, "http") == 1706  # endpoint format
        assert RpcServerRegisterIf("not an interface", None, object()) == RPC_S_INVALID_ARG
        assert RpcServerRegisterIf(face, None, None) == RPC_S_INVALID_ARG
        assert RpcServerRegisterIf(face, None, FaceManager()) == RPC_S_OK
        assert RpcServerRegisterIf(face, None, FaceManager()) == RPC_S_TYPE_ALREADY_REGISTERED
        assert RpcServerUnregisterIf(face, None, 0) == RPC_S_OK
        assert RpcServerUnregisterIf(face, None, 0) == 1717  # RPC_S_UNKNOWN_IF
        assert RpcServerListen(1, 0, True) == RPC_S_INVALID_ARG
        assert RpcMgmtStopServerListening(object()) == RPC_S_INVALID_ARG
    finally:
        reset_default_server()


def test_if_callback_refuses_calls_with_access_denied() -> None:
    reset_default_server()
    seen: list[Any] = []

    def IfCallback(InterfaceUuid: Any, Context: Any) -> int:
        seen.append((InterfaceUuid, Context))
        return RPC_S_ACCESS_DENIED if len(seen) > 1 else RPC_S_OK

    assert RpcServerUseProtseqEp("ncacn_ip_tcp", 20, "0", NetworkAddr="127.0.0.1") == 0
    assert RpcServerRegisterIf2(face, None, FaceManager(), 0, 20, -1, IfCallback) == 0
    assert RpcServerListen(1, 20, True) == RPC_S_OK
    try:
        h = RpcServerInqBindings()[1].BindingH[0]
        assert face.Hello(h, 1) == 2
        code = None
        try:  # RpcTryExcept
            face.Hello(h, 2)
        except RpcException:  # RpcExcept(1)
            code = RpcExceptionCode()
        assert code == RPC_S_ACCESS_DENIED
        assert seen[0][0] is face and isinstance(seen[0][1], CallContext)
        h.free()
    finally:
        _stop()


def test_register_if3_and_unregister_faults_later_calls() -> None:
    reset_default_server()
    assert RpcServerUseProtseqEp("ncacn_ip_tcp", 20, "0", NetworkAddr="127.0.0.1") == 0
    assert RpcServerRegisterIf3(face, None, FaceManager(), 0, 20, -1, None, None) == 0
    assert RpcServerListen(1, 20, True) == RPC_S_OK
    try:
        h = RpcServerInqBindings()[1].BindingH[0]
        assert face.Hello(h, 1) == 2
        assert RpcServerUnregisterIf(None, None, 1) == RPC_S_OK
        with pytest.raises(RpcException) as info:
            face.Hello(h, 1)
        assert info.value.status in (nca_s_unk_if, 1717)
        h.free()
    finally:
        _stop()


def _wait(pred: Any, timeout: float = BOUND) -> bool:
    done = threading.Event()
    end = threading.Timer(timeout, done.set)
    end.start()
    try:
        while not done.is_set():
            if pred():
                return True
            done.wait(0.01)
        return bool(pred())
    finally:
        end.cancel()


def test_wait_after_a_stop_that_already_finished_returns_ok() -> None:
    """RpcMgmtWaitServerListen after RpcServerListen(..., DontWait=TRUE) returns RPC_S_OK
    even when the stop finished before the wait began; a second wait has nothing to wait for."""
    reset_default_server()
    assert RpcServerUseProtseqEp("ncacn_ip_tcp", 20, "0", NetworkAddr="127.0.0.1") == 0
    assert RpcServerRegisterIf(face, None, FaceManager()) == RPC_S_OK
    assert RpcServerListen(1, 20, True) == RPC_S_OK
    assert RpcMgmtStopServerListening(None) == RPC_S_OK
    assert default_server().stopped.wait(10.0)  # the stop is over before the wait
    assert RpcMgmtWaitServerListen() == RPC_S_OK
    assert RpcMgmtWaitServerListen() == RPC_S_NOT_LISTENING
