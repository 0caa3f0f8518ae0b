"""ServerConnection: negotiation, calls, faults and bad input (C706 ch. 12, [MS-RPCE] 3.3.3,
protocol-digest §2-§3). PDUs are built with our codec and with impacket's rpcrt classes;
what the server answers is decoded by both."""

from __future__ import annotations

import struct
import uuid

import pytest
from conn_helpers import IFACE, IFACE2, NDR64_SYNTAX, UNKNOWN, drain, elem, make_policy
from impacket.dcerpc.v5 import rpcrt as r
from impacket.uuid import uuidtup_to_bin

from dcerpc import status
from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol import constants as c
from dcerpc.protocol.connection import (
    AssociationGroups,
    ConnectionConfig,
    ConnectionState,
    ServerConnection,
)
from dcerpc.protocol.events import (
    NEED_DATA,
    AlterContextReceived,
    BindReceived,
    CallOrphaned,
    CancelRequested,
    ConnectionClosed,
    RequestReceived,
)
from dcerpc.protocol.pdu import (
    AlterContext,
    AlterContextResp,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    Fault,
    Orphaned,
    PduReader,
    Request,
    Response,
    Shutdown,
    decode_pdu,
)

FIRST, LAST = int(c.PFC_FIRST_FRAG), int(c.PFC_LAST_FRAG)
IFACE_TUP = (str(IFACE.if_uuid), "1.0")


def pdus(data: bytes) -> list:
    reader = PduReader()
    reader.receive_data(data)
    return [decode_pdu(p) for p in reader]


def server(config: ConnectionConfig | None = None, **kw: object) -> ServerConnection:
    return ServerConnection(make_policy(), config, **kw)  # type: ignore[arg-type]


def bound(config: ConnectionConfig | None = None, mpx: bool = True) -> ServerConnection:
    srv = server(config)
    flags = FIRST | LAST | (int(c.PFC_CONC_MPX) if mpx else 0)
    srv.receive_data(Bind(call_id=1, pfc_flags=flags, p_context_elem=(elem(0), elem(1, IFACE2))
                          ).encode())
    assert isinstance(drain(srv)[0], BindReceived)
    srv.data_to_send()
    return srv


def feed(srv: ServerConnection, *items: object) -> list:
    for item in items:
        srv.receive_data(item.encode() if hasattr(item, "encode") else item)  # type: ignore
    return drain(srv)


def expect_error(srv: ServerConnection, data: bytes) -> list:
    """Feed ``data``; the server must raise RemoteProtocolError and end in ERROR."""
    with pytest.raises(RemoteProtocolError):
        srv.receive_data(data)
        drain(srv)
    assert srv.state is ConnectionState.ERROR and srv.closed
    with pytest.raises(RemoteProtocolError):
        srv.next_event()
    return pdus(srv.data_to_send())


# --------------------------------------------------------------------------- bind
def imp_bind(items: list[tuple[int, tuple[str, str], tuple[str, str]]], group: int = 0,
             max_frag: int = 4280, ptype: int = r.MSRPC_BIND) -> bytes:
    bind = r.MSRPCBind()
    bind["max_tfrag"] = bind["max_rfrag"] = max_frag
    bind["assoc_group"] = group
    for ctx_id, abstract, transfer in items:
        item = r.CtxItem()
        item["ContextID"], item["TransItems"] = ctx_id, 1
        item["AbstractSyntax"] = uuidtup_to_bin(abstract)
        item["TransferSyntax"] = uuidtup_to_bin(transfer)
        bind.addCtxItem(item)
    h = r.MSRPCHeader()
    h["type"], h["flags"], h["call_id"], h["pduData"] = ptype, 3, 1, bind.getData()
    return h.get_packet()


NDR_TUP = ("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0")
NDR64_TUP = ("71710533-beba-4937-8319-b5dbef9ccc36", "1.0")


