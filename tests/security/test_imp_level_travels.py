"""The impersonation level and the server principal name travel to the server (seed
F66/F68, [MS-NLMP] 2.2.2.5): RPC_C_IMP_LEVEL_IDENTIFY is NTLMSSP_NEGOTIATE_IDENTIFY and
the server sees level 2 (an identify-only impersonation); IMPERSONATE sends no flag (3);
ServerPrincName becomes NTLM's MsvAvTargetName, what RpcServerInqCallAttributes reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import dcerpc
from dcerpc import status
from dcerpc.auth import NTLM, current_identity, set_os_identity_mapper
from dcerpc.auth._qos import with_qos
from dcerpc.win32 import (
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_WINNT,
    RPC_CALL_ATTRIBUTES_V2,
    RPC_QUERY_SERVER_PRINCIPAL_NAME,
    RPC_SECURITY_QOS,
    SEC_WINNT_AUTH_IDENTITY,
    RpcBindingSetAuthInfoEx,
    RpcImpersonateClient,
    RpcRevertToSelf,
    RpcServerInqCallAttributes,
)

from .secsvc import DOMAIN, PASSWORD, USER, acceptors, sec

IDENTITY = SEC_WINNT_AUTH_IDENTITY(User=USER, Domain=DOMAIN, Password=PASSWORD)


class Impl:
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.mapped: list[bool] = []

    def Echo(self, size: int, data: bytes) -> tuple[int, bytes]:
        info = dcerpc.current_call().auth_info
        attrs = RPC_CALL_ATTRIBUTES_V2(Flags=RPC_QUERY_SERVER_PRINCIPAL_NAME,
                                       ServerPrincipalNameBufferLength=200,
                                       ServerPrincipalName=bytearray(200))
        got = RpcServerInqCallAttributes(None, attrs)
        RpcImpersonateClient(None)
        who = current_identity()
        RpcRevertToSelf()
        self.seen.append((info.impersonation_level, got, attrs.server_principal(),
                          who.impersonation_level if who else None))
        return 0, bytes(data)

    async def WhoAmI(self) -> tuple[int, str, int]:
        return 0, "", 0


@pytest.fixture
def served() -> Iterator[tuple[dcerpc.Server, Impl]]:
    server = dcerpc.Server(auth=acceptors())
    impl = Impl()
    server.register(sec.SecTest, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    old = set_os_identity_mapper(lambda ident, entering: impl.mapped.append(entering))
    server.start_background()
    yield server, impl
    server.stop_background()
    set_os_identity_mapper(old)


@pytest.mark.parametrize(("imp_level", "mapped"), [(2, []), (3, [True, False])])
def test_binding_qos_level_reaches_the_server(served: tuple[dcerpc.Server, Impl],
                                              imp_level: int, mapped: list[bool]) -> None:
    server, impl = served
    with dcerpc.Binding(server.bindings[0]) as h:
        assert RpcBindingSetAuthInfoEx(
            h, "host/served.example", RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, RPC_C_AUTHN_WINNT,
            IDENTITY, 0, RPC_SECURITY_QOS(ImpersonationType=imp_level)) == status.RPC_S_OK
        assert sec.Echo(h, 1, b"x")[1] == b"x"
    assert impl.seen == [(imp_level, status.RPC_S_OK, "host/served.example", imp_level)]
    # IDENTIFY: an identify-only impersonation, the OS identity mapper is not run
    assert impl.mapped == mapped


def test_pythonic_credentials_with_qos(served: tuple[dcerpc.Server, Impl]) -> None:
    server, impl = served
    creds = NTLM(USER, PASSWORD, DOMAIN)
    assert with_qos(creds, 3, None) is creds  # the package default: nothing to carry
    assert with_qos(creds, 2, None) is with_qos(creds, 2, None)  # shared connections
    with dcerpc.connect(server.bindings[0], sec.SecTest, auth=with_qos(creds, 2, None),
                        level="integrity") as proxy:
        proxy.Echo(1, b"y")
    # without a principal name pyspnego names the binding's host
    assert impl.seen == [(2, status.RPC_S_OK, "host/127.0.0.1", 2)]
