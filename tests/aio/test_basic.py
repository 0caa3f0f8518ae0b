"""Our asyncio client against our server: the data types, over TCP v4/v6, ncalrpc, memory."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from svc import Impl, make_server, run, svc

import dcerpc
import dcerpc.aio

ENDPOINTS = [
    pytest.param("ncacn_ip_tcp:127.0.0.1[0]", id="tcp4"),
    # IPv6 loopback is required: a machine without ::1 fails here rather than skipping.
    pytest.param("ncacn_ip_tcp:::1[0]", id="tcp6"),
    pytest.param("ncalrpc:[{lrpc}]", id="ncalrpc"),
    pytest.param("memory:[{mem}]", id="memory"),
]


@pytest.fixture
def lrpc_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DCERPC_LRPC_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_round_trip_every_type(endpoint: str, lrpc_dir: Any, request: Any) -> None:
    endpoint = endpoint.format(lrpc="svc-" + request.node.callspec.id,
                               mem="mem-basic-" + request.node.callspec.id)

    async def main() -> None:
        server, _impl = make_server()
        server.listen(endpoint)
        async with server:
            (binding,) = server.bindings
            async with dcerpc.aio.connect(binding, svc.TestSvc) as c:
                assert await c.Add(2, 40) == 42
                assert await c.Echo("héllo") == (0, "HÉLLO")
                res = await c.Sum(3, [1, 2, 2**31 - 1])
                assert res.return_value == 3 and res.total == 2**31 + 2
                moved = await c.Move(svc.POINT(1, 2), 10)
                assert moved.moved == svc.POINT(11, 2)
                assert await c.MaybeLen(None) == -1
                assert await c.MaybeLen("abc") == 3
                assert await c.Double(21) == (0, 42)
                data = bytes(range(256)) * 100  # several fragments each way
                assert (await c.Blob(len(data), data)).checksum > 0

    run(main())


def test_ncalrpc_socket_lives_in_the_configured_dir(lrpc_dir: Any) -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen("ncalrpc:[where]")
        async with server:
            assert (lrpc_dir / "where").is_socket()
            async with dcerpc.aio.connect("ncalrpc:[where]", svc.TestSvc) as c:
                assert await c.Add(1, 1) == 2
        assert not (lrpc_dir / "where").exists()

    run(main())


def test_two_interfaces_one_connection_alter_context() -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            b = server.bindings[0]
            async with dcerpc.aio.connect(b, svc.TestSvc, connections=1) as a, \
                    dcerpc.aio.connect(b, svc.OtherSvc, connections=1) as o:
                assert await a.Add(1, 2) == 3
                assert await o.Ping(1) == 1001  # alter_context on the shared connection
                assert await a.Add(3, 4) == 7
                channel = a._channel
                assert channel is o._channel and len(channel.conns) == 1
                assert len(channel.conns[0].contexts) == 2

    run(main())


def test_unknown_interface_is_bind_error() -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            b = server.bindings[0]
            with pytest.raises(dcerpc.BindError) as info:
                async with dcerpc.aio.connect(b, svc.NotServed) as c:
                    await c.Nope(1)
            assert info.value.status == dcerpc.status.RPC_S_UNKNOWN_IF
            # and through alter_context on an established connection
            async with dcerpc.aio.connect(b, svc.TestSvc, connections=1) as a:
                assert await a.Add(1, 1) == 2
                n = dcerpc.aio.connect(b, svc.NotServed, connections=1)
                with pytest.raises(dcerpc.BindError):
                    await n.Nope(1)
                await n.aclose()
                assert await a.Add(2, 2) == 4
                assert len(a._channel.conns) == 1

    run(main())


def test_connection_refused_is_server_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        with pytest.raises(dcerpc.RpcError) as info:
            async with dcerpc.aio.connect(f"ncacn_ip_tcp:127.0.0.1[{port}]", svc.TestSvc):
                pass
        assert info.value.status == dcerpc.status.RPC_S_SERVER_UNAVAILABLE

    run(main())


def test_impl_fixture_is_fresh() -> None:
    assert Impl().rundowns == []