def test_impacket_bind_answered_with_exactly_one_bind_ack() -> None:
    srv = server(ConnectionConfig(sec_addr="10135"))
    srv.receive_data(imp_bind([(0, IFACE_TUP, NDR_TUP)]))
    events = drain(srv)
    assert isinstance(events[0], BindReceived) and events[0].accepted
    out = srv.data_to_send()
    assert len(out) < 8192 and len(pdus(out)) == 1  # impacket reads one recv() (§8.1)
    head = r.MSRPCHeader(out)
    assert head["type"] == r.MSRPC_BINDACK and head["call_id"] == 1
    ack = r.MSRPCBindAck(head.getData())
    assert ack["max_tfrag"] == ack["max_rfrag"] == 4280
    assert ack["assoc_group"] == srv.assoc_group_id != 0
    assert ack["SecondaryAddrLen"] == 6 and ack["SecondaryAddr"].rstrip("\x00") == "10135"
    item = ack.getCtxItem(1)
    assert item["Result"] == 0 and item["TransferSyntax"] == uuidtup_to_bin(NDR_TUP)
    assert srv.state is ConnectionState.BOUND and srv.data_to_send() == b""
    assert not srv.conc_mpx  # impacket never offers PFC_CONC_MPX


def test_per_context_results_and_reasons() -> None:
    srv = server()
    feat = c.bind_time_feature_syntax(0x03)
    bind = Bind(call_id=7, p_context_elem=(
        elem(0), elem(1, UNKNOWN), elem(2, IFACE, (NDR64_SYNTAX,)),
        elem(3, IFACE, (NDR64_SYNTAX, c.NDR_SYNTAX)), elem(4, IFACE, (feat,))))
    (ev,) = feed(srv, bind)
    (ack,) = pdus(srv.data_to_send())
    assert isinstance(ack, BindAck) and ack.call_id == 7
    res = [(x.result, x.reason, x.transfer_syntax) for x in ack.p_result_list]
    assert res == [
        (0, 0, c.NDR_SYNTAX),
        (2, c.ProviderReason.abstract_syntax_not_supported, c.NULL_SYNTAX),
        (2, c.ProviderReason.proposed_transfer_syntaxes_not_supported, c.NULL_SYNTAX),
        (0, 0, c.NDR_SYNTAX),
        # [MS-RPCE] 3.3.1.5.3: negotiate_ack with the features we accept
        (c.ContDefResult.negotiate_ack, c.BindTimeFeatures.KeepConnectionOnOrphanSupported,
         c.NULL_SYNTAX),
    ]
    assert set(ev.contexts) == {0, 3} and ev.contexts[0].interface == "iface"
    assert srv.features == 0x02


def test_two_feature_negotiation_elements_get_bind_nak() -> None:
    srv = server()
    feat = c.bind_time_feature_syntax(1)
    events = feed(srv, Bind(p_context_elem=(elem(0, IFACE, (feat,)), elem(1, IFACE, (feat,)))))
    assert isinstance(events[0], BindReceived) and not events[0].accepted
    assert isinstance(events[1], ConnectionClosed)
    (nak,) = pdus(srv.data_to_send())
    assert isinstance(nak, BindNak) and srv.state is ConnectionState.CLOSED


def test_minor_version_rule() -> None:
    srv = server()
    newer = c.SyntaxId.make(IFACE2.if_uuid, 2, 2)  # registered 2.1: too old for 2.2
    older = c.SyntaxId.make(IFACE2.if_uuid, 2, 0)
    other_major = c.SyntaxId.make(IFACE2.if_uuid, 3, 1)
    feed(srv, Bind(p_context_elem=(elem(0, newer), elem(1, older), elem(2, other_major))))
    (ack,) = pdus(srv.data_to_send())
    assert [x.result for x in ack.p_result_list] == [2, 0, 2]


@pytest.mark.parametrize(("client_xmit", "client_recv", "xmit", "recv"), [
    (4280, 4280, 4280, 4280),
    (65535, 65535, 5840, 5840),
    (1000, 1000, 1432, 1432),  # never below MustRecvFragSize (protocol-digest §2.3)
    (2000, 3001, 3000, 2000),
])
def test_fragment_size_negotiation(client_xmit: int, client_recv: int, xmit: int,
                                   recv: int) -> None:
    srv = server()
    feed(srv, Bind(max_xmit_frag=client_xmit, max_recv_frag=client_recv,
                   p_context_elem=(elem(0),)))
    (ack,) = pdus(srv.data_to_send())
    assert (ack.max_xmit_frag, ack.max_recv_frag) == (xmit, recv)
    assert (srv.max_xmit_frag, srv.max_recv_frag) == (xmit, recv)


