"""The asyncio face of the COM client against our server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from dcerpc.com import COMError, ComServer, hresult
from dcerpc.com import aio as com_aio

from .calc_impl import CLSID_Calc, calc_idl

BOUND = 60.0  # guards against a hang only


def run(coro: object) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, BOUND)  # type: ignore[arg-type]
    asyncio.run(bounded())


def test_async_activate_call_qi_release(com_server: ComServer, binding: str) -> None:
    async def main() -> None:
        calc, stats = await com_aio.CoCreateInstanceEx(CLSID_Calc, binding,
                                                       [calc_idl.ICalc, calc_idl.IStats])
        assert calc is not None and stats is not None
        results = await asyncio.gather(*(calc.Add(i, i) for i in range(20)))
        assert results == [2 * i for i in range(20)]
        assert await stats.Count() == 20
        assert await calc.Echo("abc") == "cba"
        with pytest.raises(COMError) as info:
            await calc.Fail(0x80070490)
        assert info.value.hresult == 0x80070490
        again = await calc.QueryInterface(calc_idl.IStats)
        assert again.ptr is stats.ptr  # one proxy per IPID, shared with the threaded face
        assert await again.Release() == 1
        other = await calc.GetStats(calc_idl.IStats.uuid)
        assert isinstance(other, com_aio.AsyncComPtr) and await other.Count() == 20
        with pytest.raises(COMError) as info:
            await calc.QueryInterface(uuid.UUID("0badc0de-0000-4000-8000-000000000007"))
        assert info.value.hresult == hresult.E_NOINTERFACE
        for p in (calc, stats, other):
            assert await p.Release() == 0
        assert com_server.exporter.objects == {}
        with pytest.raises(COMError) as info:
            await calc.Add(1, 1)
        assert info.value.hresult == hresult.CO_E_OBJNOTCONNECTED
    run(main())


def test_async_activation_errors(binding: str) -> None:
    async def main() -> None:
        with pytest.raises(COMError) as info:
            await com_aio.CoCreateInstance(uuid.UUID("0badc0de-0000-4000-8000-000000000008"),
                                           binding, calc_idl.ICalc)
        assert info.value.hresult == hresult.REGDB_E_CLASSNOTREG
        async with await com_aio.CoCreateInstance(CLSID_Calc, binding, calc_idl.ICalc) as c:
            assert await c.Add(2, 2) == 4
        assert c.ptr._local == 0  # released on exit
        factory = await com_aio.CoGetClassObject(CLSID_Calc, binding)
        made = await factory.CreateInstance(None, calc_idl.ICalc.uuid)
        assert await made.Add(5, 5) == 10
        assert await made.Release() == 0 and await factory.Release() == 0
    run(main())
