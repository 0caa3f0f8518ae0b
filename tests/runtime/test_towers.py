"""Protocol towers, byte-exact against impacket's EPM floor classes (C706 appendix L)."""

from __future__ import annotations

import socket
import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impacket.dcerpc.v5 import epm as iepm

from dcerpc.errors import NdrError
from dcerpc.ndr import types as t
from dcerpc.protocol.constants import NDR64_SYNTAX, NDR_SYNTAX, SyntaxId
from dcerpc.runtime.binding import StringBinding
from dcerpc.runtime.towers import (
    Floor,
    as_syntax,
    decode_floors,
    decode_tower,
    encode_floors,
    encode_tower,
)

IFACE = SyntaxId.make("12345678-1234-abcd-ef00-0123456789ab", 1, 2)


def impacket_tower(iface: SyntaxId, transport_floors: bytes,
                   transfer: SyntaxId = NDR_SYNTAX, n: int = 5) -> bytes:
    i = iepm.EPMRPCInterface()
    i["InterfaceUUID"] = iface.if_uuid.bytes_le
    i["MajorVersion"], i["MinorVersion"] = iface.major, iface.minor
    d = iepm.EPMRPCDataRepresentation()
    d["DataRepUuid"] = transfer.if_uuid.bytes_le
    d["MajorVersion"], d["MinorVersion"] = transfer.major, transfer.minor
    p = iepm.EPMProtocolIdentifier()
    p["ProtIdentifier"] = iepm.FLOOR_RPCV5_IDENTIFIER
    tower = iepm.EPMTower()
    tower["NumberOfFloors"] = n
    tower["Floors"] = i.getData() + d.getData() + p.getData() + transport_floors
    return tower.getData()


def tcp_floors(port: int, ip: str) -> bytes:
    pa = iepm.EPMPortAddr()
    pa["IpPort"] = port
    h = iepm.EPMHostAddr()
    h["Ip4addr"] = socket.inet_aton(ip)
    return pa.getData() + h.getData()


def np_floors(pipe: str, host: str) -> bytes:
    pn = iepm.EPMPipeName()
    pn["PipeName"] = pipe.encode() + b"\0"
    hn = iepm.EPMHostName()
    hn["HostName"] = host.encode() + b"\0"
    return pn.getData() + hn.getData()


# --------------------------------------------------------------------------- byte-exact
@pytest.mark.parametrize(("port", "ip"), [(4747, "10.1.2.3"), (0, "0.0.0.0"), (65535, "127.0.0.1")])
def test_tcp_tower_matches_impacket(port: int, ip: str) -> None:
    ours = encode_tower(IFACE, StringBinding("ncacn_ip_tcp", ip, str(port)))
    assert ours == impacket_tower(IFACE, tcp_floors(port, ip))


def test_tcp_port_is_big_endian_and_floor_order_fixed() -> None:
    ours = encode_tower(IFACE, "ncacn_ip_tcp:10.0.0.1[4660]")
    floors = decode_floors(ours)
    assert [f.protocol_id for f in floors] == [0x0D, 0x0D, 0x0B, 0x07, 0x09]
    assert floors[3].rhs == b"\x12\x34"
    assert floors[0].lhs == b"\x0d" + IFACE.if_uuid.bytes_le + b"\x01\x00"
    assert floors[0].rhs == b"\x02\x00"


def test_named_pipe_tower_matches_impacket() -> None:
    sb = StringBinding("ncacn_np", "\\\\SERVER", "\\PIPE\\lsass")
    ours = encode_tower(IFACE, sb)
    assert ours == impacket_tower(IFACE, np_floors("\\PIPE\\lsass", "\\\\SERVER"))


def test_hept_map_query_tower_decodes() -> None:
    # what impacket's hept_map sends for ncacn_np: pipe "\0", host name NUL-terminated
    pn = iepm.EPMPipeName()
    pn["PipeName"] = b"\x00"
    hn = iepm.EPMHostName()
    hn["HostName"] = b"somehost\x00"
    tower = decode_tower(impacket_tower(IFACE, pn.getData() + hn.getData()))
    assert tower.protseq == "ncacn_np"
    assert (tower.endpoint, tower.network_addr) == ("", "somehost")
    assert tower.interface == IFACE and tower.transfer_syntax == NDR_SYNTAX


@pytest.mark.parametrize(("port", "ip"), [(135, "192.168.1.20"), (49152, "0.0.0.0")])
def test_decode_impacket_tcp_tower(port: int, ip: str) -> None:
    tower = decode_tower(impacket_tower(IFACE, tcp_floors(port, ip)))
    assert tower.binding == StringBinding("ncacn_ip_tcp", ip, str(port))
    assert tower.protocol_ids == (0x0B, 0x07, 0x09)


def test_our_tower_parses_in_impacket() -> None:
    data = encode_tower(IFACE, "ncacn_ip_tcp:10.9.8.7[5000]", NDR64_SYNTAX)
    tower = iepm.EPMTower(data)
    assert tower["NumberOfFloors"] == 5
    assert str(tower["Floors"][0]) == f"{str(IFACE.if_uuid).upper()} v1.2"
    assert str(tower["Floors"][1]) == f"{str(NDR64_SYNTAX.if_uuid).upper()} v1.0"
    assert iepm.PrintStringBinding(tower["Floors"]) == "ncacn_ip_tcp:10.9.8.7[5000]"
    assert iepm.EPMPortAddr(tower["Floors"][3].getData())["IpPort"] == 5000


