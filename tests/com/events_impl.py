"""A server class that calls its clients back (event sinks), and a client-side sink."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import dcerpc.idl
from dcerpc.com import COMError, IID_IUnknown, register_interface

events_idl = dcerpc.idl.load(os.path.join(os.path.dirname(__file__), "events.idl"))

CLSID_Events = uuid.UUID("5b1c7e40-8d2a-4f3e-a611-0c9d2e7f4b01")

# the server calls ICallback pointers it receives: it must know the interface model
register_interface(events_idl.ICallback)


class Events:
    """Holds the sinks it is given and calls ``Notify`` on them."""

    _com_interfaces_ = [events_idl.IEvents]
    instances: list[Events] = []

    def __init__(self) -> None:
        self.sinks: list[Any] = []
        self.fired = threading.Event()
        self.errors: list[BaseException] = []
        Events.instances.append(self)

    def Subscribe(self, cb: Any, n: int) -> None:
        # COM's rule for [in] interface pointers: the stub releases them when the call
        # returns, so a callee that keeps one takes its own reference
        cb.AddRef()
        self.sinks.append(cb)
        cb.Notify(n)  # a callback while the client's call is still running

    def FireLater(self, n: int) -> None:
        def fire() -> None:
            try:
                for s in self.sinks:
                    s.Notify(n)
            except BaseException as exc:  # reported to the test through .errors
                self.errors.append(exc)
            self.fired.set()
        threading.Thread(target=fire, daemon=True).start()

    def Fire(self, n: int) -> int:
        try:
            for s in self.sinks:
                s.Notify(n)
        except COMError as exc:
            return exc.hresult
        return 0

    def GetSink(self) -> Any:
        return self.sinks[-1] if self.sinks else None

    def Unsubscribe(self) -> int:
        left = 0
        for s in self.sinks:
            left += s.Release()
        self.sinks.clear()
        return left

    def Same(self, a: Any, b: Any) -> int:
        return int(a is b)

    def QiRelease(self) -> int:
        unk = self.sinks[-1].QueryInterface(IID_IUnknown)
        again = unk.QueryInterface(events_idl.ICallback)
        code = int(again is self.sinks[-1])
        unk.Release()
        again.Release()
        return code

    def SubscribeInfo(self, info: Any) -> None:
        self.Subscribe(info.sink, info.cookie)

    def SubscribeMany(self, count: int, sinks: list[Any]) -> None:
        for i, s in enumerate(sinks):
            self.Subscribe(s, i)

    def SubscribeMaybe(self, info: Any) -> None:
        if info is not None:
            self.Subscribe(info.sink, info.cookie)

    def GetInfo(self) -> Any:
        return events_idl.SINKINFO(cookie=len(self.sinks), sink=self.GetSink())

    def GetMany(self) -> tuple[int, list[Any]]:
        # the sinks it holds, then one of its own (a new proxy for the client)
        sinks = [*self.sinks, Sink()]
        return len(sinks), sinks


class Sink:
    """The client's callback object."""

    _com_interfaces_ = [events_idl.ICallback]

    def __init__(self) -> None:
        self.got: list[int] = []
        self.event = threading.Event()

    def Notify(self, n: int) -> None:
        self.got.append(n)
        self.event.set()
