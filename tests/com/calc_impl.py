"""The COM class the tests host: ICalc + IStats, and a separate IStats object."""

from __future__ import annotations

import asyncio
import os
import uuid

import dcerpc.idl
from dcerpc.com import COMError

calc_idl = dcerpc.idl.load(os.path.join(os.path.dirname(__file__), "calc.idl"))

CLSID_Calc = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c01")


class Stats:
    _com_interfaces_ = [calc_idl.IStats]

    def __init__(self) -> None:
        self.calls = 0
        self.seen: list[int] = []

    def Count(self) -> int:
        return self.calls

    def MinMax(self) -> tuple[int, int]:
        return (min(self.seen), max(self.seen)) if self.seen else (0, 0)


class Calc(Stats):
    _com_interfaces_ = [calc_idl.ICalc, calc_idl.IStats]
    instances: list[Calc] = []

    def __init__(self) -> None:
        super().__init__()
        Calc.instances.append(self)

    def Add(self, a: int, b: int) -> int:
        self.calls += 1
        self.seen.append(a + b)
        return a + b

    def Fail(self, hr: int) -> None:
        raise COMError(hr, "asked to fail")

    def Echo(self, text: str) -> str:
        return text[::-1]

    def IsSame(self, other: object) -> int:
        # our own objects come back as themselves, whichever interface was passed
        return int(other is self)

    def GetStats(self, riid: uuid.UUID) -> Stats:
        stats = Stats()
        stats.calls = self.calls
        return stats


CLSID_AsyncCalc = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c02")


class AsyncCalc:
    """``async def`` methods run on the server's event loop."""

    _com_interfaces_ = [calc_idl.ICalc]

    async def Add(self, a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    async def Fail(self, hr: int) -> None:
        await asyncio.sleep(0)
        raise COMError(hr)
