"""The SecTest service: IDL model, a manager that reports the caller, and a server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import dcerpc
import dcerpc.idl
from dcerpc.auth import NegotiateAcceptor, NTLMAcceptor, UserTable

HERE = Path(__file__).resolve().parent
sec = dcerpc.idl.load(HERE / "sec.idl")
USER, PASSWORD, DOMAIN = "alice", "Secret1!", "DOM"
USERS = UserTable({f"{DOMAIN}\\{USER}": PASSWORD, "bob": "hunter2"})
T = TypeVar("T")
#: A bound on every asyncio test: a hang fails instead of blocking the suite.
TEST_TIMEOUT = 60.0


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)
    return asyncio.run(bounded())


class Impl:
    def __init__(self) -> None:
        self.calls = 0

    def Echo(self, size: int, data: bytes) -> tuple[int, bytes]:
        self.calls += 1
        return 0, bytes(data)

    async def WhoAmI(self) -> tuple[int, str, int]:
        info = dcerpc.current_call().auth_info
        if info is None:
            return 0, "", 1
        return 0, info.principal, info.auth_level


class Aux:
    def Ping(self, cookie: int) -> tuple[int, str]:
        info = dcerpc.current_call().auth_info
        return cookie ^ 0x5A5A5A5A, "" if info is None else info.principal


def acceptors(allow_anonymous: bool = False) -> list[Any]:
    ntlm = NTLMAcceptor(USERS, allow_anonymous=allow_anonymous)
    return [ntlm, NegotiateAcceptor(ntlm)]


def make_server(min_level: int | str | None = None, allow_anonymous: bool = False,
                **kw: Any) -> tuple[dcerpc.Server, Impl]:
    server = dcerpc.Server(auth=acceptors(allow_anonymous), **kw)
    impl = Impl()
    server.register(sec.SecTest, impl, min_level=min_level)
    server.register(sec.SecAux, Aux(), min_level=min_level)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    return server, impl


def port_of(server: dcerpc.Server) -> int:
    text = str(server.bindings[0])
    return int(text[text.index("[") + 1:text.index("]")])
