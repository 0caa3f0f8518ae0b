"""impacket 0.13 as the third-party client of ``dcerpc serve`` over TCP (protocol-digest §8)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import DCERPC_v5, DCERPCException
from impacket.uuid import uuidtup_to_bin

from .impacket_calls import (
    AUX_IFACE,
    AUX_UUID,
    TEST_UUID,
    UNKNOWN_IFACE,
    Add,
    AddFull,
    Checksum,
    EchoRecord,
    Fill,
    Greet,
    Ping,
    SumArray,
    SumWindow,
    Tally,
    Transform,
    connect,
    exercise_all,
    make_item,
    make_record,
    raw_fault,
)
from .serving import Served

pytestmark = pytest.mark.interop


@pytest.fixture
def dce(served: Served) -> Iterator[DCERPC_v5]:
    d = connect(served.port)
    yield d
    d.disconnect()


def test_ints(dce: DCERPC_v5) -> None:
    req = Add()
    req["a"], req["b"] = -7, 50
    # The return value is the only stub word; checkError=False keeps impacket from
    # reading a non-zero last word as an error status.
    assert dce.request(req, checkError=False)["ErrorCode"] == 43


def test_strings_and_unique_pointer(dce: DCERPC_v5) -> None:
    req = Greet()
    req["name"] = "Grace\x00"
    req["title"] = "Rear Admiral\x00"
    assert dce.request(req)["greeting"] == "Hello, Rear Admiral Grace!\x00"
    req = Greet()
    req["name"] = "Grace\x00"
    req["title"] = NULL
    assert dce.request(req)["greeting"] == "Hello, Grace!\x00"


def test_struct_with_embedded_pointer_and_hyper(dce: DCERPC_v5) -> None:
    req = EchoRecord()
    req["rec"] = make_record(6, "lovelace")
    echoed = dce.request(req)["echoed"]
    assert echoed["id"] == 7
    assert echoed["name"] == "LOVELACE\x00"
    assert (echoed["where"]["x"], echoed["where"]["y"]) == (-6, 60)
    assert echoed["color"] == 2
    assert echoed["stamp"] == -(1 << 40 | 6)


def test_conformant_array(dce: DCERPC_v5) -> None:
    values = [i * 1000 - 3 for i in range(100)]
    req = SumArray()
    req["count"] = len(values)
    req["values"] = values
    assert dce.request(req)["total"] == sum(values)


def test_varying_array(dce: DCERPC_v5) -> None:
    req = SumWindow()
    req["used"] = 4
    req["window"] = [10, 20, 30, -5]
    assert dce.request(req)["total"] == 55


def test_conformant_varying_out_array(dce: DCERPC_v5) -> None:
    req = Fill()
    req["size"] = 10
    req["value"] = 0xFE
    resp = dce.request(req)
    assert resp["used"] == 5
    assert b"".join(resp["buffer"]) == bytes([0xFE, 0xFF, 0x00, 0x01, 0x02])


def test_array_of_structs_with_pointers(dce: DCERPC_v5) -> None:
    req = Tally()
    req["count"] = 2
    req["items"] = [make_item("left", 4), make_item("right", 5)]
    resp = dce.request(req)
    assert resp["sumX"] == 9
    assert resp["names"] == "left,right\x00"


@pytest.mark.parametrize(("a", "b", "expected"), [(5, 9, 14), (None, 9, -991), (None, None, -2000)])
def test_full_pointers(dce: DCERPC_v5, a: int | None, b: int | None, expected: int) -> None:
    req = AddFull()
    req["a"] = NULL if a is None else a
    req["b"] = NULL if b is None else b
    assert dce.request(req)["sum"] == expected


def test_union_arms(dce: DCERPC_v5) -> None:
    req = Transform()
    req["kind"] = 1
    req["value"]["tag"] = 1
    req["value"]["number"] = 21
    resp = dce.request(req)
    assert resp["outKind"] == 2 and resp["result"]["tag"] == 2
    assert (resp["result"]["point"]["x"], resp["result"]["point"]["y"]) == (21, -21)

    req = Transform()
    req["kind"] = 2
    req["value"]["tag"] = 2
    req["value"]["point"]["x"] = 3
    req["value"]["point"]["y"] = -4
    resp = dce.request(req)
    assert (resp["outKind"], resp["result"]["tag"], resp["result"]["text"]) == (3, 3, "3,-4\x00")

    req = Transform()
    req["kind"] = 3
    req["value"]["tag"] = 3
    req["value"]["text"] = "seven!!\x00"
    resp = dce.request(req)
    assert (resp["outKind"], resp["result"]["tag"], resp["result"]["number"]) == (1, 1, 7)


def test_request_larger_than_fragment(dce: DCERPC_v5) -> None:
    data = bytes((i * 7) & 0xFF for i in range(50_000))
    dce.set_max_fragment_size(2000)  # impacket splits the stub over ~26 request PDUs
    req = Checksum()
    req["size"] = len(data)
    req["data"] = list(data)
    assert dce.request(req)["sum"] == zlib.crc32(data)


def test_response_larger_than_max_recv_frag(dce: DCERPC_v5) -> None:
    req = Fill()
    req["size"] = 40_000  # 20 000 bytes back; impacket's max_recv_frag is 4280
    req["value"] = 1
    resp = dce.request(req)
    assert resp["used"] == 20_000
    assert b"".join(resp["buffer"]) == bytes((1 + i) & 0xFF for i in range(20_000))


def test_alter_context_to_second_interface(dce: DCERPC_v5) -> None:
    aux = dce.alter_ctx(AUX_IFACE)
    req = Ping()
    req["cookie"] = 0xDEADBEEF
    assert aux.request(req)["echoed"] == 0xDEADBEEF ^ 0xA5A5A5A5
    # the first context still works on the same association
    req = Add()
    req["a"], req["b"] = 1, 2
    assert dce.request(req, checkError=False)["ErrorCode"] == 3


def test_unknown_opnum_faults(dce: DCERPC_v5) -> None:
    assert raw_fault(dce, 42) == "nca_s_op_rng_error"
    # the association survives a fault
    req = Add()
    req["a"], req["b"] = 2, 2
    assert dce.request(req, checkError=False)["ErrorCode"] == 4


def test_unknown_interface(served: Served, dce: DCERPC_v5) -> None:
    # a request on a presentation context that was never negotiated is faulted
    dce.set_ctx_id(5)
    assert raw_fault(dce, 0, b"\0" * 8) == "nca_s_unk_if"
    # binding an interface the server does not offer is refused
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{served.port}]")
    other = rpc.get_dce_rpc()
    other.connect()
    try:
        with pytest.raises(DCERPCException, match="abstract_syntax_not_supported"):
            other.bind(UNKNOWN_IFACE)
    finally:
        other.disconnect()


def _epm_dce(served: Served) -> DCERPC_v5:
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{served.epm_port}]")
    dce = rpc.get_dce_rpc()
    dce.connect()
    return dce


@pytest.mark.parametrize(("uuid", "version"), [(TEST_UUID, "1.0"), (AUX_UUID, "2.1")])
def test_epm_hept_map(served: Served, uuid: str, version: str) -> None:
    dce = _epm_dce(served)
    try:
        binding = epm.hept_map("127.0.0.1", uuidtup_to_bin((uuid, version)),
                               protocol="ncacn_ip_tcp", dce=dce)
    finally:
        dce.disconnect()
    assert binding == f"ncacn_ip_tcp:127.0.0.1[{served.port}]"


def test_epm_hept_map_unknown_interface(served: Served) -> None:
    dce = _epm_dce(served)
    try:
        with pytest.raises(DCERPCException, match="ept_s_not_registered"):
            epm.hept_map("127.0.0.1", UNKNOWN_IFACE, protocol="ncacn_ip_tcp", dce=dce)
    finally:
        dce.disconnect()


def test_epm_hept_lookup(served: Served) -> None:
    dce = _epm_dce(served)
    try:
        entries = epm.hept_lookup(None, dce=dce)
    finally:
        dce.disconnect()
    seen = set()
    for entry in entries:
        floors = entry["tower"]["Floors"]
        # rpcdump's way: str(floor 1) is "<uuid> v<major>.<minor>"
        seen.add((str(floors[0]).lower(), epm.PrintStringBinding(floors)))
        assert entry["annotation"] == b"dcerpc serve\x00"
    binding = f"ncacn_ip_tcp:127.0.0.1[{served.port}]"
    assert seen == {(f"{TEST_UUID} v1.0", binding), (f"{AUX_UUID} v2.1", binding)}


def test_whole_exchange(served: Served) -> None:
    ex = exercise_all(served.port)
    assert ex.faults == ["nca_s_op_rng_error", "nca_s_unk_if"]

