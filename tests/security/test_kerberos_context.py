"""Kerberos security contexts against a real MIT KDC, without the protocol core.

Client and server contexts are stepped against each other the way bind/bind_ack/auth3 (raw
Kerberos, [MS-RPCE] 3.3.1.5.2 with DCE style) or bind/bind_ack/alter_context/alter_context_resp
(SPNEGO) would carry the tokens, then every PDU part is protected with wrap and checked with
unwrap in both directions.
"""

from __future__ import annotations

import random
import subprocess

import pytest

from dcerpc.auth.base import AuthLevel, SecurityContext
from dcerpc.auth.kerberos import Kerberos, KerberosAcceptor
from dcerpc.errors import SecurityError
from dcerpc.status import RPC_S_ACCESS_DENIED

from .kdc import KDC, kdc_fixture  # noqa: F401 -- the session fixture "kdc"

INTEGRITY, PRIVACY = int(AuthLevel.PKT_INTEGRITY), int(AuthLevel.PKT_PRIVACY)
# A request PDU header (24 octets, auth_length already final), a 16-aligned stub + pad and
# the 8-octet sec_trailer: the shapes the core hands to wrap ([MS-RPCE] 2.2.2.11).
HEADER = bytes.fromhex("05000083100000009c004c0007000000") + bytes.fromhex("4000000000000100")
BODY = bytes(range(48))
TRAILER = bytes.fromhex("1006000000000000")


def establish(creds: Kerberos, acceptor: KerberosAcceptor, level: int,
              server_level: int | None = None
              ) -> tuple[SecurityContext, SecurityContext, list[bytes]]:
    """Step both sides to completion; returns (client, server, tokens on the wire)."""
    client = creds.client_context(level, 7, None)
    server = acceptor.server_context(server_level or level, 7)
    wire: list[bytes] = []
    token = client.step(None)
    for _ in range(6):  # bounded: DCE style needs 3 legs, SPNEGO 4
        assert token is not None
        wire.append(token)
        reply = server.step(token)
        if reply is None:
            break
        wire.append(reply)
        token = client.step(reply)
        if token is None:
            break
    assert client.complete and server.complete
    return client, server, wire


def _raw(kdc: KDC, **kw: object) -> tuple[Kerberos, KerberosAcceptor]:
    return (Kerberos(kdc.user, kdc.password, kdc.realm, target=kdc.service, **kw),  # type: ignore[arg-type]
            KerberosAcceptor(keytab=str(kdc.keytab), **kw))  # type: ignore[arg-type]


def test_raw_kerberos_is_a_three_leg_dce_style_exchange(kdc: KDC) -> None:
    creds, acceptor = _raw(kdc)
    client, server, wire = establish(creds, acceptor, PRIVACY)
    # bind: bare AP-REQ ([APPLICATION 14], no RFC 2743 framing in DCE style); bind_ack: the
    # acceptor's AP-REP ([APPLICATION 15]); auth3: the initiator's AP-REP; no fourth token.
    assert [t[0] for t in wire] == [0x6E, 0x6F, 0x6F]
    assert client.auth_type == server.auth_type == 16
    assert client.auth_context_id == server.auth_context_id == 7
    ident = server.identity()
    assert ident.principal == f"{kdc.user}@{kdc.realm}"
    assert (ident.user, ident.domain) == (kdc.user, kdc.realm)
    assert (ident.auth_type, ident.auth_level) == (16, PRIVACY)


def test_spnego_negotiates_kerberos_in_four_legs(kdc: KDC) -> None:
    creds, acceptor = _raw(kdc, spnego=True)
    client, server, wire = establish(creds, acceptor, INTEGRITY)
    # NegTokenInit is framed ([APPLICATION 0] + SPNEGO OID), the replies are NegTokenResp
    # ([1]); the last is the acceptor's accept-completed for alter_context_resp.
    assert len(wire) == 4
    assert wire[0][0] == 0x60 and bytes.fromhex("2b0601050502") in wire[0][:20]
    assert all(t[0] == 0xA1 for t in wire[1:])
    assert server.identity().principal == f"{kdc.user}@{kdc.realm}"
    assert server.identity().auth_type == client.auth_type == 9