def test_association_groups_are_shared_and_checked() -> None:
    groups = AssociationGroups()
    first = server(groups=groups)
    feed(first, Bind(p_context_elem=(elem(0),)))
    gid = pdus(first.data_to_send())[0].assoc_group_id
    second = server(groups=groups)
    feed(second, Bind(assoc_group_id=gid, p_context_elem=(elem(0),)))
    assert pdus(second.data_to_send())[0].assoc_group_id == gid
    assert groups.members[gid] == 2
    third = server(groups=groups)
    events = feed(third, Bind(assoc_group_id=gid + 99, p_context_elem=(elem(0),)))
    (nak,) = pdus(third.data_to_send())
    assert isinstance(nak, BindNak) and nak.provider_reject_reason == 0
    assert not events[0].accepted
    first.receive_data(b"")
    assert isinstance(drain(first)[-1], ConnectionClosed)
    second.close()
    assert gid not in groups.members  # the group dies with its last connection


def test_bind_with_auth_but_no_security_is_nakked() -> None:
    srv = server()
    av = AuthVerifier(auth_type=10, auth_level=2, auth_value=b"NTLMSSP\0")
    feed(srv, Bind(p_context_elem=(elem(0),), auth_verifier=av))
    (nak,) = pdus(srv.data_to_send())
    assert nak.provider_reject_reason == c.RejectReason.AUTHENTICATION_TYPE_NOT_RECOGNIZED


def test_second_bind_is_nakked_and_fatal() -> None:
    srv = bound()
    (nak,) = expect_error(srv, Bind(call_id=9, p_context_elem=(elem(0),)).encode())
    assert isinstance(nak, BindNak) and nak.call_id == 9


def test_alter_context() -> None:
    srv = server()
    feed(srv, Bind(p_context_elem=(elem(0),)))
    srv.data_to_send()
    (ev,) = feed(srv, AlterContext(call_id=2, p_context_elem=(elem(1, IFACE2), elem(2, UNKNOWN))))
    assert isinstance(ev, AlterContextReceived) and set(ev.contexts) == {1}
    out = srv.data_to_send()
    (resp,) = pdus(out)
    assert isinstance(resp, AlterContextResp) and resp.sec_addr == ""
    assert [x.result for x in resp.p_result_list] == [0, 2]
    # impacket parses the empty secondary address form
    assert r.MSRPCBindAck(r.MSRPCHeader(out).getData())["SecondaryAddrLen"] == 0
    assert 1 in srv.contexts


def test_alter_context_redefining_a_context_is_fatal() -> None:
    srv = bound()
    (fault,) = expect_error(srv, AlterContext(p_context_elem=(elem(0, IFACE2),)).encode())
    assert isinstance(fault, Fault) and fault.status == status.nca_s_proto_error


# --------------------------------------------------------------------------- calls
def test_request_response_roundtrip_and_bind_call_id_reuse() -> None:
    srv = bound()
    obj = uuid.uuid4()
    (ev,) = feed(srv, Request(call_id=1, p_cont_id=1, opnum=3, object=obj, stub_data=b"abc"))
    assert ev == RequestReceived(1, 1, 3, b"abc", obj, "iface2")
    assert srv.send_response(1, b"xyz")
    (resp,) = pdus(srv.data_to_send())
    assert isinstance(resp, Response) and resp.stub_data == b"xyz" and resp.p_cont_id == 1
    assert resp.pfc_flags & (FIRST | LAST) == FIRST | LAST and resp.call_id == 1


