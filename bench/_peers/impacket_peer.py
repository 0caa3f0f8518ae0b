"""impacket's DCERPC client (``transport.DCERPCTransportFactory``) calling our server's
``Small`` (opnum 0: ``[in] unsigned long a, [in, string] wchar_t *s`` → ``long``).

impacket has no concurrent calls (one request, then its response, on one connection), so
only the sequential columns are measured; in flight and bulk are left out (None).
"""

from __future__ import annotations

from typing import Any

from impacket import uuid as imp_uuid
from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.dtypes import LONG, ULONG, WSTR
from impacket.dcerpc.v5.ndr import NDRCALL

from .common import Budget, Phases, Tally, seq_sync
from .ours import port_of

# bench/smallcall.idl: uuid(5b0c3f2e-9d4a-4c61-8f7e-2a1b6c3d4e5f), version(1.0)
IFACE = imp_uuid.uuidtup_to_bin(("5b0c3f2e-9d4a-4c61-8f7e-2a1b6c3d4e5f", "1.0"))


class Small(NDRCALL):
    # a top-level [in, string] wchar_t* is a [ref] pointer: no referent id on the wire,
    # just the conformant varying string (C706 §14.3.10, §14.3.4), which is WSTR
    opnum = 0
    structure = (("a", ULONG), ("s", WSTR))


class SmallResponse(NDRCALL):  # impacket finds it by name: <request class>Response
    structure = (("ReturnValue", LONG),)


def run(binding: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port_of(binding)}]")
    dce = t.get_dce_rpc()
    dce.connect()
    try:
        dce.bind(IFACE)

        def call(a: int, s: str) -> int:
            req = Small()
            req["a"] = a
            req["s"] = s + "\x00"  # WSTR does not add the terminator itself
            # checkError=False: impacket reads a non-zero last stub word as an error code,
            # but here it is Small's return value
            return int(dce.request(req, checkError=False)["ReturnValue"])

        ph = Phases()
        ph.run("seq", lambda: seq_sync(call, b, tally))
        ph.res["flight"] = {n: None for n in flights}
        return ph.res
    finally:
        dce.disconnect()