@pytest.mark.parametrize("spnego", [False, True], ids=["krb5", "spnego"])
@pytest.mark.parametrize("level", [INTEGRITY, PRIVACY], ids=["integrity", "privacy"])
def test_wrap_unwrap_both_directions(kdc: KDC, level: int, spnego: bool) -> None:
    creds, acceptor = _raw(kdc, spnego=spnego)
    client, server, _ = establish(creds, acceptor, level)
    seal = level == PRIVACY
    # AES with DCE style: 28 octets signed only, 76 sealed (what Windows sends too).
    assert client.signature_size() == server.signature_size() == (76 if seal else 28)
    for n in range(3):  # several PDUs each way: sequence numbers advance per direction
        body = BODY[n:] + bytes(n)
        out, av = client.wrap(HEADER, body, TRAILER, seal)
        assert len(av) == client.signature_size()
        assert (out != body) if seal else (out == body)
        assert len(out) == len(body)  # DCE style: no padding, the RPC auth pad does that
        assert server.unwrap(HEADER, out, TRAILER, av, seal) == body
        out, av = server.wrap(HEADER, body[::-1], TRAILER, seal)
        assert client.unwrap(HEADER, out, TRAILER, av, seal) == body[::-1]


@pytest.mark.parametrize("part", ["header", "body", "trailer", "auth_value"])
@pytest.mark.parametrize("level", [INTEGRITY, PRIVACY], ids=["integrity", "privacy"])
def test_tampering_any_part_is_rejected(kdc: KDC, level: int, part: str) -> None:
    client, server, _ = establish(*_raw(kdc), level)
    seal = level == PRIVACY
    body, av = client.wrap(HEADER, BODY, TRAILER, seal)
    parts = {"header": HEADER, "body": body, "trailer": TRAILER, "auth_value": av}
    for index in (0, len(parts[part]) // 2, len(parts[part]) - 1):
        bad = dict(parts)
        flipped = bytearray(parts[part])
        flipped[index] ^= 0x01
        bad[part] = bytes(flipped)
        with pytest.raises(SecurityError) as err:
            server.unwrap(bad["header"], bad["body"], bad["trailer"], bad["auth_value"], seal)
        assert err.value.status == RPC_S_ACCESS_DENIED
    # The failures left the context usable: the genuine PDU still verifies.
    assert server.unwrap(HEADER, body, TRAILER, av, seal) == BODY


def test_truncated_or_missing_verifier_is_rejected(kdc: KDC) -> None:
    client, server, _ = establish(*_raw(kdc), PRIVACY)
    body, av = client.wrap(HEADER, BODY, TRAILER, True)
    for short in (b"", av[:16], av[:-1]):
        with pytest.raises(SecurityError):
            server.unwrap(HEADER, body, TRAILER, short, True)


def test_replayed_and_reflected_pdus_are_rejected(kdc: KDC) -> None:
    client, server, _ = establish(*_raw(kdc), INTEGRITY)
    body, av = client.wrap(HEADER, BODY, TRAILER, False)
    assert server.unwrap(HEADER, body, TRAILER, av, False) == BODY
    with pytest.raises(SecurityError):  # the same PDU again
        server.unwrap(HEADER, body, TRAILER, av, False)
    body, av = client.wrap(HEADER, BODY, TRAILER, False)
    with pytest.raises(SecurityError):  # the client's own PDU sent back to it
        client.unwrap(HEADER, body, TRAILER, av, False)


def test_sign_only_pdu_at_privacy_level_is_a_downgrade(kdc: KDC) -> None:
    # A peer that only signs although the server's context is at privacy level.
    client, server, _ = establish(*_raw(kdc), INTEGRITY, server_level=PRIVACY)
    body, av = client.wrap(HEADER, BODY, TRAILER, False)
    with pytest.raises(SecurityError, match="does not match"):
        server.unwrap(HEADER, body, TRAILER, av, True)


def test_wrong_password_and_unknown_user_are_refused(kdc: KDC) -> None:
    acceptor = KerberosAcceptor(keytab=str(kdc.keytab))
    for creds in (Kerberos(kdc.user, "not-the-password", kdc.realm),
                  Kerberos("mallory", kdc.password, kdc.realm)):
        with pytest.raises(SecurityError) as err:
            establish(creds, acceptor, INTEGRITY)
        assert err.value.status == RPC_S_ACCESS_DENIED
        assert "not-the-password" not in repr(creds)  # secrets stay out of logs


def test_ticket_for_a_service_the_keytab_lacks_is_refused(kdc: KDC) -> None:
    # A principal the KDC does not know at all: the client cannot even get a ticket.
    creds = Kerberos(kdc.user, kdc.password, kdc.realm, target="host/nowhere.invalid")
    with pytest.raises(SecurityError):
        establish(creds, KerberosAcceptor(keytab=str(kdc.keytab)), INTEGRITY)
    # A ticket for another real principal (the user "bob"): the acceptor has no key for it.
    creds = Kerberos(kdc.user, kdc.password, kdc.realm, target=f"{kdc.other_user}@{kdc.realm}")
    with pytest.raises(SecurityError):
        establish(creds, KerberosAcceptor(keytab=str(kdc.keytab)), INTEGRITY)


def test_existing_ccache_is_used(kdc: KDC) -> None:
    ccache = f"FILE:{kdc.directory}/bob.ccache"
    r = subprocess.run(["kinit", "-c", ccache, f"{kdc.other_user}@{kdc.realm}"],
                       input=kdc.other_password + "\n", text=True, capture_output=True,
                       env=None, timeout=20, check=False)
    assert r.returncode == 0, r.stderr
    creds = Kerberos(target=kdc.service, ccache=ccache, realm=kdc.realm)
    _, server, _ = establish(creds, KerberosAcceptor(keytab=str(kdc.keytab)), INTEGRITY)
    assert server.identity().user == kdc.other_user


def test_garbage_and_out_of_order_tokens_raise_security_error(kdc: KDC) -> None:
    creds, acceptor = _raw(kdc)
    with pytest.raises(SecurityError):
        acceptor.server_context(INTEGRITY, 0).step(b"\x6e\x03garbage")
    with pytest.raises(SecurityError):
        acceptor.server_context(INTEGRITY, 0).step(None)
    client, _server, _ = establish(creds, acceptor, INTEGRITY)
    with pytest.raises(SecurityError):
        client.step(b"\x6f\x00")  # a token after completion
    fresh = creds.client_context(INTEGRITY, 1, None)
    with pytest.raises(SecurityError):
        fresh.wrap(HEADER, BODY, TRAILER, False)  # nothing to protect with yet


def test_stub_only_signing_without_header_signing(kdc: KDC) -> None:
    # Without PFC_SUPPORT_HEADER_SIGN, Windows and Samba pass only the stub to the
    # package ([MS-RPCE] 3.3.1.5.2.2); empty SIGN_ONLY buffers must work the same way.
    client, server, _ = establish(*_raw(kdc), PRIVACY)
    body, av = client.wrap(b"", BODY, b"", True)
    assert server.unwrap(b"", body, b"", av, True) == BODY
    # The switch the core flips when PFC_SUPPORT_HEADER_SIGN was not negotiated.
    client.header_signing = server.header_signing = False  # type: ignore[attr-defined]
    body, av = client.wrap(HEADER, BODY, TRAILER, True)
    other = bytes(len(HEADER))  # a different header verifies: it is not covered
    assert server.unwrap(other, body, TRAILER[::-1], av, True) == BODY
    client.header_signing = server.header_signing = True  # type: ignore[attr-defined]
    body, av = client.wrap(b"", BODY, b"", True)
    with pytest.raises(SecurityError):  # with it on, the header is inside the signature
        server.unwrap(HEADER, body, TRAILER, av, True)


def test_credentials_are_acquired_once(kdc: KDC) -> None:
    creds = Kerberos(kdc.user, kdc.password, kdc.realm, target=kdc.service)
    first = creds.credentials()
    assert creds.credentials() is first  # the TGT is reused while it is valid
    assert str(first.name).rstrip("\x00") == f"{kdc.user}@{kdc.realm}"


@pytest.mark.parametrize("spnego", [False, True], ids=["krb5", "spnego"])
def test_random_tokens_and_verifiers_only_raise_security_error(kdc: KDC, spnego: bool) -> None:
    rng = random.Random(5)
    creds, acceptor = _raw(kdc, spnego=spnego)
    first = creds.client_context(INTEGRITY, 0, None).step(None)
    assert first is not None
    samples = [bytes(rng.randrange(256) for _ in range(n)) for n in (1, 2, 16, 300)]
    samples += [bytes([first[0]]) + s for s in samples]  # a plausible first octet
    samples += [first[:n] for n in (4, len(first) // 2, len(first) - 1)]  # truncations
    for token in samples:
        with pytest.raises(SecurityError):
            acceptor.server_context(INTEGRITY, 0).step(token)
    client, server, _ = establish(creds, acceptor, PRIVACY)
    body, av = client.wrap(HEADER, BODY, TRAILER, True)
    for junk in samples:
        with pytest.raises(SecurityError):
            server.unwrap(HEADER, body, TRAILER, junk, True)
    assert server.unwrap(HEADER, body, TRAILER, av, True) == BODY


def test_tampered_ap_rep_fails_mutual_authentication(kdc: KDC) -> None:
    creds, acceptor = _raw(kdc)
    client = creds.client_context(INTEGRITY, 0, None)
    server = acceptor.server_context(INTEGRITY, 0)
    ap_rep = server.step(client.step(None))
    assert ap_rep is not None
    bad = bytearray(ap_rep)
    bad[-5] ^= 0x10  # inside the encrypted part: the server did not prove its key
    with pytest.raises(SecurityError):
        client.step(bytes(bad))
    assert not client.complete
