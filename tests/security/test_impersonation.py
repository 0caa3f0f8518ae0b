"""Impersonation (seed-semantics §6.2, F68, T79): a sync manager, an ``async def`` manager
and an ``[async]`` routine completed from another thread each see the caller's identity,
lose it after revert and after the call completes; NTLM over TCP, and ncalrpc callers by
their SO_PEERCRED credentials."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import dcerpc
import dcerpc.aio
import dcerpc.idl
from dcerpc import status as st
from dcerpc.auth import NTLM, current_identity, set_os_identity_mapper
from dcerpc.win32 import (
    RpcAsyncCompleteCall,
    RpcAsyncGetCallHandle,
    RpcBindingInqAuthClient,
    RpcImpersonateClient,
    RpcRevertToSelf,
    RpcRevertToSelfEx,
)

from .secsvc import DOMAIN, PASSWORD, USER, acceptors, run

HERE = Path(__file__).resolve().parent
isec = dcerpc.idl.load(HERE / "sec.idl", acf=HERE / "imp.acf")
PRINCIPAL = f"{DOMAIN}\\{USER}"


class Recorder:
    """Managers that impersonate and write down what they saw."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Any]] = {}
        self.calls: list[Any] = []
        self.done = threading.Event()

    def _note(self, key: str, *values: Any) -> None:
        self.seen.setdefault(key, []).extend(values)

    # sync manager: runs on a worker thread
    def Echo(self, size: int, data: bytes) -> tuple[int, bytes]:
        call = dcerpc.current_call()
        self.calls.append(call)
        self._note("sync", current_identity())
        try:
            with call.impersonate() as ident:
                self._note("sync", ident.principal, _principal())
            self._note("sync", current_identity())
            self._note("sync", RpcImpersonateClient(None), _principal(),
                       RpcRevertToSelf(), current_identity())
            # Left impersonating on purpose: the end of the call reverts.
            self._note("sync", RpcImpersonateClient(None))
        except dcerpc.RpcError as exc:
            self._note("sync", "error", exc.status)
        self._note("sync", RpcBindingInqAuthClient(None))
        return 0, bytes(data)

    # async def manager: runs on the loop, in the call's task
    async def WhoAmI(self) -> tuple[int, str, int]:
        call = dcerpc.current_call()
        self.calls.append(call)
        other: list[Any] = []
        go = asyncio.Event()

        async def bystander() -> None:  # a task started before impersonating sees nothing
            await go.wait()
            other.append(current_identity())

        task = asyncio.create_task(bystander())
        with call.impersonate():
            go.set()
            await task
            self._note("async", _principal())
        self._note("async", current_identity(), other[0])
        return 0, PRINCIPAL, 0

    # [async] routine: completed from a thread of our own
    def Ping(self, pAsync: Any, cookie: int) -> None:
        threading.Thread(target=self._complete_ping, args=(pAsync, cookie)).start()

    def _complete_ping(self, pAsync: Any, cookie: int) -> None:
        handle = RpcAsyncGetCallHandle(pAsync)
        self.calls.append(handle)
        self._note("worker", current_identity(), RpcImpersonateClient(handle), _principal(),
                   RpcRevertToSelfEx(handle), current_identity(),
                   RpcImpersonateClient(handle), _principal())
        # Complete while still impersonating: the identity goes with the call.
        self._note("worker", RpcAsyncCompleteCall(pAsync, (cookie ^ 0x5A5A5A5A, "")))
        self._note("worker", current_identity(), RpcImpersonateClient(handle),
                   RpcRevertToSelfEx(handle))
        self.done.set()


def _principal() -> str | None:
    ident = current_identity()
    return None if ident is None else ident.principal


def _server(rec: Recorder, listen: str = "ncacn_ip_tcp:127.0.0.1[0]") -> dcerpc.Server:
    server = dcerpc.Server(auth=acceptors())
    server.register(isec.SecTest, rec)
    server.register(isec.SecAux, rec)
    server.listen(listen)
    return server