@pytest.mark.parametrize("text", [
    "ncalrpc:[my-endpoint]",
    "ncacn_http:10.0.0.2[593]",
    "ncadg_ip_udp:10.0.0.3[1234]",
    "ncacn_unix_stream:[/run/x.sock]",
    "ncacn_np:\\\\\\\\HOST[\\\\pipe\\\\svc]",
])
def test_binding_round_trip(text: str) -> None:
    sb = StringBinding.parse(text)
    tower = decode_tower(encode_tower(IFACE, sb))
    assert tower.binding == sb
    assert tower.interface == IFACE


def test_ncalrpc_floors() -> None:
    data = encode_tower(IFACE, "ncalrpc:[LRPC-1234]")
    floors = decode_floors(data)
    assert [f.protocol_id for f in floors] == [0x0D, 0x0D, 0x0C, 0x10]
    assert floors[3].rhs == b"LRPC-1234\0"


def test_host_name_goes_out_as_zero_address() -> None:
    tower = decode_tower(encode_tower(IFACE, "ncacn_ip_tcp:example.org[80]"))
    assert (tower.network_addr, tower.endpoint) == ("0.0.0.0", "80")


def test_as_syntax_accepts_model_and_pairs() -> None:
    iface = t.Interface("X", IFACE.if_uuid, (1, 2))
    assert as_syntax(iface) == IFACE
    assert as_syntax((str(IFACE.if_uuid), (1, 2))) == IFACE
    with pytest.raises(ValueError, match="not an interface"):
        as_syntax(42)


def test_floors_round_trip() -> None:
    floors = [Floor(b"\x0b", b"\x00\x00"), Floor(b"\x07", b"\x00\x87")]
    assert decode_floors(encode_floors(floors)) == floors


# --------------------------------------------------------------------------- errors
GOOD = encode_tower(IFACE, "ncacn_ip_tcp:1.2.3.4[99]")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "no floor count"),
    (b"\x00\x00", "floor count 0"),
    (b"\xff\x00", "out of range"),
    (GOOD[:-1], "claims 4 octets"),
    (GOOD[:3], "truncated"),
    (GOOD + b"\x00", "after the last tower floor"),
    (b"\x01\x00\x00\x00\x00\x00", "empty lhs"),
    (encode_floors([Floor(b"\x0b", b"")] * 3), "not a UUID floor"),
])
def test_bad_towers_raise_ndr_error(data: bytes, message: str) -> None:
    with pytest.raises(NdrError, match=message):
        decode_tower(data)


def test_too_few_floors() -> None:
    floors = decode_floors(GOOD)[:2]
    with pytest.raises(NdrError, match="at least 3"):
        decode_tower(encode_floors(floors))


def test_bad_address_floors() -> None:
    floors = decode_floors(GOOD)
    bad_port = [*floors[:3], Floor(b"\x07", b"\x01"), *floors[4:]]
    with pytest.raises(NdrError, match="port floor"):
        decode_tower(encode_floors(bad_port))
    bad_ip = [*floors[:4], Floor(b"\x09", b"\x01\x02")]
    with pytest.raises(NdrError, match="IPv4 floor"):
        decode_tower(encode_floors(bad_ip))


def test_unknown_protocol_decodes_without_protseq() -> None:
    floors = [*decode_floors(GOOD)[:2], Floor(b"\x0b", b"\0\0"), Floor(b"\x42", b"zz")]
    tower = decode_tower(encode_floors(floors))
    assert tower.protseq is None
    with pytest.raises(NdrError, match="no protocol sequence"):
        _ = tower.binding


def test_encode_errors() -> None:
    with pytest.raises(NdrError, match="no tower encoding"):
        encode_tower(IFACE, "ncacn_foo:x[1]")
    with pytest.raises(NdrError, match="cannot put"):
        encode_tower(IFACE, StringBinding("ncacn_ip_tcp", "1.2.3.4", "70000"))
    with pytest.raises(NdrError, match="cannot be encoded"):
        encode_floors([Floor(b"", b"")])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_garbage_never_escapes_as_other_errors(data: bytes) -> None:
    try:
        tower = decode_tower(data)
    except NdrError:
        return
    assert tower.encode() == data  # what decodes is exactly the octets given


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5), st.binary(max_size=4))
def test_mutated_tower_only_raises_ndr_error(cut: int, junk: bytes) -> None:
    data = GOOD[: len(GOOD) - cut] + junk
    try:
        tower = decode_tower(data)
    except NdrError:
        return
    assert tower.interface == IFACE


def test_struct_layout_sanity() -> None:
    # floor count and the lengths are little-endian, the port big-endian
    assert struct.unpack_from("<H", GOOD)[0] == 5
    assert decode_tower(GOOD).endpoint == "99"
    assert uuid.UUID(bytes_le=GOOD[5:21]) == IFACE.if_uuid
