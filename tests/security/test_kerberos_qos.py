"""A server principal name given with the security settings (RpcBindingSetAuthInfo's
ServerPrincName, a COM blanket's, ``with_qos``) is the Kerberos target, and the server
reports the principal the ticket was for (RpcServerInqCallAttributes, ClientIdentity)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dcerpc
from dcerpc import status
from dcerpc.auth._qos import with_qos
from dcerpc.auth.kerberos import Kerberos, KerberosAcceptor
from dcerpc.win32 import (
    RPC_CALL_ATTRIBUTES_V2,
    RPC_QUERY_SERVER_PRINCIPAL_NAME,
    RpcServerInqCallAttributes,
)

from .kdc import KDC, kdc_fixture  # noqa: F401 -- the session fixture "kdc"
from .secsvc import sec


class Impl:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def Echo(self, size: int, data: bytes) -> tuple[int, bytes]:
        attrs = RPC_CALL_ATTRIBUTES_V2(Flags=RPC_QUERY_SERVER_PRINCIPAL_NAME,
                                       ServerPrincipalNameBufferLength=200,
                                       ServerPrincipalName=bytearray(200))
        info = dcerpc.current_call().auth_info
        self.seen.append((RpcServerInqCallAttributes(None, attrs), attrs.server_principal(),
                          info.server_principal, info.impersonation_level))
        return 0, bytes(data)

    async def WhoAmI(self) -> tuple[int, str, int]:
        return 0, "", 0


@contextmanager
def _served(kdc: KDC) -> Iterator[tuple[Any, Impl]]:
    """A Kerberos-accepting server of ``Impl`` on loopback TCP: (binding, impl)."""
    server = dcerpc.Server(auth=[KerberosAcceptor(str(kdc.keytab))])
    impl = Impl()
    server.register(sec.SecTest, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.start_background()
    try:
        yield server.bindings[0], impl
    finally:
        server.stop_background()


def test_server_principal_name_is_the_kerberos_target(kdc: KDC) -> None:
    with _served(kdc) as (binding, impl):
        # The credentials name a principal the server has no key for; the SPN given
        # with the settings wins, so the call works.
        creds = Kerberos(kdc.user, kdc.password, kdc.realm,
                         target=f"{kdc.other_user}@{kdc.realm}")
        with dcerpc.connect(binding, sec.SecTest,
                            auth=with_qos(creds, 3, kdc.service), level="integrity") as p:
            assert p.Echo(1, b"k")[1] == b"k"
    expected = f"{kdc.service}@{kdc.realm}"
    assert impl.seen == [(status.RPC_S_OK, expected, expected, 3)]


def test_delegate_level_is_what_the_kdc_grants(kdc: KDC) -> None:
    # DELEGATE asks for a delegated ticket (GSS_C_DELEG_FLAG); the test realm issues no
    # forwardable tickets, so none is delegated and the server sees IMPERSONATE (3):
    # the level the server reports is what it was actually given.
    with _served(kdc) as (binding, impl):
        creds = Kerberos(kdc.user, kdc.password, kdc.realm, target=kdc.service)
        with dcerpc.connect(binding, sec.SecTest,
                            auth=with_qos(creds, 4, None), level="privacy") as p:
            assert p.Echo(1, b"d")[1] == b"d"
    assert [s[3] for s in impl.seen] == [3]
