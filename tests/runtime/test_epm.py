"""The endpoint mapper manager end to end through the NDR operation codecs.

impacket is the client: its ``epm`` request classes (and its ``hept_map``/``hept_lookup``
helpers, driven through a stand-in ``dce`` object) produce the request stub data; our
codec decodes it, the manager answers, our codec encodes the response and impacket parses
it. The stand-in plays the runtime's part for context handles (manager object ⇄ 20-byte
handle), as the server dispatcher will.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import pytest
from impacket.dcerpc.v5 import epm as iepm
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import DCERPCException, rpc_status_codes
from impacket.uuid import uuidtup_to_bin

from dcerpc.errors import NdrError, RpcError
from dcerpc.ndr import ContextHandleValue, operation_codec
from dcerpc.protocol.constants import NDR_SYNTAX, SyntaxId
from dcerpc.runtime import epm as E
from dcerpc.runtime.binding import StringBinding
from dcerpc.runtime.epm_client import map_request, resolve, resolve_async
from dcerpc.runtime.towers import decode_tower, encode_tower

M = E.epm_idl()
IFACE = SyntaxId.make("12345678-1234-abcd-ef00-0123456789ab", 1, 2)
OTHER = SyntaxId.make("99999999-1234-abcd-ef00-0123456789ab", 3, 0)
OBJ = uuid.UUID("11111111-2222-3333-4444-555555555555")


# --------------------------------------------------------------------------- harness
class Server:
    """Decode request → call the manager → encode the response, mapping context handles
    the way the runtime does (manager object ⇄ ContextHandleValue)."""

    def __init__(self, mgr: E.EndpointMapper) -> None:
        self.mgr = mgr
        self.by_uuid: dict[uuid.UUID, Any] = {}
        self.calls = 0

    def call(self, opnum: int, stub: bytes) -> bytes:
        self.calls += 1
        op = M.epm.operation(opnum)
        codec = operation_codec(op)
        args = codec.decode_request(stub)
        for i, p in enumerate(codec.in_params):
            if p.name == "entry_handle":
                h = args[i]
                args[i] = self.by_uuid[h.uuid] if h else None
        result = getattr(self.mgr, op.name)(*args)
        if codec.result_type is not None and "entry_handle" in codec.result_type._fields:
            result = result._replace(entry_handle=self._out_handle(result.entry_handle))
        return codec.encode_response(result)

    def _out_handle(self, obj: Any) -> ContextHandleValue:
        if obj is None:
            return ContextHandleValue()
        for key, value in self.by_uuid.items():
            if value is obj:
                return ContextHandleValue(0, key)
        key = uuid.uuid4()
        self.by_uuid[key] = obj
        return ContextHandleValue(0, key)


class FakeDce:
    """Just enough of impacket's DCERPC_v5 for its epm helpers (same error check as
    ``DCERPC_v5.request``: a non-zero last word raises)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def bind(self, iface: bytes) -> None:
        assert iface == iepm.MSRPC_UUID_PORTMAP

    def request(self, req: Any, uuid: Any = None, checkError: bool = True) -> Any:
        answer = self.server.call(req.opnum, req.getData())
        resp_class = getattr(sys.modules[req.__module__], type(req).__name__ + "Response")
        if answer[-4:] != b"\0\0\0\0" and checkError:
            code = int.from_bytes(answer[-4:], "little")
            assert code in rpc_status_codes
            raise DCERPCException(error_code=code)
        return resp_class(answer)

    def disconnect(self) -> None:
        pass


def iface_bin(s: SyntaxId) -> bytes:
    return uuidtup_to_bin((str(s.if_uuid), f"{s.major}.{s.minor}"))


@pytest.fixture
def mgr() -> E.EndpointMapper:
    m = E.EndpointMapper()
    E.register_server(m, ["ncacn_ip_tcp:127.0.0.1[4747]", "ncacn_np:\\\\\\\\SRV[\\\\pipe\\\\calc]"],
                      [IFACE], "calc service")
    E.register_server(m, ["ncacn_ip_tcp:127.0.0.1[5000]"], [OTHER], "other")
    return m


def map_req(iface: SyntaxId, port_tower: bytes | None = None, obj: uuid.UUID | None = None,
            max_towers: int = 4, handle: Any = None) -> Any:
    req = iepm.ept_map()
    octets = port_tower if port_tower is not None else encode_tower(iface, "ncacn_ip_tcp:")
    req["obj"] = NULL if obj is None else obj.bytes_le
    req["map_tower"]["tower_length"] = len(octets)
    req["map_tower"]["tower_octet_string"] = octets
    req["max_towers"] = max_towers
    if handle is not None:
        req["entry_handle"] = handle
    return req


