"""A C preprocessor subset for IDL/ACF files, with a line map for diagnostics.

Supported (what Microsoft's published IDL uses): comments, line splicing, object-like
and simple function-like ``#define``, ``#undef``, ``#if``/``#ifdef``/``#ifndef``/
``#elif``/``#else``/``#endif`` with ``defined()`` and integer expressions,
``#include "x"`` / ``#include <x>`` (textual), ``#pragma``/``#line``/``#error`` in
inactive code ignored. ``MIDL_PASS`` and ``__midl`` are predefined, as MIDL does
(MS-TSTS Appendix A: "When compiling these IDLs with the MIDL compiler, MIDL_PASS has
to be defined"), and the SDK calling-convention macros expand to nothing.

The output is one text whose line *n* came from ``line_map[n - 1]`` = (file, line);
columns are preserved on lines that no macro rewrote.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import IdlError

__all__ = ["Preprocessed", "Preprocessor", "find_file"]

#: Macros MIDL (or the SDK headers that every MIDL run sees) defines.
PREDEFINED: dict[str, str] = {
    "MIDL_PASS": "1",
    "__midl": "501",
    "__RPC_FAR": "",
    "__RPC_API": "",
    "__RPC_USER": "",
    "__RPC_STUB": "",
    "RPC_ENTRY": "",
    "__stdcall": "",
    "__cdecl": "",
    "_stdcall": "",
    "_cdecl": "",
    "WINAPI": "",
    "STDMETHODCALLTYPE": "",
    "far": "",
    "near": "",
    "__far": "",
    "__near": "",
}

_TOKEN = re.compile(
    r"""(?P<str>L?"(?:\\.|[^"\\\n])*")|(?P<chr>L?'(?:\\.|[^'\\\n])*')"""
    r"""|(?P<id>[A-Za-z_]\w*)|(?P<num>\.?\d(?:[\w.]|[eE][+-])*)|(?P<ws>\s+)|(?P<op>.)""",
    re.S,
)
_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(\w*)(.*)$", re.S)
_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclass(slots=True)
class Macro:
    name: str
    body: str
    params: list[str] | None = None  # None: object-like


@dataclass
class Preprocessed:
    text: str
    line_map: list[tuple[str, int]] = field(default_factory=list)
    rewritten: set[int] = field(default_factory=set)  # output lines changed by expansion

    def where(self, line: int, column: int) -> tuple[str, int, int]:
        """Map an output (line, column) (1-based) to (file, line, column) in the sources."""
        if 1 <= line <= len(self.line_map):
            f, ln = self.line_map[line - 1]
            return f, ln, column
        if self.line_map:
            f, ln = self.line_map[-1]
            return f, ln, column
        return "<input>", line, column


def find_file(name: str, current_dir: str | None, include_dirs: Sequence[str],
              system: bool = False) -> str | None:
    """Search ``name`` the way MIDL does: the including file's directory (for ``"x"``), then
    the ``-I`` directories, then the base IDL shipped with this package."""
    dirs: list[str] = []
    if current_dir is not None and not system:
        dirs.append(current_dir)
    dirs.extend(include_dirs)
    dirs.append(os.path.join(os.path.dirname(__file__), "include"))
    for d in dirs:
        path = os.path.join(d, name)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def strip_comments(text: str, filename: str) -> str:
    """Replace comments by spaces (keeping newlines, so line/column stay right)."""
    out: list[str] = []
    i, n = 0, len(text)
    start = 0
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(text[start:i])
            out.append(" " * (j - i))
            i = start = j
        elif c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            if j < 0:
                line = text.count("\n", 0, i) + 1
                col = i - text.rfind("\n", 0, i)
                raise IdlError("unterminated comment", filename, line, col)
            chunk = text[i:j + 2]
            out.append(text[start:i])
            out.append(re.sub(r"[^\n]", " ", chunk))
            i = start = j + 2
        else:
            i += 1
    out.append(text[start:])
    return "".join(out)


