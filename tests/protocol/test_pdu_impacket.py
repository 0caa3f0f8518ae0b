"""impacket 0.13 as an independent oracle: the same PDU built with impacket's rpcrt
structures and with ours must give the same octets, and each side must parse the other's.

impacket quirks the builders below work around (protocol-digest §1.5, §8.5):
* its bind context items carry exactly one transfer syntax;
* ``MSRPCRelayBindAck`` always writes a NUL for an empty secondary address (length 1),
  where Samba and we write length 0 — so the encode comparison uses a non-empty one;
* it has no fault or bind_nak encoder of its own: they are built from ``MSRPCRespHeader`` /
  ``MSRPCBindNak`` with the body octets the spec prescribes.
"""

from __future__ import annotations

import uuid

import pytest
from impacket.dcerpc.v5 import rpcrt as r
from impacket.uuid import uuidtup_to_bin

from dcerpc import status
from dcerpc.protocol import constants as c
from dcerpc.protocol.pdu import (
    AlterContext,
    AlterContextResp,
    Auth3,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    ContextElement,
    ContextResult,
    Fault,
    Orphaned,
    Pdu,
    Request,
    Response,
    Shutdown,
    decode_pdu,
)

EPM = ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "3.0")
IFACE = ("9f3c2a51-7d4e-4b8a-a1c2-5e6f7a8b9c0d", "1.2")
NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0")
NDR64 = ("71710533-beba-4937-8319-b5dbef9ccc36", "1.0")
NTLM_NEGOTIATE = b"NTLMSSP\x00\x01\x00\x00\x00" + bytes(range(28))
SIGNATURE = b"\x01\x00\x00\x00" + bytes(range(8)) + b"\x00\x00\x00\x00"


def syntax(tup: tuple[str, str]) -> c.SyntaxId:
    major, minor = (int(x) for x in tup[1].split("."))
    return c.SyntaxId.make(tup[0], major, minor)


def imp_sec_trailer(auth_type: int, level: int, ctx: int, pad_len: int = 0) -> bytes:
    t = r.SEC_TRAILER()
    t["auth_type"], t["auth_level"], t["auth_ctx_id"], t["auth_pad_len"] = (
        auth_type, level, ctx, pad_len)
    return t.getData()


def imp_header(ptype: int, call_id: int, pdu_data: bytes, flags: int = 3,
               sec_trailer: bytes = b"", auth_data: bytes = b"") -> bytes:
    h = r.MSRPCHeader()
    h["type"], h["flags"], h["call_id"], h["pduData"] = ptype, flags, call_id, pdu_data
    h["sec_trailer"], h["auth_data"] = sec_trailer, auth_data
    return h.get_packet()


# --------------------------------------------------------------------------- builders
def imp_bind(ptype: int, items: list[tuple[int, tuple[str, str], tuple[str, str]]],
             auth: bool) -> bytes:
    bind = r.MSRPCBind()
    bind["assoc_group"] = 0x4242
    for ctx_id, abstract, transfer in items:
        item = r.CtxItem()
        item["ContextID"], item["TransItems"] = ctx_id, 1
        item["AbstractSyntax"] = uuidtup_to_bin(abstract)
        item["TransferSyntax"] = uuidtup_to_bin(transfer)
        bind.addCtxItem(item)
    trailer = imp_sec_trailer(10, 6, 79231) if auth else b""
    return imp_header(ptype, 5, bind.getData(), sec_trailer=trailer,
                      auth_data=NTLM_NEGOTIATE if auth else b"")


def our_bind(cls: type[Bind] | type[AlterContext],
             items: list[tuple[int, tuple[str, str], tuple[str, str]]], auth: bool) -> Pdu:
    elems = tuple(ContextElement(p_cont_id=i, abstract_syntax=syntax(a),
                                 transfer_syntaxes=(syntax(t),)) for i, a, t in items)
    av = AuthVerifier(auth_type=10, auth_level=6, auth_context_id=79231,
                      auth_value=NTLM_NEGOTIATE) if auth else None
    return cls(call_id=5, max_xmit_frag=4280, max_recv_frag=4280, assoc_group_id=0x4242,
               p_context_elem=elems, auth_verifier=av)


