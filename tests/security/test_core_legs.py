"""The sans-IO core runs the auth legs and protects every fragment (no network)."""

from __future__ import annotations

import pytest

from dcerpc import status
from dcerpc.auth import NTLM, Negotiate, NegotiateAcceptor, NTLMAcceptor, UserTable
from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol.connection import (
    ClientConnection,
    ConnectionConfig,
    InterfacePolicy,
    ServerConnection,
)
from dcerpc.protocol.constants import NDR_SYNTAX, PTYPE, SyntaxId
from dcerpc.protocol.events import (
    NEED_DATA,
    AuthFailed,
    BindAccepted,
    BindReceived,
    BindRejected,
    RequestReceived,
    ResponseReceived,
)
from dcerpc.protocol.pdu import ContextElement, decode_pdu

IFACE = SyntaxId.make("9f3c2a51-7d4e-4b8a-a1c2-5e6f7a8b9c0d", 1, 0)


def make_policy() -> InterfacePolicy:
    policy = InterfacePolicy()
    policy.register(IFACE, "iface")
    return policy


def elem(p_cont_id: int) -> ContextElement:
    return ContextElement(p_cont_id=p_cont_id, abstract_syntax=IFACE,
                          transfer_syntaxes=(NDR_SYNTAX,))


def drain(conn: ClientConnection | ServerConnection) -> list[object]:
    out = []
    while (ev := conn.next_event()) is not NEED_DATA:
        out.append(ev)
    return out

USERS = UserTable({"DOM\\alice": "Secret1!"})
NTLM_ACC = NTLMAcceptor(USERS)
ACCEPTORS = {10: NTLM_ACC, 9: NegotiateAcceptor(NTLM_ACC)}
SMALL = ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432)


def split(wire: bytes) -> list[bytes]:
    out = []
    while wire:
        n = int.from_bytes(wire[8:10], "little")
        out.append(wire[:n])
        wire = wire[n:]
    return out


class AuthPair:
    def __init__(self, creds: object, level: int, config: ConnectionConfig | None = None
                 ) -> None:
        ctx = creds.client_context(level, 79231, "localhost")  # type: ignore[attr-defined]
        self.client = ClientConnection(config, auth=ctx)
        self.server = ServerConnection(make_policy(), config, acceptors=ACCEPTORS)
        self.wire: list[bytes] = []  # every PDU the client sent

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
        self.client.bind([elem(0)])
        events: list[object] = []
        for _ in range(4):
            events += self.to_server()
            events += self.to_client()
        return events


@pytest.mark.parametrize("creds", [NTLM("alice", "Secret1!", "DOM"),
                                   Negotiate("alice", "Secret1!", "DOM")],
                         ids=["ntlm", "spnego"])
@pytest.mark.parametrize("level", [2, 3, 4, 5, 6])
def test_every_level_round_trips_fragmented(creds: object, level: int) -> None:
    pair = AuthPair(creds, level, SMALL)
    events = pair.bind()
    assert any(isinstance(e, BindAccepted) for e in events)
    kinds = [pdu[2] for pdu in pair.wire]
    if isinstance(creds, NTLM):
        assert kinds == [PTYPE.bind, PTYPE.auth3]
    else:
        assert kinds == [PTYPE.bind, PTYPE.alter_context]
    ident = pair.server.security.identity()  # type: ignore[union-attr]
    assert (ident.principal, ident.auth_level) == ("DOM\\alice", level)
    secret = b"top secret payload " * 400
    call_id = pair.client.send_request(0, 1, secret)
    (req,) = [e for e in pair.to_server() if isinstance(e, RequestReceived)]
    assert req.stub == secret
    frags = [decode_pdu(p) for p in pair.wire if p[2] == PTYPE.request]
    assert len(frags) > 3
    if level >= 3:
        assert all(f.auth_verifier is not None and f.auth_verifier.auth_level == level
                   for f in frags)
    assert any(b"top secret" in p for p in pair.wire) is (level < 6)
    pair.server.send_response(call_id, secret[::-1])
    (resp,) = pair.to_client()
    assert isinstance(resp, ResponseReceived) and resp.stub == secret[::-1]


def test_wrong_password_is_refused_at_auth3() -> None:
    pair = AuthPair(NTLM("alice", "wrong", "DOM"), 6)
    pair.client.bind([elem(0)])
    pair.to_server()
    pair.to_client()  # the client sends auth3 and believes it is bound
    pair.client.send_request(0, 1, b"x" * 10)
    with pytest.raises(RemoteProtocolError) as info:
        pair.to_server()
    assert info.value.status == status.RPC_S_ACCESS_DENIED
    (fault,) = [decode_pdu(p) for p in split(pair.server.data_to_send())]
    assert fault.status == status.RPC_S_ACCESS_DENIED


