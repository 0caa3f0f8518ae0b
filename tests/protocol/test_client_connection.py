"""ClientConnection against hand-built server PDUs (C706 §12.4, [MS-RPCE] 3.3.2)."""

from __future__ import annotations

import uuid

import pytest
from conn_helpers import IFACE, IFACE2, NDR64_SYNTAX, drain, elem
from impacket.dcerpc.v5 import rpcrt as r

from dcerpc import status
from dcerpc.errors import LocalProtocolError, RemoteProtocolError
from dcerpc.protocol import constants as c
from dcerpc.protocol.connection import ClientConnection, ConnectionConfig, ConnectionState
from dcerpc.protocol.events import (
    NEED_DATA,
    AlterContextAccepted,
    BindAccepted,
    BindRejected,
    CancelTimedOut,
    ConnectionClosed,
    FaultReceived,
    ResponseReceived,
    ShutdownRequested,
)
from dcerpc.protocol.pdu import (
    AlterContext,
    AlterContextResp,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    ContextResult,
    Fault,
    Orphaned,
    PduReader,
    Request,
    Response,
    Shutdown,
    decode_pdu,
)

FIRST, LAST = int(c.PFC_FIRST_FRAG), int(c.PFC_LAST_FRAG)
ACCEPT = ContextResult(transfer_syntax=c.NDR_SYNTAX)


def pdus(data: bytes) -> list:
    reader = PduReader()
    reader.receive_data(data)
    return [decode_pdu(p) for p in reader]


def bound(config: ConnectionConfig | None = None, **ack_kw: object) -> ClientConnection:
    cli = ClientConnection(config)
    cli.bind([elem(0), elem(1, IFACE2)])
    cli.data_to_send()
    kw: dict = {"pfc_flags": FIRST | LAST | int(c.PFC_CONC_MPX), "assoc_group_id": 0x55,
                "p_result_list": (ACCEPT, ACCEPT)}
    kw.update(ack_kw)
    cli.receive_data(BindAck(call_id=1, **kw).encode())
    (ev,) = drain(cli)
    assert isinstance(ev, BindAccepted)
    return cli


def expect_error(cli: ClientConnection, data: bytes) -> None:
    cli.data_to_send()
    with pytest.raises(RemoteProtocolError):
        cli.receive_data(data)
        drain(cli)
    assert cli.state is ConnectionState.ERROR and cli.closed
    assert cli.data_to_send() == b""  # a client just closes


def test_bind_pdu() -> None:
    cli = ClientConnection(ConnectionConfig(max_xmit_frag=4280, max_recv_frag=4280))
    call_id = cli.bind([elem(0)], assoc_group_id=0x1234, features=0x03)
    (bind,) = pdus(cli.data_to_send())
    assert isinstance(bind, Bind) and bind.call_id == call_id == 1
    assert bind.pfc_flags & c.PFC_CONC_MPX and bind.assoc_group_id == 0x1234
    assert (bind.max_xmit_frag, bind.max_recv_frag) == (4280, 4280)
    feat = bind.p_context_elem[1]
    assert feat.p_cont_id == 1 and c.bind_time_features(feat.transfer_syntaxes[0]) == 3
    assert cli.state is ConnectionState.BINDING
    # impacket parses our bind
    imp = r.MSRPCBind(r.MSRPCHeader(bind.encode())["pduData"])
    assert imp["ctx_num"] == 2 and imp["max_tfrag"] == 4280


def test_bind_ack_settles_everything() -> None:
    cli = ClientConnection()
    cli.bind([elem(0), elem(1, IFACE, (NDR64_SYNTAX,))], features=0x02)
    cli.data_to_send()
    results = (ACCEPT, ContextResult(result=2, reason=2),
               ContextResult(result=c.ContDefResult.negotiate_ack, reason=0x02))
    cli.receive_data(BindAck(call_id=1, max_xmit_frag=4280, max_recv_frag=2000,
                             assoc_group_id=0x99, sec_addr="135",
                             p_result_list=results).encode())
    (ev,) = drain(cli)
    assert isinstance(ev, BindAccepted)
    assert (ev.max_xmit_frag, ev.max_recv_frag) == (2000, 4280)
    assert set(ev.contexts) == {0} and ev.features == 2 and ev.sec_addr == "135"
    assert not ev.conc_mpx and cli.assoc_group_id == 0x99  # server did not echo MPX
    with pytest.raises(LocalProtocolError):
        cli.send_request(1, 0, b"")  # rejected context


def test_bind_nak_and_fault_reject() -> None:
    cli = ClientConnection()
    cli.bind([elem(0)])
    cli.receive_data(BindNak(call_id=1, provider_reject_reason=4).encode())
    assert drain(cli) == [BindRejected(1, 4), ConnectionClosed("bind rejected", ())]
    cli = ClientConnection()
    cli.bind([elem(0)])
    cli.receive_data(Fault(call_id=1, status=status.nca_s_proto_error).encode())
    assert drain(cli)[0] == BindRejected(1, None, status.nca_s_proto_error)
    assert cli.state is ConnectionState.CLOSED


