"""impacket request/response classes for interop.idl, and the exchange both the impacket
test and the tshark test run (protocol-digest §8.2).

impacket looks a response class up as ``<Request>Response`` in the request's module,
so both live here. WSTR does not add the NUL terminator: callers append ``"\\x00"``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import Enum

from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.dtypes import LONG, LONGLONG, LPWSTR, ULONG, WSTR
from impacket.dcerpc.v5.ndr import (
    NDRCALL,
    NDRENUM,
    NDRPOINTER,
    NDRSTRUCT,
    NDRUNION,
    NDRUniConformantArray,
    NDRUniConformantVaryingArray,
    NDRUniVaryingArray,
)
from impacket.dcerpc.v5.rpcrt import DCERPC_v5, DCERPCException
from impacket.uuid import uuidtup_to_bin

TEST_UUID = "d575aa6b-7652-40b5-b124-7345543c2078"
AUX_UUID = "4c2b6822-52a0-44cb-8d28-1867025668ee"
TEST_IFACE = uuidtup_to_bin((TEST_UUID, "1.0"))
AUX_IFACE = uuidtup_to_bin((AUX_UUID, "2.1"))
UNKNOWN_IFACE = uuidtup_to_bin(("0b1f4b1e-8a7c-4f1e-9b7d-3c2e1a0f9e8d", "1.0"))

__all__ = ["AUX_IFACE", "TEST_IFACE", "UNKNOWN_IFACE", "Exchange", "connect", "exercise_all"]


# --------------------------------------------------------------------------- types
class POINT(NDRSTRUCT):
    structure = (("x", LONG), ("y", LONG))


class COLOR(NDRENUM):
    class enumItems(Enum):
        Red = 0
        Green = 1
        Blue = 2


class RECORD(NDRSTRUCT):
    structure = (("id", ULONG), ("name", LPWSTR), ("where", POINT), ("color", COLOR),
                 ("stamp", LONGLONG))


class VALUE(NDRUNION):
    commonHdr = (("tag", ULONG),)
    union = {1: ("number", LONG), 2: ("point", POINT), 3: ("text", LPWSTR)}


class LONG_CARRAY(NDRUniConformantArray):
    item = "<l"


class LONG_VARRAY(NDRUniVaryingArray):
    item = "<l"


class BYTE_CARRAY(NDRUniConformantArray):
    item = "c"


class BYTE_CVARRAY(NDRUniConformantVaryingArray):
    item = "c"


class ITEM(NDRSTRUCT):
    structure = (("name", LPWSTR), ("where", POINT))


class ITEM_CARRAY(NDRUniConformantArray):
    item = ITEM


class PLONG_FULL(NDRPOINTER):
    referent = (("Data", LONG),)


# --------------------------------------------------------------------------- InteropTest
class Add(NDRCALL):
    opnum = 0
    structure = (("a", LONG), ("b", LONG))


class AddResponse(NDRCALL):
    structure = (("ErrorCode", LONG),)


class Greet(NDRCALL):
    opnum = 1
    structure = (("name", WSTR), ("title", LPWSTR))


class GreetResponse(NDRCALL):
    structure = (("greeting", LPWSTR), ("ErrorCode", LONG))


class EchoRecord(NDRCALL):
    opnum = 2
    structure = (("rec", RECORD),)


class EchoRecordResponse(NDRCALL):
    structure = (("echoed", RECORD), ("ErrorCode", LONG))


class SumArray(NDRCALL):
    opnum = 3
    structure = (("count", ULONG), ("values", LONG_CARRAY))


class SumArrayResponse(NDRCALL):
    structure = (("total", LONGLONG), ("ErrorCode", LONG))


class SumWindow(NDRCALL):
    opnum = 4
    structure = (("used", ULONG), ("window", LONG_VARRAY))


class SumWindowResponse(NDRCALL):
    structure = (("total", LONG), ("ErrorCode", LONG))


class Fill(NDRCALL):
    opnum = 5
    structure = (("size", ULONG), ("value", "B"))


class FillResponse(NDRCALL):
    structure = (("used", ULONG), ("buffer", BYTE_CVARRAY), ("ErrorCode", LONG))


class Checksum(NDRCALL):
    opnum = 6
    structure = (("size", ULONG), ("data", BYTE_CARRAY))


class ChecksumResponse(NDRCALL):
    structure = (("sum", ULONG), ("ErrorCode", LONG))


class AddFull(NDRCALL):
    opnum = 7
    structure = (("a", PLONG_FULL), ("b", PLONG_FULL))


class AddFullResponse(NDRCALL):
    structure = (("sum", LONG), ("ErrorCode", LONG))


class Transform(NDRCALL):
    opnum = 8
    structure = (("kind", ULONG), ("value", VALUE))


class TransformResponse(NDRCALL):
    structure = (("outKind", ULONG), ("result", VALUE), ("ErrorCode", LONG))


class Tally(NDRCALL):
    opnum = 9
    structure = (("count", ULONG), ("items", ITEM_CARRAY))


class TallyResponse(NDRCALL):
    structure = (("sumX", LONG), ("names", LPWSTR), ("ErrorCode", LONG))


# --------------------------------------------------------------------------- InteropAux
class Ping(NDRCALL):
    opnum = 0
    structure = (("cookie", ULONG),)


class PingResponse(NDRCALL):
    structure = (("echoed", ULONG), ("ErrorCode", LONG))


# --------------------------------------------------------------------------- helpers
def connect(port: int, iface: bytes = TEST_IFACE) -> DCERPC_v5:
    """A connected impacket DCE/RPC v5 session bound to ``iface`` on 127.0.0.1:port."""
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    dce = rpc.get_dce_rpc()
    dce.connect()
    dce.bind(iface)
    return dce


def make_record(i: int, name: str) -> RECORD:
    rec = RECORD()
    rec["id"] = i
    rec["name"] = name + "\x00"
    rec["where"]["x"] = i * 10
    rec["where"]["y"] = -i
    rec["color"] = COLOR.enumItems.Blue.value
    rec["stamp"] = 1 << 40 | i
    return rec


def make_item(name: str, x: int) -> ITEM:
    item = ITEM()
    item["name"] = name + "\x00"
    item["where"]["x"] = x
    item["where"]["y"] = 0
    return item


def raw_fault(dce: DCERPC_v5, opnum: int, stub: bytes = b"") -> str:
    """Send a raw request and return the fault's status name (DCERPCException text)."""
    dce.call(opnum, stub)
    try:
        dce.recv()
    except DCERPCException as exc:
        return str(exc)
    raise AssertionError(f"opnum {opnum} did not fault")


