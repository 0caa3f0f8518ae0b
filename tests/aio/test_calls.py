"""Faults, current_call, context handles and rundown, cancellation and timeouts."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from svc import await_until, make_server, run, svc

import dcerpc
import dcerpc.aio
from dcerpc import status as st

TCP = "ncacn_ip_tcp:127.0.0.1[0]"


def test_manager_exceptions_become_faults_and_the_server_keeps_serving(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            with pytest.raises(dcerpc.CallFault) as info:
                await c.Fail(1)  # RpcError(status) → that status
            assert info.value.status == st.RPC_S_ACCESS_DENIED
            with caplog.at_level(logging.ERROR, logger="dcerpc.server"):
                with pytest.raises(dcerpc.CallFault) as info:
                    await c.Fail(2)  # any other exception → nca_s_fault_unspec, logged
                assert info.value.status == st.nca_s_fault_unspec == 0x1C000012
                assert "a manager bug" in caplog.text
                with pytest.raises(dcerpc.CallFault) as info:
                    await c.Fail(3)  # a result that does not marshal
                assert info.value.status == st.nca_s_fault_unspec
            assert await c.Fail(0) == 0
            assert await c.Add(1, 2) == 3

    run(main())


def test_unknown_opnum_is_op_rng_error() -> None:
    # A client whose copy of the interface has one more operation than the server's.
    extra = svc.TestSvc.operation("Add")
    bigger = dcerpc.ndr.types.Interface(
        svc.TestSvc.name, svc.TestSvc.uuid, svc.TestSvc.version,
        [*svc.TestSvc.operations,
         dcerpc.ndr.types.Operation("Future", 99, extra.params, extra.returns)])

    async def main() -> None:
        server, _ = make_server()
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], bigger) as c:
            with pytest.raises(dcerpc.CallFault) as info:
                await c.Future(1, 2)
            assert info.value.status == st.nca_s_op_rng_error
            assert await c.Add(1, 2) == 3

    run(main())


def test_current_call_fields() -> None:
    obj = uuid.UUID("11111111-2222-3333-4444-555555555555")

    async def main() -> None:
        server, _ = make_server()
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc,
                                              object_uuid=obj) as c:
            _, info = await c.WhoAmI()
            protseq, iface, op, call_id, object_uuid, cancelled, peer = info.split("|")
            assert (protseq, iface, op) == ("ncacn_ip_tcp", "TestSvc", "WhoAmI")
            assert int(call_id) >= 1 and object_uuid == str(obj) and cancelled == "False"
            assert peer.startswith("('127.0.0.1', ")
        with pytest.raises(dcerpc.RpcError):
            dcerpc.current_call()

    run(main())


def test_context_handle_lifecycle_and_rundown() -> None:
    async def main() -> None:
        server, impl = make_server()
        server.listen(TCP)
        async with server:
            b = server.bindings[0]
            async with dcerpc.aio.connect(b, svc.TestSvc) as c:
                _, h = await c.Open(10)
                assert h and isinstance(h, dcerpc.ndr.ContextHandleValue)
                assert (await c.Next(h)).value == 11
                assert (await c.Next(h)).value == 12
                _, closed = await c.Close(h)
                assert not closed  # 20 zero bytes
                assert [x.n for x in impl.closed] == [12]
                with pytest.raises(dcerpc.CallFault) as info:
                    await c.Next(h)  # closed: unknown to the server now
                assert info.value.status == st.nca_s_fault_context_mismatch
                with pytest.raises(dcerpc.CallFault) as info:
                    await c.Next(dcerpc.ndr.ContextHandleValue(0, uuid.uuid4()))
                assert info.value.status == st.nca_s_fault_context_mismatch
                _, left_open = await c.Open(100)
                await c.Next(left_open)
                group = c._channel.assoc_group_id
                assert group and server.handles.count(group) == 1
                assert impl.rundowns == []
            # the client disconnected with one handle open → it is run down
            assert await await_until(lambda: len(impl.rundowns) == 1)
            assert impl.rundowns[0].n == 101
            assert server.handles.count(group) == 0

    run(main())


def test_context_handles_are_scoped_to_the_association_group() -> None:
    async def main() -> None:
        server, _ = make_server()
        server.listen(TCP)
        async with server:
            b = server.bindings[0]
            async with dcerpc.aio.connect(b, svc.TestSvc) as c:
                _, h = await c.Open(1)
                # a different endpoint key (other options) → another pool and group
                async with dcerpc.aio.connect(b, svc.TestSvc, max_xmit_frag=4280) as other:
                    with pytest.raises(dcerpc.CallFault) as info:
                        await other.Next(h)
                    assert info.value.status == st.nca_s_fault_context_mismatch
                assert (await c.Next(h)).value == 2

    run(main())


def test_timeout_orphans_the_call() -> None:
    async def main() -> None:
        server, impl = make_server()
        server.listen(TCP)
        async with server:
            b = server.bindings[0]
            async with dcerpc.aio.connect(b, svc.TestSvc, timeout=0.2) as c:
                with pytest.raises(dcerpc.RpcTimeout) as info:
                    await c.Slow(30_000)
                assert info.value.status == st.RPC_S_TIMEOUT
                # the orphaned PDU reached the manager as a cancel
                assert await await_until(lambda: len(impl.cancel_seen) == 1)
                assert await c.Add(1, 1) == 2  # the connection is still good

    run(main())


def test_task_cancellation_cancels_the_call_on_the_wire() -> None:
    async def main() -> None:
        server, impl = make_server()
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            task = asyncio.ensure_future(c.Slow(30_000))
            assert await await_until(lambda: server.active_calls == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await await_until(lambda: len(impl.cancel_seen) == 1)
            assert await c.Add(2, 2) == 4

    run(main())


def test_many_concurrent_calls_on_one_connection_each_complete_once() -> None:
    n = 10_000
    cfg = dcerpc.protocol.ConnectionConfig(max_concurrent_calls=n + 10)

    async def main() -> None:
        server, _ = make_server(max_calls=n + 10, config=cfg)
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc,
                                              connections=1, config=cfg) as c:
            results = await asyncio.gather(*(c.Add(i, 1) for i in range(n)))
            assert len(results) == n
            assert sorted(results) == list(range(1, n + 1))  # each once, none lost
            assert len(c._channel.conns) == 1
            assert server.active_calls == 0

    run(main())


def test_max_calls_gives_server_too_busy() -> None:
    async def main() -> None:
        server, _impl = make_server(max_calls=2)
        server.listen(TCP)
        async with server, dcerpc.aio.connect(server.bindings[0], svc.TestSvc) as c:
            slow = [asyncio.ensure_future(c.Slow(30_000)) for _ in range(2)]
            assert await await_until(lambda: server.active_calls == 2)
            with pytest.raises(dcerpc.CallFault) as info:
                await c.Add(1, 1)
            assert info.value.status == st.nca_s_server_too_busy
            for t in slow:
                t.cancel()
            await asyncio.gather(*slow, return_exceptions=True)
            assert await await_until(lambda: server.active_calls == 0)
            assert await c.Add(1, 1) == 2

    run(main())


def test_graceful_stop_lets_in_flight_calls_finish() -> None:
    async def main() -> None:
        server, impl = make_server()
        server.listen(TCP)
        await server.start()
        c = dcerpc.aio.connect(server.bindings[0], svc.TestSvc)
        await c.connect()
        quick = asyncio.ensure_future(c.Slow(300))
        stuck = asyncio.ensure_future(c.Block(60_000))
        assert await await_until(lambda: server.active_calls == 2)
        await server.stop(timeout=2.0)
        assert await quick == 300  # finished within the grace period
        with pytest.raises(dcerpc.RpcError) as info:
            await stuck  # cancelled by stop: a fault or the closed connection
        assert isinstance(info.value, (dcerpc.CallFault, dcerpc.CommFailure))
        impl.release.set()
        with pytest.raises(dcerpc.RpcError):
            await c.Add(1, 1)  # the server is gone
        await c.aclose()

    run(main())


def test_a_pool_asks_for_a_new_group_once_its_connections_are_gone() -> None:
    """A server restarted on the same port does not know the old association group: the
    client's pool, left with no live connection, binds for a new group ([MS-RPCE] 3.3.1.3)
    instead of being refused with bind_nak."""
    server, _ = make_server()
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    binding = str(server.start_background()[0])
    port = server.bindings[0].endpoint
    try:
        with dcerpc.connect(binding, svc.TestSvc) as first:
            assert first.Add(1, 2) == 3
            with dcerpc.connect(binding, svc.TestSvc) as c:
                assert c.Add(2, 2) == 4
                server.stop_background(2.0)
                server, _ = make_server()
                server.listen(f"ncacn_ip_tcp:127.0.0.1[{port}]")
                server.start_background()
                # the old connection died with the first server: a new one, a new group
                assert c.Add(3, 4) == 7
    finally:
        server.stop_background(2.0)
