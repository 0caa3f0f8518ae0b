"""Tampered, replayed, reordered and truncated requests are rejected, counted, and the
server keeps serving everyone else (issue 5 acceptance: tampering)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import dcerpc
from dcerpc import status
from dcerpc.auth import NTLM
from dcerpc.ndr import operation_codec
from dcerpc.protocol.connection import ClientConnection, ConnectionConfig
from dcerpc.protocol.constants import NDR_SYNTAX
from dcerpc.protocol.events import NEED_DATA, BindAccepted, ResponseReceived
from dcerpc.protocol.pdu import ContextElement, Fault, decode_pdu
from dcerpc.runtime.registry import syntax_of

from .impacket_sec import connect as impacket_connect
from .impacket_sec import echo as impacket_echo
from .secsvc import DOMAIN, PASSWORD, USER, make_server, port_of, sec

#: Guards a hung socket read only; never a performance threshold.
HANG_GUARD = 30.0
ECHO = operation_codec(sec.SecTest.operation("Echo"))


def echo_stub(data: bytes) -> bytes:
    return bytes(ECHO.encode_request((len(data), data)))


@pytest.fixture(scope="module")
def served() -> Iterator[dcerpc.Server]:
    server, _impl = make_server()
    server.start_background()
    yield server
    server.stop_background()


def split(wire: bytes) -> list[bytes]:
    out = []
    while len(wire) >= 10:
        n = int.from_bytes(wire[8:10], "little")
        out.append(wire[:n])
        wire = wire[n:]
    return out


class RawClient:
    """Our sans-IO client core over a blocking socket, so tests can edit the octets."""

    def __init__(self, port: int, level: int = 6, frag: int = 4280) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
        ctx = NTLM(USER, PASSWORD, DOMAIN).client_context(level, 7, "127.0.0.1")
        self.conn = ClientConnection(ConnectionConfig(max_xmit_frag=frag, max_recv_frag=frag),
                                     auth=ctx)
        self.sent: list[bytes] = []
        self.conn.bind([ContextElement(p_cont_id=0, abstract_syntax=syntax_of(sec.SecTest),
                                       transfer_syntaxes=(NDR_SYNTAX,))])
        self.flush()
        events = self.read_events()
        assert any(isinstance(e, BindAccepted) for e in events)
        self.flush()  # rpc_auth_3

    def flush(self) -> None:
        data = self.conn.data_to_send()
        self.sent += split(data)
        self.sock.sendall(data)

    def read_events(self) -> list[object]:
        events: list[object] = []
        while not events:
            data = self.sock.recv(65536)
            self.conn.receive_data(data)
            while (ev := self.conn.next_event()) is not NEED_DATA:
                events.append(ev)
            if not data:
                break
        return events

    def request_pdus(self, data: bytes) -> list[bytes]:
        """The protected fragments of an Echo request, not sent."""
        self.conn.send_request(0, 0, echo_stub(data))
        return split(self.conn.data_to_send())

    def call(self, data: bytes) -> bytes:
        self.conn.send_request(0, 0, echo_stub(data))
        self.flush()
        (ev,) = self.read_events()
        assert isinstance(ev, ResponseReceived)
        return bytes(ev.stub)

    def send_raw_and_finish(self, *pdus: bytes) -> list[object]:
        """Send octets, half-close, and collect every PDU the server sends until EOF."""
        self.sock.sendall(b"".join(pdus))
        self.sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := self.sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        self.sock.close()
        return [decode_pdu(p) for p in split(received)]


def assert_rejected(server: dcerpc.Server, before: int, replies: list[object]) -> None:
    assert all(isinstance(p, Fault) for p in replies), replies  # never a response
    for fault in replies:
        assert fault.status in (status.RPC_S_ACCESS_DENIED, status.nca_s_proto_error,  # type: ignore[attr-defined]
                                status.RPC_S_PROTOCOL_ERROR)
    assert sum(server.security_stats.values()) == before + 1


def test_flipping_any_byte_of_a_sealed_request(served: dcerpc.Server) -> None:
    bystander = RawClient(port_of(served))  # a client that must keep being served
    (pdu,) = RawClient(port_of(served)).request_pdus(b"sealed payload!")
    for pos in range(len(pdu)):
        client = RawClient(port_of(served))
        (mine,) = client.request_pdus(b"sealed payload!")
        tampered = bytearray(mine)
        tampered[pos] ^= 0x01
        before = sum(served.security_stats.values())
        assert_rejected(served, before, client.send_raw_and_finish(bytes(tampered)))
    # The bystander's association and its sequence numbers are intact.
    assert b"still served" in bystander.call(b"still served")
    assert b"again" in bystander.call(b"again")


@pytest.mark.parametrize("pos", [0, 2, 3, 4, 8, 10, 12, 16, 20, 24, 30, -21, -20, -17, -9,
                                 -1])
def test_flipping_bytes_of_a_signed_request(served: dcerpc.Server, pos: int) -> None:
    client = RawClient(port_of(served), level=5)
    (mine,) = client.request_pdus(b"integrity only")
    tampered = bytearray(mine)
    tampered[pos] ^= 0x80
    before = sum(served.security_stats.values())
    assert_rejected(served, before, client.send_raw_and_finish(bytes(tampered)))


def test_replay_on_the_same_connection(served: dcerpc.Server) -> None:
    client = RawClient(port_of(served))
    client.call(b"first")
    captured = client.sent[-1]
    before = served.security_stats["verifier_rejected"]
    replies = client.send_raw_and_finish(captured)
    assert [type(r) for r in replies] == [Fault]
    assert replies[0].status == status.RPC_S_ACCESS_DENIED  # type: ignore[attr-defined]
    assert served.security_stats["verifier_rejected"] == before + 1


def test_replay_of_a_whole_session_on_a_new_connection(served: dcerpc.Server) -> None:
    client = RawClient(port_of(served))
    client.call(b"secret")
    recorded = client.sent  # bind, rpc_auth_3, request
    before = served.security_stats["verifier_rejected"]
    replay = socket.create_connection(("127.0.0.1", port_of(served)), timeout=HANG_GUARD)
    replay.sendall(b"".join(recorded))
    replay.shutdown(socket.SHUT_WR)
    received = b""
    while chunk := replay.recv(65536):
        received += chunk
    replay.close()
    kinds = [p[2] for p in split(received)]
    assert 2 not in kinds  # no response: the new challenge makes the old AUTHENTICATE fail
    assert kinds[-1] == 3  # a fault
    assert served.security_stats["verifier_rejected"] == before + 1


def test_reordered_fragments(served: dcerpc.Server) -> None:
    client = RawClient(port_of(served), frag=1432)
    frags = client.request_pdus(bytes(range(256)) * 20)
    assert len(frags) >= 3
    before = served.security_stats["verifier_rejected"]
    replies = client.send_raw_and_finish(frags[0], frags[2], frags[1], *frags[3:])
    assert [type(r) for r in replies] == [Fault]
    assert served.security_stats["verifier_rejected"] == before + 1


@pytest.mark.parametrize("cut", [1, 8, 15])
def test_truncated_verifier(served: dcerpc.Server, cut: int) -> None:
    client = RawClient(port_of(served))
    (pdu,) = client.request_pdus(b"truncate me")
    short = bytearray(pdu[:-cut])
    short[8:10] = len(short).to_bytes(2, "little")  # frag_length
    short[10:12] = (16 - cut).to_bytes(2, "little")  # auth_length
    before = sum(served.security_stats.values())
    assert_rejected(served, before, client.send_raw_and_finish(bytes(short)))


def test_impacket_still_served_after_tampering(served: dcerpc.Server) -> None:
    dce = impacket_connect(port_of(served), USER, PASSWORD, DOMAIN, 6)
    try:
        assert impacket_echo(dce, b"after the storm") == b"after the storm"
    finally:
        dce.disconnect()
