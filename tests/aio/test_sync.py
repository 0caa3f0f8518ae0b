"""The threaded face: dcerpc.connect, dcerpc.Binding, start_background, many threads."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from svc import make_server, svc, wait_until

import dcerpc
from dcerpc import status as st

HERE = Path(__file__).resolve().parent


@pytest.fixture
def background_server():  # type: ignore[no-untyped-def]
    server, impl = make_server()
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    bindings = server.start_background()
    yield server, impl, bindings[0]
    impl.release.set()
    server.stop_background(2.0)


def test_sync_proxy_round_trip(background_server) -> None:  # type: ignore[no-untyped-def]
    _server, impl, binding = background_server
    with dcerpc.connect(str(binding), svc.TestSvc) as c:
        assert c.Add(1, 2) == 3
        assert c.Echo("abc") == (0, "ABC")
        _, h = c.Open(5)
        assert c.Next(h).value == 6
        assert c.Close(h) == (0, dcerpc.ndr.ContextHandleValue())
        with pytest.raises(dcerpc.CallFault) as info:
            c.Fail(1)
        assert info.value.status == st.RPC_S_ACCESS_DENIED
    assert [x.n for x in impl.closed] == [6]


def test_many_threads_share_one_proxy(background_server) -> None:  # type: ignore[no-untyped-def]
    _server, _impl, binding = background_server
    with dcerpc.connect(binding, svc.TestSvc) as c:
        def work(i: int) -> list[int]:
            return [c.Add(i, j) for j in range(50)]

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(64)))
    assert results == [[i + j for j in range(50)] for i in range(64)]


def test_midl_binding_handle_and_generated_functions(background_server) -> None:  # type: ignore[no-untyped-def]
    _server, _impl, binding = background_server
    with dcerpc.Binding(str(binding)) as h:
        assert svc.Add(h, 20, 22) == 42
        assert svc.Ping(h, 1) == 1001  # second interface, same handle
        client = svc.TestSvcClient(h)
        assert client.Double(4) == (0, 8)


def test_sync_timeout(background_server) -> None:  # type: ignore[no-untyped-def]
    _server, impl, binding = background_server
    with dcerpc.connect(binding, svc.TestSvc, timeout=0.2) as c:
        with pytest.raises(dcerpc.RpcTimeout):
            c.Slow(30_000)
        assert wait_until(lambda: len(impl.cancel_seen) == 1)
        assert c.Add(1, 1) == 2


def test_blocking_call_on_the_runtime_loop_is_refused() -> None:
    loop = dcerpc._sync.runtime_loop()
    out: list[BaseException] = []

    def on_loop() -> None:
        try:
            dcerpc.connect("memory:[nobody]", svc.TestSvc).Add(1, 1)
        except BaseException as exc:
            out.append(exc)
        done.set()

    done = threading.Event()
    loop.call_soon_threadsafe(on_loop)
    assert done.wait(10)
    assert isinstance(out[0], dcerpc.RpcError)


def test_server_killed_mid_call_fails_every_pending_call() -> None:
    proc = subprocess.Popen([sys.executable, str(HERE / "server_proc.py")],
                            stdout=subprocess.PIPE, text=True, cwd=HERE)
    try:
        assert proc.stdout is not None
        binding = proc.stdout.readline().strip()
        assert binding.startswith("ncacn_ip_tcp:127.0.0.1[")
        with dcerpc.connect(binding, svc.TestSvc, timeout=30) as c:
            assert c.Add(1, 1) == 2
            errors: list[BaseException] = []
            lock = threading.Lock()

            def slow() -> None:
                try:
                    c.Slow(60_000)
                except dcerpc.RpcError as exc:
                    with lock:
                        errors.append(exc)

            threads = [threading.Thread(target=slow) for _ in range(20)]
            for t in threads:
                t.start()
            assert wait_until(lambda: c._aproxy._channel is not None and sum(
                p.in_flight for p in c._aproxy._channel.conns) == 20)
            c.WhoAmI()  # every Slow request has reached the server before this reply
            proc.kill()
            for t in threads:
                t.join(20)
            assert not any(t.is_alive() for t in threads)
        assert len(errors) == 20
        assert all(isinstance(e, dcerpc.CommFailure) for e in errors)
        assert all(e.status == st.RPC_S_COMM_FAILURE for e in errors)
    finally:
        proc.kill()
        proc.wait(10)


def test_sync_over_ncalrpc_and_memory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DCERPC_LRPC_DIR", str(tmp_path))
    server, _impl = make_server()
    server.listen("ncalrpc:[sync-lrpc]")
    server.listen("memory:[sync-mem]")
    lrpc, mem = server.start_background()
    try:
        assert str(lrpc) == "ncalrpc:[sync-lrpc]" and str(mem) == "memory:[sync-mem]"
        for binding in (lrpc, mem):
            with dcerpc.connect(binding, svc.TestSvc) as c:
                _, info = c.WhoAmI()
                assert info.split("|")[0] == binding.protseq
                assert c.Add(5, 6) == 11
    finally:
        server.stop_background(2.0)