def test_response_fragmented_to_client_max_recv_frag() -> None:
    srv = server()
    feed(srv, Bind(max_xmit_frag=1432, max_recv_frag=1432, p_context_elem=(elem(0),)))
    srv.data_to_send()
    feed(srv, Request(call_id=2, stub_data=b""))
    stub = bytes(range(256)) * 40
    srv.send_response(2, stub)
    frags = pdus(srv.data_to_send())
    assert len(frags) > 1 and all(f.frag_length <= 1432 for f in frags)
    assert [f.pfc_flags & 3 for f in frags] == [FIRST] + [0] * (len(frags) - 2) + [LAST]
    assert b"".join(f.stub_data for f in frags) == stub
    assert frags[0].alloc_hint == len(stub)


def test_impacket_style_fragmented_request_total_alloc_hint() -> None:
    srv = bound()
    stub = bytes(range(200)) * 30
    parts = [stub[i:i + 1000] for i in range(0, len(stub), 1000)]
    events = []
    for i, part in enumerate(parts):
        flags = (FIRST if i == 0 else 0) | (LAST if i == len(parts) - 1 else 0)
        req = r.MSRPCRequestHeader()
        req["flags"], req["call_id"], req["ctx_id"], req["op_num"] = flags, 4, 0, 2
        req["alloc_hint"], req["pduData"] = len(stub), part
        srv.receive_data(req.get_packet())
        events += drain(srv)
    (ev,) = events
    assert ev.stub == stub and ev.opnum == 2 and ev.call_id == 4


def test_unknown_context_faults_unk_if_and_connection_survives() -> None:
    srv = bound()
    assert feed(srv, Request(call_id=5, p_cont_id=42, stub_data=b"x")) == []
    (fault,) = pdus(srv.data_to_send())
    assert fault.status == status.nca_s_unk_if and fault.did_not_execute
    assert fault.call_id == 5 and srv.state is ConnectionState.BOUND
    (ev,) = feed(srv, Request(call_id=6, p_cont_id=0))
    assert isinstance(ev, RequestReceived)


def test_server_too_busy() -> None:
    srv = bound(ConnectionConfig(max_concurrent_calls=2))
    assert len(feed(srv, Request(call_id=1), Request(call_id=2), Request(call_id=3))) == 2
    (fault,) = pdus(srv.data_to_send())
    assert fault.call_id == 3 and fault.status == status.nca_s_server_too_busy
    srv.send_response(1, b"")
    assert len(feed(srv, Request(call_id=3))) == 1


def test_concurrent_call_without_mpx_is_a_protocol_error() -> None:
    srv = bound(mpx=False)
    feed(srv, Request(call_id=1))
    (fault,) = expect_error(srv, Request(call_id=2).encode())
    assert fault.status == status.nca_s_proto_error


def test_duplicate_call_id_in_progress_is_fatal() -> None:
    srv = bound()
    feed(srv, Request(call_id=1))
    expect_error(srv, Request(call_id=1).encode())


def test_cancel_then_response_counts_cancels() -> None:
    srv = bound()
    feed(srv, Request(call_id=3))
    assert feed(srv, CoCancel(call_id=3)) == [CancelRequested(3)]
    assert feed(srv, CoCancel(call_id=99)) == []  # unknown call: ignored like Windows
    srv.send_response(3, b"ok")
    (resp,) = pdus(srv.data_to_send())
    assert resp.cancel_count == 1


def test_pending_cancel_on_later_fragment() -> None:
    srv = bound()
    feed(srv, Request(call_id=3, pfc_flags=FIRST, stub_data=b"a"))
    (ev, cancel) = feed(srv, Request(call_id=3, pfc_flags=LAST | int(c.PFC_PENDING_CANCEL),
                                     stub_data=b"b"))
    assert ev.stub == b"ab" and cancel == CancelRequested(3)


def test_new_call_starting_cancelled_is_refused() -> None:
    srv = bound()
    (fault,) = expect_error(
        srv, Request(call_id=3, pfc_flags=FIRST | LAST | int(c.PFC_PENDING_CANCEL)).encode())
    assert fault.status == status.RPC_S_NO_CALL_ACTIVE