@pytest.mark.parametrize("creds", [Negotiate("alice", "wrong", "DOM"),
                                   Negotiate("mallory", "Secret1!", "DOM")])
def test_spnego_failure_faults_the_alter_context(creds: object) -> None:
    pair = AuthPair(creds, 5)
    pair.client.bind([elem(0)])
    pair.to_server()
    pair.to_client()  # → alter_context with AUTHENTICATE
    with pytest.raises(RemoteProtocolError):
        pair.to_server()
    events = pair.to_client()
    assert any(isinstance(e, BindRejected) and e.status == status.RPC_S_ACCESS_DENIED
               for e in events)


def test_unknown_auth_type_gets_bind_nak() -> None:
    ctx = NTLM("alice", "Secret1!", "DOM").client_context(5, 1, None)
    client = ClientConnection(auth=ctx)
    server = ServerConnection(make_policy(), acceptors={9: ACCEPTORS[9]})
    client.bind([elem(0)])
    server.receive_data(client.data_to_send())
    events = drain(server)
    assert isinstance(events[0], AuthFailed)
    assert any(isinstance(e, BindReceived) and not e.accepted for e in events)
    client.receive_data(server.data_to_send())
    assert isinstance(drain(client)[0], BindRejected)


def test_request_before_auth3_is_refused() -> None:
    pair = AuthPair(NTLM("alice", "Secret1!", "DOM"), 5)
    pair.client.bind([elem(0)])
    pair.to_server()
    # Forge a request on the server before the third leg arrived.
    from dcerpc.protocol.pdu import Request
    pair.server.receive_data(Request(call_id=9, p_cont_id=0, opnum=0,
                                     stub_data=b"").encode())
    with pytest.raises(RemoteProtocolError) as info:
        drain(pair.server)
    assert info.value.status == status.RPC_S_ACCESS_DENIED


def _trailer(*commands: tuple[int, bytes]) -> bytes:
    out = bytes.fromhex("8ae3137102f43671")
    for i, (command, body) in enumerate(commands):
        end = 0x4000 if i == len(commands) - 1 else 0
        out += (command | end).to_bytes(2, "little") + len(body).to_bytes(2, "little") + body
    return out


def _syntax(s: SyntaxId) -> bytes:
    return s.if_uuid.bytes_le + s.if_version.to_bytes(4, "little")


def _header2(call_id: int, opnum: int = 1) -> bytes:
    return (bytes([0, 0, 0, 0]) + bytes.fromhex("10000000") + call_id.to_bytes(4, "little")
            + (0).to_bytes(2, "little") + opnum.to_bytes(2, "little"))


def test_verification_trailer_is_checked_and_removed() -> None:
    """[MS-RPCE] 2.2.2.13: Windows appends a verification trailer after the stub at
    integrity/privacy; the server checks it against the request and removes it."""
    pair = AuthPair(NTLM("alice", "Secret1!", "DOM"), 6)
    pair.bind()
    call_id = pair.client._next_call_id  # what send_request will use
    trailer = _trailer((1, (1).to_bytes(4, "little")),
                       (2, _syntax(IFACE) + _syntax(NDR_SYNTAX)),
                       (3, _header2(call_id)),
                       (0x0044, b"ignored"))  # unknown, not MUST_PROCESS
    assert pair.client.send_request(0, 1, b"stub" + trailer) == call_id
    (req,) = [e for e in pair.to_server() if isinstance(e, RequestReceived)]
    assert req.stub == b"stub"


@pytest.mark.parametrize("command", [
    (2, bytes(40)),  # another presentation context
    (3, b"header2 of another call"[:16]),
    (0x8044, b""),  # unknown and MUST_PROCESS
], ids=["pcontext", "header2", "must-process"])
def test_verification_trailer_mismatch_is_refused(command: tuple[int, bytes]) -> None:
    pair = AuthPair(NTLM("alice", "Secret1!", "DOM"), 5)
    pair.bind()
    pair.client.send_request(0, 1, b"stub" + _trailer(command))
    with pytest.raises(RemoteProtocolError) as info:
        pair.to_server()
    assert info.value.status == status.RPC_S_ACCESS_DENIED


