"""The Face test interface (face.idl + face.acf) and a gated manager for it, shared by
the faithful-face and ordering tests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dcerpc.idl
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    CreateEvent,
    RpcAsyncCompleteCall,
    RpcAsyncInitializeHandle,
    RpcNotificationTypeEvent,
    RpcServerTestCancel,
    sizeof,
)

HERE = Path(__file__).resolve().parent
face = dcerpc.idl.load(HERE / "face.idl", acf=HERE / "face.acf")
BOUND = 10.0  # seconds: a broken path fails instead of hanging
GRACE = 0.3  # seconds in which something must *not* happen


class FaceManager:
    """MIDL-style manager: the binding handle arrives first (after pAsync)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handles: list[Any] = []
        self.dispatched: list[int] = []
        self.held: dict[int, Any] = {}
        self.gate = threading.Event()
        self.entered: dict[int, threading.Event] = {}
        self.saw_cancel: list[int] = []

    def _entered(self, n: int) -> threading.Event:
        with self.lock:
            return self.entered.setdefault(n, threading.Event())

    def Hello(self, hBinding: Any, n: int) -> int:
        self.handles.append(hBinding)
        return n + 1 if RpcServerTestCancel(hBinding) == 1791 else -1

    def WaitCancel(self, hBinding: Any, n: int) -> int:
        """Waits for the client's cancel (n == 0) or for the gate, ignoring cancels."""
        self.handles.append(hBinding)
        self._entered(n).set()
        if n == 0:
            hBinding.cancelled.wait_sync(BOUND)
        else:
            self.gate.wait(BOUND)
        status = RpcServerTestCancel(hBinding)
        self.saw_cancel.append(status)
        return 100 + status

    def Hold(self, pAsync: Any, hBinding: Any, n: int) -> None:
        """Records the dispatch, keeps pAsync; ``n`` odd: the routine blocks on the gate
        before returning (a routine that is still running)."""
        with self.lock:
            self.dispatched.append(n)
            self.held[n] = pAsync
        self._entered(n).set()
        if n % 2:
            self.gate.wait(BOUND)

    def Quick(self, pAsync: Any, hBinding: Any, n: int) -> None:
        with self.lock:
            self.dispatched.append(n)
        RpcAsyncCompleteCall(pAsync, n * 10)

    def wait_entered(self, n: int, timeout: float = BOUND) -> bool:
        return self._entered(n).wait(timeout)


def new_async() -> Any:
    """An initialised RPC_ASYNC_STATE with event notification."""
    a = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(a, sizeof(RPC_ASYNC_STATE)) == 0
    a.NotificationType = RpcNotificationTypeEvent
    a.u.hEvent = CreateEvent(None, False, False, None)
    return a