def imp_bind_ack(ptype: int, sec_addr: str, results: list[tuple[int, int, bytes]],
                 auth: bool) -> bytes:
    ack = r.MSRPCRelayBindAck()
    ack["max_tfrag"], ack["max_rfrag"], ack["assoc_group"] = 5840, 5840, 0x1234
    ack["SecondaryAddr"] = sec_addr
    for result, reason, transfer in results:
        item = r.CtxItemResult()
        item["Result"], item["Reason"], item["TransferSyntax"] = result, reason, transfer
        ack.addCtxItem(item)
    trailer = imp_sec_trailer(10, 6, 79231) if auth else b""
    return imp_header(ptype, 5, ack.getData(), sec_trailer=trailer,
                      auth_data=NTLM_NEGOTIATE[::-1] if auth else b"")


ITEMS_ONE = [(0, EPM, NDR)]
ITEMS_MANY = [(0, IFACE, NDR), (1, IFACE, NDR64), (2, EPM, NDR)]
RESULTS = [(0, 0, uuidtup_to_bin(NDR)), (2, 2, bytes(20)), (2, 1, bytes(20))]


def our_results() -> tuple[ContextResult, ...]:
    return (ContextResult(transfer_syntax=c.NDR_SYNTAX),
            ContextResult(result=2, reason=2), ContextResult(result=2, reason=1))


CASES: dict[str, tuple[bytes, Pdu]] = {
    "bind": (imp_bind(11, ITEMS_ONE, False), our_bind(Bind, ITEMS_ONE, False)),
    "bind multi": (imp_bind(11, ITEMS_MANY, False), our_bind(Bind, ITEMS_MANY, False)),
    "bind ntlm": (imp_bind(11, ITEMS_ONE, True), our_bind(Bind, ITEMS_ONE, True)),
    "alter_context": (imp_bind(14, ITEMS_MANY, True), our_bind(AlterContext, ITEMS_MANY, True)),
    "bind_ack": (imp_bind_ack(12, "135", RESULTS[:1], False), BindAck(
        call_id=5, assoc_group_id=0x1234, sec_addr="135", p_result_list=our_results()[:1])),
    "bind_ack multi ntlm": (imp_bind_ack(12, "10135", RESULTS, True), BindAck(
        call_id=5, assoc_group_id=0x1234, sec_addr="10135", p_result_list=our_results(),
        auth_verifier=AuthVerifier(auth_type=10, auth_level=6, auth_context_id=79231,
                                   auth_value=NTLM_NEGOTIATE[::-1]))),
    "alter_context_resp": (imp_bind_ack(15, "\\PIPE\\epmapper", RESULTS[:2], False),
                           AlterContextResp(call_id=5, assoc_group_id=0x1234,
                                            sec_addr="\\PIPE\\epmapper",
                                            p_result_list=our_results()[:2])),
}


def imp_request(stub: bytes, obj: uuid.UUID | None, auth: bool, pad: int = 0) -> bytes:
    req = r.MSRPCRequestHeader()
    req["flags"], req["call_id"], req["ctx_id"], req["op_num"] = 3, 9, 1, 7
    req["alloc_hint"] = len(stub)
    if obj is not None:
        req["flags"] |= r.PFC_OBJECT_UUID
        req["uuid"] = obj.bytes_le
    req["pduData"] = stub + b"\xbb" * pad
    if auth:
        req["sec_trailer"] = imp_sec_trailer(10, 5, 79232, pad)
        req["auth_data"] = SIGNATURE
    return req.get_packet()


