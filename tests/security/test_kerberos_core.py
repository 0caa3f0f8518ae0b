"""Kerberos through the sans-IO protocol core: auth legs in bind/alter_context and
protected request/response fragments, with a real KDC but no network between the peers."""

from __future__ import annotations

import pytest

from dcerpc import status
from dcerpc.auth import Negotiate, NegotiateAcceptor, NTLMAcceptor, UserTable
from dcerpc.auth.base import Acceptor, Credentials
from dcerpc.auth.kerberos import Kerberos, KerberosAcceptor
from dcerpc.errors import RemoteProtocolError, SecurityError
from dcerpc.protocol._security import protect
from dcerpc.protocol.connection import (
    ClientConnection,
    ConnectionConfig,
    InterfacePolicy,
    ServerConnection,
)
from dcerpc.protocol.constants import NDR_SYNTAX, PTYPE, SyntaxId
from dcerpc.protocol.events import (
    NEED_DATA,
    BindAccepted,
    BindRejected,
    RequestReceived,
    ResponseReceived,
)
from dcerpc.protocol.pdu import (
    Auth3,
    AuthVerifier,
    ContextElement,
    Fault,
    Request,
    decode_pdu,
)

from .kdc import KDC, kdc_fixture  # noqa: F401 -- the session fixture "kdc"

IFACE = SyntaxId.make("3e1b7c52-8a0d-4f6e-9b21-c4d5e6f7a809", 1, 0)
SMALL = ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432)


def drain(conn: ClientConnection | ServerConnection) -> list[object]:
    out = []
    while (ev := conn.next_event()) is not NEED_DATA:
        out.append(ev)
    return out


def split(wire: bytes) -> list[bytes]:
    out = []
    while wire:
        n = int.from_bytes(wire[8:10], "little")
        out.append(wire[:n])
        wire = wire[n:]
    return out


class Pair:
    """A client and a server connection wired back to back; records client PDUs."""

    def __init__(self, creds: Credentials, acceptor: Acceptor, level: int) -> None:
        policy = InterfacePolicy()
        policy.register(IFACE, "iface")
        self.client = ClientConnection(SMALL, auth=creds.client_context(level, 4711, None))
        self.server = ServerConnection(policy, SMALL,
                                       acceptors={acceptor.auth_type: acceptor})
        self.wire: list[bytes] = []

    def to_server(self) -> list[object]:
        data = self.client.data_to_send()
        self.wire += split(data)
        if data:
            self.server.receive_data(data)
        return drain(self.server)

    def to_client(self) -> list[object]:
        data = self.server.data_to_send()
        if data:
            self.client.receive_data(data)
        return drain(self.client)

    def bind(self) -> list[object]:
        self.client.bind([ContextElement(p_cont_id=0, abstract_syntax=IFACE,
                                         transfer_syntaxes=(NDR_SYNTAX,))])
        events: list[object] = []
        for _ in range(4):
            events += self.to_server()
            events += self.to_client()
        return events


def creds_for(kdc: KDC, spnego: bool, password: str | None = None) -> Kerberos:
    return Kerberos(kdc.user, password or kdc.password, kdc.realm, target=kdc.service,
                    spnego=spnego)


@pytest.mark.parametrize("spnego", [False, True], ids=["krb5", "spnego"])
@pytest.mark.parametrize("level", [2, 5, 6], ids=["connect", "integrity", "privacy"])
def test_bind_and_fragmented_call(kdc: KDC, spnego: bool, level: int) -> None:
    pair = Pair(creds_for(kdc, spnego), KerberosAcceptor(str(kdc.keytab), spnego=spnego),
                level)
    assert any(isinstance(e, BindAccepted) for e in pair.bind())
    # [MS-RPCE] 2.2.1.1.7: Kerberos and SPNEGO both take an even number of legs, so the
    # client's second token goes in alter_context (answered). Samba's client sends raw
    # Kerberos's last token in rpc_auth_3 instead; the server takes both (test below).
    kinds = [p[2] for p in pair.wire]
    assert kinds[0] == PTYPE.bind and len(kinds) == 2
    assert kinds[1] == PTYPE.alter_context or (not spnego and kinds[1] == PTYPE.rpc_auth_3)
    ident = pair.server.security.identity()  # type: ignore[union-attr]
    assert ident.principal == f"{kdc.user}@{kdc.realm}"
    assert (ident.auth_type, ident.auth_level) == (9 if spnego else 16, level)

    secret = b"kerberos protected payload " * 300
    call_id = pair.client.send_request(0, 3, secret)
    (req,) = [e for e in pair.to_server() if isinstance(e, RequestReceived)]
    assert req.stub == secret
    frags = [decode_pdu(p) for p in pair.wire if p[2] == PTYPE.request]
    assert len(frags) > 3
    if level >= 5:
        size = 76 if level == 6 else 28
        assert all(f.auth_verifier is not None and f.auth_verifier.auth_length == size
                   for f in frags)
    assert any(b"kerberos protected" in p for p in pair.wire) is (level < 6)
    pair.server.send_response(call_id, secret[::-1])
    (resp,) = pair.to_client()
    assert isinstance(resp, ResponseReceived) and resp.stub == secret[::-1]


