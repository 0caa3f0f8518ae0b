"""Seed-semantics §9.9-9.10 on call objects: T73 (server-side Cancel, and a client's
CoDisableCancellation), T74-T76 (the call
object's IClientSecurity, F66), T77 (the F60 impersonation window of a server call
object), T78 (no impersonation below CONNECT); plus the §8 snake-case spellings and the
§7 C2 ``wait_timeout_hresult`` option."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dcerpc.auth import NTLM, NTLMAcceptor, UserTable
from dcerpc.auth import _impersonation as imp
from dcerpc.com import (
    CoCreateInstanceEx,
    CoDisableCancellation,
    CoEnableCancellation,
    CoGetCallContext,
    CoImpersonateClient,
    COMError,
    ComServer,
    CoRevertToSelf,
    CoSetProxyBlanket,
    IID_IServerSecurity,
)
from dcerpc.com import hresult as hr
from dcerpc.com.guids import IID_ICallFactory, IID_IUnknown
from dcerpc.com.security import RPC_E_CALL_COMPLETE, CoQueryClientBlanket, IID_IClientSecurity

from .calc_impl import calc_idl

USER, PASSWORD, DOMAIN = "dave", "pw-Dave!", "WORKGROUP"
CREDS = NTLM(USER, PASSWORD, DOMAIN)
CLSID_SecCallCalc = uuid.UUID("0b7a4c1e-52d3-4e8f-a1b6-9d2c3e4f5a60")
GATE_TIMEOUT = 5.0


class _SecAddCall:
    """Records the call's blanket and walks the F60 window inside Begin_Add."""

    def __init__(self, owner: SecCallCalc, control: Any) -> None:
        self.owner, self.control = owner, control
        self.sum = 0

    def Begin_Add(self, a: int, b: int) -> None:
        rec = SecCallCalc.record
        ss = CoGetCallContext(IID_IServerSecurity)
        rec["level"] = ss.QueryBlanket()[3]
        rec["imp"] = ss.QueryBlanket()[4]
        rec["princ"] = ss.QueryBlanket()[2]
        rec["client_blanket"] = CoQueryClientBlanket()
        rec["cancel"] = self.control.Cancel(1)  # T73: not the server's to cancel
        SecCallCalc.begun.set()
        if SecCallCalc.gated:
            SecCallCalc.gate.wait(GATE_TIMEOUT)
        self.sum = a + b
        if SecCallCalc.mode is None:
            self.control.Signal()
            return
        try:
            rec["before"] = CoImpersonateClient()
        except COMError as exc:
            rec["before"] = exc.hresult
        who = imp.current_identity()
        rec["who"] = who.principal if who is not None else None
        rec["who_level"] = who.impersonation_level if who is not None else None
        self.control.Signal()
        try:
            rec["after"] = CoImpersonateClient()
        except COMError as exc:
            rec["after"] = exc.hresult
        rec["kept"] = imp.current_identity() is not None  # the earlier token stays
        if SecCallCalc.mode == "revert":
            CoRevertToSelf()
            rec["reverted"] = imp.current_identity() is None
        # mode "return": the runtime reverts when Begin_ returns

    def Finish_Add(self) -> int:
        SecCallCalc.record["at_finish"] = list(SecCallCalc.events)
        return self.sum


class SecCallCalc:
    _com_interfaces_ = [calc_idl.ICalc]
    record: dict[str, Any] = {}
    events: list[tuple[str, bool]] = []
    mode: str | None = None
    gated = False
    gate = threading.Event()
    begun = threading.Event()

    def CreateCall(self, riid: uuid.UUID, outer: Any, riid2: uuid.UUID) -> _SecAddCall:
        if riid != calc_idl.ICalc.async_uuid:
            raise COMError(hr.E_NOINTERFACE)
        return _SecAddCall(self, outer)

    def Echo(self, text: str) -> str:
        return text


