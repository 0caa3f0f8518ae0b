"""A real MIT krb5 KDC on loopback for the Kerberos tests (session-scoped fixture).

The fixture installs the Debian packages when the KDC binaries are missing (the CI image runs
as root), creates a throw-away realm in a temporary directory with its own ``kdc.conf`` and
``krb5.conf``, adds a user principal with a password and a service principal whose keys go to
a keytab, and runs ``krb5kdc -n`` (foreground) on free loopback ports. The test process sees
the realm through ``KRB5_CONFIG``/``KRB5_KDC_PROFILE``/``KRB5CCNAME``/``KRB5_KTNAME``, which
are restored when the session ends.

Usage in a test module of this package::

    from .kdc import KDC, kdc_fixture  # noqa: F401

    def test_x(kdc: KDC) -> None: ...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REALM = "DCERPC.TEST"
USER = "alice"
PASSWORD = "Kerberos-Pa55word!"
OTHER_USER = "bob"
OTHER_PASSWORD = "Bob-Pa55word!"
SERVICE = "host/localhost"
MASTER_PASSWORD = "master-key-for-tests"

#: Debian packages: KDC + admin tools + client tools + headers python-gssapi builds against.
PACKAGES = ["krb5-kdc", "krb5-admin-server", "krb5-user", "libkrb5-dev"]
SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
#: Upper bound on every wait (package install excluded: apt has its own timeouts).
WAIT_S = 20.0
INSTALL_TIMEOUT_S = 600


@dataclass(frozen=True)
class KDC:
    """What the tests need to know about the running realm."""

    realm: str
    port: int
    directory: Path
    keytab: Path
    krb5_conf: Path
    user: str
    password: str
    other_user: str
    other_password: str
    service: str  # "host/localhost" (without the realm)
    env: dict[str, str]

    @property
    def user_principal(self) -> str:
        return f"{self.user}@{self.realm}"

    @property
    def service_principal(self) -> str:
        return f"{self.service}@{self.realm}"


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return None


def _ensure_installed() -> dict[str, str]:
    """Paths of krb5kdc, kdb5_util and kadmin.local; installs the packages if missing.

    A failed install fails the session loudly: the Kerberos acceptance test must not turn
    green by skipping.
    """
    names = ("krb5kdc", "kdb5_util", "kadmin.local")
    tools = {n: _tool(n) for n in names}
    if all(tools.values()):
        return {n: str(p) for n, p in tools.items()}
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
        try:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                               timeout=INSTALL_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"installing the MIT KDC failed: {' '.join(cmd)}: {exc}", pytrace=False)
        if r.returncode != 0:
            pytest.fail(f"installing the MIT KDC failed: {' '.join(cmd)} exited "
                        f"{r.returncode}:\n{r.stderr[-2000:]}", pytrace=False)
    tools = {n: _tool(n) for n in names}
    missing = [n for n, p in tools.items() if not p]
    if missing:
        pytest.fail(f"MIT KDC tools still missing after install: {missing}", pytrace=False)
    return {n: str(p) for n, p in tools.items()}


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_configs(d: Path, tcp_port: int, udp_port: int) -> tuple[Path, Path]:
    kdc_conf = d / "kdc.conf"
    kdc_conf.write_text(f"""\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{udp_port}
    kdc_tcp_listen = 127.0.0.1:{tcp_port}

[realms]
    {REALM} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{d}/kdc.log
""", encoding="utf-8")
    (d / "kadm5.acl").write_text("", encoding="utf-8")
    krb5_conf = d / "krb5.conf"
    krb5_conf.write_text(f"""\
[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ticket_lifetime = 10h
    forwardable = false

[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{tcp_port}
    }}

[domain_realm]
    localhost = {REALM}
    .localhost = {REALM}
""", encoding="utf-8")
    return kdc_conf, krb5_conf


def _run(cmd: list[str], env: dict[str, str]) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=WAIT_S, check=False)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:3])}... exited {r.returncode}:\n{r.stdout}{r.stderr}",
                    pytrace=False)


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WAIT_S)


@contextlib.contextmanager
def running_kdc(directory: Path) -> Iterator[KDC]:
    """Create the realm in ``directory`` and run its KDC for the duration of the block."""
    tools = _ensure_installed()
    env_keys = ("KRB5_CONFIG", "KRB5_KDC_PROFILE", "KRB5CCNAME", "KRB5_KTNAME")
    keytab = directory / "service.keytab"
    for _attempt in range(3):  # a free port may be taken between probing and binding
        tcp_port, udp_port = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
        kdc_conf, krb5_conf = _write_configs(directory, tcp_port, udp_port)
        kenv = {
            "KRB5_CONFIG": str(krb5_conf),
            "KRB5_KDC_PROFILE": str(kdc_conf),
            "KRB5CCNAME": f"FILE:{directory}/ccache",
            "KRB5_KTNAME": f"FILE:{keytab}",
        }
        env = dict(os.environ, **kenv)
        if not (directory / "principal").exists():
            _run([tools["kdb5_util"], "-r", REALM, "create", "-s", "-P", MASTER_PASSWORD], env)
            kadmin = [tools["kadmin.local"], "-r", REALM, "-q"]
            _run([*kadmin, f"addprinc -pw {PASSWORD} {USER}"], env)
            _run([*kadmin, f"addprinc -pw {OTHER_PASSWORD} {OTHER_USER}"], env)
            _run([*kadmin, f"addprinc -randkey {SERVICE}"], env)
            _run([*kadmin, f"ktadd -k {keytab} {SERVICE}"], env)
        log = directory / "kdc.log"
        proc = subprocess.Popen([tools["krb5kdc"], "-n", "-r", REALM], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if _wait_listening(proc, tcp_port):
            break
        _stop(proc)
    else:
        text = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(f"krb5kdc did not start listening:\n{text}", pytrace=False)
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(kenv)
    try:
        yield KDC(realm=REALM, port=tcp_port, directory=directory, keytab=keytab,
                  krb5_conf=krb5_conf, user=USER, password=PASSWORD, other_user=OTHER_USER,
                  other_password=OTHER_PASSWORD, service=SERVICE, env=kenv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _stop(proc)


@pytest.fixture(scope="session", name="kdc")
def kdc_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KDC]:
    with running_kdc(tmp_path_factory.mktemp("kdc")) as k:
        yield k
