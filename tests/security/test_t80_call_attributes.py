"""T80 (seed-semantics F69): ``RpcServerInqCallAttributes(RpcAsyncGetCallHandle(pAsync),
attrs)`` from a worker thread, outside the manager routine, while an ``[async]`` call is
pending: 0 with ``AuthenticationLevel`` equal to the client binding's level; 234
(ERROR_MORE_DATA) with a too-short principal-name buffer; 1702 once the call completed."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import dcerpc
import dcerpc.aio
import dcerpc.idl
from dcerpc import status as st
from dcerpc.auth import NTLM
from dcerpc.win32 import (
    RPC_CALL_ATTRIBUTES_V2,
    RPC_PROTSEQ_TCP,
    RPC_QUERY_CLIENT_PRINCIPAL_NAME,
    RPC_QUERY_IS_CLIENT_LOCAL,
    RPC_QUERY_NO_AUTH_REQUIRED,
    RPC_QUERY_SERVER_PRINCIPAL_NAME,
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcServerInqCallAttributes,
    rcclClientUnknownLocality,
    rcsInProgress,
    rctNormal,
)

from .secsvc import DOMAIN, PASSWORD, USER, acceptors, run

HERE = Path(__file__).resolve().parent
isec = dcerpc.idl.load(HERE / "sec.idl", acf=HERE / "imp.acf")
PRINCIPAL = f"{DOMAIN}\\{USER}"


class Aux:
    """``[async] Ping``: a thread of our own inquires, then completes."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.done = threading.Event()

    def Ping(self, pAsync: Any, cookie: int) -> None:
        threading.Thread(target=self._worker, args=(pAsync, cookie)).start()

    def _worker(self, pAsync: Any, cookie: int) -> None:
        try:
            handle = RpcAsyncGetCallHandle(pAsync)
            full = RPC_CALL_ATTRIBUTES_V2(
                Flags=RPC_QUERY_CLIENT_PRINCIPAL_NAME | RPC_QUERY_SERVER_PRINCIPAL_NAME
                | RPC_QUERY_IS_CLIENT_LOCAL,
                ClientPrincipalNameBufferLength=256, ClientPrincipalName=bytearray(256),
                ServerPrincipalNameBufferLength=256, ServerPrincipalName=bytearray(256))
            self.seen.append(("full", RpcServerInqCallAttributes(handle, full), full))
            short = RPC_CALL_ATTRIBUTES_V2(
                Flags=RPC_QUERY_CLIENT_PRINCIPAL_NAME,
                ClientPrincipalNameBufferLength=4, ClientPrincipalName=bytearray(4))
            self.seen.append(("short", RpcServerInqCallAttributes(handle, short), short))
            RpcAsyncCompleteCall(pAsync, (cookie, ""))
            after = RPC_CALL_ATTRIBUTES_V2(Flags=RPC_QUERY_NO_AUTH_REQUIRED)
            self.seen.append(("after", RpcServerInqCallAttributes(handle, after), None))
        finally:
            self.done.set()


def _serve_and_call(level: str, auth: bool = True) -> Aux:
    aux = Aux()

    async def main() -> None:
        server = dcerpc.Server(auth=acceptors())
        server.register(isec.SecAux, aux)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        kw: dict[str, Any] = {"auth": NTLM(USER, PASSWORD, DOMAIN), "level": level} \
            if auth else {}
        async with server, dcerpc.aio.connect(server.bindings[0], isec.SecAux,
                                              **kw) as proxy:
            assert (await proxy.Ping(7))[0] == 7
            await asyncio.get_running_loop().run_in_executor(None, aux.done.wait, 10)

    run(main())
    return aux


@pytest.mark.parametrize(("level", "number"), [("connect", 2), ("integrity", 5),
                                               ("privacy", 6)])
def test_t80_worker_thread_inquires_the_pending_async_call(level: str, number: int) -> None:
    aux = _serve_and_call(level)
    (k1, s1, full), (k2, s2, short), (k3, s3, _) = aux.seen
    assert (k1, s1) == ("full", st.RPC_S_OK)
    assert full.AuthenticationLevel == number  # the client binding's level (T80)
    assert full.AuthenticationService == 10  # RPC_C_AUTHN_WINNT
    assert full.client_principal() == PRINCIPAL
    assert full.ClientPrincipalNameBufferLength == 2 * (len(PRINCIPAL) + 1)
    # pyspnego's initiator sends MsvAvTargetName "host/<hostname>" ([MS-NLMP] 2.2.2.1).
    assert (full.server_principal() or "").lower().startswith("host/")
    assert full.NullSession is False
    assert full.ProtocolSequence == RPC_PROTSEQ_TCP
    assert full.IsClientLocal == rcclClientUnknownLocality
    assert full.CallStatus == rcsInProgress and full.CallType == rctNormal
    assert full.OpNum == 0  # Ping
    assert full.InterfaceUuid == isec.SecAux.uuid
    # A too-short buffer: 234, the needed length set, the buffer untouched.
    assert (k2, s2) == ("short", st.ERROR_MORE_DATA)
    assert short.ClientPrincipalNameBufferLength == 2 * (len(PRINCIPAL) + 1)
    assert short.ClientPrincipalName == bytearray(4)
    assert short.AuthenticationLevel == number  # the rest is still filled
    # After Complete the handle is gone (F68 [D]).
    assert (k3, s3) == ("after", st.RPC_S_INVALID_BINDING)


def test_unauthenticated_call_needs_no_auth_required_flag() -> None:
    results: list[Any] = []

    class Probe(Aux):
        def _worker(self, pAsync: Any, cookie: int) -> None:
            handle = RpcAsyncGetCallHandle(pAsync)
            plain = RPC_CALL_ATTRIBUTES_V2()
            lenient = RPC_CALL_ATTRIBUTES_V2(Flags=RPC_QUERY_NO_AUTH_REQUIRED)
            results.append(RpcServerInqCallAttributes(handle, plain))
            results.append(RpcServerInqCallAttributes(handle, lenient))
            results.append((lenient.AuthenticationLevel, lenient.AuthenticationService))
            RpcAsyncCompleteCall(pAsync, (cookie, ""))
            self.done.set()

    aux = Probe()

    async def main() -> None:
        server = dcerpc.Server()
        server.register(isec.SecAux, aux)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        async with server, dcerpc.aio.connect(server.bindings[0], isec.SecAux) as proxy:
            assert (await proxy.Ping(3))[0] == 3
            await asyncio.get_running_loop().run_in_executor(None, aux.done.wait, 10)

    run(main())
    assert results == [st.RPC_S_BINDING_HAS_NO_AUTH, st.RPC_S_OK, (1, 0)]


def test_bad_handles_and_arguments() -> None:
    assert RpcServerInqCallAttributes(None, RPC_CALL_ATTRIBUTES_V2()) == \
        st.RPC_S_NO_CALL_ACTIVE
    assert RpcServerInqCallAttributes(object(), RPC_CALL_ATTRIBUTES_V2()) == \
        st.RPC_S_INVALID_BINDING
    binding = dcerpc.Binding("ncacn_ip_tcp:127.0.0.1[1]")
    assert RpcServerInqCallAttributes(binding, RPC_CALL_ATTRIBUTES_V2()) == \
        st.RPC_S_WRONG_KIND_OF_BINDING