@pytest.fixture
def bnd() -> Iterator[str]:
    SecCallCalc.record, SecCallCalc.mode, SecCallCalc.gated = {}, None, False
    SecCallCalc.gate.clear()
    SecCallCalc.begun.clear()
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]",
                    auth=[NTLMAcceptor(UserTable({f"{DOMAIN}\\{USER}": PASSWORD}))])
    srv.register_class(CLSID_SecCallCalc, SecCallCalc)
    srv.start_background()
    yield str(srv.bindings[0])
    SecCallCalc.gate.set()
    srv.stop_background(1.0)


def _call(bnd: str, level: str | None = "privacy") -> tuple[Any, Any]:
    if level is None:
        (calc,) = CoCreateInstanceEx(CLSID_SecCallCalc, bnd, [calc_idl.ICalc])
    else:
        (calc,) = CoCreateInstanceEx(CLSID_SecCallCalc, bnd, [calc_idl.ICalc],
                                     auth=CREDS, level=level)
    f = calc.QueryInterface(IID_ICallFactory)
    call = f.CreateCall(calc_idl.AsyncICalc, None, IID_IUnknown)
    f.Release()
    return calc, call


def _run(call: Any, a: int, b: int) -> Any:
    assert call.Begin_Add(a, b) == hr.S_OK
    assert call.Wait(0, 5000) == hr.S_OK
    return call.Finish_Add()


def test_t73_server_side_cancel_is_disabled(bnd: str) -> None:
    """T73 (F64, §5.2): Cancel on the server's own call object is CO_E_CANCEL_DISABLED."""
    calc, call = _call(bnd)
    assert _run(call, 2, 3) == 5
    assert SecCallCalc.record["cancel"] == hr.CO_E_CANCEL_DISABLED == 0x80010140
    call.Release()
    calc.Release()


def test_t73_client_cancel_disabled_on_the_beginning_thread(bnd: str) -> None:
    """T73 (F64), client side: a call begun on a thread with cancellation disabled
    answers Cancel with CO_E_CANCEL_DISABLED and completes normally; the switch is
    counted per thread and decided at Begin_."""
    SecCallCalc.gated = True
    calc, call = _call(bnd)
    assert CoDisableCancellation() == hr.S_OK
    assert CoDisableCancellation() == hr.S_OK
    try:
        assert call.Begin_Add(2, 3) == hr.S_OK
        assert SecCallCalc.begun.wait(GATE_TIMEOUT)
        # one enable does not balance two disables
        assert CoEnableCancellation() == hr.CO_E_CANCEL_DISABLED == 0x80010140
        assert call.Cancel(1) == hr.CO_E_CANCEL_DISABLED
        assert call.TestCancel() == hr.RPC_S_CALLPENDING  # not cancelled
    finally:
        assert CoEnableCancellation() == hr.S_OK  # balanced: enabled again
        SecCallCalc.gate.set()
    assert call.Wait(0, 5000) == hr.S_OK
    assert call.Finish_Add() == 5  # the call completed normally
    # the pending call's answer was fixed at its Begin_; a call begun now is cancellable
    SecCallCalc.gated = False
    assert _run(call, 1, 1) == 2
    assert call.Cancel(1) == hr.RPC_E_CALL_COMPLETE
    # another thread's switch does not affect this one
    done = threading.Event()
    threading.Thread(target=lambda: (CoDisableCancellation(), done.set())).start()
    assert done.wait(GATE_TIMEOUT)
    from dcerpc.com.cancellation import cancellation_enabled
    assert cancellation_enabled()
    call.Release()
    calc.Release()


