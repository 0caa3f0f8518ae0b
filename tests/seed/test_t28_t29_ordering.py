"""Seed-semantics §9.3: causal ordering of async calls (F12).

T28: on one binding and one thread, async calls c1 and c2 with c1 held on the server:
the server dispatches c1 then c2 (c2 waits while c1's routine is still running), and c2
may complete first.  T29: with RPC_C_OPT_BINDING_NONCAUSAL both are dispatched while c1
is held.  Plus: many async calls keep their issue order, and a synchronous call on the
same binding runs while async calls wait.  Real loopback TCP; self-contained server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "win32"))
from facesvc import BOUND, GRACE, FaceManager, face, new_async

import dcerpc
from dcerpc.win32 import (
    RPC_C_OPT_BINDING_NONCAUSAL,
    RPC_S_OK,
    WAIT_OBJECT_0,
    RpcAsyncCompleteCall,
    RpcBindingFree,
    RpcBindingFromStringBinding,
    RpcBindingSetOption,
    WaitForSingleObject,
)


@pytest.fixture
def served() -> Iterator[tuple[FaceManager, Any]]:
    mgr = FaceManager()
    server = dcerpc.Server()
    server.register(face.Face, mgr, binding_handles=True)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    status, h = RpcBindingFromStringBinding(str(bindings[0]))
    assert status == RPC_S_OK
    try:
        yield mgr, h
    finally:
        mgr.gate.set()
        RpcBindingFree(h)
        server.stop_background(2.0)


def _complete(a: Any) -> tuple[int, Any]:
    assert WaitForSingleObject(a.u.hEvent, int(BOUND * 1000)) == WAIT_OBJECT_0
    return RpcAsyncCompleteCall(a, None)


def test_t28_causal_dispatch_order(served: Any) -> None:
    mgr, h = served
    c1, c2 = new_async(), new_async()
    face.Hold(c1, h, 1)  # odd: the routine blocks until the gate opens
    face.Hold(c2, h, 2)
    assert mgr.wait_entered(1)
    # c2 is not dispatched while c1's routine is still running.
    assert not mgr.wait_entered(2, GRACE)
    assert face.Hello(h, 5) == 6  # a synchronous call on the same binding still runs
    mgr.gate.set()
    assert mgr.wait_entered(2)
    assert mgr.dispatched == [1, 2]
    # ... and c2 may complete first.
    assert RpcAsyncCompleteCall(mgr.held[2], 22) == RPC_S_OK
    assert _complete(c2) == (RPC_S_OK, 22)
    assert RpcAsyncCompleteCall(mgr.held[1], 11) == RPC_S_OK
    assert _complete(c1) == (RPC_S_OK, 11)


def test_t29_noncausal_calls_overlap(served: Any) -> None:
    mgr, h = served
    assert RpcBindingSetOption(h, RPC_C_OPT_BINDING_NONCAUSAL, True) == RPC_S_OK
    c1, c2 = new_async(), new_async()
    face.Hold(c1, h, 1)
    assert mgr.wait_entered(1)
    face.Hold(c2, h, 2)
    # c2 is dispatched while c1's routine is still running: they overlap.
    assert mgr.wait_entered(2)
    assert not mgr.gate.is_set()
    mgr.gate.set()
    for n, a in ((1, c1), (2, c2)):
        assert RpcAsyncCompleteCall(mgr.held[n], n) == RPC_S_OK
        assert _complete(a) == (RPC_S_OK, n)


def test_many_async_calls_keep_issue_order(served: Any) -> None:
    mgr, h = served
    states = [new_async() for _ in range(40)]
    for n, a in enumerate(states):
        face.Quick(a, h, n)
    for n, a in enumerate(states):
        assert _complete(a) == (RPC_S_OK, n * 10)
    assert mgr.dispatched == list(range(40))