def test_orphaned_call_gets_no_reply() -> None:
    srv = bound()
    feed(srv, Request(call_id=8))
    assert feed(srv, Orphaned(call_id=8)) == [CallOrphaned(8)]
    assert srv.send_response(8, b"late") is False
    assert srv.data_to_send() == b""
    feed(srv, Request(call_id=9, pfc_flags=FIRST, stub_data=b"partial"))
    assert feed(srv, Orphaned(call_id=9)) == [CallOrphaned(9)]
    assert len(feed(srv, Request(call_id=10))) == 1  # nothing left half-received


def test_faults_from_the_call_engine() -> None:
    srv = bound()
    feed(srv, Request(call_id=1, p_cont_id=1), Request(call_id=2))
    srv.send_fault(1, status.nca_s_op_rng_error, did_not_execute=True)
    srv.send_bad_stub_data(2)
    f1, f2 = pdus(srv.data_to_send())
    assert (f1.status, f1.did_not_execute, f1.p_cont_id) == (status.nca_s_op_rng_error, True, 1)
    assert f2.status == status.RPC_X_BAD_STUB_DATA == status.nca_s_fault_ndr
    assert srv.send_fault(1, 5) is False
    feed(srv, Request(call_id=3))
    srv.send_fault(3, status.nca_s_fault_unspec, stub=b"\x01" * 8)  # [MS-EERR] blob
    (f3,) = pdus(srv.data_to_send())
    assert f3.extended_error_present and f3.stub_data == b"\x01" * 8


def test_big_endian_request() -> None:
    srv = bound()
    (ev,) = feed(srv, Request(call_id=1, opnum=0x102, packed_drep=c.DREP_BE, stub_data=b"q"))
    assert ev.opnum == 0x102 and ev.stub == b"q"


def test_maybe_call_is_not_tracked() -> None:
    srv = bound(mpx=False)
    (ev,) = feed(srv, Request(call_id=1, pfc_flags=FIRST | LAST | int(c.PFC_MAYBE)))
    assert ev.maybe and srv.calls_in_progress == 0
    assert len(feed(srv, Request(call_id=2))) == 1


# --------------------------------------------------------------------------- bad input
def test_request_before_bind() -> None:
    srv = server()
    (fault,) = expect_error(srv, Request(call_id=4).encode())
    assert isinstance(fault, Fault) and fault.status == status.nca_s_proto_error
    assert fault.did_not_execute and fault.call_id == 4
    # impacket decodes it as a fault with that status
    head = r.MSRPCRespHeader(Fault(call_id=4, status=fault.status).encode())
    assert head["type"] == r.MSRPC_FAULT


@pytest.mark.parametrize("data", [
    b"\x00" * 32,                                 # rpc_vers 0
    b"GET / HTTP/1.1\r\n\r\n",                    # not DCE/RPC at all
    b"\x05\x00\x63\x03\x10\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00",  # unknown PTYPE
    b"\x05\x00\x01\x03\x10\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00",  # CL-only ping
    b"\x05\x00\x00\x03\x10\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00",  # frag_length < 16
    b"\x05\x00\x00\x03\x10\x00\x00\x00\x12\x00\x00\x00\x01\x00\x00\x00\x00\x00",  # body short
    b"\x05\x00\x00\x03\x10\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00",  # > max_recv_frag
])
def test_garbage_ends_in_protocol_error(data: bytes) -> None:
    for srv in (server(), bound()):
        out = expect_error(srv, data)
        assert len(out) == 1 and isinstance(out[0], (Fault, BindNak))


def test_truncated_pdu_waits_then_fails_at_eof() -> None:
    srv = bound()
    raw = Request(call_id=1, stub_data=b"x" * 100).encode()
    srv.receive_data(raw[:60])  # frag_length larger than what arrived: wait
    assert srv.next_event() is NEED_DATA
    srv.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="inside a PDU"):
        srv.next_event()
    assert srv.state is ConnectionState.ERROR


def test_server_refuses_client_only_pdus() -> None:
    for pdu in (Response(call_id=1), Shutdown(), BindAck(), Fault(call_id=1)):
        srv = bound()
        (fault,) = expect_error(srv, pdu.encode())
        assert fault.status == status.nca_s_proto_error


