"""Acceptors never raise anything but SecurityError on garbage tokens (no crash)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dcerpc.auth import NTLM, NegotiateAcceptor, NTLMAcceptor, UserTable
from dcerpc.errors import SecurityError

ACC = NTLMAcceptor(UserTable({"DOM\\alice": "pw"}))
NEG = NegotiateAcceptor(ACC)
NEGOTIATE = NTLM("alice", "pw", "DOM").client_context(5, 1, None).step(None)
assert NEGOTIATE is not None


def _feed(ctx: object, *tokens: bytes) -> None:
    for token in tokens:
        try:
            ctx.step(token)  # type: ignore[attr-defined]
        except SecurityError:
            return


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_ntlm_first_token(data: bytes) -> None:
    _feed(ACC.server_context(5, 1), data)
    _feed(ACC.server_context(5, 1), b"NTLMSSP\x00\x01\x00\x00\x00" + data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_ntlm_authenticate_token(data: bytes) -> None:
    _feed(ACC.server_context(6, 1), NEGOTIATE, b"NTLMSSP\x00\x03\x00\x00\x00" + data)
    _feed(ACC.server_context(6, 1), NEGOTIATE, data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_spnego_tokens(data: bytes) -> None:
    _feed(NEG.server_context(5, 1), data)
    _feed(NEG.server_context(5, 1), b"\x60" + bytes([len(data) & 0x7F]) + data)
    _feed(NEG.server_context(5, 1), b"\xa1" + bytes([len(data) & 0x7F]) + data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_client_context_on_garbage_challenge(data: bytes) -> None:
    for creds in (NTLM("alice", "pw", "DOM"),):
        ctx = creds.client_context(5, 1, None)
        ctx.step(None)
        _feed(ctx, data)
        _feed(creds.client_context(5, 1, None), b"NTLMSSP\x00\x02\x00\x00\x00" + data)
