"""Parse preprocessed IDL/ACF text into the syntax tree of :mod:`._ast`.

The lark parsers are built once per process (LALR tables take a few hundred ms) and
run with an inline transformer, so no parse tree is materialised.
"""

from __future__ import annotations

import ast as _pyast
from typing import Any

import lark
from lark import Token, Transformer

from ..errors import IdlError
from ..ndr import types as t
from . import _ast as a
from ._grammar import ACF_GRAMMAR, IDL_GRAMMAR, TERMINAL_WORDS
from ._preprocess import Preprocessed

__all__ = ["parse_acf", "parse_idl"]

_BINOPS = {
    "lor": "||", "land": "&&", "bor": "|", "bxor": "^", "band": "&", "eq": "==", "ne": "!=",
    "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "shl": "<<", "shr": ">>", "add": "+",
    "sub": "-", "mul": "*", "div": "/", "mod": "%",
}
_UNOPS = {"neg": "-", "pos": "+", "inv": "~", "not_": "!"}


def _unquote(tok: str) -> str:
    body = tok[1:] if tok.startswith("L") else tok
    try:
        value = _pyast.literal_eval(body)
    except (ValueError, SyntaxError):
        value = body[1:-1]
    return value if isinstance(value, str) else str(value)


def _int_literal(text: str) -> int | float:
    s = text.rstrip("uUlL")
    if s.lower().startswith("0x"):
        return int(s, 16)
    if "." in s or (("e" in s.lower()) and not s.lower().startswith("0x")):
        return float(s.rstrip("fF"))
    if len(s) > 1 and s.startswith("0"):
        return int(s, 8)
    return int(s)


