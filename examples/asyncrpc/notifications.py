"""The same ``AsyncFunc`` call completed through every MS-RPC notification type.

    python notifications.py BINDING [delay_ms]   # a server from server.py, e.g. on 4747

For each mechanism the client initialises an ``RPC_ASYNC_STATE``, selects the mechanism
with :mod:`dcerpc.notify`, calls ``AsyncFunc`` (the server completes it after ``delay_ms``),
waits the way that mechanism is waited for, collects the outcome with
``RpcAsyncCompleteCall`` and prints one line: where the notification was handled (which
thread), the status and the reply.  The thread rules are those of the seed page (see
``docs/async.md``): an APC runs only in an alertable wait of its target thread, a
completion packet goes to whichever thread dequeues it, a window message is handled by the
window's owner thread (or asyncio loop), and a callback runs on a runtime worker thread.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dcerpc
import dcerpc.idl
import dcerpc.notify
from dcerpc.status import RPC_S_ASYNC_CALL_PENDING
from dcerpc.win32 import (
    INVALID_HANDLE_VALUE,
    RPC_ASYNC_STATE,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WM_APP,
    WM_QUIT,
    CreateEvent,
    CreateIoCompletionPort,
    CreateWindow,
    DispatchMessage,
    GetMessage,
    GetQueuedCompletionStatus,
    PostMessage,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallStatus,
    RpcAsyncInitializeHandle,
    SleepEx,
    WaitForSingleObject,
    sizeof,
)

HERE = Path(__file__).resolve().parent
_stubs = dcerpc.idl.load(HERE / "AsyncRPC.idl", acf=HERE / "AsyncRPC.acf")
AsyncFunc = _stubs.AsyncFunc
BOUND_MS = 10_000  # every wait is bounded: a lost notification fails instead of hanging
WM_ASYNC_DONE = WM_APP + 1


def _state() -> RPC_ASYNC_STATE:
    Async = RPC_ASYNC_STATE()
    status = RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE))
    if status:
        raise dcerpc.RpcError("RpcAsyncInitializeHandle failed", status)
    return Async


def _here() -> str:
    return threading.current_thread().name


# Each function makes the call with one mechanism and returns what happened.
def via_none(h: Any, delay: int) -> str:
    Async = dcerpc.notify.none(_state())
    AsyncFunc(Async, h, delay)
    polls = 0
    while RpcAsyncGetCallStatus(Async) == RPC_S_ASYNC_CALL_PENDING and polls < BOUND_MS:
        SleepEx(1, False)
        polls += 1
    return _finish(Async, f"polled RpcAsyncGetCallStatus {polls} times on {_here()}")


def via_event(h: Any, delay: int) -> str:
    ev = CreateEvent(None, False, False, None)
    Async = dcerpc.notify.event(_state(), ev)
    AsyncFunc(Async, h, delay)
    ok = WaitForSingleObject(ev, BOUND_MS) == WAIT_OBJECT_0
    return _finish(Async, f"event signalled ({ok}), waited on {_here()}")


def via_apc(h: Any, delay: int) -> str:
    ran: list[str] = []
    Async = dcerpc.notify.apc(_state(), lambda s, ctx, event: ran.append(_here()))
    AsyncFunc(Async, h, delay)  # hThread None: queued to this, the issuing, thread
    rc = SleepEx(BOUND_MS, True)
    what = "WAIT_IO_COMPLETION" if rc == WAIT_IO_COMPLETION else rc
    return _finish(Async, f"APC ran on {', '.join(ran)} inside SleepEx(..., TRUE) -> {what}")


def via_iocp(h: Any, delay: int) -> str:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    Async = dcerpc.notify.iocp(_state(), port, 0xCAFE, bytes=0x1234, overlapped="ov")
    AsyncFunc(Async, h, delay)
    ok, nbytes, key, ov = GetQueuedCompletionStatus(port, BOUND_MS)
    port.close()
    return _finish(Async, f"packet ok={ok} key=0x{key:X} bytes=0x{nbytes:X} "
                          f"overlapped={ov!r} dequeued on {_here()}")


def via_window(h: Any, delay: int) -> str:
    ready = threading.Event()
    handled: list[str] = []
    box: dict[str, Any] = {}

    def owner() -> None:  # a GUI-style thread: a window and its message loop
        box["hwnd"] = CreateWindow(wndproc=lambda hwnd, msg, wp, lp: handled.append(
            f"WM_APP+{msg - WM_APP} (lParam is the state: {lp is box.get('Async')})"
            f" dispatched on {_here()}"))
        ready.set()
        while msg := GetMessage(timeout=BOUND_MS):
            DispatchMessage(msg)
            if handled:
                break

    t = threading.Thread(target=owner, name="window-owner")
    t.start()
    ready.wait(BOUND_MS / 1000)
    box["Async"] = Async = dcerpc.notify.window(_state(), box["hwnd"], WM_ASYNC_DONE)
    AsyncFunc(Async, h, delay)
    t.join(BOUND_MS / 1000)
    PostMessage(box["hwnd"], WM_QUIT)
    return _finish(Async, "".join(handled) or "no message")


def via_loop(h: Any, delay: int) -> str:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        hwnd = dcerpc.notify.loop_target(
            loop, lambda w, msg, wp, lp: done.set_result(
                f"handler ran on the asyncio loop's thread {_here()}"))
        Async = dcerpc.notify.window(_state(), hwnd, WM_ASYNC_DONE)
        await asyncio.to_thread(AsyncFunc, Async, h, delay)  # the stub itself never blocks
        line = await asyncio.wait_for(done, BOUND_MS / 1000)
        return _finish(Async, line)

    return asyncio.run(main())


def via_callback(h: Any, delay: int) -> str:
    ran = threading.Event()
    where: list[str] = []

    def routine(s: Any, ctx: Any, event: int) -> None:
        where.append(_here())
        ran.set()

    Async = dcerpc.notify.callback(_state(), routine)
    AsyncFunc(Async, h, delay)
    ran.wait(BOUND_MS / 1000)
    return _finish(Async, f"routine ran on runtime worker {', '.join(where)} "
                          f"(issued on {_here()})")


def _finish(Async: RPC_ASYNC_STATE, what: str) -> str:
    status, reply = RpcAsyncCompleteCall(Async, None)
    return f"{what}; RpcAsyncCompleteCall -> status {status}, reply {reply!r}"


MECHANISMS: list[tuple[str, Callable[[Any, int], str]]] = [
    ("none/polling", via_none),
    ("event", via_event),
    ("APC", via_apc),
    ("IOCP", via_iocp),
    ("window message", via_window),
    ("asyncio loop", via_loop),
    ("callback", via_callback),
]


def main(binding: str, delay: int = 50, out: Any = None) -> int:
    """Complete AsyncFunc once per mechanism against ``binding``; 0 if all succeeded."""
    out = out if out is not None else sys.stdout
    failed = 0
    with dcerpc.Binding(binding) as h:
        for name, fn in MECHANISMS:
            line = fn(h, delay)
            failed += "status 0," not in line
            print(f"  {name + ':':<16}{line}", file=out, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50))
