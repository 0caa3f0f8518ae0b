"""COM classes for the asynchronous-call tests: a gated calculator."""

from __future__ import annotations

import asyncio
import threading
import uuid

from dcerpc.com import COMError

from .calc_impl import calc_idl

CLSID_GatedCalc = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c11")
GATE_TIMEOUT = 5.0


class GatedCalc:
    """``Add`` waits for ``gate`` (off the server loop) before answering; ``result`` picks
    the HRESULT it fails with (0 = succeed)."""

    _com_interfaces_ = [calc_idl.ICalc]
    gate = threading.Event()
    entered = threading.Event()
    fail_with = 0
    adds = 0

    async def Add(self, a: int, b: int) -> int:
        cls = type(self)
        cls.adds += 1
        cls.entered.set()
        # poll on the server loop: no executor thread is held per gated call
        for _ in range(int(GATE_TIMEOUT / 0.01)):
            if cls.gate.is_set():
                break
            await asyncio.sleep(0.01)
        if cls.fail_with:
            raise COMError(cls.fail_with)
        return a + b

    async def Fail(self, hr: int) -> None:
        raise COMError(hr)

    async def Echo(self, text: str) -> str:
        return text[::-1]