class Preprocessor:
    """One preprocessing run; ``macros`` persist across the ``#include``d files."""

    def __init__(self, include_dirs: Sequence[str] = (),
                 defines: Mapping[str, str | None] | None = None,
                 read: Callable[[str], str] | None = None) -> None:
        self.include_dirs = list(include_dirs)
        self.macros: dict[str, Macro] = {k: Macro(k, v) for k, v in PREDEFINED.items()}
        for k, v in (defines or {}).items():
            self.macros[k] = Macro(k, "1" if v is None else str(v))
        self._read = read or _read_file
        self._depth = 0

    # ------------------------------------------------------------------ entry points
    def run_file(self, path: str) -> Preprocessed:
        out = Preprocessed("")
        lines: list[str] = []
        self._file(os.path.abspath(path), self._read(path), lines, out)
        out.text = "\n".join(lines) + "\n"
        return out

    def run_text(self, text: str, filename: str = "<string>") -> Preprocessed:
        out = Preprocessed("")
        lines: list[str] = []
        self._file(filename, text, lines, out)
        out.text = "\n".join(lines) + "\n"
        return out

    # ------------------------------------------------------------------ one file
    def _file(self, filename: str, text: str, lines: list[str], out: Preprocessed) -> None:
        self._depth += 1
        if self._depth > 64:
            raise IdlError("#include nested too deeply", filename)
        text = strip_comments(text.replace("\r\n", "\n").replace("\r", "\n"), filename)
        raw = text.split("\n")
        # stack of (active, any_branch_taken, parent_active, seen_else)
        stack: list[list[bool]] = []
        active = True
        i = 0
        while i < len(raw):
            lineno = i + 1
            line = raw[i]
            # line splicing: join "\"-terminated lines, keeping the line count with blanks.
            extra = 0
            while line.endswith("\\") and i + 1 + extra < len(raw):
                extra += 1
                line = line[:-1] + raw[i + extra]
            i += 1 + extra
            m = _DIRECTIVE.match(line)
            if m:
                self._directive(m.group(1), m.group(2).strip(), filename, lineno, line,
                                stack, lines, out)
                active = all(frame[0] for frame in stack)
                # a directive becomes blank lines (an #include has emitted its file's lines)
                blanks = extra if m.group(1) == "include" and active else 1 + extra
                for _ in range(blanks):
                    lines.append("")
                    out.line_map.append((filename, lineno))
                continue
            if not active:
                line = ""
            elif _might_expand(line, self.macros):
                expanded = self._expand(line, filename, lineno)
                if expanded != line:
                    out.rewritten.add(len(lines) + 1)
                line = expanded
            lines.append(line)
            out.line_map.append((filename, lineno))
            for _ in range(extra):
                lines.append("")
                out.line_map.append((filename, lineno))
        if stack:
            raise IdlError("unterminated #if (missing #endif)", filename, len(raw), 1)
        self._depth -= 1

    def _directive(self, name: str, rest: str, filename: str, lineno: int, line: str,
                   stack: list[list[bool]], lines: list[str], out: Preprocessed) -> None:
        active = all(frame[0] for frame in stack)
        col = line.find("#") + 1

        def err(msg: str) -> IdlError:
            return IdlError(msg, filename, lineno, col)

        if name in ("if", "ifdef", "ifndef"):
            if not active:
                stack.append([False, True, False, False])
                return
            if name == "if":
                cond = self._eval(rest, filename, lineno, col)
            else:
                m = _IDENT.match(rest)
                if not m:
                    raise err(f"#{name} needs a macro name")
                cond = (m.group(0) in self.macros) == (name == "ifdef")
            stack.append([cond, cond, True, False])
        elif name == "elif":
            if not stack or stack[-1][3]:
                raise err("#elif without #if")
            frame = stack[-1]
            if frame[2] and not frame[1]:
                frame[0] = self._eval(rest, filename, lineno, col)
                frame[1] = frame[0]
            else:
                frame[0] = False
        elif name == "else":
            if not stack or stack[-1][3]:
                raise err("#else without #if")
            frame = stack[-1]
            frame[0] = frame[2] and not frame[1]
            frame[1] = True
            frame[3] = True
        elif name == "endif":
            if not stack:
                raise err("#endif without #if")
            stack.pop()
        elif not active:
            return
        elif name == "define":
            self._define(rest, err)
        elif name == "undef":
            m = _IDENT.match(rest)
            if not m:
                raise err("#undef needs a macro name")
            self.macros.pop(m.group(0), None)
        elif name == "include":
            m = re.match(r'"([^"]+)"|<([^>]+)>', rest)
            if not m:
                raise err('#include expects "file" or <file>')
            target = m.group(1) or m.group(2)
            path = find_file(target, os.path.dirname(filename) if os.path.isabs(filename)
                             else None, self.include_dirs, system=m.group(2) is not None)
            if path is None:
                raise err(f"cannot find include file {target!r}")
            self._file(path, self._read(path), lines, out)
        elif name == "error":
            raise err(f"#error {rest}")
        elif name in ("pragma", "line", "warning", "ident", ""):
            return  # ignored: MIDL pragmas have no wire effect
        else:
            raise err(f"unknown preprocessor directive #{name}")

    def _define(self, rest: str, err: Callable[[str], IdlError]) -> None:
        m = re.match(r"([A-Za-z_]\w*)(\(([^)]*)\))?", rest)
        if not m:
            raise err("#define needs a macro name")
        name = m.group(1)
        if m.group(2) is not None:
            params = [p.strip() for p in m.group(3).split(",") if p.strip()]
            if any(not _IDENT.fullmatch(p) for p in params):
                raise err(f"bad parameter list in #define {name}")
            self.macros[name] = Macro(name, rest[m.end():].strip(), params)
        else:
            self.macros[name] = Macro(name, rest[m.end():].strip())

    # ------------------------------------------------------------------ expansion
    def _expand(self, text: str, filename: str, lineno: int,
                hide: frozenset[str] = frozenset(), depth: int = 0) -> str:
        if depth > 64:
            raise IdlError("macro expansion too deep", filename, lineno)
        toks = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
        out: list[str] = []
        i = 0
        while i < len(toks):
            kind, tok = toks[i]
            macro = self.macros.get(tok) if kind == "id" and tok not in hide else None
            if macro is None:
                out.append(tok)
                i += 1
                continue
            if macro.params is None:
                out.append(self._expand(macro.body, filename, lineno, hide | {tok}, depth + 1))
                i += 1
                continue
            # function-like: needs "(" args ")" on the same logical line
            j = i + 1
            while j < len(toks) and toks[j][0] == "ws":
                j += 1
            if j >= len(toks) or toks[j][1] != "(":
                out.append(tok)
                i += 1
                continue
            args, end = _collect_args(toks, j)
            if end < 0:
                raise IdlError(f"unterminated call of macro {tok}", filename, lineno)
            if len(args) == 1 and not args[0].strip() and not macro.params:
                args = []
            if len(args) != len(macro.params):
                raise IdlError(f"macro {tok} takes {len(macro.params)} argument(s), "
                               f"got {len(args)}", filename, lineno)
            expanded_args = {p: self._expand(a.strip(), filename, lineno, hide, depth + 1)
                             for p, a in zip(macro.params, args, strict=True)}
            body = "".join(expanded_args.get(t, t) if k == "id" else t
                           for k, t in ((m.lastgroup, m.group())
                                        for m in _TOKEN.finditer(macro.body)))
            out.append(self._expand(body, filename, lineno, hide | {tok}, depth + 1))
            i = end + 1
        return "".join(out)

    def _eval(self, expr: str, filename: str, lineno: int, col: int) -> bool:
        def repl_defined(m: re.Match[str]) -> str:
            return "1" if (m.group(1) or m.group(2)) in self.macros else "0"

        text = re.sub(r"\bdefined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))",
                      repl_defined, expr)
        text = self._expand(text, filename, lineno)
        try:
            return bool(eval_c_int(text))
        except ValueError as exc:
            raise IdlError(f"bad #if expression {expr!r}: {exc}", filename, lineno, col) from None


