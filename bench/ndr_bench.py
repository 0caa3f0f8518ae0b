"""NDR codec benchmark: dcerpc.ndr vs impacket vs a hand-written struct codec (the floor).

The record, as IDL (pointer form: the array sits behind a unique pointer, so its
referent is deferred, as in most MS IDL)::

    typedef struct { ULONG a; USHORT b; [unique, string] wchar_t *s; } ITEM;
    typedef struct { ULONG id; [unique, string] wchar_t *name; ULONG count;
                     [size_is(count), unique] ITEM *items; } RECORD;

marshalled as one top-level ``[in] RECORD`` with 1000 items. Before timing, the three
encoders must produce identical bytes (impacket's random referent ids are set to
Windows' sequence first, and its alignment gaps may hold its filler bytes where we write
0) and the decoders must return values equal to the input. Then each op is timed with
``time.perf_counter`` (GC off, as timeit does) in ``--repeats`` rounds, each timing one
run of every op in turn (interleaved, so load changes hit all contestants alike), with
an auto-calibrated loop count; best and median per op.

* impacket encode = ``getData()`` of an already built NDRCALL (building the object tree
  from Python values is not counted, which favours impacket); impacket decode =
  ``NDRCALL(data)`` (its parsed object tree is its value).
* ours = ``ndr.encode(RECORD, value)`` / ``ndr.decode(RECORD, data)``, the public API.
* floor = the fastest straightforward pure-Python codec of the same bytes and values
  (precompiled ``struct.Struct``, ``pack_into``, ``iter_unpack``, ``b"".join``).

Targets: impacket/ours >= 20x (encode) and >= 40x (decode); ours/floor <= 1.5x each.
Exit status is 0 whatever the numbers (a report, not a test) unless the codecs disagree.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from impacket.dcerpc.v5 import dtypes as imp
from impacket.dcerpc.v5 import ndr as impndr

from dcerpc import ndr
from dcerpc.ndr import types as t

TARGETS = {"encode_vs_impacket": 20.0, "decode_vs_impacket": 40.0, "ours_vs_floor": 1.5}
FIRST_REFERENT = 0x00020000  # Windows' first referent id ([MS-RPCE] / protocol-digest §5.5)

# --------------------------------------------------------------------------- the model
_WSTRING = t.Array(t.WCHAR, (t.Dim(),), string=True)
ITEM_T = t.Struct("ITEM", [t.Field("a", t.ULONG), t.Field("b", t.USHORT),
                           t.Field("s", t.Pointer("unique", _WSTRING))])
RECORD_T = t.Struct("RECORD", [
    t.Field("id", t.ULONG),
    t.Field("name", t.Pointer("unique", _WSTRING)),
    t.Field("count", t.ULONG),
    t.Field("items", t.Pointer("unique", t.Array(ITEM_T, (t.Dim(size_is=t.Ref("count")),)))),
])
Item = ndr.python_type(ITEM_T)
Record = ndr.python_type(RECORD_T)


def make_record(n: int) -> Any:
    """n items with short strings of varying length; every 50th string is NULL."""
    items = [Item(a=i * 7919, b=i & 0xFFFF, s=None if i % 50 == 49 else f"item-{i}")
             for i in range(n)]
    return Record(id=42, name="benchmark record", count=n, items=items)


# --------------------------------------------------------------------------- impacket
class IMP_ITEM(impndr.NDRSTRUCT):
    structure = (("a", imp.ULONG), ("b", imp.USHORT), ("s", imp.LPWSTR))


class IMP_ITEM_ARRAY(impndr.NDRUniConformantArray):
    item = IMP_ITEM


class IMP_PITEM_ARRAY(impndr.NDRPOINTER):
    referent = (("Data", IMP_ITEM_ARRAY),)


class IMP_RECORD(impndr.NDRSTRUCT):
    structure = (("id", imp.ULONG), ("name", imp.LPWSTR), ("count", imp.ULONG),
                 ("items", IMP_PITEM_ARRAY))


class IMP_CALL(impndr.NDRCALL):  # one top-level [in] RECORD parameter
    structure = (("rec", IMP_RECORD),)


def impacket_build(rec: Any) -> IMP_CALL:
    """The impacket object for ``rec``, referent ids numbered as Windows does: in
    marshalling order (name, items, then each item's string)."""
    call = IMP_CALL()
    r = call.fields["rec"]
    r["id"], r["count"] = rec.id, rec.count
    r["name"] = impndr.NULL if rec.name is None else rec.name + "\x00"  # WSTR adds no NUL
    rows = []
    for it in rec.items:
        row = IMP_ITEM()
        row["a"], row["b"] = it.a, it.b
        row["s"] = impndr.NULL if it.s is None else it.s + "\x00"
        rows.append(row)
    r["items"] = rows
    ptrs = [r.fields["name"], r.fields["items"]] + [row.fields["s"] for row in rows]
    ids = iter(range(FIRST_REFERENT, FIRST_REFERENT + 4 * len(ptrs), 4))
    for p in ptrs:
        if isinstance(p, impndr.NDRPOINTER):
            p.fields["ReferentID"] = next(ids)
    return call


def impacket_value(call: IMP_CALL) -> Any:
    """impacket's parse result as our Python value (NULL reads back as b'')."""
    def text(v: Any) -> str | None:
        return None if v == b"" else v[:-1]  # impacket keeps the terminator
    r = call["rec"]
    items = [Item(a=it["a"], b=it["b"], s=text(it["s"])) for it in r["items"]]
    return Record(id=r["id"], name=text(r["name"]), count=r["count"], items=items)


# impacket fills alignment gaps with per-call-site bytes; ours and the floor write 0.
_IMPACKET_FILLERS = frozenset(b"\xaa\xab\xbb\xbc\xbd\xbe\xbf\xca\xcb\xcc\xce\xdd\xee\xef")


def same_but_gaps(ours: bytes, theirs: bytes) -> bool:
    """Equal, except where impacket wrote a gap filler and we wrote 0."""
    return len(ours) == len(theirs) and all(
        a == b or (a == 0 and b in _IMPACKET_FILLERS) for a, b in zip(ours, theirs, strict=True))


# --------------------------------------------------------------------------- the floor
_HEAD = struct.Struct("<4I")  # id, name referent, count, items referent
_ROW = struct.Struct("<IH2xI")  # ITEM inline: a, b, gap, s referent
_CV = struct.Struct("<3I")  # conformant-varying string: max_count, offset, actual_count
_U32 = struct.Struct("<I")
_NUL2 = b"\x00\x00"


def floor_encode(rec: Any) -> bytes:
    items = rec.items
    rid = FIRST_REFERENT
    name = rec.name
    parts: list[bytes | bytearray] = []
    odd = 0  # a string of odd length (in wchars) ends 2 bytes short of 4-alignment
    if name is not None:
        e = (name + "\0").encode("utf-16-le")
        k = len(e) >> 1
        parts += (_HEAD.pack(rec.id, rid, rec.count, rid + 4), _CV.pack(k, 0, k), e)
        rid += 8
        odd = k & 1
    else:
        parts.append(_HEAD.pack(rec.id, 0, rec.count, rid))
        rid += 4
    if odd:
        parts.append(_NUL2)
    rows = bytearray(4 + 12 * len(items))
    _U32.pack_into(rows, 0, len(items))
    pack_row = _ROW.pack_into
    off = 4
    strings = []
    for it in items:
        if it.s is None:
            pack_row(rows, off, it.a, it.b, 0)
        else:
            pack_row(rows, off, it.a, it.b, rid)
            rid += 4
            strings.append(it.s)
        off += 12
    parts.append(rows)
    append = parts.append
    cv = _CV.pack
    odd = 0
    for s in strings:
        if odd:
            append(_NUL2)
        e = (s + "\0").encode("utf-16-le")
        k = len(e) >> 1
        append(cv(k, 0, k))
        append(e)
        odd = k & 1
    return b"".join(parts)


def floor_decode(data: bytes) -> Any:
    rec_id, name_ref, count, items_ref = _HEAD.unpack_from(data, 0)
    u32 = _U32.unpack_from
    pos = 16
    name = None
    if name_ref:
        (k,) = u32(data, pos + 8)  # actual_count, terminator included
        end = pos + 10 + 2 * k
        name = data[pos + 12:end].decode("utf-16-le")
        pos = end + 2
    items = None
    if items_ref:
        pos = (pos + 3) & ~3
        (n,) = u32(data, pos)
        end = pos + 4 + 12 * n
        rows = _ROW.iter_unpack(data[pos + 4:end])
        pos = end
        items = []
        append = items.append
        for a, b, sref in rows:
            if sref:
                if pos & 2:  # positions are even: this aligns to 4
                    pos += 2
                (k,) = u32(data, pos + 8)
                end = pos + 10 + 2 * k
                append(Item(a, b, data[pos + 12:end].decode("utf-16-le")))
                pos = end + 2
            else:
                append(Item(a, b, None))
    return Record(rec_id, name, count, items)


# --------------------------------------------------------------------------- timing
def _run(fn: Callable[[], Any], loops: int) -> float:
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - t0
    finally:
        if gc_was:
            gc.enable()


def calibrate(fn: Callable[[], Any], min_time: float) -> int:
    """A loop count for which one run of ``fn`` lasts at least ``min_time`` seconds."""
    loops = 1
    while (elapsed := _run(fn, loops)) < min_time:
        loops = max(loops * 2, int(loops * min_time / max(elapsed, 1e-9) * 1.2))
    return loops


def measure(ops: dict[str, Callable[[], Any]], min_time: float,
            repeats: int) -> dict[str, dict[str, float]]:
    """Best and median ms per call for every op.

    The runs are interleaved (one run of each op per round, ``repeats`` rounds), so a
    change in machine load hits all contestants alike and the ratios stay meaningful.
    """
    loops = {name: calibrate(fn, min_time) for name, fn in ops.items()}
    per_call: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(repeats):
        for name, fn in ops.items():
            per_call[name].append(_run(fn, loops[name]) / loops[name])
    return {name: {"best_ms": min(v) * 1e3, "median_ms": statistics.median(v) * 1e3,
                   "loops": loops[name]} for name, v in per_call.items()}


def check_agreement(rec: Any) -> tuple[bytes, dict[str, Callable[[], Any]]]:
    """Assert the three codecs agree; return the bytes and the six timed callables."""
    ours = ndr.encode(RECORD_T, rec)
    floor = floor_encode(rec)
    call = impacket_build(rec)
    theirs = call.getData()
    problems = []
    if floor != ours:
        problems.append("floor_encode bytes differ from ndr.encode")
    if not same_but_gaps(ours, theirs):
        problems.append("impacket bytes differ from ndr.encode outside alignment gaps")
    if ndr.decode(RECORD_T, ours) != rec:
        problems.append("ndr.decode does not return the input value")
    if floor_decode(ours) != rec:
        problems.append("floor_decode does not return the input value")
    if impacket_value(IMP_CALL(theirs)) != rec:
        problems.append("impacket does not decode its bytes to the input value")
    if ndr.decode(RECORD_T, theirs) != rec:
        problems.append("ndr.decode does not read impacket's bytes")
    if problems:
        raise SystemExit("codecs disagree: " + "; ".join(problems))
    ops = {
        "impacket.encode": call.getData,
        "impacket.decode": lambda: IMP_CALL(theirs),
        "floor.encode": lambda: floor_encode(rec),
        "floor.decode": lambda: floor_decode(ours),
        "ours.encode": lambda: ndr.encode(RECORD_T, rec),
        "ours.decode": lambda: ndr.decode(RECORD_T, ours),
    }
    return ours, ops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (numbers are noisy)")
    ap.add_argument("--json", action="store_true", help="emit machine-readable results")
    ap.add_argument("--items", type=int, default=1000, help="ITEMs in the record (1000)")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per op (7)")
    ap.add_argument("--min-time", type=float, default=None,
                    help="seconds each timed run lasts at least (0.2)")
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 7)
    min_time = args.min_time if args.min_time is not None else (0.0 if args.quick else 0.2)

    rec = make_record(args.items)
    data, ops = check_agreement(rec)
    results = measure(ops, min_time, repeats)

    def ratio(a: str, b: str, key: str = "best_ms") -> float:
        return results[a][key] / results[b][key]

    ratios = {
        "encode_impacket_over_ours": ratio("impacket.encode", "ours.encode"),
        "decode_impacket_over_ours": ratio("impacket.decode", "ours.decode"),
        "encode_ours_over_floor": ratio("ours.encode", "floor.encode"),
        "decode_ours_over_floor": ratio("ours.decode", "floor.decode"),
    }
    verdict = {
        "encode_vs_impacket": ratios["encode_impacket_over_ours"] >= TARGETS["encode_vs_impacket"],
        "decode_vs_impacket": ratios["decode_impacket_over_ours"] >= TARGETS["decode_vs_impacket"],
        "encode_vs_floor": ratios["encode_ours_over_floor"] <= TARGETS["ours_vs_floor"],
        "decode_vs_floor": ratios["decode_ours_over_floor"] <= TARGETS["ours_vs_floor"],
    }
    report = {
        "record": {"items": args.items, "bytes": len(data)},
        "timing": {"repeats": repeats, "min_time_s": min_time, "quick": args.quick,
                   "python": sys.version.split()[0]},
        "agree": True, "results_ms": results, "ratios": ratios, "targets": TARGETS,
        "pass": verdict,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))
    return 0


