"""RPC_IF_ALLOW_SECURE_ONLY / RPC_IF_ALLOW_LOCAL_ONLY: ``register(secure_only=,
local_only=)`` and the Flags of RpcServerRegisterIf2."""

from __future__ import annotations

from pathlib import Path

import pytest

import dcerpc
import dcerpc.aio
from dcerpc import status as st
from dcerpc.auth import NTLM
from dcerpc.win32 import RPC_IF_ALLOW_LOCAL_ONLY, RPC_IF_ALLOW_SECURE_ONLY
from dcerpc.win32._server import _DefaultServer

from .secsvc import DOMAIN, PASSWORD, USER, Aux, Impl, acceptors, run, sec


async def _refused(binding: object, spec: object, **kw: object) -> int:
    async with dcerpc.aio.connect(binding, spec, **kw) as proxy:
        with pytest.raises(dcerpc.RpcError) as info:
            await proxy.Ping(1) if spec is sec.SecAux else await proxy.WhoAmI()
    return info.value.status


def test_secure_only_and_local_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERPC_LRPC_DIR", str(tmp_path))
    server = dcerpc.Server(auth=acceptors())
    server.register(sec.SecTest, Impl(), secure_only=True)
    server.register(sec.SecAux, Aux(), local_only=True)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.listen("ncalrpc:[flags-test]")
    creds = NTLM(USER, PASSWORD, DOMAIN)

    async def main() -> None:
        async with server:
            tcp = next(b for b in server.bindings if b.protseq == "ncacn_ip_tcp")
            lrpc = next(b for b in server.bindings if b.protseq == "ncalrpc")
            assert await _refused(tcp, sec.SecTest) == st.RPC_S_ACCESS_DENIED
            async with dcerpc.aio.connect(tcp, sec.SecTest, auth=creds,
                                          level="connect") as proxy:
                assert (await proxy.WhoAmI())[2] == 2
            assert await _refused(tcp, sec.SecAux, auth=creds,
                                  level="privacy") == st.RPC_S_ACCESS_DENIED
            async with dcerpc.aio.connect(lrpc, sec.SecAux) as aux:
                assert (await aux.Ping(1))[0] == 1 ^ 0x5A5A5A5A
    run(main())
    assert server.security_stats["level_too_low"] == 1
    assert server.security_stats["not_local"] == 1


def test_register_if2_flags_reach_the_server() -> None:
    default = _DefaultServer()
    assert default.register(sec.SecTest, None, Impl(), None,
                            RPC_IF_ALLOW_SECURE_ONLY | RPC_IF_ALLOW_LOCAL_ONLY) == st.RPC_S_OK
    assert list(default.server._min_level.values()) == [2]  # CONNECT
    assert len(default.server._local_only) == 1
