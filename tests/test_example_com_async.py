"""examples/com_async runs with one command and walks the seed page's procedure (issue 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "examples" / "com_async" / "run.py"


def _client_lines(out: str) -> list[str]:
    # The server's "[server] ..." lines come from other threads and may interleave.
    return [line for line in out.splitlines() if "[server]" not in line]


def test_com_async_example_runs() -> None:
    proc = subprocess.run([sys.executable, str(RUN)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = _client_lines(out)
    expected_in_order = [
        "1. QueryInterface(IID_ICallFactory) -> S_OK",
        "2. CreateCall(IID_AsyncISimpleStream, None, IID_IUnknown), then release the factory",
        "3. Begin_Read(64) -> S_OK",
        "4. other work while the call is out",
        "5. ISynchronize::Wait(0, 50 ms) -> RPC_E_TIMEOUT (0x8001011F)",
        "   ISynchronize::Wait(0, 1000 ms) -> S_OK",
        "6. Finish_Read -> pcbRead=41, pv=b'Hello from an asynchronous ISimpleStream!'",
        "   Cancel(1) -> S_OK",
        "   Finish_Read -> canceled: RPC_E_CALL_CANCELED (0x80010002)",
        "   QueryInterface(IID_ICallFactory) -> E_NOINTERFACE (0x80004002)",
        "   synchronous Read(16) -> pcbRead=16, pv=b'Hello from an as'",
        "COM async example finished with status 0",
    ]
    pos = 0
    for want in expected_in_order:
        found = next((i for i in range(pos, len(lines)) if lines[i].startswith(want)), None)
        assert found is not None, f"{want!r} missing or out of order in:\n{out}"
        pos = found + 1
    # the server really served Read through a call object, and saw the cancel
    assert "[server] Begin_Read(cb=64) returns at once" in out
    assert "[server] the client cancelled this call" in out
    assert "[server] Read(cb=16) answered synchronously" in out
    assert "unexpected" not in out