class _Builder(Transformer):  # type: ignore[type-arg]
    """Builds :mod:`._ast` nodes; ``pp`` maps positions back to the original files."""

    def __init__(self, pp: Preprocessed) -> None:
        super().__init__()
        self.pp = pp

    def loc(self, tok: Any) -> a.Loc:
        if isinstance(tok, Token) and tok.line is not None:
            f, ln, col = self.pp.where(tok.line, tok.column or 1)
            return a.Loc(f, ln, col)
        if hasattr(tok, "loc"):
            return tok.loc  # type: ignore[no-any-return]
        return a.Loc(self.pp.line_map[0][0] if self.pp.line_map else "<input>", 1, 1)

    # ------------------------------------------------------------------ top level
    def start(self, items: list[Any]) -> list[Any]:
        return [i for i in items if i is not None]

    def empty(self, _: list[Any]) -> None:
        return None

    def import_stmt(self, toks: list[Token]) -> a.Import:
        return a.Import([_unquote(x) for x in toks], self.loc(toks[0]))

    acf_import = import_stmt

    def cpp_quote(self, toks: list[Token]) -> a.Ignored:
        return a.Ignored("cpp_quote", self.loc(toks[0]))

    def pragma(self, toks: list[Any]) -> a.Ignored:
        return a.Ignored("midl_pragma", self.loc(toks[0]))

    def pragma_tok(self, toks: list[Any]) -> None:
        return None

    def importlib(self, toks: list[Token]) -> a.Ignored:
        return a.Ignored("importlib", self.loc(toks[0]))

    def acf_include(self, toks: list[Token]) -> a.Ignored:
        return a.Ignored("include", self.loc(toks[0]))

    def interface(self, ch: list[Any]) -> a.InterfaceDef:
        attrs, name, base, *items = ch
        return a.InterfaceDef(attrs or [], str(name), str(base) if base else None,
                              [i for i in items if i is not None], self.loc(name))

    def iface_fwd(self, ch: list[Any]) -> a.InterfaceFwd:
        return a.InterfaceFwd(str(ch[1]), self.loc(ch[1]))

    def library(self, ch: list[Any]) -> a.Library:
        attrs, name, *items = ch
        return a.Library(attrs or [], str(name), [i for i in items if i is not None],
                         self.loc(name))

    def coclass(self, ch: list[Any]) -> a.Ignored:
        return a.Ignored("coclass", self.loc(ch[1]))

    def coclass_item(self, ch: list[Any]) -> None:
        return None

    def typedef(self, ch: list[Any]) -> a.Typedef:
        attrs, spec, decls = ch
        return a.Typedef(attrs or [], spec, decls, decls[0].loc)

    def declaration(self, ch: list[Any]) -> a.Declaration:
        attrs, spec, decls = ch
        decls = decls or []
        loc = decls[0].loc if decls else getattr(spec.type, "loc", self.loc(None))
        return a.Declaration(attrs or [], spec, decls, loc)

    def declarator_list(self, ch: list[a.Declarator]) -> list[a.Declarator]:
        return ch

    def init_declarator(self, ch: list[Any]) -> a.Declarator:
        d, init = ch
        d.init = init
        return d

    # ------------------------------------------------------------------ attributes
    def attrs(self, lists: list[list[a.Attribute]]) -> list[a.Attribute]:
        return [x for lst in lists for x in lst]

    def attr_list(self, ch: list[Any]) -> list[a.Attribute]:
        return [x for x in ch if x is not None]

    def attr(self, ch: list[Any]) -> a.Attribute:
        name, args = ch
        return a.Attribute(str(name), args, self.loc(name))

    def attr_name(self, ch: list[Token]) -> Token:
        return ch[0]

    def attr_args(self, ch: list[Any]) -> list[Any]:
        return list(ch)

    def uuid_arg(self, ch: list[Token]) -> str:
        return str(ch[0])

    def type_words_arg(self, ch: list[Token]) -> a.TypeArg:
        return a.TypeArg(words=tuple(str(x) for x in ch))

    def struct_arg(self, ch: list[Token]) -> a.TypeArg:
        return a.TypeArg(name=str(ch[0]), tag="struct")

    def union_arg(self, ch: list[Token]) -> a.TypeArg:
        return a.TypeArg(name=str(ch[0]), tag="union")

    def enum_arg(self, ch: list[Token]) -> a.TypeArg:
        return a.TypeArg(name=str(ch[0]), tag="enum")

    def name_decl_arg(self, ch: list[Token]) -> a.NameDecl:
        return a.NameDecl(str(ch[0]), str(ch[1]))

    def base_word(self, ch: list[Token]) -> Token:
        return ch[0]

    # ------------------------------------------------------------------ expressions
    def number(self, ch: list[Token]) -> a.Num:
        return a.Num(str(ch[0]), _int_literal(str(ch[0])))

    def char(self, ch: list[Token]) -> t.Const:
        s = _unquote(str(ch[0]).replace("'", '"', 1)[:-1] + '"') if "'" in ch[0] else ""
        return t.Const(ord(s[0]) if s else 0)

    def string(self, ch: list[Token]) -> a.Str:
        return a.Str("".join(_unquote(str(x)) for x in ch))

    def ref(self, ch: list[Token]) -> t.Ref:
        return t.Ref(str(ch[0]))

    def cond(self, ch: list[Any]) -> t.Cond:
        return t.Cond(ch[0], ch[1], ch[2])

    def deref(self, ch: list[Any]) -> t.Deref:
        return t.Deref(ch[0])

    def addr(self, ch: list[Any]) -> t.Expr:
        return ch[0]  # type: ignore[no-any-return]

    def cast(self, ch: list[Any]) -> a.Cast:
        return a.Cast(tuple(str(x) for x in ch[:-1]), ch[-1])

    def field_access(self, ch: list[Any]) -> t.Attr:
        return t.Attr(ch[0], str(ch[1]))

    def index(self, ch: list[Any]) -> t.Expr:
        return t.BinOp("[]", ch[0], ch[1])

    def sizeof(self, ch: list[Any]) -> a.SizeOf:
        return a.SizeOf(tuple(str(x) for x in ch))

    def _where(self, tok: Any) -> tuple[str, int, int]:
        loc = self.loc(tok)
        return loc.file, loc.line, loc.column

    # ------------------------------------------------------------------ types
    def decl_specs(self, ch: list[Any]) -> a.DeclSpec:
        q1, spec, q2 = ch
        return a.DeclSpec(spec, bool(q1) or bool(q2))

    def quals(self, ch: list[Any]) -> list[str]:
        return [str(x) for x in ch]

    def qual(self, ch: list[Token]) -> Token:
        return ch[0]

    def base_type(self, ch: list[Token]) -> a.BaseType:
        return a.BaseType(tuple(str(x) for x in ch), self.loc(ch[0]))

    def named_type(self, ch: list[Token]) -> a.NamedType:
        return a.NamedType(str(ch[0]), self.loc(ch[0]))

    def pipe_spec(self, ch: list[Any]) -> a.PipeSpec:
        return a.PipeSpec(ch[0], getattr(ch[0].type, "loc", self.loc(None)))

    def struct_def(self, ch: list[Any]) -> a.StructSpec:
        tag, *members = ch
        loc = self.loc(tag) if tag else (members[0].loc if members else self.loc(None))
        return a.StructSpec(str(tag) if tag else None, members, loc)

    def struct_ref(self, ch: list[Token]) -> a.StructSpec:
        return a.StructSpec(str(ch[0]), None, self.loc(ch[0]))

    def union_def(self, ch: list[Any]) -> a.UnionSpec:
        tag, *members = ch
        loc = self.loc(tag) if tag else (members[0].loc if members else self.loc(None))
        return a.UnionSpec(str(tag) if tag else None, members, loc)

    def enc_union(self, ch: list[Any]) -> a.UnionSpec:
        tag, spec, sw_name, uname, *members = ch
        sw = a.Member([], spec, [a.Declarator(str(sw_name), [], self.loc(sw_name))],
                      self.loc(sw_name))
        return a.UnionSpec(str(tag) if tag else None, members, self.loc(tag or sw_name),
                           switch=sw, union_name=str(uname) if uname else None)

    def union_ref(self, ch: list[Token]) -> a.UnionSpec:
        return a.UnionSpec(str(ch[0]), None, self.loc(ch[0]))

    def enum_def(self, ch: list[Any]) -> a.EnumSpec:
        tag, *rest = ch
        enumerators = [e for e in rest if e is not None]
        loc = self.loc(tag) if tag else (enumerators[0][2] if enumerators else self.loc(None))
        return a.EnumSpec(str(tag) if tag else None, enumerators, loc)

    def enum_ref(self, ch: list[Token]) -> a.EnumSpec:
        return a.EnumSpec(str(ch[0]), None, self.loc(ch[0]))

    def enumerator(self, ch: list[Any]) -> tuple[str, Any, a.Loc]:
        return (str(ch[0]), ch[1], self.loc(ch[0]))

    def member(self, ch: list[Any]) -> a.Member:
        attrs, spec, decls = ch
        loc = decls[0].loc if decls else getattr(spec.type, "loc", self.loc(None))
        return a.Member(attrs or [], spec, decls or [], loc)

    def empty_member(self, ch: list[Any]) -> a.Member:
        attrs = ch[0] or []
        loc = attrs[0].loc if attrs else self.loc(None)
        return a.Member(attrs, None, [], loc)

    def case_member(self, ch: list[Any]) -> a.Member:
        labels = [c for c in ch if isinstance(c, tuple)]
        rest = [c for c in ch if not isinstance(c, tuple)]
        attrs, spec, decls = rest
        loc = labels[0][1]
        m = a.Member(attrs or [], spec, decls or [], loc)
        m.cases = [lab[0] for lab in labels]
        return m

    def case_label(self, ch: list[Any]) -> tuple[Any, a.Loc]:
        return (ch[0], self.loc(None))

    def default_label(self, ch: list[Any]) -> tuple[None, a.Loc]:
        return (None, self.loc(None))

    def member_declarators(self, ch: list[a.Declarator]) -> list[a.Declarator]:
        return ch

    def member_declarator(self, ch: list[Any]) -> a.Declarator:
        return ch[0]  # type: ignore[no-any-return]  # bit widths have no NDR meaning

    # ------------------------------------------------------------------ declarators
    def declarator(self, ch: list[Any]) -> a.Declarator:
        ptrs, d = ch
        if ptrs:
            # ``T *a[2]`` is an array of two pointers and in ``T **p`` the star next to the
            # name is the outermost pointer: arrays first, then the stars right to left.
            d.levels = d.levels + list(reversed(ptrs))
        return d  # type: ignore[no-any-return]

    def pointers(self, ch: list[a.PtrLevel]) -> list[a.PtrLevel]:
        return ch

    def pointer(self, ch: list[Any]) -> a.PtrLevel:
        return a.PtrLevel(const=bool(ch[0]))

    def name(self, ch: list[Token]) -> a.Declarator:
        return a.Declarator(str(ch[0]), [], self.loc(ch[0]))

    def func_ptr(self, ch: list[Any]) -> a.Declarator:
        _ptrs, name, params = ch
        return a.Declarator(str(name), [], self.loc(name), params=params or [], func_ptr=True)

    def array(self, ch: list[Any]) -> a.Declarator:
        d, bound = ch
        # C reads ``a[2][3]`` as an array of 2 arrays of 3: outer dimension first; pointers
        # written before the name (``*a[2]``) apply to the elements, so they come after.
        d.levels.append(a.ArrLevel(bound))
        return d  # type: ignore[no-any-return]

    def func(self, ch: list[Any]) -> a.Declarator:
        d, params = ch
        d.params = params or []
        return d  # type: ignore[no-any-return]

    def array_bound(self, ch: list[Any]) -> Any:
        return ch[0]

    def star_bound(self, ch: list[Any]) -> None:
        return None

    def param_list(self, ch: list[Any]) -> list[a.Member]:
        return [p for p in ch if p is not None]

    def param(self, ch: list[Any]) -> a.Member:
        attrs, spec, d = ch
        if d is None:
            d = a.Declarator(None, [], getattr(spec.type, "loc", self.loc(None)))
        return a.Member(attrs or [], spec, [d], d.loc)

    def abstract_declarator(self, ch: list[Any]) -> a.Declarator:
        ptrs = [x for c in ch if isinstance(c, list) for x in c]
        arrays = [c for c in ch if isinstance(c, a.ArrLevel)]
        return a.Declarator(None, arrays + list(reversed(ptrs)), self.loc(None))

    def abs_array(self, ch: list[Any]) -> a.ArrLevel:
        return a.ArrLevel(ch[0])

    # ------------------------------------------------------------------ ACF
    def acf_interface(self, ch: list[Any]) -> a.AcfInterface:
        attrs, name, *items = ch
        iface = a.AcfInterface(attrs or [], str(name), loc=self.loc(name))
        for it in items:
            if isinstance(it, a.AcfOperation):
                iface.operations.append(it)
            elif isinstance(it, a.AcfTypedef):
                iface.typedefs.append(it)
        return iface

    def acf_typedef(self, ch: list[Any]) -> a.AcfTypedef:
        attrs, *names = ch
        return a.AcfTypedef([(str(n), self.loc(n)) for n in names], attrs or [],
                            self.loc(names[0]))

    def acf_op(self, ch: list[Any]) -> a.AcfOperation:
        attrs, name, *params = ch
        plist = None if params == [None] or not params else [p for p in params if p is not None]
        return a.AcfOperation(str(name), attrs or [], plist, self.loc(name))

    def acf_param(self, ch: list[Any]) -> tuple[str, list[a.Attribute], a.Loc]:
        return (str(ch[1]), ch[0] or [], self.loc(ch[1]))