# --------------------------------------------------------------------------- ept_map
def test_hept_map_tcp_returns_registered_port(mgr: E.EndpointMapper) -> None:
    dce = FakeDce(Server(mgr))
    binding = iepm.hept_map("127.0.0.1", iface_bin(IFACE), protocol="ncacn_ip_tcp", dce=dce)
    assert binding == "ncacn_ip_tcp:127.0.0.1[4747]"
    other = iepm.hept_map("10.0.0.9", iface_bin(OTHER), protocol="ncacn_ip_tcp", dce=dce)
    assert other == "ncacn_ip_tcp:10.0.0.9[5000]"


def test_hept_map_named_pipe(mgr: E.EndpointMapper) -> None:
    binding = iepm.hept_map("SRV", iface_bin(IFACE), dce=FakeDce(Server(mgr)))
    assert binding == "ncacn_np:SRV[\\pipe\\calc]"


def test_ept_map_response_shape(mgr: E.EndpointMapper) -> None:
    resp = FakeDce(Server(mgr)).request(map_req(IFACE))
    assert resp["num_towers"] == 1
    assert resp["entry_handle"].isNull()
    tower = iepm.EPMTower(b"".join(resp["ITowers"][0]["Data"]["tower_octet_string"]))
    assert iepm.EPMPortAddr(tower["Floors"][3].getData())["IpPort"] == 4747
    assert str(tower["Floors"][0]) == f"{str(IFACE.if_uuid).upper()} v1.2"


def test_ept_map_not_registered(mgr: E.EndpointMapper) -> None:
    dce = FakeDce(Server(mgr))
    unknown = SyntaxId.make(uuid.uuid4(), 1, 0)
    with pytest.raises(DCERPCException, match="ept_s_not_registered"):
        dce.request(map_req(unknown))
    resp = dce.request(map_req(unknown), checkError=False)
    assert resp["status"] == E.EPT_S_NOT_REGISTERED == 0x16C9A0D6
    assert resp["num_towers"] == 0
    assert resp["entry_handle"].isNull()


@pytest.mark.parametrize(("major", "minor", "found"), [
    (1, 0, True), (1, 2, True), (1, 3, False), (2, 2, False), (0, 2, False)])
def test_ept_map_version_rule(mgr: E.EndpointMapper, major: int, minor: int,
                              found: bool) -> None:
    want = SyntaxId.make(IFACE.if_uuid, major, minor)
    resp = FakeDce(Server(mgr)).request(map_req(want), checkError=False)
    assert (resp["num_towers"] == 1) is found
    assert resp["status"] == (0 if found else E.EPT_S_NOT_REGISTERED)


def test_ept_map_protocol_must_match(mgr: E.EndpointMapper) -> None:
    query = encode_tower(OTHER, "ncacn_np:\\\\\\\\SRV")  # OTHER is only on TCP
    resp = FakeDce(Server(mgr)).request(map_req(OTHER, query), checkError=False)
    assert resp["status"] == E.EPT_S_NOT_REGISTERED


def test_ept_map_object_then_nil_fallback() -> None:
    m = E.EndpointMapper()
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[1001]"], [IFACE], object_uuids=[OBJ])
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[1002]"], [IFACE])
    dce = FakeDce(Server(m))

    def ports(obj: uuid.UUID | None) -> list[int]:
        resp = dce.request(map_req(IFACE, obj=obj))
        return [decode_tower(b"".join(x["Data"]["tower_octet_string"])).endpoint
                for x in resp["ITowers"]]

    assert ports(OBJ) == ["1001", "1002"]  # the object's own first, then the nil ones
    assert ports(uuid.UUID(int=0)) == ["1002"]
    assert ports(None) == ["1002"]
    assert ports(uuid.uuid4()) == ["1002"]


def test_ept_map_max_towers_and_continuation() -> None:
    m = E.EndpointMapper()
    E.register_server(m, [f"ncacn_ip_tcp:1.2.3.4[{p}]" for p in range(2000, 2005)], [IFACE])
    server = Server(m)
    dce = FakeDce(server)
    got, handle, batches = [], None, []
    while True:
        resp = dce.request(map_req(IFACE, max_towers=2, handle=handle))
        batch = [decode_tower(b"".join(x["Data"]["tower_octet_string"])).endpoint
                 for x in resp["ITowers"]]
        assert resp["num_towers"] == len(batch) <= 2
        batches.append(len(batch))
        got += batch
        handle = resp["entry_handle"]
        if handle.isNull():
            break
    assert batches == [2, 2, 1]
    assert got == [str(p) for p in range(2000, 2005)]


