"""The seed-semantics §8 fixture: an in-process loopback server for the T-numbered tests.

:class:`SeedServer` serves ``SeedAsync`` (seed.idl + seed.acf) on 127.0.0.1: ``AsyncFunc([in]
long n, [out] long *r)`` and ``AsyncVoid()`` are ``[async]`` managers that record each
dispatch as ``calls[i] = Dispatch(p_async, binding, thread_ident, seq, ...)`` and leave it
OUTSTANDING until the test calls ``complete(i, ret, outs)`` or ``abort(i, code)``; the
synchronous ``SyncEcho`` answers at once.  A ``policy(p_async, n)`` hook runs inside the
manager (complete there, raise before the hand-off, ...).  Every wait is bounded and uses a
condition, never a bare sleep; checks that something does *not* happen look for GRACE.

:class:`Cutter` is a loopback TCP relay whose connections the test can cut, to make a comm
failure of a call that is pending on the server.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dcerpc
import dcerpc.idl
from dcerpc.status import RPC_S_ASYNC_CALL_PENDING, RPC_S_CALL_CANCELLED, RPC_S_OK
from dcerpc.win32 import (
    RPC_ASYNC_STATE,
    RpcAsyncAbortCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    sizeof,
)

HERE = Path(__file__).resolve().parent
seed = dcerpc.idl.load(HERE / "seed.idl", acf=HERE / "seed.acf")
AsyncFunc = seed.AsyncFunc    # (Async, hBinding, n); returns at once
AsyncVoid = seed.AsyncVoid    # (Async, hBinding)
SyncEcho = seed.SyncEcho      # (hBinding, s) -> SyncEcho_result(return_value, echo)

GRACE = 0.2          # §9: the window in which "no notification arrives" is checked
GRACE_MS = 200
BOUND = 5.0          # §9: every wait has a bound, so a hang fails instead of blocking
BOUND_MS = 5000
#: What RpcAsyncCompleteCall reports for a call whose connection died (DESIGN §6).
COMM_FAILURES = (dcerpc.status.RPC_S_CALL_FAILED, dcerpc.status.RPC_S_COMM_FAILURE)

Policy = Callable[[Any, "int | None"], None]


@dataclass
class Dispatch:
    """One [async] dispatch as the server saw it (§8)."""

    p_async: Any
    binding: Any          # RpcAsyncGetCallHandle(p_async): the server call handle
    thread_ident: int
    seq: int              # dispatch order across the whole server
    op: str
    n: int | None


class SeedServer:
    """The manager and its server (see the module docstring).  One per test module;
    :meth:`reset` gives each test a clean view."""

    def __init__(self) -> None:
        self.calls: list[Dispatch] = []
        self.policy: Policy | None = None
        self._cond = threading.Condition()
        self._seq = itertools.count(1)
        self.server = dcerpc.Server()
        self.server.register(seed.SeedAsync, self)
        self.server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        self.binding = str(self.server.start_background()[0])
        self.port = int(self.binding.rsplit("[", 1)[1].rstrip("]"))

    # -- manager routines (run on the server's loop: dispatch order is arrival order) --
    async def AsyncFunc(self, pAsync: Any, n: int) -> None:
        self._record(pAsync, "AsyncFunc", n)

    async def AsyncVoid(self, pAsync: Any) -> None:
        self._record(pAsync, "AsyncVoid", None)

    def SyncEcho(self, s: str) -> tuple[int, str]:
        return 0, s

    def _record(self, p: Any, op: str, n: int | None) -> None:
        d = Dispatch(p, RpcAsyncGetCallHandle(p), threading.get_ident(), next(self._seq), op, n)
        with self._cond:
            self.calls.append(d)
            self._cond.notify_all()
        if self.policy is not None:
            self.policy(p, n)  # may complete here (T31) or raise before the hand-off (T34)

    # -- test side ------------------------------------------------------------------
    def wait_calls(self, count: int, timeout: float = BOUND) -> bool:
        """True once ``count`` dispatches were recorded (bounded)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= count, timeout)

    def complete(self, i: int, ret: int = 0, outs: tuple[Any, ...] = ()) -> int:
        """Server-side RpcAsyncCompleteCall of call ``i`` with a synchronous manager's
        result shape: ``(ret, *outs)`` for AsyncFunc, None for AsyncVoid."""
        d = self.calls[i]
        reply = None if d.op == "AsyncVoid" else (ret, *outs)
        return RpcAsyncCompleteCall(d.p_async, reply)

    def abort(self, i: int, code: int) -> int:
        return RpcAsyncAbortCall(self.calls[i].p_async, code)

    def reset(self) -> None:
        """End whatever a test left outstanding (nothing leaks into the next test)."""
        with self._cond:
            calls, self.calls = self.calls, []
        self.policy = None
        for d in calls:
            if getattr(d.p_async, "outstanding", False):
                RpcAsyncAbortCall(d.p_async, RPC_S_CALL_CANCELLED)

    def stop(self) -> None:
        self.reset()
        self.server.stop_background(2.0)


class Cutter:
    """A loopback TCP relay to ``port``; :meth:`cut` kills every relayed connection at once
    (both directions), as a dead network or a killed server process would."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self._lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self._lsock.getsockname()[1]
        self.binding = f"ncacn_ip_tcp:127.0.0.1[{self.port}]"
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="cutter-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._lsock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=BOUND)
            upstream.settimeout(None)
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                # RST rather than FIN: SO_LINGER 0, then close.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._lsock.close()
        self.cut()


def new_state(kind: int = 0) -> RPC_ASYNC_STATE:
    """``RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE))`` plus NotificationType."""
    Async = RPC_ASYNC_STATE()
    assert RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE)) == RPC_S_OK
    Async.NotificationType = kind
    return Async


def wait_until(pred: Callable[[], bool], timeout: float = BOUND) -> bool:
    """Poll ``pred`` (bounded) — for state owned by other threads with no gate to wait on."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return bool(pred())


def stays_false(pred: Callable[[], bool], window: float = GRACE) -> bool:
    """True if ``pred`` stayed false for the whole ``window`` (the GRACE checks of §9)."""
    return not wait_until(pred, window)


def final(Async: Any) -> bool:
    """The outcome is stored: RpcAsyncGetCallStatus no longer says 997 (F8)."""
    return RpcAsyncGetCallStatus(Async) != RPC_S_ASYNC_CALL_PENDING