@dataclass
class Exchange:
    """What :func:`exercise_all` did: PDU counts the tshark test expects to see."""

    binds: int = 0
    alter_contexts: int = 0
    requests: int = 0
    faults: list[str] = field(default_factory=list)
    fragmented_requests: int = 0
    fragmented_responses: int = 0


def exercise_all(port: int) -> Exchange:
    """Every construct once, asserting each result; returns what went over the wire."""
    ex = Exchange()
    dce = connect(port)
    ex.binds += 1

    req = Add()
    req["a"], req["b"] = 40, 2
    assert dce.request(req, checkError=False)["ErrorCode"] == 42
    ex.requests += 1

    req = Greet()
    req["name"] = "World\x00"
    req["title"] = "Dr.\x00"
    assert dce.request(req)["greeting"] == "Hello, Dr. World!\x00"
    ex.requests += 1

    req = EchoRecord()
    req["rec"] = make_record(3, "ada")
    resp = dce.request(req)["echoed"]
    assert (resp["id"], resp["name"], resp["where"]["x"], resp["stamp"]) == \
        (4, "ADA\x00", -3, -(1 << 40 | 3))
    ex.requests += 1

    req = SumArray()
    req["count"] = 5
    req["values"] = [1, -2, 3, 1 << 30, 1 << 30]
    assert dce.request(req)["total"] == 2 + (1 << 31)
    ex.requests += 1

    req = SumWindow()
    req["used"] = 3
    req["window"] = [5, 6, 7]
    assert dce.request(req)["total"] == 18
    ex.requests += 1

    req = AddFull()
    req["a"] = 5
    req["b"] = 7
    assert dce.request(req)["sum"] == 12
    ex.requests += 1

    req = Transform()
    req["kind"] = 1
    req["value"]["tag"] = 1
    req["value"]["number"] = 9
    resp = dce.request(req)
    assert resp["outKind"] == 2 and resp["result"]["tag"] == 2
    assert (resp["result"]["point"]["x"], resp["result"]["point"]["y"]) == (9, -9)
    ex.requests += 1

    req = Tally()
    req["count"] = 3
    req["items"] = [make_item("a", 1), make_item("bb", 20), make_item("ccc", 300)]
    resp = dce.request(req)
    assert (resp["sumX"], resp["names"]) == (321, "a,bb,ccc\x00")
    ex.requests += 1

    # A request larger than one fragment: impacket fragments at set_max_fragment_size.
    data = bytes(range(256)) * 40
    dce.set_max_fragment_size(1024)
    req = Checksum()
    req["size"] = len(data)
    req["data"] = list(data)
    assert dce.request(req)["sum"] == zlib.crc32(data)
    dce.set_max_fragment_size(-1)
    ex.requests += 1
    ex.fragmented_requests += 1

    # A response larger than impacket's max_recv_frag (4280): the server fragments it.
    req = Fill()
    req["size"] = 24000
    req["value"] = 7
    resp = dce.request(req)
    assert resp["used"] == 12000
    assert b"".join(resp["buffer"]) == bytes((7 + i) & 0xFF for i in range(12000))
    ex.requests += 1
    ex.fragmented_responses += 1

    aux = dce.alter_ctx(AUX_IFACE)
    ex.alter_contexts += 1
    req = Ping()
    req["cookie"] = 0x12345678
    assert aux.request(req)["echoed"] == 0x12345678 ^ 0xA5A5A5A5
    ex.requests += 1

    ex.faults.append(raw_fault(dce, 77))
    ex.requests += 1
    dce.set_ctx_id(9)  # a presentation context nobody negotiated
    ex.faults.append(raw_fault(dce, 0, b"\0" * 8))
    ex.requests += 1
    dce.disconnect()
    return ex

