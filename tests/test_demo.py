"""`make demo` runs `dcerpc demo`: it must work end to end."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    proc = subprocess.run([sys.executable, "-m", "dcerpc.cli", "demo"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "round trip: equal" in out
    assert "decoded response: AddEntry_result(return_value=0, index=7)" in out
    assert "Count(0)             -> Count_result(return_value=0, generation=1, total=1)" in out
    assert "numbers=['555-0100', '555-0199']" in out
    assert "server stopped" in out
    assert "NonAsyncFunc: hello from the AsyncRPC client" in out
    assert "AsyncRPC client finished with status 0" in out
    # then the same call through every notification type, one line each (issue 4)
    tail = out[out.index("completed through every notification type:"):]
    for line in ("  none/polling:   polled RpcAsyncGetCallStatus",
                 "  event:          event signalled (True), waited on MainThread;",
                 "  APC:            APC ran on MainThread inside SleepEx(..., TRUE) -> "
                 "WAIT_IO_COMPLETION;",
                 "  IOCP:           packet ok=True key=0xCAFE bytes=0x1234 overlapped='ov' "
                 "dequeued on MainThread;",
                 "  window message: WM_APP+1 (lParam is the state: True) dispatched on "
                 "window-owner;",
                 "  asyncio loop:   handler ran on the asyncio loop's thread MainThread;",
                 "  callback:       routine ran on runtime worker "):
        assert line in tail, line
    assert tail.count("RpcAsyncCompleteCall -> status 0, reply None") == 7
    assert "(issued on MainThread)" in tail
    assert "routine ran on runtime worker MainThread" not in tail
    notify_end = out.index("notification types finished with status 0")
    # then the COM asynchronous call of examples/com_async (issue 6)
    com_start = out.index("COM asynchronous calls (examples/com_async)")
    assert notify_end < com_start  # the COM section comes after the RPC demo
    com = out[com_start:]
    for line in ("ISynchronize::Wait(0, 50 ms) -> RPC_E_TIMEOUT",
                 "6. Finish_Read -> pcbRead=41",
                 "Finish_Read -> canceled: RPC_E_CALL_CANCELED",
                 "QueryInterface(IID_ICallFactory) -> E_NOINTERFACE"):
        assert line in com, line
    assert out.rstrip().endswith("COM async demo finished with status 0")