def render(rep: dict[str, Any]) -> str:
    r, q, v = rep["results_ms"], rep["ratios"], rep["pass"]
    tm = rep["timing"]
    lines = [
        f"RECORD with {rep['record']['items']} ITEMs = {rep['record']['bytes']} bytes; "
        f"encoders agree byte for byte, decoders return equal values",
        f"best / median ms per op, {tm['repeats']} repeats"
        + (" (--quick: noisy)" if tm["quick"] else ""),
        f"{'codec':<10}{'encode best':>13}{'median':>10}{'decode best':>14}{'median':>10}",
    ]
    for who in ("impacket", "floor", "ours"):
        e, d = r[f"{who}.encode"], r[f"{who}.decode"]
        lines.append(f"{who:<10}{e['best_ms']:>13.3f}{e['median_ms']:>10.3f}"
                     f"{d['best_ms']:>14.3f}{d['median_ms']:>10.3f}")

    def ok(flag: bool) -> str:
        return "PASS" if flag else "FAIL"
    t = rep["targets"]
    lines += [
        "",
        f"encode impacket/ours {q['encode_impacket_over_ours']:7.1f}x  "
        f"(target >= {t['encode_vs_impacket']:.0f}x)  {ok(v['encode_vs_impacket'])}",
        f"decode impacket/ours {q['decode_impacket_over_ours']:7.1f}x  "
        f"(target >= {t['decode_vs_impacket']:.0f}x)  {ok(v['decode_vs_impacket'])}",
        f"encode ours/floor    {q['encode_ours_over_floor']:7.2f}x  "
        f"(target <= {t['ours_vs_floor']}x)  {ok(v['encode_vs_floor'])}",
        f"decode ours/floor    {q['decode_ours_over_floor']:7.2f}x  "
        f"(target <= {t['ours_vs_floor']}x)  {ok(v['decode_vs_floor'])}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