def test_ept_map_max_towers_zero_and_bad_tower(mgr: E.EndpointMapper) -> None:
    server = Server(mgr)
    dce = FakeDce(server)
    resp = dce.request(map_req(IFACE, max_towers=0), checkError=False)
    assert (resp["status"], resp["num_towers"]) == (E.EPT_S_CANT_PERFORM_OP, 0)
    resp = dce.request(map_req(IFACE, port_tower=b"\x05\x00junk"), checkError=False)
    assert resp["status"] == E.EPT_S_NOT_REGISTERED


def test_ept_map_max_towers_out_of_range_is_bad_stub_data(mgr: E.EndpointMapper) -> None:
    with pytest.raises(NdrError):
        Server(mgr).call(3, map_req(IFACE, max_towers=501).getData())


# --------------------------------------------------------------------------- ept_lookup
def lookup_req(max_ents: int, handle: Any = None, inquiry: int = E.RPC_C_EP_ALL_ELTS,
               ifid: SyntaxId | None = None, vers: int = E.RPC_C_VERS_ALL,
               obj: uuid.UUID | None = None) -> Any:
    req = iepm.ept_lookup()
    req["inquiry_type"] = inquiry
    req["object"] = NULL if obj is None else obj.bytes_le
    if ifid is None:
        req["Ifid"] = NULL
    else:
        req["Ifid"]["Uuid"] = ifid.if_uuid.bytes_le
        req["Ifid"]["VersMajor"] = ifid.major
        req["Ifid"]["VersMinor"] = ifid.minor
    req["vers_option"] = vers
    req["max_ents"] = max_ents
    if handle is not None:
        req["entry_handle"] = handle
    return req


def test_hept_lookup_lists_everything(mgr: E.EndpointMapper) -> None:
    entries = iepm.hept_lookup(None, dce=FakeDce(Server(mgr)))
    assert len(entries) == 3
    strings = [iepm.PrintStringBinding(e["tower"]["Floors"]) for e in entries]
    assert strings == ["ncacn_ip_tcp:127.0.0.1[4747]", "ncacn_np:\\\\SRV[\\pipe\\calc]",
                       "ncacn_ip_tcp:127.0.0.1[5000]"]
    assert [e["annotation"][:-1] for e in entries] == [b"calc service", b"calc service",
                                                       b"other"]


def test_ept_lookup_continuation_over_several_calls() -> None:
    m = E.EndpointMapper()
    for i in range(5):
        E.register_server(m, [f"ncacn_ip_tcp:1.2.3.4[{3000 + i}]"], [IFACE], f"e{i}",
                          replace=False)
    server = Server(m)
    dce = FakeDce(server)
    seen, handle, sizes = [], None, []
    while True:
        resp = dce.request(lookup_req(2, handle))
        assert resp["status"] == 0
        sizes.append(resp["num_ents"])
        seen += [b"".join(e["annotation"]) for e in resp["entries"]]
        handle = resp["entry_handle"]
        if handle.isNull():
            break
    assert sizes == [2, 2, 1]
    assert seen == [f"e{i}\0".encode() for i in range(5)]
    assert server.calls == 3


def test_ept_lookup_empty_map_is_not_registered() -> None:
    resp = FakeDce(Server(E.EndpointMapper())).request(lookup_req(10), checkError=False)
    assert resp["status"] == E.EPT_S_NOT_REGISTERED
    assert resp["num_ents"] == 0 and resp["entry_handle"].isNull()


def test_ept_lookup_match_by_if_through_impacket(mgr: E.EndpointMapper) -> None:
    resp = FakeDce(Server(mgr)).request(
        lookup_req(10, inquiry=E.RPC_C_EP_MATCH_BY_IF, ifid=OTHER, vers=E.RPC_C_VERS_EXACT))
    assert resp["num_ents"] == 1
    tower = iepm.EPMTower(b"".join(resp["entries"][0]["tower"]["tower_octet_string"]))
    assert iepm.PrintStringBinding(tower["Floors"]) == "ncacn_ip_tcp:127.0.0.1[5000]"