def test_wrong_result_count_is_a_protocol_error() -> None:
    cli = ClientConnection()
    cli.bind([elem(0), elem(1)])
    expect_error(cli, BindAck(p_result_list=(ACCEPT,)).encode())


def test_accepting_an_unproposed_syntax_is_a_protocol_error() -> None:
    cli = ClientConnection()
    cli.bind([elem(0)])
    expect_error(cli, BindAck(p_result_list=(ContextResult(transfer_syntax=NDR64_SYNTAX),)
                              ).encode())


def test_requests_are_fragmented_to_the_servers_max_recv_frag() -> None:
    cli = bound(max_recv_frag=1432)
    obj = uuid.uuid4()
    stub = bytes(range(256)) * 25
    call_id = cli.send_request(1, 9, stub, object=obj)
    frags = pdus(cli.data_to_send())
    assert len(frags) > 1 and all(f.frag_length <= 1432 for f in frags)
    assert all(f.object == obj and f.call_id == call_id and f.opnum == 9 for f in frags)
    assert frags[0].pfc_flags & FIRST and frags[-1].pfc_flags & LAST
    assert b"".join(f.stub_data for f in frags) == stub


def test_response_reassembly_interleaved_across_calls() -> None:
    cli = bound()
    a = cli.send_request(0, 0, b"")
    b = cli.send_request(0, 0, b"")
    for pdu in (Response(call_id=a, pfc_flags=FIRST, stub_data=b"a1"),
                Response(call_id=b, pfc_flags=FIRST, stub_data=b"b1"),
                Response(call_id=b, pfc_flags=LAST, stub_data=b"b2", cancel_count=1),
                Response(call_id=a, pfc_flags=LAST, stub_data=b"a2")):
        cli.receive_data(pdu.encode())
    assert drain(cli) == [ResponseReceived(b, 0, b"b1b2", 1), ResponseReceived(a, 0, b"a1a2")]
    assert cli.calls_in_progress == 0


def test_fault_received() -> None:
    cli = bound()
    call_id = cli.send_request(0, 7, b"")
    cli.receive_data(Fault(call_id=call_id, p_cont_id=0, status=status.nca_s_op_rng_error,
                           pfc_flags=FIRST | LAST | int(c.PFC_DID_NOT_EXECUTE)).encode())
    assert drain(cli) == [FaultReceived(call_id, status.nca_s_op_rng_error, True)]
    cli.receive_data(Fault(call_id=0, status=status.nca_s_proto_error).encode())
    (ev,) = drain(cli)
    assert ev.call_id == 0 and ev.association  # reported, but ends no call
    cli.receive_data(Fault(call_id=call_id, status=status.nca_s_proto_error).encode())
    (ev,) = drain(cli)
    assert ev.call_id == call_id and ev.association  # that call already ended


@pytest.mark.parametrize("pdu", [
    Response(call_id=77),                                   # never sent
    Request(call_id=1),                                     # servers do not send requests
    Bind(), AlterContext(), CoCancel(), Orphaned(),
    AlterContextResp(),                                     # no alter outstanding
    BindAck(p_result_list=(ACCEPT, ACCEPT)),                # already bound
])
def test_unexpected_pdus(pdu: object) -> None:
    expect_error(bound(), pdu.encode())  # type: ignore[attr-defined]


def test_response_sequence_errors() -> None:
    cli = bound()
    call_id = cli.send_request(0, 0, b"")
    expect_error(cli, Response(call_id=call_id, pfc_flags=LAST).encode())
    cli = bound()
    call_id = cli.send_request(0, 0, b"")
    cli.receive_data(Response(call_id=call_id, pfc_flags=FIRST).encode())
    expect_error(cli, Response(call_id=call_id, pfc_flags=FIRST).encode())


def test_response_limits() -> None:
    cli = bound(ConnectionConfig(max_stub_size=100))
    call_id = cli.send_request(0, 0, b"")
    expect_error(cli, Response(call_id=call_id, alloc_hint=1 << 31).encode())


def test_alter_context() -> None:
    cli = bound()
    call_id = cli.alter_context([elem(5, IFACE2)])
    with pytest.raises(LocalProtocolError):
        cli.alter_context([elem(6)])
    (alter,) = pdus(cli.data_to_send())
    assert isinstance(alter, AlterContext) and alter.assoc_group_id == 0x55
    cli.receive_data(AlterContextResp(call_id=call_id, p_result_list=(ACCEPT,)).encode())
    (ev,) = drain(cli)
    assert isinstance(ev, AlterContextAccepted) and set(ev.contexts) == {5}
    assert 5 in cli.contexts


