"""Running ``dcerpc serve`` as a subprocess for the interop suite.

The server is the real command line (``python -m dcerpc.cli serve``) run from this
directory, so ``--impl interop_impl:Test`` exercises the "importable from the current
directory" rule. Its ``listening on`` lines give the ports; teardown sends SIGTERM and
requires exit status 0.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
IDL = HERE / "interop.idl"
IMPLS = ("InteropTest=interop_impl:Test", "InteropAux=interop_impl:Aux")
TCP_ANY = "ncacn_ip_tcp:127.0.0.1[0]"
#: Guards against a hung child only; never a performance threshold.
HANG_GUARD = 60.0

_LISTEN_RE = re.compile(r"^(listening on|endpoint mapper on) (\S+)$")
_PORT_RE = re.compile(r"\[(\d+)")


def port_of(binding: str) -> int:
    m = _PORT_RE.search(binding)
    assert m, f"no port in {binding!r}"
    return int(m.group(1))


def dcerpc_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dcerpc.cli", *args]


class _LineReader:
    """Reads a pipe on a thread so the test can wait for a line without blocking forever."""

    def __init__(self, stream: object) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, what: str) -> str:
        try:
            line = self.lines.get(timeout=HANG_GUARD)
        except queue.Empty:
            raise AssertionError(f"no {what} within {HANG_GUARD:.0f}s") from None
        if line is None:
            raise AssertionError(f"stream ended while waiting for {what}; seen: {self.seen}")
        self.seen.append(line)
        return line

    def rest(self) -> str:
        self._thread.join(HANG_GUARD)
        out = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                out.append(line)
        return "\n".join(self.seen + out)


@dataclass
class Served:
    """A running ``dcerpc serve``."""

    proc: subprocess.Popen[str]
    bindings: list[str]
    epm_binding: str | None = None
    stdout: _LineReader | None = None
    stderr: _LineReader | None = None

    @property
    def port(self) -> int:
        return port_of(self.bindings[0])

    @property
    def epm_port(self) -> int:
        assert self.epm_binding is not None, "served without --epm"
        return port_of(self.epm_binding)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"dcerpc serve ignored signal {sig}") from None

    def stderr_text(self) -> str:
        return self.stderr.rest() if self.stderr else ""


def start_serve(binds: Sequence[str] = (TCP_ANY,), *, epm: bool = False,
                impls: Sequence[str] = IMPLS, idl: Path = IDL,
                cwd: Path = HERE) -> Served:
    """Start ``dcerpc serve`` and wait for its ``listening on`` lines."""
    args = ["serve", "--idl", str(idl)]
    for impl in impls:
        args += ["--impl", impl]
    for b in binds:
        args += ["--bind", b]
    if epm:
        args += ["--epm", "0"]
    proc = subprocess.Popen(dcerpc_cmd(*args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    served = Served(proc, [], stdout=_LineReader(proc.stdout), stderr=_LineReader(proc.stderr))
    try:
        for _ in range(len(binds) + (1 if epm else 0)):
            line = served.stdout.next("a 'listening on' line")  # type: ignore[union-attr]
            m = _LISTEN_RE.match(line)
            assert m, f"unexpected output line {line!r}"
            if m.group(1) == "listening on":
                served.bindings.append(m.group(2))
            else:
                served.epm_binding = m.group(2)
    except AssertionError as exc:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{exc}\nstderr:\n{served.stderr_text()}") from None
    return served
