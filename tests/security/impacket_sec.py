"""impacket as the third-party client of SecTest (sec.idl), NTLM at any level."""

from __future__ import annotations

from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.dtypes import LONG, LPWSTR, ULONG
from impacket.dcerpc.v5.ndr import NDRCALL, NDRUniConformantArray
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_WINNT, DCERPC_v5
from impacket.uuid import uuidtup_to_bin

SEC_IFACE = uuidtup_to_bin(("5b0e3c6a-91d2-4f0b-8e7a-2c4d6f8a1b3e", "1.0"))
AUX_IFACE = uuidtup_to_bin(("7d3f1a2b-6c4e-4a8d-9b1f-0e2c3d4a5b6c", "1.0"))


class BYTE_CARRAY(NDRUniConformantArray):
    item = "c"


class Echo(NDRCALL):
    opnum = 0
    structure = (("size", ULONG), ("data", BYTE_CARRAY))


class EchoResponse(NDRCALL):
    structure = (("echoed", BYTE_CARRAY), ("ErrorCode", LONG))


class WhoAmI(NDRCALL):
    opnum = 1
    structure = ()


class WhoAmIResponse(NDRCALL):
    structure = (("principal", LPWSTR), ("level", ULONG), ("ErrorCode", LONG))


class Ping(NDRCALL):
    opnum = 0
    structure = (("cookie", ULONG),)


class PingResponse(NDRCALL):
    structure = (("principal", LPWSTR), ("ErrorCode", LONG))


def ping(dce: DCERPC_v5, cookie: int) -> tuple[int, str]:
    req = Ping()
    req["cookie"] = cookie
    resp = dce.request(req, checkError=False)
    return resp["ErrorCode"] & 0xFFFFFFFF, resp["principal"].rstrip("\x00")


def connect(port: int, user: str, password: str, domain: str, level: int) -> DCERPC_v5:
    """An impacket session authenticated with NTLM at ``level`` and bound to SecTest."""
    rpc = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    dce = rpc.get_dce_rpc()
    # set_credentials() silently sets CONNECT: set the level after it (protocol-digest §8.3).
    dce.set_credentials(user, password, domain)
    dce.set_auth_type(RPC_C_AUTHN_WINNT)
    dce.set_auth_level(level)
    dce.connect()
    dce.bind(SEC_IFACE)
    return dce


def echo(dce: DCERPC_v5, data: bytes) -> bytes:
    req = Echo()
    req["size"] = len(data)
    req["data"] = list(data)
    return b"".join(dce.request(req)["echoed"])


def whoami(dce: DCERPC_v5) -> tuple[str, int]:
    resp = dce.request(WhoAmI())
    return resp["principal"].rstrip("\x00"), resp["level"]