def test_malformed_verification_trailer_is_left_alone() -> None:
    from dcerpc.protocol._security import strip_verification_trailer

    magic = bytes.fromhex("8ae3137102f43671")
    assert strip_verification_trailer(b"abcd" + magic + b"\x01\x00\x50\x00") == \
        b"abcd" + magic + b"\x01\x00\x50\x00"  # a command running past the stub
    assert strip_verification_trailer(b"abc" + magic) == b"abc" + magic  # not 4-aligned
    assert strip_verification_trailer(b"no trailer") == b"no trailer"


def test_auth3_for_an_unknown_context_is_refused() -> None:
    from dcerpc.protocol.pdu import Auth3, AuthVerifier

    pair = AuthPair(NTLM("alice", "Secret1!", "DOM"), 5)
    pair.bind()
    pair.server.receive_data(Auth3(call_id=5, auth_verifier=AuthVerifier(
        auth_type=10, auth_level=5, auth_context_id=4242, auth_value=b"x" * 16)).encode())
    with pytest.raises(RemoteProtocolError) as info:
        drain(pair.server)
    assert info.value.status == status.RPC_S_SEC_PKG_ERROR


def test_second_context_via_alter_context_and_per_request_identity() -> None:
    """A second NTLM context (another user) on the same connection: each request is
    verified, answered and attributed with the context its verifier names."""
    from dcerpc.protocol.pdu import AlterContext, Auth3, AuthVerifier

    users = UserTable({"DOM\\alice": "Secret1!", "DOM\\bob": "hunter2"})
    acc = NTLMAcceptor(users)
    first = NTLM("alice", "Secret1!", "DOM").client_context(6, 1, None)
    client = ClientConnection(auth=first)
    server = ServerConnection(make_policy(), acceptors={10: acc})
    client.bind([elem(0)])
    server.receive_data(client.data_to_send())
    drain(server)
    client.receive_data(server.data_to_send())
    drain(client)
    server.receive_data(client.data_to_send())  # rpc_auth_3
    drain(server)
    # Second context (bob, id 2) driven by hand over alter_context + rpc_auth_3.
    second = NTLM("bob", "hunter2", "DOM").client_context(6, 2, None)
    av = AuthVerifier(auth_type=10, auth_level=6, auth_context_id=2,
                      auth_value=second.step(None))
    server.receive_data(AlterContext(call_id=50, p_context_elem=(elem(0),),
                                     auth_verifier=av).encode())
    drain(server)
    (resp,) = [decode_pdu(p) for p in split(server.data_to_send())]
    token = second.step(resp.auth_verifier.auth_value)
    server.receive_data(Auth3(call_id=50, auth_verifier=AuthVerifier(
        auth_type=10, auth_level=6, auth_context_id=2, auth_value=token)).encode())
    assert drain(server) == []
    # A request protected by the second context, built with the client core's framing.
    bob = ClientConnection(auth=second)
    bob.state = client.state
    bob.contexts = dict(client.contexts)
    bob._next_call_id = 77
    bob.send_request(0, 1, b"from bob")
    server.receive_data(bob.data_to_send())
    (req,) = [e for e in drain(server) if isinstance(e, RequestReceived)]
    assert req.stub == b"from bob"
    assert req.security.identity().principal == "DOM\\bob"
    client.send_request(0, 1, b"from alice")
    server.receive_data(client.data_to_send())
    (req2,) = [e for e in drain(server) if isinstance(e, RequestReceived)]
    assert req2.security.identity().principal == "DOM\\alice"
    server.send_response(req.call_id, b"to bob")
    bob.receive_data(server.data_to_send())
    (out,) = drain(bob)
    assert isinstance(out, ResponseReceived) and out.stub == b"to bob"


@pytest.mark.parametrize("level", [5, 6])
def test_client_rejects_any_tampered_response_byte(level: int) -> None:
    """Our client verifies every response fragment: no flipped byte gets through."""
    size = None
    pos = 0
    while size is None or pos < size:
        # The handshake cannot be replayed (each bind gets a new challenge): run the
        # whole exchange afresh for every flipped position.
        fresh = AuthPair(NTLM("alice", "Secret1!", "DOM"), level)
        fresh.bind()
        cid = fresh.client.send_request(0, 1, b"ping")
        fresh.to_server()
        fresh.server.send_response(cid, b"the genuine answer")
        wire = bytearray(fresh.server.data_to_send())
        size = len(wire)
        wire[pos] ^= 0x04
        pos += 1
        try:
            fresh.client.receive_data(bytes(wire))
            fresh.client.receive_data(b"")  # EOF: a lengthened PDU cannot wait for more
            events = drain(fresh.client)
        except RemoteProtocolError:
            continue
        assert not any(isinstance(e, ResponseReceived) for e in events), pos - 1