def _might_expand(line: str, macros: Mapping[str, Macro]) -> bool:
    return any(m.group(0) in macros for m in _IDENT.finditer(line))


def _collect_args(toks: list[tuple[str | None, str]], j: int) -> tuple[list[str], int]:
    depth = 0
    args: list[str] = []
    cur: list[str] = []
    for k in range(j, len(toks)):
        t = toks[k][1]
        if t == "(":
            depth += 1
            if depth == 1:
                continue
        elif t == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur))
                return args, k
        elif t == "," and depth == 1:
            args.append("".join(cur))
            cur = []
            continue
        cur.append(t)
    return args, -1


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read()
    except OSError as exc:
        raise IdlError(f"cannot read {path}: {exc.strerror}", path) from None


# --------------------------------------------------------------------------- #if arithmetic
_EXPR_TOKEN = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>&|^!~?:()]))"
)

_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}


def eval_c_int(text: str) -> int:
    """Evaluate a C integer constant expression (identifiers left over count as 0)."""
    toks: list[tuple[str, str | int]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _EXPR_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected {text[pos:].strip()[:10]!r}")
        pos = m.end()
        if m.group(1):
            toks.append(("n", int(m.group(1), 0) if not re.fullmatch(r"0\d+", m.group(1))
                         else int(m.group(1), 8)))
        elif m.group(2):
            toks.append(("n", 0))
        elif m.group(3):
            toks.append(("o", m.group(3)))
    toks.append(("e", ""))
    p = _IntParser(toks)
    value = p.ternary()
    if p.peek() != ("e", ""):
        raise ValueError(f"unexpected {p.peek()[1]!r}")
    return value


class _IntParser:
    def __init__(self, toks: list[tuple[str, str | int]]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> tuple[str, str | int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str | int]:
        t = self.toks[self.i]
        if t[0] != "e":
            self.i += 1
        return t

    def ternary(self) -> int:
        cond = self.binary(1)
        if self.peek() == ("o", "?"):
            self.take()
            a = self.ternary()
            if self.take() != ("o", ":"):
                raise ValueError("expected ':'")
            b = self.ternary()
            return a if cond else b
        return cond

    def binary(self, level: int) -> int:
        left = self.unary()
        while True:
            kind, op = self.peek()
            prec = _BINARY.get(op) if kind == "o" and isinstance(op, str) else None
            if prec is None or prec < level:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = apply_binop(str(op), left, right)

    def unary(self) -> int:
        kind, tok = self.take()
        if kind == "n":
            return int(tok)
        if tok == "(":
            v = self.ternary()
            if self.take() != ("o", ")"):
                raise ValueError("expected ')'")
            return v
        if tok in ("-", "+", "!", "~"):
            v = self.unary()
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[str(tok)]
        raise ValueError(f"unexpected {tok!r}")


def apply_binop(op: str, a: int, b: int) -> int:
    """C semantics for the integer operators (division truncates toward zero)."""
    if op in ("/", "%"):
        if b == 0:
            raise ValueError("division by zero")
        q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        return q if op == "/" else a - q * b
    return {
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
        "<<": lambda: a << b if 0 <= b < 256 else 0, ">>": lambda: a >> b if b >= 0 else 0,
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
    }[op]()
