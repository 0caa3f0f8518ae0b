"""The notifier conformance suite (DESIGN §8, issue 4 Acceptance): every notification
mechanism x every way a call ends, over real calls to the §8 server.

For each pair it asserts: exactly one notification; delivered on the mechanism's documented
thread (dcerpc.notify module docstrings, seed-semantics §4); only after the outcome is
collectable (code run by the notification sees a final RpcAsyncGetCallStatus); and
RpcAsyncCompleteCall returns the outcome's status.  APC targets are first held in a
non-alertable wait across GRACE to show that no APC runs there.  A separate test checks that
no mechanism fires when the invocation itself raised (T14 for each).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from seedlib import (
    BOUND,
    BOUND_MS,
    COMM_FAILURES,
    GRACE_MS,
    AsyncFunc,
    final,
    new_state,
    stays_false,
    wait_until,
)

import dcerpc
import dcerpc.notify
from dcerpc.errors import RpcError
from dcerpc.notify.window import loop_target
from dcerpc.status import (
    RPC_S_ASYNC_CALL_PENDING,
    RPC_S_CALL_CANCELLED,
    RPC_S_OK,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
)
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    WM_APP,
    WM_QUIT,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    DispatchMessage,
    GetMessage,
    GetQueuedCompletionStatus,
    PostMessage,
    QueueUserAPC,
    ResetEvent,
    RpcAsyncCancelCall,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcCallComplete,
    RpcServerTestCancel,
    SetEvent,
    SleepEx,
    WaitForSingleObject,
)
from dcerpc.win32._kernel import pending_apcs

MSG = WM_APP + 4
Record = tuple[threading.Thread, int]  # (where it ran, RpcAsyncGetCallStatus seen there)


class Mechanism:
    """One notification mechanism under test: ``arm`` fills the state before the call,
    ``receive`` waits (bounded) for the one notification as its thread rule says and
    returns the records, ``quiet`` checks that no second one arrives within GRACE."""

    expected_thread: Callable[[], threading.Thread | None] = staticmethod(lambda: None)

    def __init__(self) -> None:
        self.records: list[Record] = []

    def note(self, state: Any) -> None:
        self.records.append((threading.current_thread(), RpcAsyncGetCallStatus(state)))

    def arm(self, state: Any) -> None:
        raise NotImplementedError

    def receive(self, state: Any) -> list[Record]:
        raise NotImplementedError

    def quiet(self) -> bool:
        return stays_false(lambda: len(self.records) > 1)

    def close(self) -> None:
        pass


class NoneMech(Mechanism):
    def arm(self, state: Any) -> None:
        dcerpc.notify.none(state)

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: final(state), BOUND)
        return []


class EventMech(Mechanism):
    def __init__(self, manual: bool) -> None:
        super().__init__()
        self.ev = CreateEvent(None, manual, False, None)

    def arm(self, state: Any) -> None:
        dcerpc.notify.event(state, self.ev)

    def receive(self, state: Any) -> list[Record]:
        assert WaitForSingleObject(self.ev, BOUND_MS) == WAIT_OBJECT_0
        self.note(state)  # the waiting thread: this one
        ResetEvent(self.ev)
        return self.records

    def quiet(self) -> bool:
        return WaitForSingleObject(self.ev, GRACE_MS) == WAIT_TIMEOUT


class ApcSelf(Mechanism):
    """hThread None: the issuing thread, i.e. the test's thread."""

    def arm(self, state: Any) -> None:
        self.me = threading.current_thread()
        dcerpc.notify.apc(state, lambda s, ctx, ev: self.note(s))

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: final(state), BOUND)
        idle = CreateEvent(None, False, False, None)
        assert WaitForSingleObject(idle, GRACE_MS) == WAIT_TIMEOUT  # non-alertable
        assert SleepEx(0, False) == 0
        assert self.records == [] and pending_apcs() == 1
        assert SleepEx(BOUND_MS, True) == WAIT_IO_COMPLETION
        return self.records

    def quiet(self) -> bool:
        return SleepEx(GRACE_MS, True) == 0 and len(self.records) <= 1


