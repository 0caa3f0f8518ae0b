"""Operation codecs: request and response stub data of one operation.

The request carries the [in] parameters in declaration order, the response the [out]
parameters in declaration order and then the return value (C706 §12.6.4.9-10,
[MS-RPCE] 2.2.1.1.7); each parameter is a top-level item (inline part, then its
deferred referents), and referent ids run on across the whole message.  ``handle_t``
parameters are not on the wire (C706 §14.3.10.1).  Pipe parameters follow the
non-pipe [in] data in a request and precede the non-pipe [out] data in a response
(MIDL "Combining Pipe and Nonpipe Parameters"), each as chunks ending with an empty one
(C706 §14.3.11).

The Python result of a call is the return value (if not void), then the [out] and
[in,out] parameters in IDL order: one value bare, several as a namedtuple whose fields
are ``return_value`` and the parameter names, nothing as None.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from ..errors import NdrError
from . import types as t
from ._codegen import UNITS, Unit, Writer
from ._dec import Dec
from ._dec import top_item as dec_top
from ._enc import Enc
from ._enc import top_item as enc_top
from ._layout import count_fields, elem_kind, pyname, unrange
from ._runtime import LOW_LEVEL_ERRORS, decode_input, map_decode_error, map_encode_error


def _pipe_of(T: t.NdrType) -> t.Pipe | None:
    U = unrange(T)
    while isinstance(U, t.Pointer) and U.kind == "ref":
        U = unrange(U.target)
    return U if isinstance(U, t.Pipe) else None


def _on_wire(p: t.Param) -> bool:
    return not isinstance(unrange(p.type), t.Handle)


class OperationCodec:
    """Request/response codec of one :class:`~dcerpc.ndr.types.Operation`."""

    def __init__(self, op: t.Operation) -> None:
        self.op = op
        self.in_params = [p for p in op.params if p.in_ and _on_wire(p)]
        self.out_params = [p for p in op.params if p.out and _on_wire(p)]
        # [in]-only scalars named by an [out] param's size_is/length_is/...: the response's
        # counts come from them, as MIDL stubs do ([out, size_is(size)] → max_count = size).
        refs = count_fields([(p.name, p.type) for p in self.out_params]
                            + [(p.name, p.type) for p in self.in_params if not p.out])
        self.sizing_in_params = [p for p in self.in_params if not p.out and p.name in refs]
        names = (["return_value"] if op.returns is not None else []) + \
            [pyname(p.name) for p in self.out_params]
        self._nresults = len(names)
        self.result_type: type | None = None
        if len(names) > 1:
            self.result_type = namedtuple(f"{op.name}_result", names, rename=True)  # type: ignore[misc]
        self._fns: dict[tuple[str, bool], Any] = {}

    # ------------------------------------------------------------------ generation
    def _fn(self, kind: str, le: bool) -> Any:
        fn = self._fns.get((kind, le))
        if fn is not None:
            return fn
        u = UNITS[le]
        with u.lock:
            fn = self._fns.get((kind, le))
            if fn is None:
                build = {"ereq": self._src_enc_req, "dreq": self._src_dec_req,
                         "eresp": self._src_enc_resp, "dresp": self._src_dec_resp}[kind]
                name = u.uniq(f"{kind}_{self.op.name}")
                u.exec(build(u, name))
                fn = self._fns[(kind, le)] = u.ns[name]
        return fn

    def _where(self, p: t.Param) -> str:
        return f"{self.op.name}({p.name})"

    def _enc_src(self, u: Unit, name: str, params: list[t.Param], ret: bool,
                 pipes_first: bool, context: Sequence[t.Param] = ()) -> str:
        """``context``: [in]-only scalars that size the encoded params, read from the
        second argument ``r`` (the request's values; None entries are derived)."""
        w = Writer()
        w("o = bytearray()")
        w("st = _EncState()")
        e = Enc(u, w, {}, 8)
        members = [(p.name, p.type) for p in params] + [(p.name, p.type) for p in context]
        base = {p.name: f"a[{i}]" for i, p in enumerate(params)}
        base.update({p.name: f"r[{i}]" for i, p in enumerate(context)})
        e.env = e.member_env(members, base, self.op.name)
        items: list[tuple[str, t.NdrType, str]] = [
            (e.env[p.name], p.type, self._where(p)) for p in params]
        if ret:
            items.append(("a[-1]", self.op.returns, f"{self.op.name}(return)"))  # type: ignore[arg-type]
        plain = [it for it in items if _pipe_of(it[1]) is None]
        piped = [it for it in items if _pipe_of(it[1]) is not None]
        for ve, T, where in (piped + plain if pipes_first else plain + piped):
            P = _pipe_of(T)
            if P is not None:
                _enc_pipe(e, P, ve, where)
            else:
                enc_top(e, T, ve, where)
        e.flush()
        return "\n".join([f"def {name}(a, r):", *_drop_unused_state(w.lines),
                          "    return o"]) + "\n"

    def _dec_src(self, u: Unit, name: str, params: list[t.Param], ret: bool,
                 pipes_first: bool) -> str:
        w = Writer()
        w("st = _DecState()")
        d = Dec(u, w, {}, 8)
        items = [(f"p{i}", p.type, self._where(p), p.name) for i, p in enumerate(params)]
        if ret:
            items.append(("rv", self.op.returns, f"{self.op.name}(return)", None))  # type: ignore[arg-type]
        plain = [it for it in items if _pipe_of(it[1]) is None]
        piped = [it for it in items if _pipe_of(it[1]) is not None]
        for var, T, where, pname in (piped + plain if pipes_first else plain + piped):
            P = _pipe_of(T)
            if P is not None:
                _dec_pipe(d, P, var, where)
            else:
                dec_top(d, T, var, where)
            if pname is not None:
                d.env[pname] = var
        d.flush()
        outs = [f"p{i}" for i in range(len(params))] + (["rv"] if ret else [])
        return "\n".join([f"def {name}(b, pos):", *_drop_unused_state(w.lines),
                          f"    return [{', '.join(outs)}], pos"]) + "\n"

    def _src_enc_req(self, u: Unit, name: str) -> str:
        return self._enc_src(u, name, self.in_params, False, False)

    def _src_dec_req(self, u: Unit, name: str) -> str:
        return self._dec_src(u, name, self.in_params, False, False)

    def _src_enc_resp(self, u: Unit, name: str) -> str:
        return self._enc_src(u, name, self.out_params, self.op.returns is not None, True,
                             self.sizing_in_params)

    def _src_dec_resp(self, u: Unit, name: str) -> str:
        return self._dec_src(u, name, self.out_params, self.op.returns is not None, True)

    # ------------------------------------------------------------------ public API
    def generated(self, kind: str, little_endian: bool = True) -> Any:
        """The generated function behind the methods below, for a runtime that calls it
        on every message without their checks: ``"dreq"``/``"dresp"`` take ``(data,
        pos)`` (``bytes`` or a flat byte view) and return ``(values, end)``;
        ``"ereq"``/``"eresp"`` take ``(values, ctx)`` in wire order and return a fresh
        ``bytearray``.  Errors come out unmapped (``struct.error``, ``IndexError`` ...):
        the caller retries through the public method, which reports them properly."""
        return self._fn(kind, little_endian)

    def encode_request(self, args: Sequence[Any], *, little_endian: bool = True) -> bytes:
        return bytes(self.encode_request_buf(args, little_endian=little_endian))

    def encode_request_buf(self, args: Sequence[Any], *, little_endian: bool = True
                           ) -> bytearray:
        """:meth:`encode_request` without the final copy into ``bytes``: a fresh buffer
        that the caller owns (the runtime sends it as views; a 16 MiB stub copied once
        more costs as much as encoding it)."""
        args = list(args)
        if len(args) != len(self.in_params):
            raise NdrError(f"{self.op.name}: expected {len(self.in_params)} [in] values "
                           f"({', '.join(p.name for p in self.in_params)}), got {len(args)}")
        # _run_enc() inline: this runs once per call
        fn = self._fns.get(("ereq", little_endian)) or self._fn("ereq", little_endian)
        try:
            return fn(args, [])  # type: ignore[no-any-return]
        except NdrError:
            raise
        except LOW_LEVEL_ERRORS as exc:
            raise map_encode_error(exc, self.op.name) from exc

    def decode_request(self, data: bytes | bytearray | memoryview, *,
                       little_endian: bool = True) -> list[Any]:
        return self._run_dec("dreq", data, little_endian)

    def encode_response(self, result: Any, *, request: Sequence[Any] | None = None,
                        little_endian: bool = True) -> bytes:
        """``request``: the call's [in] values (as :meth:`decode_request` returned them), so
        that [out] arrays sized by [in] params carry that size as their max_count; without
        it the counts are derived from the data."""
        return bytes(self.encode_response_buf(result, request=request,
                                              little_endian=little_endian))

    def encode_response_buf(self, result: Any, *, request: Sequence[Any] | None = None,
                            little_endian: bool = True) -> bytearray:
        """:meth:`encode_response` without the final copy (see :meth:`encode_request_buf`)."""
        values = self._unshape(result)
        # wire order: out params, then the return value (kept last in ``values``)
        if self.op.returns is not None:
            values = values[1:] + values[:1]
        ctx: list[Any] = [None] * len(self.sizing_in_params)
        if request is not None and ctx:
            index = {id(p): i for i, p in enumerate(self.in_params)}
            ctx = [request[index[id(p)]] for p in self.sizing_in_params]
        return self._run_enc("eresp", values, little_endian, ctx)

    def decode_response(self, data: bytes | bytearray | memoryview, *,
                        little_endian: bool = True) -> Any:
        # _run_dec() and _shape() inline: this runs once per call
        b = data if type(data) is bytes else decode_input(data)
        fn = self._fns.get(("dresp", little_endian)) or self._fn("dresp", little_endian)
        try:
            values, pos = fn(b, 0)
        except NdrError:
            raise
        except LOW_LEVEL_ERRORS as exc:
            raise map_decode_error(exc, self.op.name) from None
        if pos != len(b):
            raise NdrError(f"{self.op.name}: {len(b) - pos} trailing bytes", pos)
        if len(values) == 1:
            return values[0]
        if self.op.returns is not None:
            values = values[-1:] + values[:-1]
        return self._shape(values)

    # ------------------------------------------------------------------ helpers
    def _shape(self, values: list[Any]) -> Any:
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        assert self.result_type is not None
        return self.result_type(*values)

    def _unshape(self, result: Any) -> list[Any]:
        n = self._nresults
        if n == 0:
            if result is not None:
                raise NdrError(f"{self.op.name} has no results, got {result!r}")
            return []
        if n == 1:
            return [result]
        if not isinstance(result, (tuple, list)) or len(result) != n:
            raise NdrError(f"{self.op.name}: expected {n} result values "
                           f"({', '.join(self.result_type._fields)}), got {result!r}")  # type: ignore[union-attr]
        return list(result)

    def _run_enc(self, kind: str, args: list[Any], le: bool, ctx: list[Any]) -> bytearray:
        fn = self._fn(kind, le)
        try:
            return fn(args, ctx)  # type: ignore[no-any-return]
        except NdrError:
            raise
        except LOW_LEVEL_ERRORS as exc:
            raise map_encode_error(exc, self.op.name) from exc

    def _run_dec(self, kind: str, data: bytes | bytearray | memoryview, le: bool) -> list[Any]:
        b = decode_input(data)
        fn = self._fn(kind, le)
        try:
            values, pos = fn(b, 0)
        except NdrError:
            raise
        except LOW_LEVEL_ERRORS as exc:
            raise map_decode_error(exc, self.op.name) from None
        if pos != len(b):
            raise NdrError(f"{self.op.name}: {len(b) - pos} trailing bytes", pos)
        return values  # type: ignore[no-any-return]


_STATE_USE = re.compile(r"\bst\b")


def _drop_unused_state(lines: list[str]) -> list[str]:
    """Without the per-message state object when nothing uses it (no full pointers, no
    referents): the small call makes none, on either side."""
    state = [i for i, line in enumerate(lines) if line.strip() in ("st = _EncState()",
                                                                      "st = _DecState()")]
    if len(state) == 1 and not any(_STATE_USE.search(line)
                                   for i, line in enumerate(lines) if i != state[0]):
        return lines[:state[0]] + lines[state[0] + 1:]
    return lines


def _enc_pipe(e: Enc, P: t.Pipe, ve: str, where: str) -> None:
    """A whole pipe value (a list of elements): one chunk if non-empty, then the empty
    terminating chunk (C706 §14.3.11)."""
    from ._pipe import chunk_array

    x = e.bind(ve, "pp")
    e.flush()
    A = chunk_array(P.element)
    with e.w.block(f"if {x}:"):
        e.M, e.r = 1, 0
        e.inline(A, x, "ptee", where)
        e.flush()
    e.w("o += _PAD[-len(o) & 3]")
    e.w("o += _bytes(4)")
    e.M, e.r = 4, 0


def _dec_pipe(d: Dec, P: t.Pipe, var: str, where: str) -> None:
    from ._pipe import chunk_array

    A = chunk_array(P.element)
    d.flush()
    chunk = d.w.tmp("ch")
    empty = {"bytes": 'b""', "wstr": '""'}.get(elem_kind(A), "[]")
    d.w(f"{var} = {empty}")
    with d.w.block("while True:"):
        # The terminating chunk is its count alone: no padding for elements it does not
        # have (C706 §14.3.11; what _enc_pipe sends), even for 8-aligned elements.
        d.w("pos += -pos & 3")
        with d.w.block("if b[pos:pos + 4] == b'\\x00\\x00\\x00\\x00':"):
            d.w("pos += 4")
            d.w("break")
        d.M, d.r = 1, 0
        d.inline(A, chunk, "ptee", where)
        d.flush()
        d.w(f"if not {chunk}: break")
        d.w(f"{var} += {chunk}")
    d.M, d.r = 1, 0


_CODECS: dict[int, tuple[t.Operation, OperationCodec]] = {}


def operation_codec(op: t.Operation) -> OperationCodec:
    """The (cached) codec of an operation."""
    hit = _CODECS.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    codec = OperationCodec(op)
    _CODECS[id(op)] = (op, codec)
    return codec

