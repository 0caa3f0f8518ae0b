"""impacket (a third-party client) authenticates to our server with NTLM."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

import dcerpc

from .impacket_sec import AUX_IFACE, connect, echo, ping, whoami
from .secsvc import DOMAIN, PASSWORD, USER, make_server, port_of

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def served() -> Iterator[dcerpc.Server]:
    server, _impl = make_server(min_level="integrity")
    server.start_background()
    yield server
    server.stop_background()


@pytest.mark.parametrize("level", [5, 6])
def test_impacket_calls_with_fragments(served: dcerpc.Server, level: int) -> None:
    dce = connect(port_of(served), USER, PASSWORD, DOMAIN, level)
    try:
        assert whoami(dce) == (f"{DOMAIN}\\{USER}", level)
        dce.set_max_fragment_size(2000)  # the request goes in many signed fragments
        data = os.urandom(40_000)  # and the response in several (impacket takes 4280)
        assert echo(dce, data) == data
        assert echo(dce, b"small") == b"small"
    finally:
        dce.disconnect()


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("mallory", PASSWORD),
                                                ("", "")],
                         ids=["wrong-password", "unknown-user", "anonymous"])
def test_impacket_refused(served: dcerpc.Server, user: str, password: str) -> None:
    before = served.security_stats["verifier_rejected"]
    with pytest.raises(Exception) as info:
        dce = connect(port_of(served), user, password, DOMAIN, 6)
        try:
            echo(dce, b"data")
        finally:
            dce.disconnect()
    assert "access_denied" in str(info.value) or isinstance(info.value, OSError), info.value
    assert served.security_stats["verifier_rejected"] == before + 1
    # and the server keeps serving good clients
    dce = connect(port_of(served), USER, PASSWORD, DOMAIN, 6)
    try:
        assert echo(dce, b"still here") == b"still here"
    finally:
        dce.disconnect()


def test_impacket_anonymous_allowed_when_configured() -> None:
    server, _impl = make_server(allow_anonymous=True)
    server.start_background()
    try:
        dce = connect(port_of(server), "", "", "", 5)
        try:
            assert whoami(dce) == ("", 5)
        finally:
            dce.disconnect()
    finally:
        server.stop_background()


@pytest.mark.parametrize("level", [5, 6])
def test_impacket_alter_ctx_opens_a_second_security_context(served: dcerpc.Server,
                                                            level: int) -> None:
    """impacket's alter_ctx authenticates again on the same connection (auth_context_id
    79232, NTLM legs in alter_context + rpc_auth_3); both contexts then work."""
    dce = connect(port_of(served), USER, PASSWORD, DOMAIN, level)
    try:
        aux = dce.alter_ctx(AUX_IFACE)
        assert ping(aux, 0x01020304) == (0x01020304 ^ 0x5A5A5A5A, f"{DOMAIN}\\{USER}")
        assert echo(dce, b"first context") == b"first context"
        assert ping(aux, 7)[0] == 7 ^ 0x5A5A5A5A
        assert whoami(dce) == (f"{DOMAIN}\\{USER}", level)
    finally:
        dce.disconnect()


def test_many_impacket_clients_at_once(served: dcerpc.Server) -> None:
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            dce = connect(port_of(served), USER, PASSWORD, DOMAIN, 6)
            try:
                for i in range(5):
                    payload = bytes([n, i]) * 100
                    assert echo(dce, payload) == payload
            finally:
                dce.disconnect()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
