"""The dcerpc command line: idl compile, serve, call, epm serve|lookup, com serve, demo.

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

    from . import _cli_rpc as rpc

    serve = sub.add_parser("serve", help="serve the interfaces of an IDL file with Python "
                                          "managers")
    rpc.add_serve_arguments(serve)
    serve.set_defaults(run=rpc.run_serve)

    call = sub.add_parser("call", help="call one operation with JSON arguments")
    rpc.add_call_arguments(call)
    call.set_defaults(run=rpc.run_call)

    epm = sub.add_parser("epm", help="the endpoint mapper")
    epm_sub = epm.add_subparsers(dest="epm_command", required=True)
    epm_serve = epm_sub.add_parser("serve", help="run a standalone endpoint mapper")
    rpc.add_epm_serve_arguments(epm_serve)
    epm_serve.set_defaults(run=rpc.run_epm_serve)
    lookup = epm_sub.add_parser("lookup", help="list the endpoints an endpoint mapper knows "
                                               "(like rpcdump)")
    rpc.add_epm_lookup_arguments(lookup)
    lookup.set_defaults(run=rpc.run_epm_lookup)

    com = sub.add_parser("com", help="COM objects over DCOM")
    com_sub = com.add_subparsers(dest="com_command", required=True)
    com_serve = com_sub.add_parser("serve", help="host COM classes (activation, OXID "
                                   "resolver and the objects on one endpoint)")
    from .com import _cli as com_cli

    com_cli.add_serve_arguments(com_serve)
    com_serve.set_defaults(run=com_cli.run_serve)
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
