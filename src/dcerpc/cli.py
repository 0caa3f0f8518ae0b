"""The ``dcerpc`` command line: ``dcerpc idl compile``, ``dcerpc demo``.

Each subcommand lives in the module that owns its feature; this file only wires them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dcerpc", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    idl = sub.add_parser("idl", help="IDL/ACF compiler")
    idl_sub = idl.add_subparsers(dest="idl_command", required=True)
    compile_ = idl_sub.add_parser("compile", help="compile an IDL file to a Python module")
    from .idl import _cli as idl_cli

    idl_cli.add_arguments(compile_)
    compile_.set_defaults(run=idl_cli.run)

    demo = sub.add_parser("demo", help="run the demonstration")
    from . import _demo

    _demo.add_arguments(demo)
    demo.set_defaults(run=_demo.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