class ApcOther(Mechanism):
    """hThread = B.  B first sleeps non-alertably until told to go, then waits alertably."""

    def __init__(self) -> None:
        super().__init__()
        self.go = CreateEvent(None, True, False, None)
        self.waits: list[int] = []
        self.b = threading.Thread(target=self._b, name="apc-target", daemon=True)
        self.b.start()

    def _b(self) -> None:
        WaitForSingleObject(self.go, BOUND_MS)  # not alertable: no APC may run here
        self.waits.append(SleepEx(BOUND_MS, True))
        self.waits.append(SleepEx(GRACE_MS, True))  # a second APC would show here

    def arm(self, state: Any) -> None:
        dcerpc.notify.apc(state, lambda s, ctx, ev: self.note(s), thread=self.b)

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: final(state), BOUND)
        assert stays_false(lambda: bool(self.records))  # B sleeps non-alertably
        assert pending_apcs(self.b) == 1
        SetEvent(self.go)
        assert wait_until(lambda: bool(self.records), BOUND)
        assert SleepEx(0, True) == 0  # nothing was queued to the issuing thread
        return self.records

    def quiet(self) -> bool:
        if not self.records:  # never notified (T14): nothing may even be queued to B
            return stays_false(lambda: pending_apcs(self.b) > 0 or bool(self.records))
        self.b.join(BOUND)
        return self.waits == [WAIT_IO_COMPLETION, 0] and len(self.records) == 1

    def close(self) -> None:
        SetEvent(self.go)
        QueueUserAPC(lambda _d: None, self.b, 0)


class Iocp(Mechanism):
    def __init__(self) -> None:
        super().__init__()
        self.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
        self.overlapped = object()

    def arm(self, state: Any) -> None:
        dcerpc.notify.iocp(state, self.port, 0xCAFE, bytes=0x1234, overlapped=self.overlapped)

    def receive(self, state: Any) -> list[Record]:
        got = GetQueuedCompletionStatus(self.port, BOUND_MS)
        assert got == (True, 0x1234, 0xCAFE, self.overlapped)  # the preset packet
        self.note(state)
        return self.records

    def quiet(self) -> bool:
        return GetQueuedCompletionStatus(self.port, GRACE_MS)[0] is False

    def close(self) -> None:
        self.port.close()


class WindowThread(Mechanism):
    """A window owned by thread W, which runs GetMessage/DispatchMessage."""

    def __init__(self) -> None:
        super().__init__()
        ready = threading.Event()
        self.msgs: list[Any] = []

        def w() -> None:
            self.hwnd = CreateWindow(wndproc=self._proc)
            ready.set()
            while msg := GetMessage(timeout=BOUND_MS):
                DispatchMessage(msg)

        self.w = threading.Thread(target=w, name="window-owner", daemon=True)
        self.w.start()
        assert ready.wait(BOUND)

    def _proc(self, hwnd: Any, msg: int, wparam: int, lparam: Any) -> int:
        self.msgs.append((hwnd, msg, wparam, lparam))
        self.note(lparam)
        return 0

    def arm(self, state: Any) -> None:
        dcerpc.notify.window(state, self.hwnd, MSG)

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: bool(self.records), BOUND)
        assert self.msgs[0] == (self.hwnd, MSG, 0, state)
        return self.records

    def close(self) -> None:
        PostMessage(self.hwnd, WM_QUIT, 0, 0)
        self.w.join(BOUND)


