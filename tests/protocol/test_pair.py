"""Client and server cores wired together in memory (h11 ConnectionPair style)."""

from __future__ import annotations

import hashlib
import random

import pytest
from conn_helpers import IFACE, IFACE2, NDR64_SYNTAX, UNKNOWN, Pair, drain, elem

from dcerpc import status
from dcerpc.errors import RemoteProtocolError, SecurityError
from dcerpc.protocol.connection import ConnectionConfig, ConnectionState
from dcerpc.protocol.events import (
    AlterContextAccepted,
    AlterContextReceived,
    BindAccepted,
    BindReceived,
    CallOrphaned,
    CancelRequested,
    CancelTimedOut,
    ConnectionClosed,
    FaultReceived,
    RequestReceived,
    ResponseReceived,
    ShutdownRequested,
)
from dcerpc.protocol.pdu import PduReader, decode_pdu


def pdus(data: bytes) -> list:
    reader = PduReader()
    reader.receive_data(data)
    return [decode_pdu(p) for p in reader]


def test_bind_several_contexts() -> None:
    pair = Pair()
    (srv_ev,), (cli_ev,) = pair.bind(elem(0), elem(1, IFACE2), elem(2, UNKNOWN),
                                     elem(3, IFACE, (NDR64_SYNTAX,)), features=0x03)
    assert isinstance(srv_ev, BindReceived) and isinstance(cli_ev, BindAccepted)
    assert set(cli_ev.contexts) == set(srv_ev.contexts) == {0, 1}
    assert [x.result for x in cli_ev.results] == [0, 0, 2, 2, 3]
    assert cli_ev.features == 0x02 and cli_ev.conc_mpx
    assert cli_ev.assoc_group_id == pair.server.assoc_group_id != 0
    assert pair.client.max_xmit_frag == pair.server.max_recv_frag


def test_alter_context_then_call_on_new_context() -> None:
    pair = Pair()
    pair.bind(elem(0))
    pair.client.alter_context([elem(1, IFACE2)])
    (srv_ev,) = pair.to_server()
    (cli_ev,) = pair.to_client()
    assert isinstance(srv_ev, AlterContextReceived) and isinstance(cli_ev, AlterContextAccepted)
    call_id = pair.client.send_request(1, 2, b"on iface2")
    (req,) = pair.to_server()
    assert req.interface == "iface2" and req.call_id == call_id
    pair.server.send_response(call_id, b"done")
    assert pair.to_client() == [ResponseReceived(call_id, 1, b"done")]


@pytest.mark.parametrize("seed", [1, 2])
def test_thousand_concurrent_calls_random_fragments(seed: int) -> None:
    rng = random.Random(seed)
    frag = rng.choice([1432, 2048, 4280, 5840])
    pair = Pair(ConnectionConfig(max_xmit_frag=frag, max_recv_frag=rng.choice([1432, 5840])),
                rng=rng, max_chunk=3000)
    pair.bind(elem(0), elem(1, IFACE2))
    sent: dict[int, bytes] = {}
    for i in range(1000):
        stub = rng.randbytes(rng.choice([0, 1, 7, 100, 1500, 4000, 9000]))
        call_id = pair.client.send_request(i % 2, i % 7, stub)
        sent[call_id] = stub
    received = pair.to_server()
    assert len(received) == 1000 and pair.server.calls_in_progress == 1000
    assert all(ev.stub == sent[ev.call_id] and ev.opnum == (ev.call_id - 2) % 7
               for ev in received)
    rng.shuffle(received)
    for ev in received:  # answer in random order: PFC_CONC_MPX, keyed by call_id
        pair.server.send_response(ev.call_id, ev.stub[::-1])
    replies = pair.to_client()
    assert len(replies) == 1000
    assert {ev.call_id: ev.stub for ev in replies} == {k: v[::-1] for k, v in sent.items()}
    assert [ev.call_id for ev in replies] == [ev.call_id for ev in received]
    assert pair.client.calls_in_progress == pair.server.calls_in_progress == 0


def test_cancel_reaches_the_server_and_completes() -> None:
    pair = Pair()
    pair.bind()
    call_id = pair.client.send_request(0, 1, b"slow")
    pair.to_server()
    pair.client.cancel(call_id)
    assert pair.to_server() == [CancelRequested(call_id)]
    pair.server.send_fault(call_id, status.nca_s_fault_cancel)
    (ev,) = pair.to_client()
    assert ev == FaultReceived(call_id, status.nca_s_fault_cancel, cancel_count=1)


def test_cancel_timeout_orphans_on_both_sides() -> None:
    pair = Pair(ConnectionConfig(cancel_timeout=1.0))
    pair.bind()
    call_id = pair.client.send_request(0, 1, b"")
    pair.to_server()
    pair.client.cancel(call_id, now=0.0)
    pair.client.handle_timer(1.0)
    assert pair.client.next_event() == CancelTimedOut(call_id)
    assert pair.to_server() == [CancelRequested(call_id), CallOrphaned(call_id)]
    assert pair.server.send_response(call_id, b"late") is False
    assert pair.to_client() == []


def test_orphan_then_keep_using_the_connection() -> None:
    pair = Pair()
    pair.bind()
    a = pair.client.send_request(0, 0, b"a")
    pair.to_server()
    pair.client.orphan(a)
    assert pair.to_server() == [CallOrphaned(a)]
    b = pair.client.send_request(0, 0, b"b")
    pair.to_server()
    pair.server.send_response(b, b"B")
    assert pair.to_client() == [ResponseReceived(b, 0, b"B")]


