"""COM security with our own client and server: authenticated activation, proxy
blankets (QueryBlanket/SetBlanket/CoSetProxyBlanket, F66) and server impersonation
(CoImpersonateClient/CoRevertToSelf/IServerSecurity, F67)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dcerpc.auth import NTLM, NTLMAcceptor, UserTable
from dcerpc.auth import _impersonation as imp
from dcerpc.com import (
    CoCreateInstanceEx,
    CoGetCallContext,
    CoImpersonateClient,
    COMError,
    ComServer,
    CoRevertToSelf,
    CoSetProxyBlanket,
    IID_IServerSecurity,
)
from dcerpc.com import hresult as hr
from dcerpc.com.security import EOAC_STATIC_CLOAKING, RPC_E_CALL_COMPLETE

from .calc_impl import Calc, CLSID_Calc, calc_idl

USER, PASSWORD, DOMAIN = "carol", "pw-Carol!", "WORKGROUP"
CREDS = NTLM(USER, PASSWORD, DOMAIN)


class SecCalc(Calc):
    """Echo reports what the server sees of the call's security."""

    saved: list[Any] = []

    def Echo(self, text: str) -> str:
        ss = CoGetCallContext(IID_IServerSecurity)
        svc, _authz, _princ, level, _imp, privs, _caps = ss.QueryBlanket()
        if text == "blanket":
            return f"{svc}|{level}|{privs}"
        try:
            CoImpersonateClient()
        except COMError as exc:
            return f"refused {exc.hresult:#x}"
        CoImpersonateClient()  # twice: one revert undoes both
        who = imp.current_identity()
        during = ss.IsImpersonating()
        CoRevertToSelf()
        after = ss.IsImpersonating()
        CoImpersonateClient()  # left in effect: COM reverts at the end of the call
        SecCalc.saved.append(ss)
        return f"{who.principal if who else None}|{during}|{after}"


def _server(min_level: str | None) -> ComServer:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]",
                    auth=[NTLMAcceptor(UserTable({f"{DOMAIN}\\{USER}": PASSWORD}))],
                    min_level=min_level)
    srv.register_class(CLSID_Calc, SecCalc)
    return srv


@pytest.fixture
def secure_binding() -> Iterator[str]:
    srv = _server("integrity")
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)


@pytest.fixture
def open_binding() -> Iterator[str]:
    srv = _server(None)  # NTLM offered, not required
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)


def test_authenticated_activation_and_blankets(secure_binding: str) -> None:
    calc, stats = CoCreateInstanceEx(CLSID_Calc, secure_binding,
                                     [calc_idl.ICalc, calc_idl.IStats], auth=CREDS,
                                     level="privacy")
    assert calc is not None and stats is not None
    try:
        assert calc.QueryBlanket() == (10, 0, None, 6, 2, CREDS, 0)
        assert calc.Add(2, 3) == 5 and stats.Count() == 1
        svc, level, who = calc.Echo("blanket").split("|")
        assert (svc, level) == ("10", "6") and USER in who.lower()
        stats.Release()  # (a QI for a held IPID would return that proxy)
        # a blanket change affects later calls of that proxy only
        assert CoSetProxyBlanket(calc, AuthnLevel=5) == hr.S_OK
        assert calc.QueryBlanket()[3] == 5
        assert calc.Echo("blanket").startswith("10|5|")
        # QueryInterface: the new proxy starts with its source's blanket
        s2 = calc.QueryInterface(calc_idl.IStats)
        assert s2.QueryBlanket() == calc.QueryBlanket()
        assert s2.Count() == 1
        s2.Release()
        calc.SetBlanket(ImpLevel=3)
        assert calc.QueryBlanket()[3:5] == (5, 3)
        # an [out] interface pointer of the same server gets the caller's blanket
        with calc.GetStats(calc_idl.IStats.uuid) as other:
            assert other.QueryBlanket() == calc.QueryBlanket()
            assert other.Count() == 1
    finally:
        calc.Release()


