"""The test service used by the runtime/driver tests: its IDL, a manager, and helpers."""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import dcerpc
import dcerpc.idl

IDL = Path(__file__).resolve().parents[1] / "runtime" / "testsvc.idl"
svc = dcerpc.idl.load(IDL)
T = TypeVar("T")

#: A bound on every asyncio test: a hang fails instead of blocking the suite.
TEST_TIMEOUT = 60.0


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)
    return asyncio.run(bounded())


class Counter:
    def __init__(self, n: int) -> None:
        self.n = n


class Impl:
    """Manager for TestSvc: async and plain methods mixed on purpose."""

    def __init__(self) -> None:
        self.rundowns: list[Counter] = []
        self.closed: list[Counter] = []
        self.cancel_seen: list[int] = []
        self.lock = threading.Lock()
        self.release = threading.Event()

    def Add(self, a: int, b: int) -> int:
        return a + b

    async def Echo(self, text: str) -> tuple[int, str]:
        return 0, text.upper()

    def Sum(self, count: int, values: list[int]) -> tuple[int, int]:
        return count, sum(values)

    async def Move(self, p: Any, dx: int) -> tuple[int, Any]:
        return 0, svc.POINT(p.x + dx, p.y)

    def MaybeLen(self, text: str | None) -> int:
        return -1 if text is None else len(text)

    def Double(self, value: int) -> tuple[int, int]:
        return 0, value * 2

    async def Slow(self, ms: int) -> int:
        call = dcerpc.current_call()
        try:
            await asyncio.wait_for(call.cancelled.wait(), ms / 1000)
            self.cancel_seen.append(call.call_id)
            return -1
        except TimeoutError:
            return ms

    def Block(self, ms: int) -> int:
        """A plain manager that blocks a worker thread (for stop/limit tests)."""
        self.release.wait(ms / 1000)
        return ms

    def Fail(self, kind: int) -> int:
        if kind == 1:
            raise dcerpc.RpcError("access denied on purpose", dcerpc.status.RPC_S_ACCESS_DENIED)
        if kind == 2:
            raise ValueError("a manager bug")
        if kind == 3:
            return "not an int"  # type: ignore[return-value]
        return 0

    def Open(self, start: int) -> tuple[int, Counter]:
        return 0, Counter(start)

    def Next(self, ctx: Counter) -> tuple[int, int]:
        ctx.n += 1
        return 0, ctx.n

    def Close(self, ctx: Counter) -> tuple[int, None]:
        self.closed.append(ctx)
        return 0, None

    async def WhoAmI(self) -> tuple[int, str]:
        c = dcerpc.current_call()
        return 0, "|".join(str(x) for x in (c.protseq, c.interface.name, c.operation.name,
                                            c.call_id, c.object_uuid, c.test_cancel(),
                                            c.client_address))

    def Blob(self, size: int, data: bytes) -> tuple[int, int]:
        return 0, zlib.crc32(data) & 0x7FFFFFFF

    def PCOUNTER_rundown(self, ctx: Counter) -> None:
        self.rundowns.append(ctx)


class Other:
    async def Ping(self, x: int) -> int:
        return x + 1000


#: ``GatedImpl.Block(WAIT_FOR_CANCEL)`` waits for the client's cancel instead of the gate.
WAIT_FOR_CANCEL = -1
GATE_BOUND = 10.0  # seconds: a broken path fails instead of hanging


class GatedImpl(Impl):
    """``Block`` waits on ``gate`` (or, with WAIT_FOR_CANCEL, for a cancel) and records what
    it saw, so that tests can keep a call pending as long as they need."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.returned = threading.Event()
        self.saw_cancel: list[bool] = []
        self.calls: list[Any] = []

    def Block(self, ms: int) -> int:
        self.entered.set()
        try:
            call = dcerpc.current_call()
            self.calls.append(call)
            if ms == WAIT_FOR_CANCEL:
                call.cancelled.wait_sync(GATE_BOUND)
                self.saw_cancel.append(call.test_cancel())
                return 77
            self.gate.wait(GATE_BOUND)
            self.saw_cancel.append(call.test_cancel())
            return ms
        finally:
            self.returned.set()


def make_server(**kw: Any) -> tuple[dcerpc.Server, Impl]:
    server = dcerpc.Server(**kw)
    impl = Impl()
    server.register(svc.TestSvc, impl)
    server.register(svc.OtherSvc, Other())
    return server, impl


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll a condition from a thread (bounded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


async def await_until(predicate: Any, timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return bool(predicate())