for _alias, _op in _BINOPS.items():
    setattr(_Builder, _alias, lambda self, ch, _op=_op: t.BinOp(_op, ch[0], ch[1]))
for _alias, _op in _UNOPS.items():
    setattr(_Builder, _alias, lambda self, ch, _op=_op: t.Unary(_op, ch[0]))

_PARSERS: dict[str, lark.Lark] = {}


def _parser(which: str) -> lark.Lark:
    p = _PARSERS.get(which)
    if p is None:
        grammar = IDL_GRAMMAR if which == "idl" else ACF_GRAMMAR
        p = lark.Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)
        _PARSERS[which] = p
    return p


def _describe_terminal(p: lark.Lark, name: str) -> str:
    if name in TERMINAL_WORDS:
        return TERMINAL_WORDS[name]
    for term in p.terminals:
        if term.name == name:
            pattern = term.pattern
            if isinstance(pattern, lark.lexer.PatternStr):
                return f"'{pattern.value}'"
    return name.lower()


def _expected(p: lark.Lark, names: set[str] | frozenset[str]) -> str:
    words = sorted({_describe_terminal(p, n) for n in names})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


def _parse(which: str, pp: Preprocessed) -> list[Any]:
    p = _parser(which)
    builder = _Builder(pp)
    try:
        tree = p.parse(pp.text)
        return builder.transform(tree)  # type: ignore[no-any-return]
    except lark.exceptions.UnexpectedToken as exc:
        tok = exc.token
        f, ln, col = pp.where(exc.line if exc.line != -1 else len(pp.line_map), exc.column
                              if exc.column != -1 else 1)
        what = "end of file" if tok.type == "$END" else f"'{tok}'"
        raise IdlError(f"syntax error: unexpected {what}; expected "
                       f"{_expected(p, exc.expected)}", f, ln, col) from None
    except lark.exceptions.UnexpectedCharacters as exc:
        f, ln, col = pp.where(exc.line, exc.column)
        ch = pp.text[exc.pos_in_stream] if exc.pos_in_stream < len(pp.text) else "?"
        raise IdlError(f"syntax error: unexpected character {ch!r}", f, ln, col) from None
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, IdlError):
            raise exc.orig_exc from None
        raise


def parse_idl(pp: Preprocessed) -> list[Any]:
    """The list of top-level items of a preprocessed IDL file."""
    return _parse("idl", pp)


def parse_acf(pp: Preprocessed) -> list[Any]:
    """The list of top-level items of a preprocessed ACF file."""
    return _parse("acf", pp)
