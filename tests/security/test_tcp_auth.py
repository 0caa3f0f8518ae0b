"""Our client ↔ our server over TCP at every level, NTLM and SPNEGO, fragmented."""

from __future__ import annotations

import os

import pytest

import dcerpc
import dcerpc.aio
from dcerpc import status
from dcerpc.auth import NTLM, Negotiate

from .secsvc import DOMAIN, PASSWORD, USER, make_server, run, sec

CREDS = {"ntlm": NTLM(USER, PASSWORD, DOMAIN), "spnego": Negotiate(USER, PASSWORD, DOMAIN)}


@pytest.mark.parametrize("mech", ["ntlm", "spnego"])
@pytest.mark.parametrize("level", [2, 3, 4, 5, 6])
def test_every_level_with_fragments(mech: str, level: int) -> None:
    async def main() -> None:
        server, _impl = make_server()
        async with server:
            binding = server.bindings[0]
            async with dcerpc.aio.connect(binding, sec.SecTest, auth=CREDS[mech],
                                          level=level, max_xmit_frag=4280,
                                          max_recv_frag=4280) as proxy:
                principal, got_level = (await proxy.WhoAmI())[1:]
                assert (principal, got_level) == (f"{DOMAIN}\\{USER}", level)
                data = os.urandom(70_000)  # > 64 KiB: many fragments both ways
                assert (await proxy.Echo(len(data), data))[1] == data
        assert server.security_stats["verifier_rejected"] == 0
    run(main())


def test_sync_binding_and_connect_take_auth() -> None:
    server, _impl = make_server(min_level="privacy")
    server.start_background()
    try:
        with dcerpc.connect(server.bindings[0], sec.SecTest, auth=CREDS["ntlm"],
                            level="privacy") as proxy:
            assert proxy.WhoAmI()[2] == 6
        binding = dcerpc.Binding(server.bindings[0], auth=CREDS["spnego"], level=6)
        try:
            assert sec.WhoAmI(binding)[1] == f"{DOMAIN}\\{USER}"
        finally:
            binding.close()
    finally:
        server.stop_background()


@pytest.mark.parametrize("creds", [NTLM(USER, "wrong", DOMAIN), NTLM("mallory", "x", DOMAIN),
                                   Negotiate(USER, "wrong", DOMAIN)],
                         ids=["ntlm-password", "ntlm-unknown-user", "spnego-password"])
def test_bad_credentials_are_refused(creds: object) -> None:
    async def main() -> None:
        server, impl = make_server()
        async with server:
            with pytest.raises(dcerpc.RpcError) as info:
                async with dcerpc.aio.connect(server.bindings[0], sec.SecTest, auth=creds,
                                              level=5) as proxy:
                    await proxy.Echo(3, b"abc")
            assert info.value.status in (status.RPC_S_ACCESS_DENIED,
                                         status.RPC_S_CALL_FAILED_DNE)
            # The server goes on serving good clients.
            async with dcerpc.aio.connect(server.bindings[0], sec.SecTest,
                                          auth=CREDS["ntlm"], level=5) as proxy:
                assert (await proxy.Echo(3, b"abc"))[1] == b"abc"
        assert impl.calls == 1
        assert server.security_stats["verifier_rejected"] == 1
    run(main())


def test_min_level_per_interface() -> None:
    async def main() -> None:
        server, impl = make_server(min_level="integrity")
        async with server:
            binding = server.bindings[0]
            for kwargs in ({}, {"auth": CREDS["ntlm"], "level": "connect"}):
                async with dcerpc.aio.connect(binding, sec.SecTest, **kwargs) as proxy:
                    with pytest.raises(dcerpc.CallFault) as info:
                        await proxy.Echo(1, b"x")
                    assert info.value.status == status.RPC_S_ACCESS_DENIED
            async with dcerpc.aio.connect(binding, sec.SecTest, auth=CREDS["ntlm"],
                                          level="integrity") as proxy:
                assert (await proxy.Echo(1, b"x"))[1] == b"x"
        assert impl.calls == 1
        assert server.security_stats["level_too_low"] == 2
    run(main())


def test_unauthenticated_call_has_no_identity() -> None:
    async def main() -> None:
        server, _impl = make_server()
        async with server, dcerpc.aio.connect(server.bindings[0], sec.SecTest) as proxy:
            assert (await proxy.WhoAmI())[1:] == ("", 1)
    run(main())