def our_request(stub: bytes, obj: uuid.UUID | None, auth: bool, pad: int = 0) -> Request:
    av = AuthVerifier(auth_type=10, auth_level=5, auth_context_id=79232, auth_value=SIGNATURE,
                      auth_pad=b"\xbb" * pad) if auth else None
    return Request(call_id=9, alloc_hint=len(stub), p_cont_id=1, opnum=7, object=obj,
                   stub_data=stub, auth_verifier=av)


def imp_response(stub: bytes, auth: bool, pad: int = 0) -> bytes:
    resp = r.MSRPCRespHeader()
    resp["flags"], resp["call_id"], resp["ctx_id"], resp["cancel_count"] = 3, 9, 1, 1
    resp["alloc_hint"] = len(stub)
    resp["pduData"] = stub + b"\xbb" * pad
    if auth:
        resp["sec_trailer"] = imp_sec_trailer(10, 6, 79232, pad)
        resp["auth_data"] = SIGNATURE
    return resp.get_packet()


OBJ = uuid.UUID("00001234-0000-0000-aaaa-000000000001")
STUB = b"\x05\x00\x07\x00" + bytes(range(37))  # 41 octets: pad 3 (impacket's 4-alignment)
CASES.update({
    "request": (imp_request(STUB, None, False), our_request(STUB, None, False)),
    "request object": (imp_request(STUB, OBJ, False), our_request(STUB, OBJ, False)),
    "request signed": (imp_request(STUB, None, True, 3), our_request(STUB, None, True, 3)),
    "request object signed": (imp_request(STUB, OBJ, True, 3), our_request(STUB, OBJ, True, 3)),
    "request empty stub": (imp_request(b"", None, False), our_request(b"", None, False)),
    "response": (imp_response(STUB, False), Response(
        call_id=9, alloc_hint=len(STUB), p_cont_id=1, cancel_count=1, stub_data=STUB)),
    "response sealed": (imp_response(STUB, True, 3), Response(
        call_id=9, alloc_hint=len(STUB), p_cont_id=1, cancel_count=1, stub_data=STUB,
        auth_verifier=AuthVerifier(auth_type=10, auth_level=6, auth_context_id=79232,
                                   auth_value=SIGNATURE, auth_pad=b"\xbb" * 3))),
})


def imp_fault(status_code: int) -> bytes:
    f = r.MSRPCRespHeader()
    f["type"], f["flags"], f["call_id"], f["alloc_hint"] = r.MSRPC_FAULT, 0x23, 2, 32
    f["pduData"] = status_code.to_bytes(4, "little") + bytes(4)
    return f.get_packet()


def imp_bind_nak(reason: int, versions: bytes) -> bytes:
    nak = r.MSRPCBindNak()
    nak["RejectedReason"], nak["SupportedVersions"] = reason, versions
    return imp_header(r.MSRPC_BINDNAK, 1, nak.getData())


CASES.update({
    "fault": (imp_fault(status.nca_s_unk_if), Fault(call_id=2, pfc_flags=0x23,
                                                    status=status.nca_s_unk_if)),
    "bind_nak": (imp_bind_nak(4, b"\x02\x05\x00\x05\x01" + b"\x00"),
                 BindNak(call_id=1, provider_reject_reason=4, versions=((5, 0), (5, 1)))),
    "auth3": (imp_header(r.MSRPC_AUTH3, 5, b"    ", sec_trailer=imp_sec_trailer(10, 6, 79231),
                         auth_data=NTLM_NEGOTIATE),
              Auth3(call_id=5, pad=b"    ", auth_verifier=AuthVerifier(
                  auth_type=10, auth_level=6, auth_context_id=79231,
                  auth_value=NTLM_NEGOTIATE))),
    "shutdown": (imp_header(r.MSRPC_SHUTDOWN, 0, b""), Shutdown(call_id=0)),
    "co_cancel": (imp_header(r.MSRPC_CO_CANCEL, 9, b""), CoCancel(call_id=9)),
    "orphaned": (imp_header(r.MSRPC_ORPHANED, 9, b""), Orphaned(call_id=9)),
})


