"""examples/asyncrpc: the AsyncRPC sample server with its Win32-style and asyncio clients,
on 127.0.0.1.  Checks that NonAsyncFunc ran while AsyncFunc was pending (server-side
order) and that AsyncFunc completed no earlier than its delay."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "asyncrpc"
DELAY_MS = 300


def _load(name: str) -> ModuleType:
    # Unique module names: the example's plain "server"/"client" must not shadow others.
    spec = importlib.util.spec_from_file_location(f"example_asyncrpc_{name}",
                                                  EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


server = _load("server")
client = _load("client")
client_aio = _load("client_aio")


@pytest.fixture
def served() -> Iterator[tuple[Any, str]]:
    manager = server.Manager(out=io.StringIO())
    srv, bindings = server.serve("ncacn_ip_tcp:127.0.0.1[0]", manager)
    try:
        yield manager, str(bindings[0])
    finally:
        srv.stop_background(2.0)


def _check_order(manager: Any) -> None:
    names = [name for name, _ in manager.events]
    assert names == ["AsyncFunc begin", "NonAsyncFunc", "AsyncFunc complete"]
    times = dict(manager.events)
    # A lower bound only: the timer cannot fire before the requested delay.
    assert times["AsyncFunc complete"] - times["AsyncFunc begin"] >= DELAY_MS / 1000.0 * 0.95
    assert "NonAsyncFunc: hello" in manager.out.getvalue()


def test_win32_client(served: Any, capsys: pytest.CaptureFixture[str]) -> None:
    manager, binding = served
    assert client.main(binding, DELAY_MS, "hello win32") == 0
    _check_order(manager)
    out = capsys.readouterr()
    assert "AsyncFunc completed" in out.out
    assert "we still can send message" in out.err


def test_asyncio_client(served: Any, capsys: pytest.CaptureFixture[str]) -> None:
    manager, binding = served
    assert asyncio.run(client_aio.main(binding, DELAY_MS, "hello aio")) == 0
    _check_order(manager)
    assert "AsyncFunc completed" in capsys.readouterr().out


def test_unreachable_server_reports_the_status() -> None:
    # Port 1 on loopback is closed: the error path returns a non-zero RPC_STATUS.
    assert client.main("ncacn_ip_tcp:127.0.0.1[1]", 10) != 0
