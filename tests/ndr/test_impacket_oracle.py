"""Byte-exact tests of the NDR codec against impacket's independent NDR encoder.

For every case of the corpus (``_oracle_cases*.py``: one type written as a dcerpc model
descriptor and as impacket classes, one value built in both):

* ``ndr.encode(T, value)`` equals impacket's ``getData()`` once impacket's random
  referent ids are renumbered in Windows' sequence and its alignment gaps are zeroed
  (see ``_oracle_types`` for how both are done from impacket's own output);
* ``ndr.decode(T, impacket_bytes) == value``, fed impacket's bytes with its *own* gap
  filler, and again with its own random referent ids (receivers must accept any
  non-zero id and never validate gaps: C706 §14.2.2, §14.3.10);
* impacket's own parser reads our bytes and marshals them back unchanged;
* where the case carries a hand-computed vector, impacket produces it too, so the
  oracle itself is pinned.

Cases where impacket is known to be wrong carry a ``quirk`` and are checked against the
hand-computed C706 bytes instead. Big-endian is out of scope here (impacket writes
little-endian only); the codec's own tests cover it.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _oracle_cases_constructed as constructed
from _oracle_cases import CASES, Case
from _oracle_types import (
    WINDOWS_FIRST_REFERENT,
    hexdump_diff,
    iter_pointers,
    marshal,
    pad_filler,
)
from impacket.dcerpc.v5 import ndr as impndr

from dcerpc import ndr

OP_CASES = constructed.OP_CASES
ORACLE_CASES = [c for c in CASES if c.quirk is None]
QUIRK_CASES = [c for c in CASES if c.quirk is not None]
HEX_CASES = [c for c in CASES if c.hex is not None]


def _ids(c: Any) -> str:
    return str(c.id)


def _value(c: Case) -> Any:
    return c.value(ndr.python_type)


def _explain(c: Any, ours: bytes, theirs: bytes, mask: bytes | None = None,
             labels: str = "ours vs impacket") -> str:
    return f"{c.id}: {type(c).__name__}\n{hexdump_diff(ours, theirs, mask, labels)}"


# --------------------------------------------------------------------------- the corpus itself
def test_corpus_size() -> None:
    assert len(CASES) >= 40
    assert len(OP_CASES) >= 5
    assert len({c.id for c in CASES + OP_CASES}) == len(CASES) + len(OP_CASES)


@pytest.mark.parametrize("c", HEX_CASES + [o for o in OP_CASES if o.hex], ids=_ids)
def test_impacket_reproduces_hand_vector(c: Any) -> None:
    m = marshal(c.impacket())
    expected = bytes.fromhex(c.hex)
    if getattr(c, "quirk", None):
        assert m.zero_padded != expected, f"impacket no longer deviates: {c.quirk}"
    else:
        assert m.zero_padded == expected, _explain(c, expected, m.zero_padded, m.pad_mask,
                                                   "hand vector vs impacket")


def test_pad_filler_is_restored_and_mask_finds_gaps() -> None:
    c = next(x for x in CASES if x.id == "struct_ushort_hyper_usmall")
    obj = c.impacket()
    before = obj.getData()
    with pad_filler(0x00):
        assert obj.getData() != before
    assert obj.getData() == before  # the code objects are back
    m = marshal(c.impacket())
    assert m.pad_mask == bytes([0, 0, 1, 1, 1, 1, 1, 1] + [0] * 9)
    assert all(m.native[i] in b"\xaa\xab\xbb\xbf\xee" for i in range(2, 8))


def test_referent_ids_follow_marshalling_order() -> None:
    c = next(x for x in CASES if x.id == "struct_depth_first_referents")
    m = marshal(c.impacket())
    assert m.pointers == 4
    ids = [int.from_bytes(m.zero_padded[o:o + 4], "little") for o in (0, 4, 12, 24)]
    assert ids == [WINDOWS_FIRST_REFERENT + 4 * k for k in range(4)]


# --------------------------------------------------------------------------- encode
@pytest.mark.parametrize("c", ORACLE_CASES, ids=_ids)
def test_encode_equals_impacket(c: Case) -> None:
    m = marshal(c.impacket())
    ours = ndr.encode(c.model, _value(c))
    assert ours == m.zero_padded, _explain(c, ours, m.zero_padded, m.pad_mask)


@pytest.mark.parametrize("c", QUIRK_CASES, ids=_ids)
def test_encode_quirk_cases_follow_c706(c: Case) -> None:
    assert c.hex is not None
    expected = bytes.fromhex(c.hex)
    ours = ndr.encode(c.model, _value(c))
    assert ours == expected, _explain(c, ours, expected, labels="ours vs hand vector")


# --------------------------------------------------------------------------- decode
@pytest.mark.parametrize("c", ORACLE_CASES, ids=_ids)
def test_decode_impacket_bytes(c: Case) -> None:
    m = marshal(c.impacket())
    assert ndr.decode(c.model, m.native) == _value(c)


@pytest.mark.parametrize("c", ORACLE_CASES, ids=_ids)
def test_decode_impacket_random_referent_ids(c: Case) -> None:
    state = random.getstate()
    random.seed(c.id)  # impacket draws ids from `random`; distinct ids keep [ptr] unaliased
    try:
        obj = c.impacket()
    finally:
        random.setstate(state)
    ids = [p.fields["ReferentID"] for p in iter_pointers(obj)]
    assert len(set(ids)) == len(ids)
    assert ndr.decode(c.model, obj.getData()) == _value(c)


@pytest.mark.parametrize("c", ORACLE_CASES + OP_CASES, ids=_ids)
def test_impacket_parses_our_bytes_back_unchanged(c: Any) -> None:
    # The other direction: impacket's own parser reads our bytes (its fromString) and
    # marshals what it read back to the very same bytes (ids kept, gaps zeroed).
    ours = _encode_op(c) if isinstance(c, constructed.OpCase) else ndr.encode(c.model, _value(c))
    parsed = type(c.impacket())(ours)
    with pad_filler(0x00):
        again = parsed.getData()
    assert again == ours, _explain(c, ours, again, labels="ours vs impacket re-marshalled")


@pytest.mark.parametrize("c", QUIRK_CASES, ids=_ids)
def test_decode_quirk_cases(c: Case) -> None:
    assert c.hex is not None
    assert ndr.decode(c.model, bytes.fromhex(c.hex)) == _value(c)


# --------------------------------------------------------------------------- operations (NDRCALL)
def _wire_values(c: constructed.OpCase) -> list[Any]:
    """The case's values in the order the codec takes them: [in] params for a request;
    return value then [out] params for a response (the codec's result order)."""
    named = c.args(ndr.python_type)
    if c.side == "request":
        return [named[p.name] for p in c.op.params if p.in_]
    head = [named["return_value"]] if c.op.returns is not None else []
    return head + [named[p.name] for p in c.op.params if p.out]


def _encode_op(c: constructed.OpCase) -> bytes:
    codec = ndr.operation_codec(c.op)
    values = _wire_values(c)
    if c.side == "request":
        return codec.encode_request(values)
    return codec.encode_response(values[0] if len(values) == 1 else tuple(values))


def _decode_op(c: constructed.OpCase, data: bytes) -> list[Any]:
    codec = ndr.operation_codec(c.op)
    if c.side == "request":
        return list(codec.decode_request(data))
    got = codec.decode_response(data)
    return list(got) if len(_wire_values(c)) > 1 else [got]


@pytest.mark.parametrize("c", OP_CASES, ids=_ids)
def test_operation_encode_equals_impacket_ndrcall(c: constructed.OpCase) -> None:
    m = marshal(c.impacket())
    ours = _encode_op(c)
    assert ours == m.zero_padded, _explain(c, ours, m.zero_padded, m.pad_mask)


@pytest.mark.parametrize("c", OP_CASES, ids=_ids)
def test_operation_decode_impacket_ndrcall(c: constructed.OpCase) -> None:
    m = marshal(c.impacket())
    assert _decode_op(c, m.native) == _wire_values(c)


def test_impacket_null_pointer_singleton_untouched() -> None:
    # NULL is a shared impacket singleton; the machinery must never renumber it.
    assert not list(iter_pointers(impndr.NULL))
