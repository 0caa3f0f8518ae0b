"""The pipe test service: its IDL model and managers (Pythonic and faithful)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import dcerpc
import dcerpc.idl

HERE = Path(__file__).resolve().parent
mod = dcerpc.idl.load(str(HERE / "pipesvc.idl"))
SPEC = mod.__interfaces__[0]


class AsyncImpl:
    """``async def`` managers on the Pythonic face (the ops are [async] in the ACF, but
    an ``async def`` manager of an [async] op gets pAsync first)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.errors: list[BaseException] = []
        self.gate: asyncio.Event | None = None

    async def Sum(self, pAsync: Any, tag: int, inp: Any) -> None:
        total = 0
        count = 0
        try:
            async for chunk in inp:
                self.seen.append(list(chunk))
                total += sum(chunk)
                count += len(chunk)
        except dcerpc.RpcError as exc:
            self.errors.append(exc)
            return
        pAsync.server_complete((total + tag, count))

    async def Range(self, pAsync: Any, start: int, n: int, outp: Any) -> None:
        for i in range(start, start + n, 100):
            await outp.push(list(range(i, min(i + 100, start + n))))
        await outp.close()
        pAsync.server_complete(n)

    async def Echo(self, pAsync: Any, scale: int, inp: Any, outp: Any) -> None:
        total = 0
        try:
            async for chunk in inp:
                total += len(chunk)
            # in pipes drained: now the out pipe (F39)
            n = total * scale
            block = b"x" * 65536
            while n > 0:
                await outp.push(block[:n])
                n -= 65536
            await outp.close()
        except dcerpc.RpcError as exc:
            self.errors.append(exc)
            return
        pAsync.server_complete((0, total))

    async def Copy(self, pAsync: Any, io: Any) -> None:
        got = []
        async for chunk in io:
            got.extend(chunk)
        await io.push([x * 2 for x in got])
        pAsync.server_complete(len(got))

    async def Two(self, pAsync: Any, a: Any, b: Any) -> None:
        first = None
        try:
            async for _chunk in b:  # wrong order: a must be drained first
                pass
        except dcerpc.RpcError as exc:
            self.errors.append(exc)
        async for chunk in a:
            first = chunk[0] if first is None else first
        async for _chunk in b:
            pass
        pAsync.server_complete((0, first))


class PumpImpl(AsyncImpl):
    """``Pump`` (not [async]) with an ``async def`` manager: reads the [in, out] pipe to
    its end, then sends as many octets back."""

    async def Pump(self, io: Any) -> Any:
        total = 0
        async for chunk in io:
            total += len(chunk)
        block = bytes(range(256)) * 256
        n = total
        while n > 0:
            await io.push(block[:n])
            n -= len(block)
        return 0, total