def ifid(s: SyntaxId) -> Any:
    return M.rpc_if_id_t(uuid=s.if_uuid, vers_major=s.major, vers_minor=s.minor)


def lookup(m: E.EndpointMapper, inquiry: int, obj: Any = None, want: SyntaxId | None = None,
           vers: int = E.RPC_C_VERS_ALL) -> tuple[int, list[str]]:
    r = m.ept_lookup(inquiry, obj, ifid(want) if want else None, vers, None, 100)
    return r.status, [decode_tower(e.tower.tower_octet_string).endpoint for e in r.entries]


@pytest.fixture
def versions() -> E.EndpointMapper:
    m = E.EndpointMapper()
    for port, (major, minor) in zip(range(1, 6), [(1, 0), (1, 2), (1, 5), (2, 0), (0, 9)],
                                    strict=True):
        E.register_server(m, [f"ncacn_ip_tcp:1.1.1.1[{port}]"],
                          [SyntaxId.make(IFACE.if_uuid, major, minor)], replace=False)
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[6]"], [OTHER], object_uuids=[OBJ])
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[7]"], [IFACE], object_uuids=[OBJ])
    return m


@pytest.mark.parametrize(("vers", "ports"), [
    (E.RPC_C_VERS_ALL, ["1", "2", "3", "4", "5", "7"]),
    (E.RPC_C_VERS_COMPATIBLE, ["2", "3", "7"]),
    (E.RPC_C_VERS_EXACT, ["2", "7"]),
    (E.RPC_C_VERS_MAJOR_ONLY, ["1", "2", "3", "7"]),
    (E.RPC_C_VERS_UPTO, ["1", "2", "5", "7"]),
])
def test_lookup_version_options(versions: E.EndpointMapper, vers: int, ports: list[str]) -> None:
    want = SyntaxId.make(IFACE.if_uuid, 1, 2)
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_IF, want=want, vers=vers) == (0, ports)


def test_lookup_inquiry_types(versions: E.EndpointMapper) -> None:
    assert lookup(versions, E.RPC_C_EP_ALL_ELTS)[1] == [str(p) for p in range(1, 8)]
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_OBJ, obj=OBJ) == (0, ["6", "7"])
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_BOTH, obj=OBJ, want=OTHER) == (0, ["6"])
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_OBJ, obj=uuid.uuid4()) == (
        E.EPT_S_NOT_REGISTERED, [])
    assert lookup(versions, 9)[0] == E.EPT_S_CANT_PERFORM_OP
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_IF)[0] == E.EPT_S_CANT_PERFORM_OP  # no Ifid
    assert lookup(versions, E.RPC_C_EP_MATCH_BY_IF, want=IFACE, vers=77)[0] == \
        E.EPT_S_CANT_PERFORM_OP


# --------------------------------------------------------------------------- handles
def test_lookup_handle_free_and_stale_handles() -> None:
    m = E.EndpointMapper()
    E.register_server(m, [f"ncacn_ip_tcp:1.2.3.4[{p}]" for p in (1, 2, 3)], [IFACE])
    first = m.ept_lookup(E.RPC_C_EP_ALL_ELTS, None, None, E.RPC_C_VERS_ALL, None, 1)
    ctx = first.entry_handle
    assert isinstance(ctx, E.LookupContext) and first.num_ents == 1
    # a lookup handle is not an ept_map handle
    assert m.ept_map(None, None, ctx, 4).status == E.EPT_S_CANT_PERFORM_OP
    assert m.ept_lookup_handle_free(ctx) == (None, 0)
    again = m.ept_lookup(E.RPC_C_EP_ALL_ELTS, None, None, E.RPC_C_VERS_ALL, ctx, 1)
    assert (again.status, again.num_ents, again.entry_handle) == (E.EPT_S_CANT_PERFORM_OP, 0, None)
    assert m.ept_lookup_handle_free(None) == (None, 0)
    assert m.ept_lookup_handle_free(object()).status == E.EPT_S_CANT_PERFORM_OP


def test_lookup_handle_free_through_codec() -> None:
    m = E.EndpointMapper()
    E.register_server(m, [f"ncacn_ip_tcp:1.2.3.4[{p}]" for p in (1, 2)], [IFACE])
    server = Server(m)
    resp = FakeDce(server).request(lookup_req(1))
    assert not resp["entry_handle"].isNull()
    codec = operation_codec(M.epm.operation("ept_lookup_handle_free"))
    raw = resp["entry_handle"].getData()
    h = ContextHandleValue(int.from_bytes(raw[:4], "little"), uuid.UUID(bytes_le=raw[4:20]))
    out = codec.decode_response(server.call(4, codec.encode_request([h])))
    assert out.status == 0 and not out.entry_handle


