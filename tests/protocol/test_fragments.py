"""Fragmentation and bounded reassembly (C706 §12.6.2; protocol-digest §3.1-§3.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcerpc import status
from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol._fragments import (
    FragmentLimitError,
    StubAssembler,
    iter_fragments,
    payload_size,
)
from dcerpc.protocol.constants import PFC_FIRST_FRAG, PFC_LAST_FRAG

FIRST, LAST = int(PFC_FIRST_FRAG), int(PFC_LAST_FRAG)


def test_payload_size_fits_and_is_16_aligned() -> None:
    assert payload_size(1432, 24) == 1408
    assert payload_size(5840, 24) == 5808
    assert payload_size(4280, 40) == 4240
    assert payload_size(5840, 24, 15 + 8 + 16) % 16 == 0
    assert 24 + payload_size(5840, 24, 39) + 39 <= 5840
    with pytest.raises(ValueError):
        payload_size(30, 24)


def test_empty_stub_is_one_first_last_fragment() -> None:
    assert list(iter_fragments(b"", 16)) == [(FIRST | LAST, 0, b"")]


def test_flags_and_remaining_alloc_hint() -> None:
    frags = list(iter_fragments(bytes(range(40)), 16))
    assert [f for f, _, _ in frags] == [FIRST, 0, LAST]
    assert [h for _, h, _ in frags] == [40, 24, 8]  # remaining, as Windows sends it
    assert b"".join(c for _, _, c in frags) == bytes(range(40))


def test_exact_multiple_has_no_empty_tail() -> None:
    frags = list(iter_fragments(b"a" * 32, 16))
    assert [f for f, _, _ in frags] == [FIRST, LAST]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64).map(lambda n: n * 16))
def test_fragments_reassemble(stub: bytes, payload: int) -> None:
    asm = StubAssembler(10_000, 10_000)
    frags = list(iter_fragments(stub, payload))
    assert frags[0][0] & FIRST and frags[-1][0] & LAST
    assert all(len(c) <= payload for _, _, c in frags)
    for _, _, chunk in frags:
        asm.append(chunk)
    assert asm.take() == stub
    assert asm.count == len(frags)


def test_alloc_hint_over_limit_refused_before_buffering() -> None:
    with pytest.raises(FragmentLimitError) as info:
        StubAssembler(1000, 10, alloc_hint=0xFFFFFFFF)
    assert info.value.status == status.RPC_S_ACCESS_DENIED
    assert isinstance(info.value, RemoteProtocolError)


def test_size_limit() -> None:
    asm = StubAssembler(100, 10)
    asm.append(b"x" * 100)
    with pytest.raises(FragmentLimitError):
        asm.append(b"y")
    assert asm.size == 100


def test_fragment_count_limit_bounds_bookkeeping() -> None:
    asm = StubAssembler(1_000_000, 50)
    for _ in range(50):
        asm.append(b"z")
    with pytest.raises(FragmentLimitError, match="50 fragments"):
        asm.append(b"z")
    assert asm.count == 50 and asm.take() == b"z" * 50