def test_ntlm_caller_is_impersonated_in_every_kind_of_manager() -> None:
    rec = Recorder()
    mapped: list[tuple[str, bool]] = []
    old = set_os_identity_mapper(lambda ident, entering: mapped.append(
        (ident.principal, entering)))

    async def main() -> None:
        async with _server(rec) as server:
            async with dcerpc.aio.connect(server.bindings[0], isec.SecTest,
                                          auth=NTLM(USER, PASSWORD, DOMAIN),
                                          level="privacy") as proxy:
                assert (await proxy.Echo(3, b"abc"))[1] == b"abc"
                assert (await proxy.WhoAmI())[1] == PRINCIPAL
            async with dcerpc.aio.connect(server.bindings[0], isec.SecAux,
                                          auth=NTLM(USER, PASSWORD, DOMAIN),
                                          level="integrity") as aux:
                assert (await aux.Ping(7))[0] == 7 ^ 0x5A5A5A5A
            await asyncio.get_running_loop().run_in_executor(None, rec.done.wait, 10)

    try:
        run(main())
    finally:
        set_os_identity_mapper(old)
    assert rec.seen["sync"] == [
        None, PRINCIPAL, PRINCIPAL, None,
        st.RPC_S_OK, PRINCIPAL, st.RPC_S_OK, None,
        st.RPC_S_OK,
        # ServerPrincName: the MsvAvTargetName pyspnego sends, host/<binding host>
        (st.RPC_S_OK, PRINCIPAL, "host/127.0.0.1", 6, 10, 0)]
    assert rec.seen["async"] == [PRINCIPAL, None, None]
    assert rec.seen["worker"] == [
        None, st.RPC_S_OK, PRINCIPAL, st.RPC_S_OK, None, st.RPC_S_OK, PRINCIPAL,
        st.RPC_S_OK,
        None, st.RPC_S_INVALID_BINDING, st.RPC_S_OK]
    # Every handle is stale now: impersonating through one is refused (T79 step 3).
    assert [RpcImpersonateClient(call) for call in rec.calls] == [st.RPC_S_INVALID_BINDING] * 3
    with pytest.raises(dcerpc.RpcError) as info:
        rec.calls[0].impersonate().__enter__()
    assert info.value.status == st.RPC_S_INVALID_BINDING
    assert current_identity() is None
    # The mapper saw each of the six impersonations start and end, including the one the
    # sync manager left open (reverted at the end of the manager) and the one the worker
    # held while completing (reverted by RpcAsyncCompleteCall).
    assert mapped == [(PRINCIPAL, True), (PRINCIPAL, False)] * 6


def test_unauthenticated_caller_cannot_be_impersonated() -> None:
    rec = Recorder()

    async def main() -> None:
        async with _server(rec) as server, \
                dcerpc.aio.connect(server.bindings[0], isec.SecTest) as proxy:
            await proxy.Echo(1, b"x")
    run(main())
    assert rec.seen["sync"] == [None, "error", st.RPC_S_NO_CONTEXT_AVAILABLE,
                                (st.RPC_S_BINDING_HAS_NO_AUTH, None, None, 1, 0, 0)]


def test_handles_and_calls_outside_a_manager() -> None:
    assert RpcImpersonateClient(None) == st.RPC_S_NO_CALL_ACTIVE
    assert RpcRevertToSelf() == st.RPC_S_NO_CALL_ACTIVE
    assert RpcRevertToSelfEx(object()) == st.RPC_S_INVALID_BINDING
    assert RpcBindingInqAuthClient(None)[0] == st.RPC_S_NO_CALL_ACTIVE
    binding = dcerpc.Binding("ncacn_ip_tcp:127.0.0.1[1]")
    assert RpcImpersonateClient(binding) == st.RPC_S_WRONG_KIND_OF_BINDING


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="SO_PEERCRED needs a POSIX system")
def test_ncalrpc_caller_is_known_by_its_peer_credentials(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setenv("DCERPC_LRPC_DIR", str(tmp_path))
    rec = Recorder()

    async def main() -> None:
        async with _server(rec, "ncalrpc:[imp-test]") as server, \
                dcerpc.aio.connect(server.bindings[0], isec.SecTest) as proxy:
            await proxy.Echo(1, b"x")
    run(main())
    me = f"uid:{os.getuid()}"
    assert rec.seen["sync"][:4] == [None, me, me, None]
    assert rec.seen["sync"][-1] == (st.RPC_S_OK, me, None, 6, 0, 0)
    creds = rec.calls[0].peer_credentials
    assert (creds.uid, creds.gid, creds.pid) == (os.getuid(), os.getgid(), os.getpid())
