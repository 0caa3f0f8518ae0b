"""RpcBindingSetAuthInfo(Ex) / RpcBindingInqAuthInfo on dcerpc.Binding handles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dcerpc
from dcerpc import status
from dcerpc.win32 import (
    RPC_C_AUTHN_DEFAULT,
    RPC_C_AUTHN_GSS_NEGOTIATE,
    RPC_C_AUTHN_LEVEL_NONE,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    RPC_C_AUTHN_NONE,
    RPC_C_AUTHN_WINNT,
    SEC_WINNT_AUTH_IDENTITY,
    RpcBindingInqAuthInfo,
    RpcBindingSetAuthInfo,
    RpcBindingSetAuthInfoEx,
)

from .secsvc import DOMAIN, PASSWORD, USER, make_server, sec

IDENTITY = SEC_WINNT_AUTH_IDENTITY(User=USER, Domain=DOMAIN, Password=PASSWORD)


@pytest.fixture(scope="module")
def served() -> Iterator[dcerpc.Server]:
    server, _impl = make_server(min_level="privacy")
    server.start_background()
    yield server
    server.stop_background()


@pytest.mark.parametrize("service", [RPC_C_AUTHN_WINNT, RPC_C_AUTHN_GSS_NEGOTIATE,
                                     RPC_C_AUTHN_DEFAULT])
def test_set_auth_info_then_call(served: dcerpc.Server, service: int) -> None:
    with dcerpc.Binding(served.bindings[0]) as h:
        assert RpcBindingInqAuthInfo(h)[0] == status.RPC_S_BINDING_HAS_NO_AUTH
        with pytest.raises(dcerpc.CallFault):  # min_level privacy: refused
            sec.WhoAmI(h)
        assert RpcBindingSetAuthInfo(h, None, RPC_C_AUTHN_LEVEL_PKT_PRIVACY, service,
                                     IDENTITY) == status.RPC_S_OK
        assert sec.WhoAmI(h)[1:] == (f"{DOMAIN}\\{USER}", 6)
        got = RpcBindingInqAuthInfo(h)
        assert got[0] == status.RPC_S_OK and got[2] == RPC_C_AUTHN_LEVEL_PKT_PRIVACY
        assert got[3] == (RPC_C_AUTHN_WINNT if service == RPC_C_AUTHN_DEFAULT else service)
        # Back to no authentication.
        assert RpcBindingSetAuthInfoEx(h, None, RPC_C_AUTHN_LEVEL_NONE, RPC_C_AUTHN_NONE,
                                       None, 0, None) == status.RPC_S_OK
        assert RpcBindingInqAuthInfo(h)[0] == status.RPC_S_BINDING_HAS_NO_AUTH
        with pytest.raises(dcerpc.CallFault):
            sec.WhoAmI(h)


def test_bad_arguments_return_statuses() -> None:
    h = dcerpc.Binding("ncacn_ip_tcp:127.0.0.1[1]")
    assert RpcBindingSetAuthInfo(h, None, 9, RPC_C_AUTHN_WINNT, IDENTITY) == \
        status.RPC_S_UNKNOWN_AUTHN_LEVEL
    assert RpcBindingSetAuthInfo(h, None, 5, 77, IDENTITY) == \
        status.RPC_S_UNKNOWN_AUTHN_SERVICE
    assert RpcBindingSetAuthInfo(h, None, 5, RPC_C_AUTHN_WINNT, None) == \
        status.RPC_S_INVALID_AUTH_IDENTITY
    assert RpcBindingSetAuthInfo("not a binding", None, 5, RPC_C_AUTHN_WINNT, IDENTITY) == \
        status.RPC_S_INVALID_BINDING
