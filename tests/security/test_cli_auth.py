"""``dcerpc serve --auth ... --users FILE --min-level`` and ``dcerpc call --user ...``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop.serving import HANG_GUARD, _LineReader

import dcerpc
from dcerpc.cli import main

from .secsvc import DOMAIN, HERE, PASSWORD, USER

pytestmark = pytest.mark.interop
IDL = HERE / "sec.idl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = tmp_path_factory.mktemp("cli") / "users.txt"
    users.write_text(f"# accounts\n{DOMAIN}\\{USER}:{PASSWORD}\n", encoding="utf-8")
    # The child imports this tree's dcerpc, whatever the current directory.
    src = str(Path(dcerpc.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcerpc.cli", "serve", "--idl", str(IDL),
         "--impl", "SecTest=secsvc:Impl", "--bind", "ncacn_ip_tcp:127.0.0.1[0]",
         "--auth", "ntlm", "--auth", "negotiate", "--users", str(users),
         "--min-level", "privacy"],
        cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = _LineReader(proc.stdout), _LineReader(proc.stderr)
    try:
        line = out.next("a 'listening on' line")
        assert line.startswith("listening on "), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        assert proc.wait(timeout=HANG_GUARD) == 0, err.rest()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("mech", ["ntlm", "negotiate"])
def test_call_with_credentials(served: str, capsys: pytest.CaptureFixture[str],
                               mech: str) -> None:
    rc, out, err = run(capsys, "call", served, "--idl", str(IDL), "WhoAmI",
                       "--user", f"{DOMAIN}\\{USER}", "--password", PASSWORD,
                       "--auth", mech, "--level", "privacy")
    assert rc == 0, err
    assert json.loads(out) == {"return_value": 0, "principal": f"{DOMAIN}\\{USER}",
                               "level": 6}


@pytest.mark.parametrize("extra", [[], ["--user", f"{DOMAIN}\\{USER}", "--password", PASSWORD,
                                        "--level", "integrity"]],
                         ids=["anonymous", "below-min-level"])
def test_call_refused_below_min_level(served: str, capsys: pytest.CaptureFixture[str],
                                      extra: list[str]) -> None:
    rc, _out, err = run(capsys, "call", served, "--idl", str(IDL), "WhoAmI", *extra)
    assert rc == 1
    assert "access_denied" in err.lower()


def test_call_wrong_password(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = run(capsys, "call", served, "--idl", str(IDL), "WhoAmI",
                        "--user", f"{DOMAIN}\\{USER}", "--password", "nope",
                        "--level", "privacy")
    assert rc == 1
    assert "access_denied" in err.lower()


def test_usage_errors(capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # --impl secsvc:Impl imports from the current directory
    rc, _out, err = run(capsys, "serve", "--idl", str(IDL), "--impl", "SecTest=secsvc:Impl",
                        "--bind", "ncacn_ip_tcp:127.0.0.1[0]", "--auth", "ntlm")
    assert rc == 2 and "--users" in err
    rc, _out, err = run(capsys, "call", "ncacn_ip_tcp:127.0.0.1[1]", "--idl", str(IDL),
                        "WhoAmI", "--level", "privacy")
    assert rc == 2 and "--user" in err
