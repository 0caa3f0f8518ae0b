"""The ISimpleStream server: a COM class that also implements ICallFactory.

``CreateCall(IID_AsyncISimpleStream, control, IID_IUnknown)`` hands the runtime a server
call object for each incoming Read/Write.  ``Begin_Read`` returns at once; a
``threading.Timer`` produces the data later and calls ``control.Signal()``, after which
the runtime calls ``Finish_Read`` and sends the reply (docs/com.md, "Asynchronous calls").
A synchronous client sees no difference on the wire.

``SyncStream`` exposes only ``ISyncStream`` (no ``[async_uuid]``): its proxy has no
ICallFactory, so the client must use the synchronous method.

Run alone: ``python server.py [ncacn_ip_tcp:127.0.0.1[4748]]`` (Ctrl-C stops).
"""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import dcerpc.idl
from dcerpc.com import COMError, ComServer, hresult

stream_idl = dcerpc.idl.load(Path(__file__).with_name("SimpleStream.idl"))

CLSID_SimpleStream = uuid.UUID("2d7a1c34-5b8e-4f61-9a0d-3c6e8b1f4ac1")
CLSID_SyncStream = uuid.UUID("2d7a1c34-5b8e-4f61-9a0d-3c6e8b1f4ac2")
DATA = b"Hello from an asynchronous ISimpleStream!"


def log(text: str) -> None:
    # one write per line: the client prints to the same stdout from another thread
    sys.stdout.write(f"  [server] {text}\n")
    sys.stdout.flush()


class _ReadWriteCall:
    """One server call object (AsyncISimpleStream): Begin_ returns, a timer Signals."""

    def __init__(self, owner: SimpleStream, control: Any) -> None:
        self.owner, self.control = owner, control
        self.data = b""
        self.written = 0

    def _later(self, work: Any) -> None:
        def fire() -> None:
            work()
            # TestCancel: RPC_E_CALL_CANCELED once the client sent co_cancel.
            if self.control.TestCancel() == hresult.RPC_E_CALL_CANCELED:
                log("the client cancelled this call; signalling anyway (its reply is dropped)")
            self.control.Signal()

        timer = threading.Timer(self.owner.delay, fire)
        timer.daemon = True
        timer.start()

    def Begin_Read(self, cb: int) -> None:
        log(f"Begin_Read(cb={cb}) returns at once; data in {self.owner.delay:.1f} s")

        def produce() -> None:
            self.data = self.owner.content[:cb]
            log(f"timer fired: {len(self.data)} bytes ready, Signal()")

        self._later(produce)

    def Finish_Read(self) -> tuple[bytes, int]:
        log("Finish_Read")
        return self.data, len(self.data)

    def Begin_Write(self, pv: bytes, cb: int) -> None:
        log(f"Begin_Write({cb} bytes) returns at once")

        def consume() -> None:
            self.owner.content = bytes(pv[:cb])
            self.written = cb
            log("timer fired: written, Signal()")

        self._later(consume)

    def Finish_Write(self) -> int:
        return self.written


class SimpleStream:
    """ISimpleStream with server call objects (ICallFactory::CreateCall)."""

    _com_interfaces_ = [stream_idl.ISimpleStream]
    delay = 0.5  # seconds between Begin_ and Signal

    def __init__(self) -> None:
        self.content = DATA

    def CreateCall(self, riid: uuid.UUID, control: Any, riid2: uuid.UUID) -> _ReadWriteCall:
        if riid != stream_idl.ISimpleStream.async_uuid:
            raise COMError(hresult.E_NOINTERFACE)
        return _ReadWriteCall(self, control)


class SyncStream:
    """ISyncStream: an ordinary synchronous object."""

    _com_interfaces_ = [stream_idl.ISyncStream]

    def Read(self, cb: int) -> tuple[bytes, int]:
        data = DATA[:cb]
        log(f"Read(cb={cb}) answered synchronously")
        return data, len(data)


def serve(binding: str = "ncacn_ip_tcp:127.0.0.1[0]") -> ComServer:
    """Start a ComServer with both classes in the background; stop with stop_background()."""
    srv = ComServer(binding)
    srv.register_class(CLSID_SimpleStream, SimpleStream)
    srv.register_class(CLSID_SyncStream, SyncStream)
    srv.start_background()
    return srv


if __name__ == "__main__":
    server = serve(sys.argv[1] if len(sys.argv) > 1 else "ncacn_ip_tcp:127.0.0.1[4748]")
    print(f"listening on {server.bindings[0]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop_background(5.0)
