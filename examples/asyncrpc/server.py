"""The AsyncRPC sample server: ``AsyncFunc`` is an ``[async]`` manager that completes
after ``nAsychDelay`` milliseconds on a timer thread; ``NonAsyncFunc`` is synchronous and
prints its message.  Served the MIDL way, through :mod:`dcerpc.win32`:
RpcServerUseProtseqEp → RpcServerRegisterIf → RpcServerListen.

    python server.py [BINDING]      # default ncacn_ip_tcp:127.0.0.1[0]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import dcerpc.idl
from dcerpc.runtime.binding import StringBinding
from dcerpc.win32 import (
    RPC_C_LISTEN_MAX_CALLS_DEFAULT,
    RPC_C_PROTSEQ_MAX_REQS_DEFAULT,
    RpcAsyncCompleteCall,
    RpcBindingToStringBinding,
    RpcBindingVectorFree,
    RpcMgmtStopServerListening,
    RpcMgmtWaitServerListen,
    RpcServerInqBindings,
    RpcServerListen,
    RpcServerRegisterIf,
    RpcServerUnregisterIf,
    RpcServerUseProtseqEp,
    reset_default_server,
)

HERE = Path(__file__).resolve().parent
# AsyncRPC.acf next to the IDL is picked up by default; naming it keeps that explicit.
AsyncRPC = dcerpc.idl.load(HERE / "AsyncRPC.idl", acf=HERE / "AsyncRPC.acf")
DEFAULT_BINDING = "ncacn_ip_tcp:127.0.0.1[0]"


class Manager:
    """The manager routines.  ``events`` records ``(name, monotonic time)`` so a caller
    can check the order in which the two routines started and finished."""

    def __init__(self, out: Any = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.events: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def _record(self, name: str) -> None:
        with self._lock:
            self.events.append((name, time.monotonic()))

    def AsyncFunc(self, pAsync: Any, nAsychDelay: int) -> None:
        # [async] manager: it gets the server-side handle first, returns at once, and the
        # call stays pending until some thread calls RpcAsyncCompleteCall.
        self._record("AsyncFunc begin")
        print(f"AsyncFunc: completing in {nAsychDelay} ms", file=self.out, flush=True)

        def complete() -> None:
            self._record("AsyncFunc complete")
            status = RpcAsyncCompleteCall(pAsync, None)  # void: no reply value
            if status:
                print(f"RpcAsyncCompleteCall returned 0x{status:x}", file=self.out, flush=True)

        timer = threading.Timer(max(nAsychDelay, 0) / 1000.0, complete)
        timer.daemon = True
        timer.start()

    def NonAsyncFunc(self, pszMessage: str) -> None:
        self._record("NonAsyncFunc")
        print(f"NonAsyncFunc: {pszMessage}", file=self.out, flush=True)


class Listening:
    """What :func:`serve` returns: the server is the process's default RPC server."""

    def stop_background(self, timeout: float = 2.0) -> None:
        """RpcMgmtStopServerListening + RpcMgmtWaitServerListen + RpcServerUnregisterIf,
        then forget the endpoint so that ``serve`` may run again in this process."""
        RpcMgmtStopServerListening(None)
        RpcMgmtWaitServerListen()
        RpcServerUnregisterIf(None, None, False)
        reset_default_server()


def serve(binding: str = DEFAULT_BINDING,
          manager: Manager | None = None) -> tuple[Listening, list[str]]:
    """Start serving AsyncRPC without blocking (``RpcServerListen(..., DontWait=TRUE)``);
    return a handle with ``stop_background(timeout)`` and the string bindings."""
    b = StringBinding.parse(binding)
    status = RpcServerUseProtseqEp(b.protseq, RPC_C_PROTSEQ_MAX_REQS_DEFAULT, b.endpoint,
                                   None, NetworkAddr=b.network_addr)
    if status:
        raise SystemExit(f"RpcServerUseProtseqEp failed: {status}")
    status = RpcServerRegisterIf(AsyncRPC, None,
                                 manager if manager is not None else Manager())
    if status:
        raise SystemExit(f"RpcServerRegisterIf failed: {status}")
    status = RpcServerListen(1, RPC_C_LISTEN_MAX_CALLS_DEFAULT, True)
    if status:
        raise SystemExit(f"RpcServerListen failed: {status}")
    status, vector = RpcServerInqBindings()
    if status:
        raise SystemExit(f"RpcServerInqBindings failed: {status}")
    strings = [RpcBindingToStringBinding(h)[1] for h in vector]
    RpcBindingVectorFree(vector)
    return Listening(), strings


def main(argv: list[str]) -> int:
    listening, bindings = serve(argv[1] if len(argv) > 1 else DEFAULT_BINDING)
    print("listening on " + ", ".join(bindings), flush=True)
    try:
        RpcMgmtWaitServerListen()  # until RpcMgmtStopServerListening (or Ctrl-C)
    except KeyboardInterrupt:
        pass
    finally:
        listening.stop_background(2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
