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


CLSID_ServerCallCalc = uuid.UUID("7f0c9a52-3d1e-4b6a-9c57-2e8d4f1a6c12")


class _AddCall:
    """A server call object for AsyncICalc: finishes on another thread."""

    def __init__(self, owner: ServerCallCalc, control: object) -> None:
        self.owner, self.control = owner, control
        self.sum = 0

    def Begin_Add(self, a: int, b: int) -> None:
        self.owner.log.append("Begin_Add")

        def work() -> None:
            if ServerCallCalc.gated:
                ServerCallCalc.gate.wait(GATE_TIMEOUT)
            ServerCallCalc.cancel_seen.append(self.control.TestCancel())  # type: ignore[attr-defined]
            self.sum = a + b if not ServerCallCalc.gated else 99
            self.owner.log.append("Signal")
            self.control.Signal()  # type: ignore[attr-defined]

        threading.Thread(target=work, daemon=True).start()

    def Finish_Add(self) -> int:
        self.owner.log.append("Finish_Add")
        return self.sum


class ServerCallCalc:
    """Implements ICallFactory: ICalc::Add is served through server call objects."""

    _com_interfaces_ = [calc_idl.ICalc]
    gate = threading.Event()
    gated = False
    cancel_seen: list[int] = []
    last: ServerCallCalc | None = None

    def __init__(self) -> None:
        self.log: list[str] = []
        ServerCallCalc.last = self

    def CreateCall(self, riid: uuid.UUID, outer: object, riid2: uuid.UUID) -> _AddCall:
        if riid != calc_idl.ICalc.async_uuid:
            raise COMError(0x80004002)
        return _AddCall(self, outer)

    def Echo(self, text: str) -> str:
        return text
