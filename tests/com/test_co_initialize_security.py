"""CoInitializeSecurity: process-wide defaults for the blanket of new proxies, called
once (a second call is RPC_E_TOO_LATE, 0x80010119), F66."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dcerpc.auth import NTLM, NTLMAcceptor, UserTable
from dcerpc.com import (
    SOLE_AUTHENTICATION_INFO,
    CoCreateInstanceEx,
    CoGetCallContext,
    CoInitializeSecurity,
    COMError,
    ComServer,
    IID_IServerSecurity,
    security,
)
from dcerpc.com import hresult as hr

from .calc_impl import Calc, CLSID_Calc, calc_idl

USER, PASSWORD, DOMAIN = "erin", "pw-Erin!", "WORKGROUP"
CREDS = NTLM(USER, PASSWORD, DOMAIN)


class BlanketCalc(Calc):
    def Echo(self, text: str) -> str:
        svc, _authz, _princ, level, imp_level, who, _caps = \
            CoGetCallContext(IID_IServerSecurity).QueryBlanket()
        return f"{svc}|{level}|{imp_level}|{who}"


@pytest.fixture
def bnd() -> Iterator[str]:
    security._reset_process_security()
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]",
                    auth=[NTLMAcceptor(UserTable({f"{DOMAIN}\\{USER}": PASSWORD}))])
    srv.register_class(CLSID_Calc, BlanketCalc)
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)
    security._reset_process_security()


def _calc(bnd: str, **kw: Any) -> Any:
    (calc,) = CoCreateInstanceEx(CLSID_Calc, bnd, [calc_idl.ICalc], **kw)
    return calc


def test_defaults_without_co_initialize_security(bnd: str) -> None:
    calc = _calc(bnd)
    assert calc.QueryBlanket()[3:5] == (1, 2)  # no credentials: NONE; IDENTIFY (F66)
    assert calc.Echo("x") == "0|1|1|None"
    calc.Release()


def test_process_defaults_reach_new_proxies(bnd: str) -> None:
    assert CoInitializeSecurity(None, -1, None, None, 6, 3,
                                [SOLE_AUTHENTICATION_INFO(10, 0, CREDS)], 0, None) == hr.S_OK
    # Called once: later calls are too late and change nothing.
    assert CoInitializeSecurity(None, -1, None, None, 2, 2, None, 0, None) == \
        security.RPC_E_TOO_LATE == 0x80010119
    calc = _calc(bnd)  # no auth=: the process's default credentials and levels
    assert calc.QueryBlanket()[3:5] == (6, 3)
    assert calc.QueryBlanket()[5] is CREDS
    assert calc.Echo("x") == f"10|6|3|{DOMAIN}\\{USER}"
    # explicit arguments still win over the defaults
    other = _calc(bnd, auth=CREDS, level="integrity")
    assert other.QueryBlanket()[3:5] == (5, 3)
    assert other.Echo("y") == f"10|5|3|{DOMAIN}\\{USER}"
    other.Release()
    calc.Release()


def test_level_without_default_credentials(bnd: str) -> None:
    # DEFAULT authn level is CONNECT; with no credentials to apply it with, proxies stay
    # unauthenticated, and auth= activations without level= use it.
    assert CoInitializeSecurity(dwAuthnLevel=0, dwImpLevel=0) == hr.S_OK
    calc = _calc(bnd)
    assert calc.QueryBlanket()[3:5] == (1, 2)
    calc.Release()
    calc = _calc(bnd, auth=CREDS)
    assert calc.QueryBlanket()[3:5] == (2, 2)
    assert calc.Echo("x") == f"10|2|2|{DOMAIN}\\{USER}"
    calc.Release()


def test_bad_arguments() -> None:
    security._reset_process_security()
    try:
        for kw in ({"dwAuthnLevel": 7}, {"dwImpLevel": 5},
                   {"pAuthList": [object()]},
                   {"pAuthList": [CREDS], "dwCapabilities": security.EOAC_STATIC_CLOAKING}):
            with pytest.raises(COMError) as info:
                CoInitializeSecurity(**kw)
            assert info.value.hresult == hr.E_INVALIDARG
        # a refused call does not count as the one call
        assert CoInitializeSecurity() == hr.S_OK
    finally:
        security._reset_process_security()
