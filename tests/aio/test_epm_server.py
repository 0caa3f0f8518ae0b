"""Server(epm=...) serves the endpoint mapper; endpoint-less client bindings resolve through it."""

from __future__ import annotations

import socket

import pytest
from svc import Impl, run, svc

import dcerpc
import dcerpc.aio
import dcerpc.runtime as rt
from dcerpc import status as st
from dcerpc.runtime.epm import epm_idl


@pytest.fixture
def restore_resolver() -> object:
    saved = rt.resolver
    yield saved
    rt.resolver = saved


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_with_epm_true_resolves_its_own_interfaces(restore_resolver: object) -> None:
    async def main() -> None:
        server = dcerpc.Server(epm=True)
        server.register(svc.TestSvc, Impl())
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = int(server.bindings[0].endpoint)
            # The mapper lists the server's endpoint for TestSvc and for itself.
            assert any(i.name == "epm" for i in server.interfaces)
            dcerpc.use_endpoint_mapper(port)
            async with dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc) as c:
                assert await c.Add(2, 3) == 5

    run(main())


def test_epm_port_listens_separately_and_ept_lookup_lists_endpoints(
        restore_resolver: object) -> None:
    epm_port = _free_port()

    async def main() -> None:
        server = dcerpc.Server(epm=epm_port)
        server.register(svc.TestSvc, Impl())
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            ports = {b.endpoint for b in server.bindings}
            assert str(epm_port) in ports and len(ports) == 2
            dcerpc.use_endpoint_mapper(epm_port)
            async with dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc) as c:
                assert await c.Add(20, 22) == 42
            mod = epm_idl()
            async with dcerpc.aio.connect(f"ncacn_ip_tcp:127.0.0.1[{epm_port}]",
                                          mod.epm) as m:
                res = await m.ept_lookup(0, None, None, 0, dcerpc.ndr.ContextHandleValue(), 50)
            names = {e.annotation for e in res.entries[:res.num_ents]}
            assert res.status == 0 and names == {"dcerpc"} and res.num_ents >= 3

    run(main())


def test_unregistered_interface_is_not_found(restore_resolver: object) -> None:
    async def main() -> None:
        server = dcerpc.Server(epm=True)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            dcerpc.use_endpoint_mapper(int(server.bindings[0].endpoint))
            c = dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc)
            with pytest.raises(dcerpc.RpcError) as info:
                await c.Add(1, 2)
            assert info.value.status == st.EPT_S_NOT_REGISTERED
            await c.aclose()

    run(main())


def test_no_mapper_listening_is_server_unavailable(restore_resolver: object) -> None:
    dcerpc.use_endpoint_mapper(_free_port())

    async def main() -> None:
        c = dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc)
        with pytest.raises(dcerpc.RpcError) as info:
            await c.Add(1, 2)
        assert info.value.status == st.RPC_S_SERVER_UNAVAILABLE
        await c.aclose()

    run(main())
