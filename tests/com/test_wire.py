"""Base IDL, OBJREF/DUALSTRINGARRAY and activation blobs, checked against impacket."""

from __future__ import annotations

import os
import uuid

import pytest
from impacket.dcerpc.v5 import dcomrt

import dcerpc.idl
from dcerpc.com import hresult
from dcerpc.com._orpc import dcom_idl, orpc_interface, orpcthis
from dcerpc.com.actprops import (
    ActivationReply,
    ActivationRequest,
    decode_reply_blob,
    decode_request_blob,
    encode_reply_blob,
    encode_request_blob,
)
from dcerpc.com.objref import (
    DualStringArray,
    ObjRefStandard,
    SecurityBinding,
    StdObjRef,
    StringBinding,
    decode_objref,
)
from dcerpc.errors import NdrError
from dcerpc.ndr import encode, operation_codec


def test_base_idl_imports(tmp_path: str) -> None:
    path = os.path.join(str(tmp_path), "user.idl")
    with open(path, "w") as f:
        f.write('import "objidl.idl";\nimport "ms-dcom.idl";\n'
                "[object, uuid(7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6b09)]\n"
                "interface IUser : IClassFactory { HRESULT F([in] long a); }\n")
    mod = dcerpc.idl.load(path)
    (iface,) = mod.__interfaces__
    assert iface.operation("F").opnum == 5  # after IUnknown (3) and IClassFactory (2)
    m = dcom_idl()
    names = {i.name: i for i in m.__interfaces__}
    assert names["IRemUnknown"].operation("RemQueryInterface").opnum == 3
    assert names["IRemUnknown2"].operation("RemQueryInterface2").opnum == 6
    assert names["IRemoteSCMActivator"].operation("RemoteCreateInstance").opnum == 4
    assert names["IObjectExporter"].operation("ServerAlive2").opnum == 5
    assert str(names["IActivation"].uuid) == "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"


def test_orpc_framing_sizes() -> None:
    m = dcom_idl()
    assert len(encode(m.ORPCTHIS, orpcthis())) == 32  # protocol-digest §7.2
    wire = orpc_interface(m.IRemUnknown)
    codec = operation_codec(wire.operation("RemRelease"))
    stub = codec.encode_request([orpcthis(), 1, [m.REMINTERFACEREF(uuid.uuid4(), 5, 0)]])
    assert len(stub) == 32 + 2 + 2 + 4 + 24  # ORPCTHIS, count, pad, max_count, one ref
    resp = codec.encode_response((hresult.signed(hresult.E_FAIL),
                                  m.ORPCTHAT(flags=0, extensions=None)))
    assert resp == bytes(8) + (0x80004005).to_bytes(4, "little")


def test_objref_standard_matches_impacket() -> None:
    dsa = DualStringArray((StringBinding(7, "127.0.0.1[4747]"),),
                          (SecurityBinding(10, 0xFFFF, ""),))
    ref = ObjRefStandard(uuid.uuid4(), StdObjRef(0, 5, 0x1122334455667788, 42,
                                                 uuid.uuid4()), dsa)
    data = ref.pack()
    assert decode_objref(data) == ref
    theirs = dcomrt.OBJREF_STANDARD(data)
    assert theirs["std"]["oxid"] == 0x1122334455667788
    assert theirs["std"]["cPublicRefs"] == 5
    # impacket keeps saResAddr raw: wNumEntries, wSecurityOffset, entries
    res = bytes(theirs["saResAddr"])
    assert res == dsa.pack()
    assert int.from_bytes(res[2:4], "little") == len("127.0.0.1[4747]") + 3


@pytest.mark.parametrize("data", [b"", b"MEOW", b"XXXX" + bytes(60),
                                  b"MEOW\x01\x00\x00\x00" + bytes(16)])
def test_malformed_objref_is_typed_error(data: bytes) -> None:
    with pytest.raises(NdrError):
        decode_objref(data)


def test_request_blob_from_impacket_decodes() -> None:
    # impacket's own encoder (as DCOMConnection sends it), captured by a stub portmap
    clsid, iid = uuid.uuid4(), uuid.uuid4()
    sent: list[bytes] = []

    class Portmap:
        def bind(self, iface: bytes) -> None:
            pass

        def request(self, req: object) -> None:
            sent.append(bytes(req["pActProperties"]["abData"]))  # type: ignore[index]
            raise RuntimeError("captured")

    scm = dcomrt.IRemoteSCMActivator(Portmap())
    with pytest.raises(RuntimeError):
        scm.RemoteCreateInstance(clsid.bytes_le, iid.bytes_le)
    req = decode_request_blob(sent[0])
    assert req.clsid == clsid and req.iids == [iid] and req.requested_protseqs == [7]


def test_activation_blobs_round_trip_and_impacket_parses_reply() -> None:
    iid = uuid.uuid4()
    req = ActivationRequest(uuid.uuid4(), [iid, uuid.uuid4()])
    assert decode_request_blob(encode_request_blob(req)) == req
    std = StdObjRef(0, 5, 7, 8, uuid.uuid4())
    dsa = DualStringArray((StringBinding(7, "127.0.0.1[4747]"),))
    objref = ObjRefStandard(iid, std, dsa).pack()
    rep = ActivationReply([iid], [0], [objref], 7, dsa, uuid.uuid4())
    blob = encode_reply_blob(rep)
    assert decode_reply_blob(blob) == rep
    custom = dcomrt.OBJREF_CUSTOM(blob)
    act = dcomrt.ACTIVATION_BLOB(custom["pObjectData"])
    sizes = [s["Data"] for s in act["CustomHeader"]["pSizes"]]
    props = act["Property"]
    scm = dcomrt.ScmReplyInfoData()
    n = scm.fromString(props[sizes[0]:sizes[0] + sizes[1]])
    scm.fromStringReferents(props[sizes[0]:sizes[0] + sizes[1]][n:])
    assert scm["remoteReply"]["Oxid"] == 7
    assert scm["remoteReply"]["ipidRemUnknown"] == rep.ipid_rem_unknown.bytes_le
    out = dcomrt.PropsOutInfo()
    n = out.fromString(props[:sizes[0]])
    out.fromStringReferents(props[:sizes[0]][n:])
    assert b"".join(out["ppIntfData"][0]["abData"]) == objref
