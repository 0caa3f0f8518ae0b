"""Fixtures for the interop suite: ``dcerpc serve`` as a subprocess, and tshark."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from .serving import Served, start_serve


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """``dcerpc serve`` with both interop interfaces and an endpoint mapper."""
    s = start_serve(epm=True)
    yield s
    rc = s.stop()
    assert rc == 0, f"dcerpc serve exited {rc}; stderr:\n{s.stderr_text()}"


# --------------------------------------------------------------------------- tshark
@pytest.fixture(scope="session")
def tshark() -> str:
    """The tshark executable; installs the Debian package when it is missing.

    CI runs as root; an installation failure fails the suite (never a skip).
    """
    path = shutil.which("tshark")
    if path is not None:
        return path
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "tshark"]):
        try:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            pytest.fail(f"tshark is missing and {' '.join(cmd)} could not run: {exc}",
                        pytrace=False)
        if r.returncode != 0:
            pytest.fail(f"tshark is missing and `{' '.join(cmd)}` failed "
                        f"(exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}",
                        pytrace=False)
    path = shutil.which("tshark")
    if path is None:
        pytest.fail("apt-get install tshark succeeded but tshark is not on PATH", pytrace=False)
    return path
