"""I/O completion ports (seed-semantics §2 F20, §4 IOCP row, T22-T23)."""

from __future__ import annotations

import threading

import pytest
from w32util import until

from dcerpc.win32 import (
    ERROR_ABANDONED_WAIT_0,
    ERROR_INVALID_HANDLE,
    INVALID_HANDLE_VALUE,
    WAIT_TIMEOUT,
    CloseHandle,
    CreateIoCompletionPort,
    GetLastError,
    GetQueuedCompletionStatus,
    IoCompletionPort,
    PostQueuedCompletionStatus,
)


def new_port() -> IoCompletionPort:
    return CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)


def test_t22_poll_then_packet_then_poll(spawn):
    port = new_port()
    obj = object()
    assert GetQueuedCompletionStatus(port, 0) == (False, 0, 0, None)
    assert GetLastError() == WAIT_TIMEOUT == 258
    spawn(lambda: PostQueuedCompletionStatus(port, 0x1234, 0xCAFE, obj)).finish()
    ok, nbytes, key, overlapped = GetQueuedCompletionStatus(port, 5000)
    assert (ok, nbytes, key) == (True, 0x1234, 0xCAFE)
    assert overlapped is obj
    assert GetQueuedCompletionStatus(port, 0) == (False, 0, 0, None)
    assert GetLastError() == WAIT_TIMEOUT


def test_t23_two_packets_each_delivered_once_even_with_none_overlapped():
    port = new_port()
    assert PostQueuedCompletionStatus(port, 0, 1, None)
    assert PostQueuedCompletionStatus(port, 0, 2, None)
    first, second = GetQueuedCompletionStatus(port, 5000), GetQueuedCompletionStatus(port, 5000)
    assert first == (True, 0, 1, None) and second == (True, 0, 2, None)  # FIFO, ok is True
    assert GetQueuedCompletionStatus(port, 0)[0] is False


def test_blocked_waiter_receives_a_later_packet(spawn):
    port = new_port()
    t = spawn(lambda: GetQueuedCompletionStatus(port, 5000))
    assert until(lambda: port.waiting == 1)
    PostQueuedCompletionStatus(port, 5, 6, "ov")
    assert t.finish() == (True, 5, 6, "ov")


def test_any_thread_may_dequeue_and_no_packet_is_lost_or_duplicated(spawn):
    port = new_port()
    got: list[int] = []
    lock = threading.Lock()

    def consumer() -> None:
        while True:
            ok, _, key, _ = GetQueuedCompletionStatus(port, 5000)
            if not ok or key == 0:
                return
            with lock:
                got.append(key)

    consumers = [spawn(consumer) for _ in range(3)]
    for key in range(1, 201):
        PostQueuedCompletionStatus(port, 0, key, None)
    for _ in consumers:
        PostQueuedCompletionStatus(port, 0, 0, None)  # one stop packet per consumer
    for c in consumers:
        c.finish()
    assert sorted(got) == list(range(1, 201))


def test_close_wakes_every_waiter_with_abandoned(spawn):
    port = new_port()

    def waiter() -> tuple[tuple[object, ...], int]:
        r = GetQueuedCompletionStatus(port, 10_000)
        return r, GetLastError()

    ws = [spawn(waiter) for _ in range(2)]
    assert until(lambda: port.waiting == 2)
    assert CloseHandle(port)
    for w in ws:
        assert w.finish() == ((False, 0, 0, None), ERROR_ABANDONED_WAIT_0)
    assert ERROR_ABANDONED_WAIT_0 == 735


def test_closed_port_rejects_posts_and_gets():
    port = new_port()
    PostQueuedCompletionStatus(port, 1, 1, None)
    CloseHandle(port)
    assert not PostQueuedCompletionStatus(port, 1, 1, None)
    assert GetLastError() == ERROR_INVALID_HANDLE
    assert GetQueuedCompletionStatus(port, 0) == (False, 0, 0, None)  # queued packet dropped
    assert GetLastError() == ERROR_INVALID_HANDLE
    assert not CloseHandle(port)


def test_only_the_standalone_form_is_supported():
    with pytest.raises(NotImplementedError, match="INVALID_HANDLE_VALUE"):
        CreateIoCompletionPort(42, None, 0, 0)
    with pytest.raises(NotImplementedError):
        CreateIoCompletionPort(INVALID_HANDLE_VALUE, new_port(), 0, 0)
    assert not PostQueuedCompletionStatus("nope", 0, 0, None)  # type: ignore[arg-type]
    assert GetQueuedCompletionStatus("nope", 0) == (False, 0, 0, None)  # type: ignore[arg-type]
    assert GetLastError() == ERROR_INVALID_HANDLE
