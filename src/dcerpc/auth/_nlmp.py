"""The pieces of NTLM that pyspnego's acceptor lacks ([MS-NLMP]).

pyspnego's NTLM acceptor can only read passwords from one credential file; a DCE/RPC
server needs a per-user lookup. This module holds the server-side computations of
[MS-NLMP] 3.3.2 (NTOWFv2, the NTProofStr check, the session keys, 3.2.5.1.2 MIC) and
the session security of 3.4 in the DCE-style layout of [MS-RPCE] 2.2.2.11: the body is
sealed, and the signature covers header + plain body + sec_trailer. The message codecs,
MD4/RC4/HMAC and the key derivations (SIGNKEY/SEALKEY, 3.4.5.2/3.4.5.3) are pyspnego's.
"""

from __future__ import annotations

import hmac

from spnego._ntlm_raw.crypto import RC4Handle, hmac_md5, ntowfv1, rc4, rc4init, rc4k
from spnego._ntlm_raw.crypto import sealkey as _sealkey
from spnego._ntlm_raw.crypto import signkey as _signkey
from spnego._ntlm_raw.messages import NegotiateFlags
from spnego._ntlm_raw.security import sign as _mac

from ..errors import SecurityError

__all__ = [
    "NtlmSession",
    "nt_hash",
    "ntowfv2",
    "verify_ntlmv2",
]


def nt_hash(password: str | bytes) -> bytes:
    """NTOWFv1 = MD4(UNICODE(password)) ([MS-NLMP] 3.3.1); 16 bytes pass through as a hash."""
    if isinstance(password, bytes):
        if len(password) != 16:
            raise ValueError("an NT hash is 16 octets")
        return password
    return ntowfv1(password)


def ntowfv2(user: str, domain: str, password: str | bytes) -> bytes:
    """NTOWFv2 = HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(Uppercase(User) + UserDom))
    ([MS-NLMP] 3.3.2)."""
    return hmac_md5(nt_hash(password), (user.upper() + domain).encode("utf-16-le"))


def verify_ntlmv2(response_key_nt: bytes, server_challenge: bytes, nt_response: bytes
                  ) -> bytes:
    """Check an NTLMv2 NtChallengeResponse; returns SessionBaseKey ([MS-NLMP] 3.3.2).

    ``NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)`` where ``temp`` is the
    client's blob (the response after its first 16 octets), compared with those 16 octets.
    Raises SecurityError on a mismatch.
    """
    if len(nt_response) <= 24:
        raise SecurityError("NTLMv1 responses are not accepted")
    proof, blob = nt_response[:16], nt_response[16:]
    expected = hmac_md5(response_key_nt, server_challenge + blob)
    if not hmac.compare_digest(expected, proof):
        raise SecurityError("NTLM logon failure: wrong password")
    return hmac_md5(response_key_nt, expected)


def exported_session_key(flags: int, key_exchange_key: bytes,
                         encrypted_random_session_key: bytes | None) -> bytes:
    """ExportedSessionKey ([MS-NLMP] 3.3.2 end): RC4K(KeyExchangeKey,
    EncryptedRandomSessionKey) with KEY_EXCH and SIGN or SEAL, else KeyExchangeKey."""
    if flags & NegotiateFlags.key_exch and flags & (NegotiateFlags.sign | NegotiateFlags.seal):
        if not encrypted_random_session_key or len(encrypted_random_session_key) != 16:
            raise SecurityError("NTLM AUTHENTICATE lacks the encrypted session key")
        return rc4k(key_exchange_key, encrypted_random_session_key)
    return key_exchange_key


class NtlmSession:
    """Session security of one NTLM context ([MS-NLMP] 3.4), DCE-style.

    One RC4 handle and one sequence number per direction, both continuous across PDUs
    (connection-oriented; protocol-digest §4.4). ``initiator`` picks which keys go out.
    """

    def __init__(self, flags: int, session_key: bytes, *, initiator: bool) -> None:
        self.flags = flags
        out_usage, in_usage = ("initiate", "accept") if initiator else ("accept", "initiate")
        self._sign_out = _signkey(flags, session_key, out_usage)
        self._sign_in = _signkey(flags, session_key, in_usage)
        self._handle_out: RC4Handle = rc4init(_sealkey(flags, session_key, out_usage))
        self._handle_in: RC4Handle = rc4init(_sealkey(flags, session_key, in_usage))
        self.seq_out = 0
        self.seq_in = 0

    def reset_rc4(self, outgoing: bool) -> None:
        """Restart one direction's RC4 stream (after the SPNEGO mechListMIC, [MS-SPNG]
        3.3.5.1 / [MS-NLMP] 3.4.4: the sequence numbers carry on)."""
        (self._handle_out if outgoing else self._handle_in).reset()

    def sign(self, data: bytes) -> bytes:
        """MAC(...) of ``data`` with the outgoing keys ([MS-NLMP] 3.4.4.2)."""
        sig = _mac(self.flags, self._handle_out, self._sign_out, self.seq_out, data)
        self.seq_out += 1
        return sig

    def verify(self, data: bytes, signature: bytes) -> None:
        expected = _mac(self.flags, self._handle_in, self._sign_in, self.seq_in, data)
        self.seq_in += 1
        if not hmac.compare_digest(expected, bytes(signature)):
            raise SecurityError("NTLM signature check failed")

    def wrap(self, header: bytes, body: bytes, trailer: bytes, seal: bool
             ) -> tuple[bytes, bytes]:
        # [MS-NLMP] 3.4.3: SEAL encrypts the message first, then MACs the plain text with
        # the same RC4 stream; [MS-RPCE] 2.2.2.11: the message signed is the whole PDU.
        out = rc4(self._handle_out, body) if seal else body
        return out, self.sign(header + body + trailer)

    def unwrap(self, header: bytes, body: bytes, trailer: bytes, auth_value: bytes,
               seal: bool) -> bytes:
        if len(auth_value) != 16:
            raise SecurityError(f"NTLM verifier of {len(auth_value)} octets (16 expected)")
        plain = rc4(self._handle_in, body) if seal else body
        self.verify(header + plain + trailer, auth_value)
        return plain