@pytest.mark.parametrize(("theirs", "ours"), CASES.values(), ids=CASES.keys())
def test_encoding_matches_impacket(theirs: bytes, ours: Pdu) -> None:
    assert ours.encode().hex() == theirs.hex()


@pytest.mark.parametrize(("theirs", "ours"), CASES.values(), ids=CASES.keys())
def test_decoder_parses_impacket_bytes(theirs: bytes, ours: Pdu) -> None:
    assert decode_pdu(theirs) == ours


def test_every_co_ptype_is_compared_with_impacket() -> None:
    assert {pdu.PTYPE for _, pdu in CASES.values()} == c.CO_PTYPES


# --------------------------------------------------------------------------- their parsers
def test_impacket_parses_our_bind_ack_and_alter_resp() -> None:
    for ptype, cls in ((12, BindAck), (15, AlterContextResp)):
        for sec_addr in ("", "135", "10135"):
            ours = cls(call_id=3, max_xmit_frag=4280, max_recv_frag=2048,
                       assoc_group_id=0x77, sec_addr=sec_addr, p_result_list=(
                           ContextResult(transfer_syntax=c.NDR_SYNTAX),
                           ContextResult(result=2, reason=1))).encode()
            head = r.MSRPCHeader(ours)
            ack = r.MSRPCBindAck(head.getData())
            assert head["type"] == ptype and head["frag_len"] == len(ours)
            assert (ack["max_tfrag"], ack["max_rfrag"], ack["assoc_group"]) == (4280, 2048, 0x77)
            assert (ack["SecondaryAddr"] or "") == sec_addr
            assert ack["ctx_num"] == 2
            assert ack.getCtxItem(1)["TransferSyntax"] == uuidtup_to_bin(NDR)
            assert (ack.getCtxItem(2)["Result"], ack.getCtxItem(2)["Reason"]) == (2, 1)


def test_impacket_parses_our_request_and_response() -> None:
    # (impacket's request parser mis-sizes the body when an object UUID is present, so
    # that case is covered by the encode comparison only.)
    req = our_request(STUB, None, True, 3).encode()
    parsed = r.MSRPCRequestHeader(req)
    assert (parsed["op_num"], parsed["ctx_id"], parsed["call_id"]) == (7, 1, 9)
    assert parsed["auth_data"] == SIGNATURE
    assert parsed["pduData"][:len(STUB)] == STUB
    resp = Response(call_id=4, p_cont_id=2, alloc_hint=len(STUB), stub_data=STUB).encode()
    parsed = r.MSRPCRespHeader(resp)
    assert parsed["pduData"] == STUB and parsed["call_id"] == 4 and parsed["ctx_id"] == 2


def test_impacket_parses_our_bind() -> None:
    ours = our_bind(Bind, ITEMS_MANY, False).encode()
    head = r.MSRPCHeader(ours)
    bind = r.MSRPCRelayBind(head["pduData"])
    assert bind["ctx_num"] == 3 and bind["assoc_group"] == 0x4242
    assert bind.getCtxItem(2)["AbstractSyntax"] == uuidtup_to_bin(IFACE)
    assert bind.getCtxItem(2)["TransferSyntax"] == uuidtup_to_bin(NDR64)


def test_decoder_accepts_impacket_empty_sec_addr_and_unpadded_bind_nak() -> None:
    ack = decode_pdu(imp_bind_ack(15, "", RESULTS[:1], False))
    assert isinstance(ack, AlterContextResp) and ack.sec_addr == ""
    nak = decode_pdu(imp_bind_nak(2, b"\x01\x05\x00"))
    assert isinstance(nak, BindNak)
    assert nak.provider_reject_reason is c.RejectReason.LOCAL_LIMIT_EXCEEDED
    assert nak.versions == ((5, 0),) and nak.signature is None
