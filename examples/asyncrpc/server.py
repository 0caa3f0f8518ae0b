"""The AsyncRPC sample server: ``AsyncFunc`` is an ``[async]`` manager that completes
after ``nAsychDelay`` milliseconds on a timer thread; ``NonAsyncFunc`` is synchronous and
prints its message.

    python server.py [BINDING]      # default ncacn_ip_tcp:127.0.0.1[0]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import dcerpc
import dcerpc.idl
from dcerpc.win32 import RpcAsyncCompleteCall

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


def serve(binding: str = DEFAULT_BINDING,
          manager: Manager | None = None) -> tuple[dcerpc.Server, list[Any]]:
    """Start serving AsyncRPC on a background thread; return the server and its bindings
    (stop it with ``server.stop_background(timeout)``)."""
    server = dcerpc.Server()
    server.register(AsyncRPC.AsyncRPC, manager if manager is not None else Manager())
    server.listen(binding)
    return server, list(server.start_background())


def main(argv: list[str]) -> int:
    server, bindings = serve(argv[1] if len(argv) > 1 else DEFAULT_BINDING)
    print("listening on " + ", ".join(str(b) for b in bindings), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop_background(2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