@pytest.mark.parametrize("level", [5, 6], ids=["integrity", "privacy"])
def test_tampered_request_fragment_is_refused(kdc: KDC, level: int) -> None:
    pair = Pair(creds_for(kdc, False), KerberosAcceptor(str(kdc.keytab)), level)
    assert any(isinstance(e, BindAccepted) for e in pair.bind())
    pair.client.send_request(0, 1, b"payload!" * 8)
    data = bytearray(pair.client.data_to_send())
    data[30] ^= 0x40  # a stub octet (sealed or signed)
    pair.server.receive_data(bytes(data))
    with pytest.raises(RemoteProtocolError) as info:
        drain(pair.server)
    assert info.value.status == status.RPC_S_ACCESS_DENIED
    # The call is answered with a fault and never dispatched.
    (fault,) = [decode_pdu(p) for p in split(pair.server.data_to_send())]
    assert isinstance(fault, Fault) and fault.status == status.RPC_S_ACCESS_DENIED


def test_replayed_request_is_refused(kdc: KDC) -> None:
    pair = Pair(creds_for(kdc, False), KerberosAcceptor(str(kdc.keytab)), 6)
    assert any(isinstance(e, BindAccepted) for e in pair.bind())
    pair.client.send_request(0, 1, b"once only")
    data = pair.client.data_to_send()
    pair.server.receive_data(data)
    assert any(isinstance(e, RequestReceived) for e in drain(pair.server))
    pair.server.receive_data(data)  # the same PDU again (the call_id is still in use)
    with pytest.raises(RemoteProtocolError):
        drain(pair.server)


@pytest.mark.parametrize("spnego", [False, True], ids=["krb5", "spnego"])
def test_wrong_password_never_binds(kdc: KDC, spnego: bool) -> None:
    creds = creds_for(kdc, spnego, password="wrong password")
    # No ticket, no token: the client side fails before anything reaches the wire.
    with pytest.raises(SecurityError) as info:
        Pair(creds, KerberosAcceptor(str(kdc.keytab), spnego=spnego), 6)
    assert info.value.status == status.RPC_S_ACCESS_DENIED


def test_client_for_another_service_gets_bind_rejected(kdc: KDC) -> None:
    # The acceptor only has host/localhost's key; a ticket for bob@REALM cannot be read.
    creds = Kerberos(kdc.user, kdc.password, kdc.realm, target=f"{kdc.other_user}@{kdc.realm}")
    pair = Pair(creds, KerberosAcceptor(str(kdc.keytab)), 5)
    events = pair.bind()
    assert any(isinstance(e, BindRejected) for e in events)
    assert pair.server.security is None


@pytest.mark.parametrize("which", ["kerberos", "ntlm"])
def test_one_spnego_acceptor_serves_kerberos_and_ntlm_clients(kdc: KDC, which: str) -> None:
    ntlm = NegotiateAcceptor(NTLMAcceptor(UserTable({"DOM\\carol": "Secret1!"})))
    acceptor = KerberosAcceptor(str(kdc.keytab), spnego=True, fallback=ntlm)
    creds: Credentials = (creds_for(kdc, True) if which == "kerberos"
                          else Negotiate("carol", "Secret1!", "DOM"))
    pair = Pair(creds, acceptor, 6)
    assert any(isinstance(e, BindAccepted) for e in pair.bind())
    ident = pair.server.security.identity()  # type: ignore[union-attr]
    expected = f"{kdc.user}@{kdc.realm}" if which == "kerberos" else "DOM\\carol"
    assert (ident.principal, ident.auth_type) == (expected, 9)
    call_id = pair.client.send_request(0, 1, b"either way" * 50)
    (req,) = [e for e in pair.to_server() if isinstance(e, RequestReceived)]
    assert req.stub == b"either way" * 50
    pair.server.send_response(call_id, b"ok")
    (resp,) = pair.to_client()
    assert isinstance(resp, ResponseReceived) and resp.stub == b"ok"


def test_server_takes_the_third_kerberos_leg_in_rpc_auth_3(kdc: KDC) -> None:
    """Samba's client sends the initiator's AP-REP in rpc_auth_3 ([MS-RPCE] 2.2.2.10)."""
    ctx = creds_for(kdc, False).client_context(6, 1, None)
    client = ClientConnection(SMALL, auth=ctx)
    policy = InterfacePolicy()
    policy.register(IFACE, "iface")
    server = ServerConnection(policy, SMALL, acceptors={16: KerberosAcceptor(str(kdc.keytab))})
    client.bind([ContextElement(p_cont_id=0, abstract_syntax=IFACE,
                                transfer_syntaxes=(NDR_SYNTAX,))])
    server.receive_data(client.data_to_send())
    drain(server)
    (ack,) = [decode_pdu(p) for p in split(server.data_to_send())]
    assert ack.auth_verifier is not None
    token = ctx.step(ack.auth_verifier.auth_value)  # the AP-REP answered by ours
    assert token is not None and ctx.complete
    server.receive_data(Auth3(call_id=ack.call_id, auth_verifier=AuthVerifier(
        auth_type=16, auth_level=6, auth_context_id=1, auth_value=token)).encode())
    assert drain(server) == [] and server.data_to_send() == b""  # never answered
    assert server.security is not None
    assert server.security.identity().principal == f"{kdc.user}@{kdc.realm}"
    server.receive_data(protect(Request(call_id=2, p_cont_id=0, opnum=1,
                                        stub_data=b"after auth3"), ctx))
    (req,) = [e for e in drain(server) if isinstance(e, RequestReceived)]
    assert req.stub == b"after auth3"