# --------------------------------------------------------------------------- updates
def entry(obj: uuid.UUID, octets: bytes, annotation: str = "") -> Any:
    return M.ept_entry_t(object=obj, tower=M.twr_t(len(octets), octets), annotation=annotation)


def call(server: Server, name: str, *args: Any) -> Any:
    codec = operation_codec(M.epm.operation(name))
    return codec.decode_response(server.call(codec.op.opnum, codec.encode_request(list(args))))


def test_insert_delete_round_trip_through_codecs() -> None:
    m = E.EndpointMapper()
    server = Server(m)
    tower = encode_tower(IFACE, "ncacn_ip_tcp:10.0.0.1[6000]")
    assert call(server, "ept_insert", 1, [entry(OBJ, tower, "ins")], 0) == 0
    assert [(el.object, el.annotation) for el in m.elements] == [(OBJ, "ins")]
    assert m.ept_map(OBJ, M.twr_t(len(tower), tower), None, 4).num_towers == 1
    assert call(server, "ept_delete", 1, [entry(OBJ, tower)]) == 0
    assert m.elements == []
    assert call(server, "ept_delete", 1, [entry(OBJ, tower)]) == E.EPT_S_NOT_REGISTERED


def test_insert_rejects_bad_tower_atomically() -> None:
    m = E.EndpointMapper()
    good = encode_tower(IFACE, "ncacn_ip_tcp:10.0.0.1[6000]")
    status = m.ept_insert(2, [entry(OBJ, good), entry(OBJ, b"\x01\x00")], 0)
    assert status == E.EPT_S_INVALID_ENTRY
    assert m.elements == []


def test_insert_replace_semantics() -> None:
    m = E.EndpointMapper()
    old = encode_tower(SyntaxId.make(IFACE.if_uuid, 1, 0), "ncacn_ip_tcp:10.0.0.1[6000]")
    new = encode_tower(SyntaxId.make(IFACE.if_uuid, 1, 4), "ncacn_ip_tcp:10.0.0.1[6001]")
    assert m.ept_insert(1, [entry(OBJ, old, "a")], 0) == 0
    assert m.ept_insert(1, [entry(OBJ, new, "b")], 0) == 0
    assert len(m.elements) == 2
    assert m.ept_insert(1, [entry(OBJ, new, "c")], 1) == 0  # replaces both 1.x elements
    assert [(el.tower, el.annotation) for el in m.elements] == [(new, "c")]


def test_mgmt_delete_and_read_only() -> None:
    m = E.EndpointMapper()
    tower = encode_tower(IFACE, "ncacn_ip_tcp:10.0.0.1[6000]")
    m.insert([(OBJ, tower, ""), (None, tower, "")])
    twr = M.twr_t(len(tower), tower)
    assert m.ept_mgmt_delete(1, OBJ, twr) == 0
    assert [el.object for el in m.elements] == [E.NIL_UUID]
    assert m.ept_mgmt_delete(0, None, twr) == 0
    assert m.ept_mgmt_delete(0, None, twr) == E.EPT_S_NOT_REGISTERED
    assert m.ept_mgmt_delete(0, None, None) == E.EPT_S_INVALID_ENTRY
    ro = E.EndpointMapper(read_only=True)
    assert ro.ept_insert(1, [entry(OBJ, tower)], 0) == E.EPT_S_CANT_PERFORM_OP
    assert ro.ept_delete(1, [entry(OBJ, tower)]) == E.EPT_S_CANT_PERFORM_OP
    assert ro.ept_mgmt_delete(0, None, twr) == E.EPT_S_CANT_PERFORM_OP


def test_inq_object_and_annotation_limit() -> None:
    server = Server(E.EndpointMapper(OBJ))
    out = call(server, "ept_inq_object")
    assert (out.ept_object, out.status) == (OBJ, 0)
    m = E.EndpointMapper()
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[1]"], [IFACE], "x" * 100)
    assert m.elements[0].annotation == "x" * 63
    resp = FakeDce(Server(m)).request(lookup_req(5))
    assert len(b"".join(resp["entries"][0]["annotation"])) == 64  # 63 chars + NUL


