"""Kerberos end to end: our client to our server over loopback TCP, against a real MIT KDC,
raw (auth_type 16) and inside SPNEGO (9), at PKT_PRIVACY and the other levels."""

from __future__ import annotations

import os
from typing import Any

import pytest

import dcerpc
import dcerpc.aio
from dcerpc import status
from dcerpc.auth import NegotiateAcceptor, NTLMAcceptor
from dcerpc.auth.kerberos import Kerberos, KerberosAcceptor

from .kdc import KDC, kdc_fixture  # noqa: F401 -- the session fixture "kdc"
from .secsvc import USERS, Impl, run, sec


def make_server(kdc: KDC, **kw: Any) -> tuple[dcerpc.Server, Impl]:
    spnego = KerberosAcceptor(str(kdc.keytab), spnego=True,
                              fallback=NegotiateAcceptor(NTLMAcceptor(USERS)))
    server = dcerpc.Server(auth=[KerberosAcceptor(str(kdc.keytab)), spnego], **kw)
    impl = Impl()
    server.register(sec.SecTest, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    return server, impl


def creds(kdc: KDC, mech: str, password: str | None = None) -> Kerberos:
    return Kerberos(kdc.user, kdc.password if password is None else password, kdc.realm,
                    target=kdc.service, spnego=mech == "spnego")


@pytest.mark.parametrize("mech", ["krb5", "spnego"])
@pytest.mark.parametrize("level", [2, 5, 6], ids=["connect", "integrity", "privacy"])
def test_calls_at_each_level(kdc: KDC, mech: str, level: int) -> None:
    async def main() -> None:
        server, impl = make_server(kdc)
        async with server, dcerpc.aio.connect(
                server.bindings[0], sec.SecTest, auth=creds(kdc, mech), level=level,
                max_xmit_frag=4280, max_recv_frag=4280) as proxy:
            principal, got_level = (await proxy.WhoAmI())[1:]
            assert (principal, got_level) == (f"{kdc.user}@{kdc.realm}", level)
            data = os.urandom(70_000)  # > 64 KiB: many protected fragments both ways
            assert (await proxy.Echo(len(data), data))[1] == data
        assert impl.calls == 1
        assert server.security_stats["verifier_rejected"] == 0
    run(main())


def test_sync_face_at_privacy(kdc: KDC) -> None:
    server, _impl = make_server(kdc)
    server.start_background()
    try:
        with dcerpc.connect(server.bindings[0], sec.SecTest, auth=creds(kdc, "krb5"),
                            level="privacy") as proxy:
            assert proxy.WhoAmI()[1:] == (f"{kdc.user}@{kdc.realm}", 6)
        binding = dcerpc.Binding(server.bindings[0], auth=creds(kdc, "spnego"), level=6)
        try:
            assert sec.WhoAmI(binding)[1] == f"{kdc.user}@{kdc.realm}"
        finally:
            binding.close()
    finally:
        server.stop_background()


@pytest.mark.parametrize("mech", ["krb5", "spnego"])
def test_wrong_password_is_refused_and_the_server_keeps_serving(kdc: KDC, mech: str) -> None:
    async def main() -> None:
        server, impl = make_server(kdc)
        async with server:
            with pytest.raises(dcerpc.RpcError) as info:
                async with dcerpc.aio.connect(server.bindings[0], sec.SecTest,
                                              auth=creds(kdc, mech, "wrong"),
                                              level=6) as proxy:
                    await proxy.Echo(3, b"abc")
            assert info.value.status == status.RPC_S_ACCESS_DENIED
            async with dcerpc.aio.connect(server.bindings[0], sec.SecTest,
                                          auth=creds(kdc, mech), level=6) as proxy:
                assert (await proxy.Echo(3, b"abc"))[1] == b"abc"
        assert impl.calls == 1
    run(main())


def test_ticket_the_server_cannot_read_is_refused(kdc: KDC) -> None:
    # A valid ticket, but for bob@REALM: the server's keytab holds only host/localhost.
    wrong_target = Kerberos(kdc.user, kdc.password, kdc.realm,
                            target=f"{kdc.other_user}@{kdc.realm}")

    async def main() -> None:
        server, impl = make_server(kdc)
        async with server:
            with pytest.raises(dcerpc.RpcError):
                async with dcerpc.aio.connect(server.bindings[0], sec.SecTest,
                                              auth=wrong_target, level=5) as proxy:
                    await proxy.Echo(3, b"abc")
        assert impl.calls == 0
    run(main())
