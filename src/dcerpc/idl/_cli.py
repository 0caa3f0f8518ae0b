"""``dcerpc idl compile FILE.idl [--acf FILE.acf] [-I DIR]... [-D NAME[=VALUE]]... -o OUT.py``."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import IdlError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("idl", metavar="FILE.idl", help="the IDL file to compile")
    parser.add_argument("--acf", metavar="FILE.acf",
                        help="application configuration file (default: FILE.acf if present)")
    parser.add_argument("-I", dest="include_dirs", metavar="DIR", action="append", default=[],
                        help="directory searched for import/#include files")
    parser.add_argument("-D", dest="defines", metavar="NAME[=VALUE]", action="append",
                        default=[], help="define a preprocessor macro")
    parser.add_argument("-o", dest="output", metavar="OUT.py",
                        help="the Python module to write (default: FILE.py in the current "
                             "directory)")


def run(args: argparse.Namespace) -> int:
    from . import compile_to_source

    defines: dict[str, str | None] = {}
    for d in args.defines:
        name, eq, value = d.partition("=")
        defines[name] = value if eq else None
    try:
        result = compile_to_source(args.idl, args.acf, args.include_dirs, defines)
    except IdlError as exc:
        print(f"{_prefix(exc)}error: {_message(exc)}", file=sys.stderr)
        return 1
    for w in result.warnings:
        print(w, file=sys.stderr)
    out = args.output or os.path.splitext(os.path.basename(args.idl))[0] + ".py"
    try:
        with open(out, "w", encoding="utf-8") as f:
            f.write(result.source)
    except OSError as exc:
        print(f"{out}: error: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _prefix(exc: IdlError) -> str:
    parts = [str(p) for p in (exc.filename, exc.line, exc.column) if p is not None]
    return ":".join(parts) + ": " if parts else ""


def _message(exc: IdlError) -> str:
    text = str(exc)
    prefix = _prefix(exc)
    return text[len(prefix):] if prefix and text.startswith(prefix) else text