def test_register_replaces_previous_endpoints() -> None:
    # RpcEpRegister semantics: a restarted server's new endpoint replaces the old one,
    # while one call may register several endpoints
    m = E.EndpointMapper()
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[1]", "ncacn_ip_tcp:1.1.1.1[2]"], [IFACE])
    assert len(m.elements) == 2
    E.register_server(m, ["ncacn_ip_tcp:1.1.1.1[3]"], [IFACE])
    assert [el.parsed.endpoint for el in m.elements] == ["3"]


def test_register_and_unregister_server() -> None:
    m = E.EndpointMapper()
    E.register_server(m, [StringBinding("ncacn_ip_tcp", "1.1.1.1", "7")], [IFACE, OTHER],
                      object_uuids=[OBJ, E.NIL_UUID])
    assert len(m.elements) == 4
    assert E.unregister_server(m, ["ncacn_ip_tcp:1.1.1.1[7]"], [OTHER],
                               object_uuids=[OBJ, E.NIL_UUID]) == 2
    assert {el.interface for el in m.elements} == {IFACE}
    with pytest.raises(ValueError, match="no endpoint"):
        E.register_server(m, ["ncacn_ip_tcp:1.1.1.1"], [IFACE])


# --------------------------------------------------------------------------- client
def invoker(server: Server) -> Any:
    def invoke(binding: str, interface: Any, operation: Any, args: list[Any]) -> Any:
        assert interface is M.epm and operation.name == "ept_map"
        invoke.targets.append(binding)  # type: ignore[attr-defined]
        codec = operation_codec(operation)
        return codec.decode_response(server.call(operation.opnum, codec.encode_request(args)))

    invoke.targets = []  # type: ignore[attr-defined]
    return invoke


def test_resolve_through_manager(mgr: E.EndpointMapper) -> None:
    invoke = invoker(Server(mgr))
    sb = resolve("ncacn_ip_tcp:127.0.0.1", IFACE, invoke=invoke)
    assert str(sb) == "ncacn_ip_tcp:127.0.0.1[4747]"
    assert invoke.targets == ["ncacn_ip_tcp:127.0.0.1[135]"]
    np = resolve("ncacn_np:\\\\\\\\SRV", IFACE, connect=invoke)
    assert np.endpoint == "\\pipe\\calc"
    assert invoke.targets[-1] == "ncacn_np:\\\\\\\\SRV[\\\\pipe\\\\epmapper]"
    assert resolve("ncacn_ip_tcp:h", OTHER, invoke=invoke, epm_port=10135).endpoint == "5000"
    assert invoke.targets[-1] == "ncacn_ip_tcp:h[10135]"


def test_resolve_keeps_bound_binding_and_object(mgr: E.EndpointMapper) -> None:
    invoke = invoker(Server(mgr))
    assert str(resolve("ncacn_ip_tcp:h[99]", IFACE, invoke=invoke)) == "ncacn_ip_tcp:h[99]"
    assert invoke.targets == []
    sb = resolve(f"{OBJ}@ncacn_ip_tcp:h", IFACE, invoke=invoke)  # falls back to nil object
    assert (sb.object_uuid, sb.endpoint) == (OBJ, "4747")
    assert map_request(f"{OBJ}@ncacn_ip_tcp:h", IFACE)[0] == OBJ


def test_resolve_not_registered(mgr: E.EndpointMapper) -> None:
    with pytest.raises(RpcError) as info:
        resolve("ncacn_ip_tcp:h", SyntaxId.make(uuid.uuid4(), 1, 0), invoke=invoker(Server(mgr)))
    assert info.value.status == 1753
    with pytest.raises(TypeError):
        resolve("ncacn_ip_tcp:h", IFACE)


def test_resolve_async(mgr: E.EndpointMapper) -> None:
    sync = invoker(Server(mgr))

    async def invoke(*a: Any) -> Any:
        return sync(*a)

    sb = asyncio.run(resolve_async("ncacn_ip_tcp:127.0.0.1", IFACE, invoke=invoke))
    assert sb.endpoint == "4747"


def test_map_request_encodes_like_hept_map() -> None:
    args = map_request("ncacn_ip_tcp:", IFACE, transfer_syntax=NDR_SYNTAX)
    assert args[0] == E.NIL_UUID and args[3] == 4 and not args[2]
    tower = decode_tower(args[1].tower_octet_string)
    assert (tower.interface, tower.endpoint, tower.network_addr) == (IFACE, "0", "0.0.0.0")
