"""Interop (issue 4, Acceptance): impacket's DCE/RPC client, which knows nothing of async,
calls ``[async]`` operations of our server (interop.idl + async_interop.acf) over TCP on
127.0.0.1, and the reply is completed later by another server thread; and a non-abortive
cancel from our own client on an ``[async]`` operation is visible to the server through
``RpcServerTestCancel(RpcAsyncGetCallHandle(p))`` (seed-semantics F24-F29, F33, T37).

The server runs in this process (real sockets) so that the test can hold each call
outstanding and see which thread completes it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import DCERPC_v5, DCERPCException

import dcerpc
import dcerpc.idl
from dcerpc.status import RPC_S_CALL_IN_PROGRESS, RPC_S_INVALID_ASYNC_HANDLE, RPC_S_OK
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    CreateEvent,
    RpcAsyncAbortCall,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    RpcNotificationTypeEvent,
    RpcServerTestCancel,
    WaitForSingleObject,
    sizeof,
)

from .impacket_calls import Add, Greet, connect
from .interop_impl import Test

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
stubs = dcerpc.idl.load(HERE / "interop.idl", acf=HERE / "async_interop.acf")
BOUND = 10.0  # seconds: a broken path fails instead of hanging


class AsyncTest(Test):
    """Add and Greet are [async]: the manager parks pAsync and returns at once."""

    def __init__(self) -> None:
        self.parked: queue.Queue[tuple[Any, tuple[Any, ...], int]] = queue.Queue()

    def Add(self, pAsync: Any, a: int, b: int) -> None:  # type: ignore[override]
        self.parked.put((pAsync, (a, b), threading.get_ident()))

    def Greet(self, pAsync: Any, name: str, title: str | None) -> None:  # type: ignore[override]
        self.parked.put((pAsync, (name, title), threading.get_ident()))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[AsyncTest, str, int]]:
    server = dcerpc.Server()
    impl = AsyncTest()
    server.register(stubs.InteropTest, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    binding = str(server.start_background()[0])
    try:
        yield impl, binding, int(binding.rsplit("[", 1)[1].rstrip("]"))
    finally:
        server.stop_background(2.0)


@pytest.fixture
def dce(served: Any) -> Iterator[DCERPC_v5]:
    d = connect(served[2])
    yield d
    d.disconnect()


def complete_later(p: Any, reply: Any, delay: float = 0.05) -> tuple[threading.Timer, list[Any]]:
    """RpcAsyncCompleteCall from a threading.Timer: (timer, [status, thread ident])."""
    out: list[Any] = []

    def fire() -> None:
        out.append(RpcAsyncCompleteCall(p, reply))
        out.append(threading.get_ident())

    timer = threading.Timer(delay, fire)
    timer.start()
    return timer, out


def test_impacket_gets_the_reply_completed_later_by_another_thread(served: Any,
                                                                  dce: DCERPC_v5) -> None:
    impl, _binding, _port = served
    with ThreadPoolExecutor(1) as pool:
        req = Add()
        req["a"], req["b"] = 40, 2
        pending = pool.submit(dce.request, req, checkError=False)
        p, args, dispatch_thread = impl.parked.get(True, BOUND)
        assert args == (40, 2)
        assert not pending.done()  # outstanding: impacket is still waiting
        timer, out = complete_later(p, 42)
        assert pending.result(BOUND)["ErrorCode"] == 42
        timer.join(BOUND)
        assert out[0] == RPC_S_OK and out[1] not in (dispatch_thread,
                                                     threading.get_ident())
        assert RpcAsyncCompleteCall(p, 43) == RPC_S_INVALID_ASYNC_HANDLE  # T33

        # [out] parameters through the completion: Greet's string.
        req = Greet()
        req["name"] = "Grace\x00"
        req["title"] = NULL
        pending = pool.submit(dce.request, req)
        p, (name, title), _ = impl.parked.get(True, BOUND)
        assert (name, title) == ("Grace", None)
        timer, out = complete_later(p, (0, f"Hello later, {name}!"))
        assert pending.result(BOUND)["greeting"] == "Hello later, Grace!\x00"
        timer.join(BOUND)
        assert out[0] == RPC_S_OK


def test_impacket_sees_an_abort_as_a_fault_and_carries_on(served: Any,
                                                          dce: DCERPC_v5) -> None:
    impl, _binding, _port = served
    with ThreadPoolExecutor(1) as pool:
        req = Add()
        req["a"], req["b"] = 1, 1
        pending = pool.submit(dce.request, req, checkError=False)
        p, _args, _ = impl.parked.get(True, BOUND)
        worker = threading.Thread(target=RpcAsyncAbortCall, args=(p, 0x4242))
        worker.start()
        # impacket names the fault status in its message (rpcrt.py, unknown codes).
        with pytest.raises(DCERPCException, match="fault status code: 00004242"):
            pending.result(BOUND)
        worker.join(BOUND)
        # The same impacket session goes on: several calls outstanding, completed out of
        # order from two threads.
        futures = []
        for i in range(3):
            req = Add()
            req["a"], req["b"] = i, 100
            futures.append(pool.submit(dce.request, req, checkError=False))
            p, args, _ = impl.parked.get(True, BOUND)  # impacket waits for each reply
            complete_later(p, sum(args), 0.01 * (3 - i))
            assert futures[-1].result(BOUND)["ErrorCode"] == i + 100


def test_non_abortive_cancel_from_our_client_is_seen_by_test_cancel(served: Any) -> None:
    impl, binding, _port = served
    with dcerpc.Binding(binding) as h:
        Async = RPC_ASYNC_STATE()
        assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == RPC_S_OK
        Async.NotificationType = RpcNotificationTypeEvent
        Async.u.hEvent = CreateEvent(None, False, False, None)
        stubs.Add(Async, h, 20, 17)
        p, args, _ = impl.parked.get(True, BOUND)
        assert args == (20, 17)
        call = RpcAsyncGetCallHandle(p)
        assert RpcServerTestCancel(call) == RPC_S_CALL_IN_PROGRESS  # before the cancel
        assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
        seen = threading.Event()

        def watch() -> None:  # the server side, on a thread of its own
            for _ in range(int(BOUND / 0.01)):
                if RpcServerTestCancel(call) == RPC_S_OK:
                    seen.set()
                    return
                seen.wait(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        watcher.join(BOUND + 1)
        assert seen.is_set()
        assert RpcAsyncGetCallStatus(Async) != RPC_S_OK  # non-abortive: still pending
        # The server still decides the outcome (F33): it completes with a result.
        timer, out = complete_later(p, 37)
        assert WaitForSingleObject(Async.u.hEvent, int(BOUND * 1000)) == 0
        assert RpcAsyncCompleteCall(Async) == (RPC_S_OK, 37)
        timer.join(BOUND)
        assert out[0] == RPC_S_OK