@pytest.mark.parametrize("pdu", [
    Request(call_id=2, pfc_flags=LAST),                      # continuation without first
])
def test_bad_fragment_sequence(pdu: Request) -> None:
    expect_error(bound(), pdu.encode())


def test_interleaved_and_inconsistent_fragments() -> None:
    srv = bound()
    feed(srv, Request(call_id=1, pfc_flags=FIRST, stub_data=b"a"))
    expect_error(srv, Request(call_id=2, pfc_flags=FIRST).encode())
    srv = bound()
    feed(srv, Request(call_id=1, pfc_flags=FIRST, opnum=1))
    expect_error(srv, Request(call_id=1, pfc_flags=LAST, opnum=2).encode())


def test_huge_alloc_hint_is_refused_without_allocation() -> None:
    srv = bound()
    (fault,) = expect_error(srv, Request(call_id=1, pfc_flags=FIRST,
                                         alloc_hint=0xFFFFFFFF).encode())
    assert fault.status == status.RPC_S_ACCESS_DENIED


def test_ten_thousand_fragments_hit_the_limit_with_bounded_memory() -> None:
    srv = bound()  # default max_fragments: 4096
    frag = Request(call_id=1, pfc_flags=0, stub_data=b"z").encode()
    srv.receive_data(Request(call_id=1, pfc_flags=FIRST, stub_data=b"z").encode())
    assert drain(srv) == []
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(9_999):
            srv.receive_data(frag)
            assert srv.next_event() is NEED_DATA
            assert srv._rx is None or srv._rx.stub.count <= 4096
    assert info.value.status == status.RPC_S_ACCESS_DENIED
    (fault,) = pdus(srv.data_to_send())
    assert fault.status == status.RPC_S_ACCESS_DENIED and srv.closed


def test_stub_size_limit() -> None:
    srv = bound(ConnectionConfig(max_stub_size=3000))
    feed(srv, Request(call_id=1, pfc_flags=FIRST, stub_data=b"a" * 2000))
    expect_error(srv, Request(call_id=1, pfc_flags=LAST, stub_data=b"a" * 2000).encode())


def test_eof_reports_pending_calls() -> None:
    srv = bound()
    feed(srv, Request(call_id=1), Request(call_id=2))
    srv.receive_data(b"")
    assert drain(srv) == [ConnectionClosed("eof", (1, 2))]
    assert srv.next_event() is NEED_DATA and srv.send_response(1, b"") is False


# --------------------------------------------------------------------------- timers
def test_bind_timeout() -> None:
    srv = server(ConnectionConfig(bind_timeout=5.0), now=100.0)
    assert srv.get_timer() == 105.0
    srv.handle_timer(104.0)
    assert not srv.closed
    srv.handle_timer(105.0)
    assert drain(srv) == [ConnectionClosed("bind timeout", ())]
    assert srv.get_timer() is None


def test_idle_timeout_sends_shutdown() -> None:
    srv = server(ConnectionConfig(idle_timeout=30.0), now=0.0)
    srv.receive_data(Bind(p_context_elem=(elem(0),)).encode(), now=1.0)
    drain(srv)
    srv.data_to_send()
    assert srv.get_timer() == 31.0
    srv.receive_data(Request(call_id=1).encode(), now=10.0)
    drain(srv)
    assert srv.get_timer() is None  # a call is in progress: not idle
    srv.send_response(1, b"")
    srv.data_to_send()
    assert srv.get_timer() == 40.0
    srv.handle_timer(40.0)
    assert isinstance(pdus(srv.data_to_send())[0], Shutdown)
    assert drain(srv) == [ConnectionClosed("idle timeout", ())]


def test_shutdown_intent() -> None:
    srv = bound()
    srv.shutdown()
    assert isinstance(pdus(srv.data_to_send())[0], Shutdown)


