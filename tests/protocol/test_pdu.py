"""PDU codec: byte-exact vectors, round trips and every malformed-input error."""

from __future__ import annotations

import dataclasses
import struct
import uuid

import pytest

from dcerpc import status
from dcerpc.errors import LocalProtocolError, RemoteProtocolError
from dcerpc.protocol import constants as c
from dcerpc.protocol.pdu import (
    PDU_CLASSES,
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


def h(text: str) -> bytes:
    """Hex with spaces and '|' separators, as protocol-digest §1.13 writes it."""
    return bytes.fromhex(text.replace("|", " "))


IFACE = c.SyntaxId.make("9f3c2a51-7d4e-4b8a-a1c2-5e6f7a8b9c0d", 1, 0)
NDR20_WIRE = "045d888aeb1cc9119fe808002b104860 02000000"

# --------------------------------------------------------------------------- digest §1.13
BIND_72 = h("""05 00 0b 03 10000000 4800 0000 01000000 | b810 b810 00000000 | 01 00 0000 |
0000 01 00  512a3c9f4e7d8a4ba1c25e6f7a8b9c0d 01000000  045d888aeb1cc9119fe808002b104860 02000000""")
BIND_ACK_60 = h("""05 00 0c 03 10000000 3c00 0000 01000000 | b810 b810 34120000 |
0600 3130313335 00 | 01 00 0000 | 0000 0000 045d888aeb1cc9119fe808002b104860 02000000""")
BIND_ACK_REJECT_TAIL = h(
    "01 000000 0200 0100 0000000000000000000000000000000000000000")
ALTER_RESP_56 = h("05000f03 10000000 3800 0000 03000000 b810b810 34120000 0000 0000 01000000"
                  " 0000 0000 " + NDR20_WIRE)
CID = bytes(range(0xA0, 0xB0))
ORPC_REQUEST_76 = h("""05 00 00 83 10000000 4c00 0000 01000000 | 24000000 0000 0300 |
34120000 0000 0000 aaaa 000000000001 |
0500 0700 00000000 00000000""") + CID + h("00000000 | 15000000")
FAULT_32 = h("05 00 03 23 10000000 2000 0000 02000000 20000000 0000 00 00 0200011c 00000000")


def test_digest_bind_vector() -> None:
    pdu = Bind(call_id=1, max_xmit_frag=4280, max_recv_frag=4280,
               p_context_elem=(ContextElement(p_cont_id=0, abstract_syntax=IFACE),))
    assert pdu.encode() == BIND_72
    assert decode_pdu(BIND_72) == pdu
    assert pdu.frag_length == 72 and pdu.n_context_elem == 1


def test_digest_bind_ack_vector() -> None:
    pdu = BindAck(call_id=1, max_xmit_frag=4280, max_recv_frag=4280, assoc_group_id=0x1234,
                  sec_addr="10135",
                  p_result_list=(ContextResult(transfer_syntax=c.NDR_SYNTAX),))
    assert pdu.encode() == BIND_ACK_60
    decoded = decode_pdu(BIND_ACK_60)
    assert decoded == pdu
    assert isinstance(decoded, BindAck) and decoded.p_result_list[0].result == 0


def test_digest_bind_ack_rejection_tail() -> None:
    pdu = BindAck(call_id=1, max_xmit_frag=4280, max_recv_frag=4280, assoc_group_id=0x1234,
                  sec_addr="10135", p_result_list=(ContextResult(
                      result=c.ContDefResult.provider_rejection,
                      reason=c.ProviderReason.abstract_syntax_not_supported),))
    data = pdu.encode()
    assert data.endswith(BIND_ACK_REJECT_TAIL)
    res = decode_pdu(data).p_result_list[0]  # type: ignore[attr-defined]
    assert res.result is c.ContDefResult.provider_rejection
    assert res.reason is c.ProviderReason.abstract_syntax_not_supported
    assert res.transfer_syntax == c.NULL_SYNTAX


def test_digest_alter_context_resp_empty_sec_addr() -> None:
    pdu = AlterContextResp(call_id=3, max_xmit_frag=4280, max_recv_frag=4280,
                           assoc_group_id=0x1234,
                           p_result_list=(ContextResult(transfer_syntax=c.NDR_SYNTAX),))
    assert pdu.encode() == ALTER_RESP_56
    assert decode_pdu(ALTER_RESP_56) == pdu


def test_digest_orpc_request_with_object_uuid() -> None:
    ipid = uuid.UUID("00001234-0000-0000-aaaa-000000000001")
    stub = ORPC_REQUEST_76[40:]
    pdu = Request(call_id=1, alloc_hint=0x24, p_cont_id=0, opnum=3, object=ipid, stub_data=stub)
    assert pdu.pfc_flags == 0x83
    assert pdu.encode() == ORPC_REQUEST_76
    decoded = decode_pdu(ORPC_REQUEST_76)
    assert decoded == pdu
    assert isinstance(decoded, Request) and decoded.object == ipid and decoded.opnum == 3


def test_digest_fault_vector() -> None:
    pdu = Fault(call_id=2, pfc_flags=0x23, status=status.nca_s_op_rng_error)
    assert pdu.encode() == FAULT_32
    decoded = decode_pdu(FAULT_32)
    assert decoded == pdu
    assert isinstance(decoded, Fault) and decoded.did_not_execute


# --------------------------------------------------------------------------- round trips
VERIFIER = AuthVerifier(auth_type=c.AuthnType.RPC_C_AUTHN_WINNT,
                        auth_level=c.AuthnLevel.RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                        auth_context_id=79231, auth_value=b"\x01" * 16)
MULTI = (
    ContextElement(p_cont_id=0, abstract_syntax=IFACE,
                   transfer_syntaxes=(c.NDR_SYNTAX, c.NDR64_SYNTAX)),
    ContextElement(p_cont_id=1, abstract_syntax=IFACE, transfer_syntaxes=(c.NDR64_SYNTAX,)),
    ContextElement(p_cont_id=2, abstract_syntax=IFACE,
                   transfer_syntaxes=(c.bind_time_feature_syntax(3),)),
)
RESULTS = (
    ContextResult(transfer_syntax=c.NDR_SYNTAX),
    ContextResult(result=c.ContDefResult.provider_rejection,
                  reason=c.ProviderReason.proposed_transfer_syntaxes_not_supported),
    ContextResult(result=c.ContDefResult.negotiate_ack, reason=3),
)

SAMPLES: list[Pdu] = [
    Bind(call_id=7, p_context_elem=MULTI, assoc_group_id=0x55AA, auth_verifier=VERIFIER,
         pfc_flags=0x17),
    AlterContext(call_id=8, p_context_elem=MULTI[:1]),
    BindAck(call_id=7, sec_addr="135", p_result_list=RESULTS, auth_verifier=VERIFIER),
    BindAck(call_id=7, sec_addr="\\PIPE\\lsass", p_result_list=RESULTS[:1]),
    AlterContextResp(call_id=8, p_result_list=RESULTS[1:]),
    BindNak(call_id=1, provider_reject_reason=c.RejectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
            versions=((5, 0), (5, 1))),
    BindNak(call_id=1, versions=(), signature=c.EXTENDED_ERROR_SIGNATURE,
            extended_error=b"\x01\x02\x03"),
    Request(call_id=9, alloc_hint=5, p_cont_id=1, opnum=42, stub_data=b"hello",
            auth_verifier=VERIFIER),
    Request(call_id=9, pfc_flags=c.PFC_FIRST_FRAG, object=uuid.uuid4(), stub_data=b"x" * 33,
            auth_verifier=VERIFIER),
    Response(call_id=9, alloc_hint=3, p_cont_id=1, cancel_count=2, stub_data=b"abc",
             auth_verifier=VERIFIER),
    Fault(call_id=9, status=status.nca_s_fault_cancel, reserved=1, stub_data=b"\x00" * 8),
    Auth3(call_id=1, pad=b"    ", auth_verifier=VERIFIER),
    Shutdown(call_id=0),
    CoCancel(call_id=9, auth_verifier=VERIFIER),
    Orphaned(call_id=9, pfc_flags=c.PFC_LAST_FRAG),
]


@pytest.mark.parametrize("pdu", SAMPLES, ids=lambda p: type(p).__name__)
def test_round_trip(pdu: Pdu) -> None:
    data = pdu.encode()
    decoded = decode_pdu(data)
    assert type(decoded) is type(pdu)
    assert decoded.encode() == data
    assert struct.unpack_from("<H", data, 8)[0] == len(data)
    assert struct.unpack_from("<H", data, 10)[0] == pdu.auth_length
    assert decoded == pdu
    if pdu.auth_verifier is not None:
        assert pdu.auth_verifier.auth_pad is not None  # chosen at construction


@pytest.mark.parametrize("pdu", [p for p in SAMPLES if p.auth_verifier is not None],
                         ids=lambda p: type(p).__name__)
def test_sec_trailer_alignment_and_position(pdu: Pdu) -> None:
    data = pdu.encode()
    av = pdu.auth_verifier
    assert av is not None
    trailer = len(data) - av.auth_length - 8
    auth_type, level, pad_len, reserved, ctx = struct.unpack_from("<BBBBI", data, trailer)
    assert (auth_type, level, reserved, ctx) == (av.auth_type, av.auth_level, 0, 79231)
    if isinstance(pdu, Request | Response | Fault):
        stub_start = 24 + (16 if isinstance(pdu, Request) and pdu.object else 0)
        stub_start += 8 if isinstance(pdu, Fault) else 0
        # [MS-RPCE] 2.2.2.11: 16-aligned from the start of the stub.
        assert (trailer - stub_start) % 16 == 0
        assert pad_len == -len(pdu.stub_data) % 16  # type: ignore[attr-defined]
    else:
        assert trailer % 4 == 0


def test_explicit_auth_pad_is_kept_verbatim() -> None:
    av = AuthVerifier(auth_type=10, auth_level=6, auth_context_id=1, auth_value=b"sig" * 5,
                      auth_pad=b"\xbb\xbb\xbb")
    pdu = Request(call_id=1, stub_data=b"12345", auth_verifier=av)
    data = pdu.encode()
    assert data[24:32] == b"12345\xbb\xbb\xbb"
    assert data[34] == 3  # auth_pad_length
    assert decode_pdu(data) == pdu


def test_decode_strips_exactly_auth_pad_length() -> None:
    # 4-aligned padding, as impacket sends it: the decoder must not assume 16.
    av = AuthVerifier(auth_type=10, auth_level=5, auth_value=b"S" * 16, auth_pad=b"\xbb" * 3)
    data = Response(call_id=1, stub_data=b"12345", auth_verifier=av).encode()
    decoded = decode_pdu(data)
    assert isinstance(decoded, Response)
    assert decoded.stub_data == b"12345"
    assert decoded.auth_verifier is not None and decoded.auth_verifier.auth_pad_length == 3


def test_big_endian_pdus_decode_and_reencode() -> None:
    for pdu in SAMPLES:
        data = dataclasses.replace(pdu, packed_drep=c.DREP_BE).encode()
        assert data[4:8] == c.DREP_BE
        assert struct.unpack_from(">H", data, 8)[0] == len(data)
        decoded = decode_pdu(data)
        assert decoded.packed_drep == c.DREP_BE
        assert decoded.encode() == data


def test_big_endian_bind_vector_by_hand() -> None:
    # The digest's bind with integer fields and UUID Data1..3 big-endian (C706 §14.2.9).
    iface = IFACE.if_uuid.bytes.hex()
    ndr = c.NDR_SYNTAX.if_uuid.bytes.hex()
    data = h(f"05 00 0b 03 00000000 0048 0000 00000001 10b8 10b8 00000000 01 00 0000"
             f" 0000 01 00 {iface} 00000001 {ndr} 00000002")
    pdu = decode_pdu(data)
    assert isinstance(pdu, Bind)
    assert pdu.call_id == 1 and pdu.max_xmit_frag == 4280
    assert pdu.p_context_elem[0].abstract_syntax == IFACE
    assert pdu.p_context_elem[0].transfer_syntaxes == (c.NDR_SYNTAX,)
    assert pdu.encode() == data


def test_every_co_ptype_has_a_class() -> None:
    assert {cls.PTYPE for cls in PDU_CLASSES.values()} == c.CO_PTYPES
    for ptype, cls in PDU_CLASSES.items():
        assert ptype == cls.PTYPE
        assert cls().ptype == ptype


def test_request_object_flag_follows_object() -> None:
    assert Request(pfc_flags=0x83).pfc_flags == 0x03
    assert Request(object=uuid.UUID(int=1)).pfc_flags & c.PFC_OBJECT_UUID


def test_fault_extended_error_flag() -> None:
    assert Fault(reserved=c.RPC_FAULT_FLAG_EXTENDED_ERROR).extended_error_present
    assert not Fault().extended_error_present


def test_bind_nak_samba_shape() -> None:
    # Samba: reason + one version (5.0) + 3 pad octets = 24 (protocol-digest §1.7).
    data = BindNak(call_id=1).encode()
    assert len(data) == 24
    assert data[16:] == h("0000 01 05 00 000000")
    assert decode_pdu(data) == BindNak(call_id=1)


def test_bind_nak_signature_directly_after_versions() -> None:
    pdu = BindNak(versions=((5, 0),), signature=c.EXTENDED_ERROR_SIGNATURE, extended_error=b"E")
    data = pdu.encode()
    assert data[21:37] == c.EXTENDED_ERROR_SIGNATURE.bytes_le
    assert data[37:] == b"E"


def test_bind_time_feature_syntax() -> None:
    syntax = c.bind_time_feature_syntax(0x03)
    assert str(syntax.if_uuid) == "6cb71c2c-9812-4540-0300-000000000000"
    assert syntax.if_version == 1
    assert c.bind_time_features(syntax) == (
        c.BindTimeFeatures.SecurityContextMultiplexingSupported
        | c.BindTimeFeatures.KeepConnectionOnOrphanSupported)
    assert c.bind_time_features(c.NDR_SYNTAX) is None


def test_syntax_version_halves() -> None:
    s = c.SyntaxId.make(uuid.UUID(int=5), 3, 2)
    assert (s.major, s.minor, s.if_version) == (3, 2, 0x00020003)
    assert str(c.NDR64_SYNTAX).endswith("v1.0")


# --------------------------------------------------------------------------- encode errors
@pytest.mark.parametrize("pdu", [
    Request(call_id=-1),
    Request(call_id=1 << 32),
    Request(opnum=70000),
    Request(stub_data=bytes(70000)),
    Bind(p_context_elem=tuple(ContextElement(p_cont_id=i, abstract_syntax=IFACE)
                              for i in range(256))),
    BindNak(auth_verifier=VERIFIER),
    BindNak(extended_error=b"x"),
    Auth3(),
    Auth3(pad=b"12", auth_verifier=VERIFIER),
    Request(packed_drep=b"\x11\x00\x00\x00"),
    Request(packed_drep=b"\x10\x01\x00\x00"),
    Request(auth_verifier=AuthVerifier(auth_value=b"x", auth_pad=bytes(256))),
    Request(auth_verifier=AuthVerifier(auth_value=b"")),
    BindAck(sec_addr="\u20ac"),
])
def test_encode_rejects_unencodable_values(pdu: Pdu) -> None:
    with pytest.raises(LocalProtocolError):
        pdu.encode()


# --------------------------------------------------------------------------- decode errors
GOOD_REQUEST = Request(call_id=1, stub_data=b"abcd", auth_verifier=VERIFIER).encode()


def patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


def set_frag_length(data: bytes) -> bytes:
    return patch(data, 8, struct.pack("<H", len(data)))


MALFORMED = {
    "empty": b"",
    "short header": BIND_72[:15],
    "rpc_vers 4": patch(BIND_72, 0, b"\x04"),
    "rpc_vers_minor 2": patch(BIND_72, 1, b"\x02"),
    "unknown ptype": patch(BIND_72, 2, b"\x63"),
    "connectionless ptype": patch(BIND_72, 2, b"\x01"),
    "rts ptype": patch(BIND_72, 2, b"\x14"),
    "EBCDIC drep": patch(BIND_72, 4, b"\x11"),
    "VAX float drep": patch(BIND_72, 5, b"\x01"),
    "bad int rep": patch(BIND_72, 4, b"\x20"),
    "frag_length < header": patch(BIND_72, 8, b"\x08\x00"),
    "frag_length > data": patch(BIND_72, 8, b"\x49\x00"),
    "frag_length < data": BIND_72 + b"\x00",
    "truncated bind": set_frag_length(BIND_72[:60]),
    "n_context_elem too big": patch(BIND_72, 24, b"\xff"),
    "n_transfer_syn too big": patch(BIND_72, 30, b"\x09"),
    "bind body too short": set_frag_length(BIND_72[:20]),
    "sec_addr overflow": patch(BIND_ACK_60, 24, b"\xff\x00"),
    "sec_addr not NUL terminated": patch(BIND_ACK_60, 31, b"x"),
    "n_results too big": patch(BIND_ACK_60, 32, b"\x05"),
    "request shorter than its header": set_frag_length(GOOD_REQUEST[:20]),
    "object flag without object": patch(Request(call_id=1).encode(), 3, b"\x83"),
    "auth_length > frag_length": patch(GOOD_REQUEST, 10, b"\xff\x00"),
    "auth_length reaches header": patch(GOOD_REQUEST, 10, struct.pack(
        "<H", len(GOOD_REQUEST) - 8 - 16 + 1)),
    "auth_pad_length reaches header": patch(GOOD_REQUEST, len(GOOD_REQUEST) - 16 - 8 + 2,
                                            b"\xff"),
    "fault too short": set_frag_length(FAULT_32[:28]),
    "auth3 without verifier": set_frag_length(
        patch(Auth3(call_id=1, auth_verifier=VERIFIER).encode()[:20], 10, b"\0\0")),
    "bind_nak versions overflow": set_frag_length(patch(BindNak().encode(), 18, b"\x09")),
    "bind_nak truncated": set_frag_length(BindNak().encode()[:17]),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_raises_remote_protocol_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_pdu(data)
    assert str(info.value)  # a message, not just a status name
    assert info.value.status == status.RPC_S_PROTOCOL_ERROR


def test_auth3_with_zero_auth_length() -> None:
    data = set_frag_length(h("05 00 10 03 10000000 0000 0000 01000000 20202020"))
    with pytest.raises(RemoteProtocolError, match="auth_length 0"):
        decode_pdu(data)


def test_error_messages_name_the_field() -> None:
    with pytest.raises(RemoteProtocolError, match="rpc_vers 4"):
        decode_pdu(MALFORMED["rpc_vers 4"])
    with pytest.raises(RemoteProtocolError, match="n_context_elem=255"):
        decode_pdu(MALFORMED["n_context_elem too big"])
    with pytest.raises(RemoteProtocolError, match="sec_addr"):
        decode_pdu(MALFORMED["sec_addr overflow"])
    with pytest.raises(RemoteProtocolError, match="character representation"):
        decode_pdu(MALFORMED["EBCDIC drep"])
    with pytest.raises(RemoteProtocolError, match=r"PTYPE 1 \(ping\)"):
        decode_pdu(MALFORMED["connectionless ptype"])


def test_tolerated_oddities() -> None:
    # rpc_vers_minor 1, the reserved flag bit and trailing octets after a bind's context
    # list are accepted (protocol-digest §1.1, §1.3; Samba's NDR_REMAINING).
    data = set_frag_length(patch(patch(BIND_72, 1, b"\x01"), 3, b"\x0b") + b"\x00" * 4)
    pdu = decode_pdu(data)
    assert isinstance(pdu, Bind) and pdu.rpc_vers_minor == 1
    assert pdu.pfc_flags & c.PFC_RESERVED_1
    assert decode_pdu(BIND_72[:16] + BIND_72[16:]) == decode_pdu(bytearray(BIND_72))
    unknown = decode_pdu(patch(BIND_ACK_60, 32 + 4, b"\x07\x00\x09\x00"))
    assert unknown.p_result_list[0].result == 7  # type: ignore[attr-defined]
