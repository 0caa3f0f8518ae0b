"""PFC_SUPPORT_HEADER_SIGN ([MS-RPCE] 2.2.2.3, 3.3.1.5.2.2): offered in the bind for
SPNEGO and Kerberos, echoed in the bind_ack when the server agrees; a context with a
``header_signing`` switch signs the stub only when it was not agreed."""

from __future__ import annotations

import pytest

from dcerpc.auth import NTLM, Negotiate
from dcerpc.protocol._security import set_header_signing
from dcerpc.protocol.connection import ClientConnection, ConnectionConfig, ServerConnection
from dcerpc.protocol.constants import PFC_SUPPORT_HEADER_SIGN, PTYPE

from .test_core_legs import ACCEPTORS, drain, elem, make_policy, split

HS = int(PFC_SUPPORT_HEADER_SIGN)


def _bind(creds: object, client_hs: bool, server_hs: bool) -> tuple[int, int, object]:
    ctx = creds.client_context(6, 1, "localhost")  # type: ignore[attr-defined]
    ctx.header_signing = None  # observe what the core decides (Kerberos' switch)
    client = ClientConnection(ConnectionConfig(header_signing=client_hs), auth=ctx)
    server = ServerConnection(make_policy(), ConnectionConfig(header_signing=server_hs),
                              acceptors=ACCEPTORS)
    client.bind([elem(0)])
    bind = split(client.data_to_send())[0]
    assert bind[2] == PTYPE.bind
    server.receive_data(bind)
    drain(server)
    ack = split(server.data_to_send())[0]
    assert ack[2] == PTYPE.bind_ack
    client.receive_data(ack)
    drain(client)
    return bind[3] & HS, ack[3] & HS, ctx.header_signing


@pytest.mark.parametrize(("client_hs", "server_hs", "expect"), [
    (True, True, (HS, HS, True)),
    (True, False, (HS, 0, False)),
    (False, True, (0, 0, False)),
])
def test_spnego_negotiates_header_signing(client_hs: bool, server_hs: bool,
                                          expect: tuple[int, int, object]) -> None:
    assert _bind(Negotiate("alice", "Secret1!", "DOM"), client_hs, server_hs) == expect


def test_ntlm_does_not_offer_it() -> None:
    assert _bind(NTLM("alice", "Secret1!", "DOM"), True, True) == (0, 0, None)


def test_switch_reaches_a_wrapped_context() -> None:
    class Ctx:
        header_signing = True

    outer, inner = Ctx(), Ctx()
    outer._inner = inner  # type: ignore[attr-defined]
    set_header_signing(outer, False)
    assert (outer.header_signing, inner.header_signing) == (False, False)
