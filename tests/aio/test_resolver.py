"""Endpoint-less bindings go through the settable ``dcerpc.runtime.resolver`` hook."""

from __future__ import annotations

import pytest
from svc import make_server, run, svc

import dcerpc
import dcerpc.aio
import dcerpc.runtime as rt
from dcerpc import status as st


def test_no_resolver_means_no_endpoint_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # dcerpc installs the endpoint-mapper resolver on import; without any resolver the
    # call fails as Windows does when nothing maps the interface.
    monkeypatch.setattr(rt, "resolver", rt.no_resolver)

    async def main() -> None:
        c = dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc)
        with pytest.raises(dcerpc.RpcError) as info:
            await c.Add(1, 2)
        assert info.value.status == st.RPC_S_NO_ENDPOINT_FOUND
        await c.aclose()

    run(main())


def test_installed_resolver_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[rt.StringBinding, object]] = []

    async def main() -> None:
        server, _ = make_server()
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server:
            port = server.bindings[0].endpoint

            def resolve(binding: rt.StringBinding, spec: object) -> rt.StringBinding:
                asked.append((binding, spec))
                return binding.with_endpoint(port)

            monkeypatch.setattr(rt, "resolver", resolve)
            async with dcerpc.aio.connect("ncacn_ip_tcp:127.0.0.1", svc.TestSvc) as c:
                assert await c.Add(1, 2) == 3
        assert asked == [(rt.StringBinding.parse("ncacn_ip_tcp:127.0.0.1"), svc.TestSvc)]

    run(main())