def test_refused_without_or_with_wrong_credentials(secure_binding: str) -> None:
    with pytest.raises(COMError):
        CoCreateInstanceEx(CLSID_Calc, secure_binding, [calc_idl.ICalc])
    with pytest.raises(COMError):
        CoCreateInstanceEx(CLSID_Calc, secure_binding, [calc_idl.ICalc],
                           auth=NTLM(USER, "wrong", DOMAIN))


def test_the_hint_raises_the_level() -> None:
    srv = _server(None)
    srv.authn_hint = 6  # what CoInitializeSecurity(PKT_PRIVACY) in the server would say
    srv.start_background()
    try:
        (calc,) = CoCreateInstanceEx(CLSID_Calc, str(srv.bindings[0]), [calc_idl.ICalc],
                                     auth=CREDS, level="connect")
        try:
            assert calc.QueryBlanket()[3] == 6
            assert calc.Echo("blanket").startswith("10|6|")
        finally:
            calc.Release()
    finally:
        srv.stop_background(1.0)


def test_calls_below_min_level_are_refused(secure_binding: str) -> None:
    (calc,) = CoCreateInstanceEx(CLSID_Calc, secure_binding, [calc_idl.ICalc],
                                 auth=CREDS, level="integrity")
    try:
        calc.SetBlanket(AuthnLevel=2)
        with pytest.raises(COMError) as err:
            calc.Add(1, 1)
        assert err.value.hresult == 0x80070005  # rpc_s_access_denied as HRESULT
        calc.SetBlanket(AuthnLevel=6)
        assert calc.Add(1, 1) == 2
    finally:
        calc.Release()


def test_bad_blankets_are_invalid_args(secure_binding: str) -> None:
    (calc,) = CoCreateInstanceEx(CLSID_Calc, secure_binding, [calc_idl.ICalc], auth=CREDS)
    try:
        for kw in ({"AuthnLevel": 9}, {"ImpLevel": 7},
                   {"AuthInfo": CREDS, "Capabilities": EOAC_STATIC_CLOAKING},
                   {"AuthnSvc": 16}):
            with pytest.raises(COMError) as err:
                calc.SetBlanket(**kw)
            assert err.value.hresult == hr.E_INVALIDARG, kw
        assert calc.QueryBlanket()[3] == 5  # unchanged
    finally:
        calc.Release()


def test_server_impersonation(secure_binding: str) -> None:
    events: list[tuple[str, bool]] = []
    old = imp.set_os_identity_mapper(lambda ident, entering: events.append(
        (ident.user, entering)))
    SecCalc.saved.clear()
    try:
        (calc,) = CoCreateInstanceEx(CLSID_Calc, secure_binding, [calc_idl.ICalc],
                                     auth=CREDS, level="integrity")
        calc.SetBlanket(ImpLevel=3)
        try:
            who, during, after = calc.Echo("impersonate").split("|")
        finally:
            calc.Release()
    finally:
        imp.set_os_identity_mapper(old)
    assert USER in who.lower() and during == "True" and after == "False"
    # the impersonation left in effect was reverted when the call ended
    assert events[-1][1] is False
    assert sum(1 for _u, e in events if e) == sum(1 for _u, e in events if not e)
    (ss,) = SecCalc.saved
    assert not ss.IsImpersonating()
    with pytest.raises(COMError) as err:
        ss.ImpersonateClient()
    assert err.value.hresult == RPC_E_CALL_COMPLETE


def test_impersonating_an_unauthenticated_caller_fails(open_binding: str) -> None:
    (calc,) = CoCreateInstanceEx(CLSID_Calc, open_binding, [calc_idl.ICalc])
    try:
        assert calc.QueryBlanket()[3] == 1
        assert calc.Echo("impersonate") == f"refused {hr.E_FAIL:#x}"
        assert calc.Echo("blanket") == "0|1|None"
    finally:
        calc.Release()


def test_co_get_call_context_outside_a_call() -> None:
    with pytest.raises(COMError):
        CoGetCallContext()
    with pytest.raises(COMError) as err:
        CoGetCallContext(calc_idl.ICalc.uuid)
    assert err.value.hresult == hr.E_NOINTERFACE