def test_t74_call_object_blanket(bnd: str) -> None:
    """T74 (F66): a call object answers IClientSecurity, starts with its proxy's blanket,
    and its SetBlanket decides the level the server sees."""
    calc, call = _call(bnd, "integrity")
    sec = call.QueryInterface(IID_IClientSecurity)
    assert sec.QueryBlanket() == calc.QueryBlanket()
    # F66 defaults without CoInitializeSecurity: IDENTIFY (2); the level is ours (5)
    assert sec.QueryBlanket()[3:5] == (5, 2)
    # the default IDENTIFY reaches the server (NTLMSSP_NEGOTIATE_IDENTIFY) as 2
    assert _run(call, 1, 1) == 2
    assert (SecCallCalc.record["level"], SecCallCalc.record["imp"]) == (5, 2)
    assert sec.SetBlanket(AuthnLevel=6, ImpLevel=3) == hr.S_OK
    assert sec.QueryBlanket()[3:5] == (6, 3)
    assert _run(call, 2, 3) == 5
    # the server's IServerSecurity::QueryBlanket reports imp level 3 and authn level 6
    assert (SecCallCalc.record["level"], SecCallCalc.record["imp"]) == (6, 3)
    assert calc.QueryBlanket()[3:5] == (5, 2)  # the proxy's own blanket is unchanged
    # ServerPrincName travels too (NTLM's MsvAvTargetName) and the server reports it
    assert sec.SetBlanket(ServerPrincName="RPCSS/calc.example") == hr.S_OK
    assert _run(call, 1, 2) == 3
    assert SecCallCalc.record["princ"] == "RPCSS/calc.example"
    assert SecCallCalc.record["client_blanket"][2:5] == ("RPCSS/calc.example", 6, 3)
    call.Release()
    calc.Release()


def test_t75_pending_call_keeps_its_blanket(bnd: str) -> None:
    """T75 (F66): a blanket set while a call is pending applies to the next Begin_ only."""
    SecCallCalc.gated = True
    calc, call = _call(bnd, "privacy")
    assert call.Begin_Add(1, 1) == hr.S_OK
    assert SecCallCalc.begun.wait(GATE_TIMEOUT)
    assert call.SetBlanket(AuthnLevel=5) == hr.S_OK
    SecCallCalc.gate.set()
    assert call.Wait(0, 5000) == hr.S_OK
    assert call.Finish_Add() == 2
    assert SecCallCalc.record["level"] == 6  # began under PKT_PRIVACY
    SecCallCalc.gated = False
    assert _run(call, 4, 4) == 8
    assert SecCallCalc.record["level"] == 5
    call.Release()
    calc.Release()


def test_t76_co_set_proxy_blanket_on_a_call_object(bnd: str) -> None:
    """T76 (F66): CoSetProxyBlanket(call) is QI(IClientSecurity) + SetBlanket."""
    calc, one = _call(bnd, "privacy")
    two = calc.QueryInterface(IID_ICallFactory).CreateCall(calc_idl.AsyncICalc, None,
                                                            IID_IUnknown)
    assert CoSetProxyBlanket(one, AuthnLevel=5) == hr.S_OK
    two.QueryInterface(IID_IClientSecurity).SetBlanket(AuthnLevel=5)
    assert one.QueryBlanket() == two.QueryBlanket()
    assert _run(one, 1, 2) == 3
    assert SecCallCalc.record["level"] == 5
    one.Release()
    two.Release()
    calc.Release()


def test_t74_identify_gives_an_identify_only_impersonation(bnd: str) -> None:
    """F66/F68: at the default IDENTIFY the server's impersonation succeeds and shows the
    caller (at level 2), but it is identify-only: the OS identity mapper is not run."""
    events = SecCallCalc.events = []
    old = imp.set_os_identity_mapper(lambda ident, entering: events.append(
        (ident.principal, entering)))
    try:
        SecCallCalc.mode = "revert"
        calc, call = _call(bnd, "privacy")
        assert call.QueryBlanket()[4] == 2
        assert _run(call, 2, 3) == 5
    finally:
        imp.set_os_identity_mapper(old)
    rec = SecCallCalc.record
    assert rec["before"] == hr.S_OK and rec["imp"] == 2
    assert rec["who"] is not None and USER in rec["who"].lower()
    assert rec["who_level"] == 2
    assert events == []
    call.Release()
    calc.Release()


