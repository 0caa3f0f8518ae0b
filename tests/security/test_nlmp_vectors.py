"""The NTLM pieces we wrote (acceptor side, DCE-style session security) against the
[MS-NLMP] §4.2.4 NTLMv2 vectors: User "User", UserDom "Domain", Passwd "Password",
ServerChallenge 0123456789abcdef, ClientChallenge aaaaaaaaaaaaaaaa, Time 0,
RandomSessionKey 0x55 repeated 16 times, flags 0xe28a8233 (KEY_EXCH, 128, 56, VERSION,
TARGET_INFO, ESS, ALWAYS_SIGN, NTLM, SEAL, SIGN, OEM, UNICODE; KEY_EXCH, SEAL and SIGN
matter here)."""

from __future__ import annotations

import struct

import pytest
from spnego._ntlm_raw.crypto import hmac_md5, rc4k

from dcerpc.auth._nlmp import NtlmSession, exported_session_key, ntowfv2, verify_ntlmv2
from dcerpc.errors import SecurityError

FLAGS = 0xE28A8233
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
CLIENT_CHALLENGE = b"\xaa" * 8
RANDOM_SESSION_KEY = b"\x55" * 16
# AV pairs of the vector's CHALLENGE: MsvAvNbDomainName "Domain", MsvAvNbComputerName
# "Server", MsvAvEOL.
AV_PAIRS = (struct.pack("<HH", 2, 12) + "Domain".encode("utf-16-le")
            + struct.pack("<HH", 1, 12) + "Server".encode("utf-16-le") + bytes(4))
# temp = Responserversion 1, HiResponserversion 1, Z(6), Time, ClientChallenge, Z(4),
# ServerName (the AV pairs), Z(4) ([MS-NLMP] 3.3.2).
TEMP = b"\x01\x01" + bytes(6) + bytes(8) + CLIENT_CHALLENGE + bytes(4) + AV_PAIRS + bytes(4)


def test_ntowfv2() -> None:
    assert ntowfv2("User", "Domain", "Password") == bytes.fromhex(
        "0c868a403bfd7a93a3001ef22ef02e3f")


def test_ntproofstr_and_session_base_key() -> None:
    key = ntowfv2("User", "Domain", "Password")
    proof = hmac_md5(key, SERVER_CHALLENGE + TEMP)
    assert proof == bytes.fromhex("68cd0ab851e51c96aabc927bebef6a1c")
    base = verify_ntlmv2(key, SERVER_CHALLENGE, proof + TEMP)
    assert base == bytes.fromhex("8de40ccadbc14a82f15cb0ad0de95ca3")


def test_wrong_password_and_ntlmv1_are_refused() -> None:
    good = hmac_md5(ntowfv2("User", "Domain", "Password"), SERVER_CHALLENGE + TEMP) + TEMP
    with pytest.raises(SecurityError, match="wrong password"):
        verify_ntlmv2(ntowfv2("User", "Domain", "Passw0rd"), SERVER_CHALLENGE, good)
    with pytest.raises(SecurityError, match="NTLMv1"):
        verify_ntlmv2(ntowfv2("User", "Domain", "Password"), SERVER_CHALLENGE, bytes(24))


def test_exported_session_key_and_encrypted_key() -> None:
    base = bytes.fromhex("8de40ccadbc14a82f15cb0ad0de95ca3")
    encrypted = rc4k(base, RANDOM_SESSION_KEY)
    assert encrypted == bytes.fromhex("c5dad2544fc9799094ce1ce90bc9d03e")
    assert exported_session_key(FLAGS, base, encrypted) == RANDOM_SESSION_KEY
    assert exported_session_key(FLAGS & ~0x40000000, base, None) == base
    with pytest.raises(SecurityError):
        exported_session_key(FLAGS, base, None)


def test_sealing_vector_4_2_4_4() -> None:
    """GSS_WrapEx of "Plaintext" (UTF-16) at sequence 0 by the client."""
    client = NtlmSession(FLAGS, RANDOM_SESSION_KEY, initiator=True)
    plain = "Plaintext".encode("utf-16-le")
    sealed, signature = client.wrap(b"", plain, b"", seal=True)
    assert sealed == bytes.fromhex("54e50165bf1936dc996020c1811b0f06fb5f")
    assert signature == bytes.fromhex("010000007fb38ec5c55d497600000000")
    server = NtlmSession(FLAGS, RANDOM_SESSION_KEY, initiator=False)
    assert server.unwrap(b"", sealed, b"", signature, seal=True) == plain


def test_dce_layout_signs_header_and_trailer_and_counts_sequence() -> None:
    client = NtlmSession(FLAGS, RANDOM_SESSION_KEY, initiator=True)
    server = NtlmSession(FLAGS, RANDOM_SESSION_KEY, initiator=False)
    for n in range(3):
        body, sig = client.wrap(b"HEADER%d" % n, b"stub and pad....", b"TRAILER!", True)
        assert sig[12:] == struct.pack("<I", n)  # SeqNum, one per PDU and direction
        assert server.unwrap(b"HEADER%d" % n, body, b"TRAILER!", sig, True) == \
            b"stub and pad...."
    body, sig = client.wrap(b"HEADER", b"x" * 16, b"TRAILER!", True)
    with pytest.raises(SecurityError):
        server.unwrap(b"HEADEr", body, b"TRAILER!", sig, True)  # the header is signed