# --------------------------------------------------------------------------- impacket
class MemoryTransport:
    """Just enough of impacket's DCERPCTransport to run DCERPC_v5 against our core."""

    def __init__(self, srv: ServerConnection) -> None:
        self.srv, self.inbox, self.sends = srv, b"", 0

    def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        self.sends += 1
        self.srv.receive_data(data)
        for ev in drain(self.srv):
            if isinstance(ev, RequestReceived):
                if ev.opnum == 0:
                    self.srv.send_response(ev.call_id, ev.stub[::-1] + bytes(4))
                else:
                    self.srv.send_fault(ev.call_id, status.nca_s_op_rng_error,
                                        did_not_execute=True)
        self.inbox += self.srv.data_to_send()

    def recv(self, forceRecv: int = 0, count: int = 0) -> bytes:
        if not count:  # the bind path: one recv(8192) must hold the whole bind_ack
            out, self.inbox = self.inbox, b""
            assert len(out) < 8192 and len(pdus(out)) == 1
            return out
        out, self.inbox = self.inbox[:count], self.inbox[count:]
        return out


def test_impacket_client_against_our_server_core() -> None:
    srv = server(ConnectionConfig(sec_addr="135"))
    dce = r.DCERPC_v5(MemoryTransport(srv))
    dce.bind(uuidtup_to_bin(IFACE_TUP))
    dce.call(0, b"hello world\x00")
    assert dce.recv() == b"\x00dlrow olleh" + bytes(4)
    # a request larger than a fragment: impacket fragments with total alloc_hint
    dce.set_max_fragment_size(1000)
    big = bytes(range(256)) * 20
    dce.call(0, big)
    assert dce.recv() == big[::-1] + bytes(4)
    with pytest.raises(r.DCERPCException, match="nca_s_op_rng_error"):
        dce.call(7, b"")
        dce.recv()
    dce2 = dce.alter_ctx(uuidtup_to_bin((str(IFACE2.if_uuid), "2.1")))
    dce2.call(0, b"ab")
    assert dce2.recv() == b"ba" + bytes(4)
    with pytest.raises(r.DCERPCException, match="abstract_syntax_not_supported"):
        dce.alter_ctx(uuidtup_to_bin((str(UNKNOWN.if_uuid), "1.0")))
    assert srv.state is ConnectionState.BOUND


def test_impacket_ndr64_bind_is_rejected_with_reason_2() -> None:
    srv = server()
    dce = r.DCERPC_v5(MemoryTransport(srv))
    with pytest.raises(r.DCERPCException, match="proposed_transfer_syntaxes_not_supported"):
        dce.bind(uuidtup_to_bin(IFACE_TUP), transfer_syntax=NDR64_TUP)


def test_impacket_unknown_interface_rejected() -> None:
    srv = server()
    dce = r.DCERPC_v5(MemoryTransport(srv))
    with pytest.raises(r.DCERPCException, match="abstract_syntax_not_supported"):
        dce.bind(uuidtup_to_bin((str(UNKNOWN.if_uuid), "1.0")))


def test_impacket_fault_bytes_decode() -> None:
    srv = bound()
    feed(srv, Request(call_id=12))
    srv.send_fault(12, status.nca_s_op_rng_error, did_not_execute=True)
    out = srv.data_to_send()
    head = r.MSRPCRespHeader(out)
    assert head["type"] == r.MSRPC_FAULT and head["flags"] & r.PFC_DID_NOT_EXECUTE
    assert struct.unpack("<L", head["pduData"][:4])[0] == status.nca_s_op_rng_error


def test_bind_with_unknown_minor_version_gets_protocol_version_nak() -> None:
    raw = bytearray(Bind(call_id=3, p_context_elem=(elem(0),)).encode())
    raw[1] = 7  # rpc_vers_minor
    (nak,) = expect_error(server(), bytes(raw))
    assert isinstance(nak, BindNak) and nak.call_id == 3
    assert nak.provider_reject_reason == c.RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED


def test_garbage_after_bind_gets_a_fault_not_a_bind_nak() -> None:
    srv = bound()
    feed(srv, Request(call_id=1), Request(call_id=2))
    (fault,) = expect_error(srv, b"\x07garbage")
    assert isinstance(fault, Fault) and fault.call_id == 0
    assert srv.pending_calls == (1, 2)  # the call engine fails these
    assert srv.get_timer() is None