@pytest.mark.parametrize("mode", ["revert", "return"])
def test_t77_impersonation_window(bnd: str, mode: str) -> None:
    """T77 (F60, F67): impersonation works before Signal, not after it; the earlier token
    stays until RevertToSelf or until Begin_ returns (both orders)."""
    events = SecCallCalc.events = []
    old = imp.set_os_identity_mapper(lambda ident, entering: events.append(
        (ident.principal, entering)))
    try:
        SecCallCalc.mode = mode
        calc, call = _call(bnd, "privacy")
        # IMPERSONATE, so that the server may act as the client (the OS mapper runs);
        # at the default IDENTIFY it could only see who the client is.
        assert CoSetProxyBlanket(call, ImpLevel=3) == hr.S_OK
        assert _run(call, 2, 3) == 5
    finally:
        imp.set_os_identity_mapper(old)
    rec = SecCallCalc.record
    assert rec["before"] == hr.S_OK
    assert rec["who"] is not None and USER in rec["who"].lower()
    assert rec["after"] == RPC_E_CALL_COMPLETE
    assert rec["kept"] is True
    if mode == "revert":
        assert rec["reverted"] is True
    # either way the impersonation was undone on the thread by the time Finish_ runs (by
    # RevertToSelf, or by the runtime as Begin_ returned)
    assert [e for _p, e in rec["at_finish"]] == [True, False]
    assert [e for _p, e in events] == [True, False]
    call.Release()
    calc.Release()


def test_t78_no_impersonation_below_connect(bnd: str) -> None:
    """T78 (F67): a call at authentication level NONE cannot be impersonated."""
    SecCallCalc.mode = "revert"
    calc, call = _call(bnd, None)
    assert _run(call, 2, 3) == 5
    assert SecCallCalc.record["level"] == 1
    assert SecCallCalc.record["before"] == hr.E_FAIL
    call.Release()
    calc.Release()


def test_snake_case_and_wait_timeout_option(bnd: str) -> None:
    """§8 begin_<m>/finish_<m> spellings; §7 C2 per-object wait_timeout_hresult."""
    SecCallCalc.gated = True
    calc, call = _call(bnd, None)
    assert call.wait_timeout_hresult == hr.RPC_E_TIMEOUT
    assert call.begin_add(3, 4) == hr.S_OK
    assert call.wait(0, 0) == hr.RPC_E_TIMEOUT
    call.wait_timeout_hresult = hr.RPC_S_CALLPENDING
    assert call.wait(0, 0) == hr.RPC_S_CALLPENDING
    with pytest.raises(COMError) as info:
        call.begin_add(1, 1)
    assert info.value.hresult == hr.RPC_E_CALL_PENDING
    SecCallCalc.gate.set()
    assert call.wait(0, 5000) == hr.S_OK
    assert call.finish_add() == 7
    with pytest.raises(AttributeError):
        getattr(call, "begin_nosuch")  # noqa: B009
    call.Release()
    calc.Release()


def test_aio_client_auth_and_blanket() -> None:
    """The asyncio COM client takes auth=/level=; its QueryInterface and calls use the
    proxy's blanket (the server refuses anything below PKT_INTEGRITY here)."""
    import asyncio

    from dcerpc.com import aio

    from .calc_impl import CLSID_Calc
    from .test_security_blanket import CREDS as SEC_CREDS
    from .test_security_blanket import _server

    srv = _server("integrity")
    srv.start_background()
    bnd = str(srv.bindings[0])

    async def main() -> tuple[Any, ...]:
        with pytest.raises(COMError):
            await aio.CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc)
        calc = await aio.CoCreateInstance(CLSID_Calc, bnd, calc_idl.ICalc, auth=SEC_CREDS,
                                          level="privacy")
        first = await calc.Echo("blanket")
        other = await calc.QueryInterface(calc_idl.ICalc)
        assert calc.SetBlanket(AuthnLevel=5) == hr.S_OK
        second = await calc.Echo("blanket")
        level = calc.QueryBlanket()[3]
        await other.Release()
        await calc.Release()
        return first, second, level

    try:
        first, second, level = asyncio.run(main())
    finally:
        srv.stop_background(1.0)
    assert first.split("|")[1] == "6"
    assert second.split("|")[1] == "5"
    assert level == 5