class WindowLoop(Mechanism):
    """A LoopWindow on an asyncio loop running in its own thread."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.t = threading.Thread(target=self.loop.run_forever, name="loop-owner", daemon=True)
        self.t.start()

        async def make() -> Any:
            return loop_target(asyncio.get_running_loop(), self._proc)

        self.hwnd = asyncio.run_coroutine_threadsafe(make(), self.loop).result(BOUND)

    def _proc(self, hwnd: Any, msg: int, wparam: int, lparam: Any) -> None:
        assert (hwnd, msg, wparam) == (self.hwnd, MSG, 0)
        self.note(lparam)

    def arm(self, state: Any) -> None:
        dcerpc.notify.window(state, self.hwnd, MSG)

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: bool(self.records), BOUND)
        return self.records

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.t.join(BOUND)
        self.loop.close()


class Callback(Mechanism):
    def arm(self, state: Any) -> None:
        self.issuer = threading.current_thread()
        dcerpc.notify.callback(state, lambda s, ctx, ev: self.note(s))

    def receive(self, state: Any) -> list[Record]:
        assert wait_until(lambda: bool(self.records), BOUND)
        return self.records


MECHANISMS: dict[str, Callable[[], Mechanism]] = {
    "none": NoneMech,
    "event-auto": lambda: EventMech(manual=False),
    "event-manual": lambda: EventMech(manual=True),
    "apc-self": ApcSelf,
    "apc-other": ApcOther,
    "iocp": Iocp,
    "window-thread": WindowThread,
    "window-loop": WindowLoop,
    "callback": Callback,
}


def documented_thread(name: str, m: Mechanism) -> Callable[[threading.Thread], bool]:
    """Where the code run by the notification must run (dcerpc.notify docstrings)."""
    me = threading.current_thread()
    return {
        "event-auto": lambda t: t is me,          # the waiting thread
        "event-manual": lambda t: t is me,
        "iocp": lambda t: t is me,                # the dequeuing thread
        "apc-self": lambda t: t is me,            # the issuing thread, alertable
        "apc-other": lambda t: t is getattr(m, "b", None),
        "window-thread": lambda t: t is getattr(m, "w", None),
        "window-loop": lambda t: t is getattr(m, "t", None),
        # a runtime worker: not the issuer, not the network loop
        "callback": lambda t: t is not me and t.name != "dcerpc-runtime",
    }.get(name, lambda t: False)


@pytest.fixture(params=list(MECHANISMS))
def mech(request: pytest.FixtureRequest) -> Iterator[tuple[str, Mechanism]]:
    m = MECHANISMS[request.param]()
    try:
        yield request.param, m
    finally:
        m.close()


def _honour_cancel(server: Any) -> None:
    h = server.calls[0].binding
    assert wait_until(lambda: RpcServerTestCancel(h) == RPC_S_OK, BOUND)
    assert server.abort(0, RPC_S_CALL_CANCELLED) == RPC_S_OK


def _refuse(_p: Any, _n: int | None) -> None:
    raise RpcError("the manager refuses the call", 0x4242)


OUTCOMES = ["success", "fault", "abort", "comm-failure", "cancel-abortive",
            "cancel-honoured"]


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_exactly_one_notification_on_the_documented_thread(
        mech: tuple[str, Mechanism], outcome: str, server: Any, cutter: Any) -> None:
    name, m = mech
    if outcome == "fault":
        server.policy = _refuse  # the manager raises before the hand-off (F28)
    binding = dcerpc.Binding(cutter.binding if outcome == "comm-failure" else server.binding)
    try:
        Async = new_state()
        m.arm(Async)
        AsyncFunc(Async, binding, 4)
        assert server.wait_calls(1)
        if outcome != "fault":
            assert RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING
            assert m.records == []
        if outcome == "success":
            assert server.complete(0, 7, (42,)) == RPC_S_OK
        elif outcome == "abort":
            assert server.abort(0, 0x1234) == RPC_S_OK
        elif outcome == "comm-failure":
            cutter.cut()
        elif outcome == "cancel-abortive":
            assert RpcAsyncCancelCall(Async, True) == RPC_S_OK
        elif outcome == "cancel-honoured":
            assert RpcAsyncCancelCall(Async, False) == RPC_S_OK
            _honour_cancel(server)

        records = m.receive(Async)
        status, reply = RpcAsyncCompleteCall(Async, None)
        assert m.quiet(), f"{name}: a second notification"
    finally:
        binding.close()

    if name != "none":
        assert len(records) == 1
        (thread, seen), = records
        assert documented_thread(name, m)(thread), f"{name} ran on {thread.name}"
        assert seen == status != RPC_S_ASYNC_CALL_PENDING  # the outcome was stored first
    assert Async.Event == RpcCallComplete
    if outcome == "success":
        assert status == RPC_S_OK and (reply.return_value, reply.r) == (7, 42)
    elif outcome == "fault":
        assert (status, reply) == (0x4242, None)
    elif outcome == "abort":
        assert (status, reply) == (0x1234, None)
    elif outcome == "comm-failure":
        assert status in COMM_FAILURES and reply is None
    else:
        assert (status, reply) == (RPC_S_CALL_CANCELLED, None)


def test_no_mechanism_fires_when_the_invocation_raises(
        mech: tuple[str, Mechanism], server: Any, binding: Any) -> None:
    """T14 for every mechanism: a synchronous stub failure never notifies (F6)."""
    name, m = mech
    Async = new_state()
    m.arm(Async)
    with pytest.raises(RpcError):
        AsyncFunc(Async, binding, "not a long")
    assert m.quiet() and m.records == [], name
    assert stays_false(lambda: bool(m.records), 0.05)
    if isinstance(m, EventMech):
        assert WaitForSingleObject(m.ev, 0) == WAIT_TIMEOUT
    if isinstance(m, Iocp):
        assert GetQueuedCompletionStatus(m.port, 0)[0] is False
    assert SleepEx(0, True) == 0  # no APC queued to this thread
    assert not server.calls