def test_faults_reach_the_client() -> None:
    pair = Pair()
    pair.bind()
    bad_ctx = pair.client.send_request(9, 0, b"", check_context=False)
    rng_err = pair.client.send_request(0, 99, b"")
    (req,) = pair.to_server()
    pair.server.send_fault(req.call_id, status.nca_s_op_rng_error, did_not_execute=True)
    events = pair.to_client()
    assert [(e.call_id, e.status, e.did_not_execute) for e in events] == [
        (bad_ctx, status.nca_s_unk_if, True), (rng_err, status.nca_s_op_rng_error, True)]


def test_server_shutdown_then_close() -> None:
    pair = Pair()
    pair.bind()
    pair.server.shutdown()
    assert pair.to_client() == [ShutdownRequested()]
    pair.client.close()
    pair.server.receive_data(b"")
    assert pair.to_server() == [ConnectionClosed("eof", ())]
    assert pair.client.state is pair.server.state is ConnectionState.CLOSED


def test_server_protocol_error_reaches_client_as_fault() -> None:
    pair = Pair()
    pair.bind()
    pair.client.send_request(0, 0, b"x" * 9000)  # three fragments…
    data = pair.client.data_to_send()
    pair.server.receive_data(data[:5840])  # …of which the server sees only the first
    pair.to_server()
    pair.client.send_request(0, 0, b"")  # and then a new call: interleaving is an error
    with pytest.raises(RemoteProtocolError):
        pair.to_server()
    assert pair.server.state is ConnectionState.ERROR
    (fault,) = pair.to_client()
    assert isinstance(fault, FaultReceived) and fault.status == status.nca_s_proto_error


def test_request_gets_response_through_one_byte_chunks() -> None:
    pair = Pair(rng=random.Random(5), max_chunk=1)
    pair.bind()
    call_id = pair.client.send_request(0, 3, b"tiny pieces")
    (req,) = pair.to_server()
    assert isinstance(req, RequestReceived) and req.stub == b"tiny pieces"
    pair.server.send_response(call_id, b"ok")
    assert pair.to_client() == [ResponseReceived(call_id, 0, b"ok")]


# --------------------------------------------------------------------------- security hook
class XorHook:
    """A toy, already complete security context: XOR "sealing" and a truncated SHA-256
    "signature" over header + plain body + trailer.

    It only exercises the hook plumbing ([MS-RPCE] 2.2.2.11 framing); real providers
    live in dcerpc.auth (tests/security).
    """

    auth_type = 0x0A
    auth_context_id = 79231
    complete = True

    def __init__(self, level: int) -> None:
        self.auth_level = level
        self.signed: list[bytes] = []

    def step(self, in_token: bytes | None) -> bytes | None:
        raise AssertionError("a complete context runs no legs")

    def signature_size(self) -> int:
        return 16

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        data = header + body + trailer
        self.signed.append(data)
        return (bytes(b ^ 0x5A for b in body) if seal else body,
                hashlib.sha256(data).digest()[:16])

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        plain = bytes(b ^ 0x5A for b in body) if seal else body
        if hashlib.sha256(header + plain + trailer).digest()[:16] != auth_value:
            raise SecurityError("bad signature")
        return plain


@pytest.mark.parametrize("level", [5, 6])
def test_security_hook_signs_and_seals_every_fragment(level: int) -> None:
    cli_hook, srv_hook = XorHook(level), XorHook(level)
    pair = Pair(ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432),
                client_auth=cli_hook, server_auth=srv_hook)
    pair.bind()
    secret = b"top secret payload " * 200
    call_id = pair.client.send_request(0, 1, secret)
    wire = pair.client.data_to_send()
    frags = pdus(wire)
    assert len(frags) > 2 and all(f.frag_length <= 1432 for f in frags)
    assert all(f.auth_verifier.auth_level == level for f in frags)
    assert all((len(f.stub_data) + len(f.auth_verifier.auth_pad)) % 16 == 0 for f in frags)
    assert (b"top secret" in wire) is (level == 5)
    pair.server.receive_data(wire)
    (req,) = drain(pair.server)
    assert req.stub == secret
    pair.server.send_response(call_id, secret[::-1])
    (resp,) = pair.to_client()
    assert resp.stub == secret[::-1]
    assert len(srv_hook.signed) == len(cli_hook.signed) > 2


def test_security_hook_rejects_tampering() -> None:
    pair = Pair(client_auth=XorHook(6), server_auth=XorHook(6))
    pair.bind()
    pair.client.send_request(0, 1, b"payload" * 10)
    wire = bytearray(pair.client.data_to_send())
    wire[30] ^= 1
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.receive_data(bytes(wire))
        drain(pair.server)
    assert info.value.status == status.RPC_S_ACCESS_DENIED
    (fault,) = pdus(pair.server.data_to_send())
    assert fault.status == status.RPC_S_ACCESS_DENIED


def test_security_hook_requires_a_verifier() -> None:
    pair = Pair(server_auth=XorHook(5))  # the client sends unsigned requests
    pair.bind()
    pair.client.send_request(0, 1, b"")
    with pytest.raises(RemoteProtocolError):
        pair.to_server()