def test_cancel_and_cancel_timeout_orphans() -> None:
    cli = bound(ConnectionConfig(cancel_timeout=10.0))
    call_id = cli.send_request(0, 0, b"")
    cli.data_to_send()
    assert cli.cancel(call_id, now=50.0)
    (co,) = pdus(cli.data_to_send())
    assert isinstance(co, CoCancel) and co.call_id == call_id
    assert cli.get_timer() == 60.0
    cli.handle_timer(59.0)
    assert cli.next_event() is NEED_DATA
    cli.handle_timer(60.0)
    assert drain(cli) == [CancelTimedOut(call_id)]
    (orph,) = pdus(cli.data_to_send())
    assert isinstance(orph, Orphaned) and orph.call_id == call_id
    # the late reply of the abandoned call is dropped quietly
    cli.receive_data(Response(call_id=call_id, stub_data=b"late").encode())
    assert drain(cli) == []
    assert cli.cancel(call_id) is False


def test_orphan() -> None:
    cli = bound()
    call_id = cli.send_request(0, 0, b"")
    cli.data_to_send()
    assert cli.orphan(call_id)
    assert isinstance(pdus(cli.data_to_send())[0], Orphaned)
    cli.receive_data(Fault(call_id=call_id, status=status.nca_s_fault_cancel).encode())
    assert drain(cli) == []


def test_shutdown_and_eof() -> None:
    cli = bound()
    call_id = cli.send_request(0, 0, b"")
    cli.receive_data(Shutdown().encode())
    assert drain(cli) == [ShutdownRequested()] and cli.shutdown_requested
    cli.receive_data(b"")
    assert drain(cli) == [ConnectionClosed("eof", (call_id,))]
    with pytest.raises(LocalProtocolError):
        cli.send_request(0, 0, b"")


def test_bind_and_idle_timers() -> None:
    cli = ClientConnection(ConnectionConfig(bind_timeout=3.0))
    cli.bind([elem(0)], now=1.0)
    assert cli.get_timer() == 4.0
    cli.handle_timer(4.5)
    assert drain(cli) == [ConnectionClosed("bind timeout", ())]
    cli = bound(ConnectionConfig(idle_timeout=5.0))
    cli.receive_data(b"", now=None)  # EOF without a clock
    assert cli.get_timer() is None
    cli = bound(ConnectionConfig(idle_timeout=5.0))
    cli.send_request(0, 0, b"", now=10.0)
    assert cli.get_timer() is None  # a call is in flight
    cli.receive_data(Response(call_id=2).encode(), now=11.0)
    drain(cli)
    assert cli.get_timer() == 16.0
    cli.handle_timer(16.0)
    assert drain(cli) == [ConnectionClosed("idle timeout", ())]


def test_local_misuse() -> None:
    cli = ClientConnection()
    with pytest.raises(LocalProtocolError):
        cli.send_request(0, 0, b"")
    with pytest.raises(LocalProtocolError):
        cli.bind([])
    cli = bound()
    with pytest.raises(LocalProtocolError):
        cli.bind([elem(0)])
    call_id = cli.send_request(0, 0, b"")
    with pytest.raises(LocalProtocolError):
        cli.send_request(0, 0, b"", call_id=call_id)
    assert cli.state is ConnectionState.BOUND


def test_without_mpx_one_call_at_a_time() -> None:
    cli = bound(pfc_flags=FIRST | LAST)
    cli.send_request(0, 0, b"")
    with pytest.raises(LocalProtocolError, match="PFC_CONC_MPX"):
        cli.send_request(0, 0, b"")


def test_impacket_decodes_our_request() -> None:
    cli = bound()
    cli.send_request(1, 4, b"\x01\x02\x03\x04")
    raw = cli.data_to_send()
    req = r.MSRPCRequestHeader(raw)
    assert (req["op_num"], req["ctx_id"], req["pduData"]) == (4, 1, b"\x01\x02\x03\x04")


def test_impacket_bind_ack_forms_of_secondary_address() -> None:
    # impacket's encoder writes an empty secondary address as a lone NUL (length 1),
    # Samba/Windows as length 0 in alter_context_resp: both must parse (digest §1.6).
    for sec_addr in ("", "10135"):
        ack = r.MSRPCRelayBindAck()
        ack["max_tfrag"], ack["max_rfrag"], ack["assoc_group"] = 4280, 4280, 0x77
        ack["SecondaryAddr"] = sec_addr
        item = r.CtxItemResult()
        item["Result"], item["Reason"] = 0, 0
        item["TransferSyntax"] = c.NDR_SYNTAX.if_uuid.bytes_le + b"\x02\x00\x00\x00"
        ack.addCtxItem(item)
        h = r.MSRPCHeader()
        h["type"], h["flags"], h["call_id"], h["pduData"] = r.MSRPC_BINDACK, 3, 1, ack.getData()
        cli = ClientConnection()
        cli.bind([elem(0)])
        cli.receive_data(h.get_packet())
        (ev,) = drain(cli)
        assert isinstance(ev, BindAccepted) and ev.sec_addr == sec_addr
        assert set(ev.contexts) == {0} and ev.assoc_group_id == 0x77
