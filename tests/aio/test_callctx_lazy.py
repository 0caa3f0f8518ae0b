"""A CallContext makes its CancelSignal only when something needs it: reading
test_cancel()/disconnected does not, a hook, a wait or cancelled does — once, even
when a worker thread and the loop ask at the same time."""

from __future__ import annotations

import asyncio
import threading

from dcerpc.aio._callctx import CallContext, CancelSignal
from dcerpc.ndr.types import Interface, Operation


def _call(loop: asyncio.AbstractEventLoop, signal: CancelSignal | None = None) -> CallContext:
    iface = Interface(name="I", uuid="00000000-0000-0000-0000-000000000001", version=(1, 0))
    return CallContext(("127.0.0.1", 1), "ncacn_ip_tcp", None, iface, Operation("Op", 0),
                       7, 1, signal, loop=loop)


def test_reads_do_not_make_the_signal_and_first_use_does() -> None:
    loop = asyncio.new_event_loop()
    try:
        call = _call(loop)
        assert not call.test_cancel() and not call.disconnected
        assert call._cancel is None
        fired: list[str] = []
        call.on_cancel(lambda: fired.append("cancel"))
        sig = call.cancelled
        assert isinstance(sig, CancelSignal) and call.cancelled is sig and sig._loop is loop
        sig.set()
        assert call.test_cancel() and fired == ["cancel"] and not call.disconnected
    finally:
        loop.close()


def test_an_explicit_signal_is_kept() -> None:
    loop = asyncio.new_event_loop()
    try:
        sig = CancelSignal(loop)
        call = _call(loop, sig)
        assert call.cancelled is sig
        sig.disconnect()
        assert call.disconnected
    finally:
        loop.close()


def test_threads_asking_at_once_get_one_signal() -> None:
    loop = asyncio.new_event_loop()
    try:
        for _ in range(20):
            call = _call(loop)
            got: list[CancelSignal] = []
            start = threading.Barrier(4)

            def ask(call: CallContext = call, got: list[CancelSignal] = got,
                    start: threading.Barrier = start) -> None:
                start.wait()
                got.append(call.cancelled)

            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(got) == 4 and all(s is got[0] for s in got)
    finally:
        loop.close()
