"""``dcerpc com serve``: host COM classes from the command line.

    dcerpc com serve --idl calc.idl --class 7f0c…c01=calc_impl:Calc \\
                     --bind "ncacn_ip_tcp:127.0.0.1[0]"

The endpoint serves activation, the OXID resolver and the objects (:class:`ComServer`);
it prints one ``listening on <binding>`` line per endpoint, like ``dcerpc serve``, and
stops on SIGINT/SIGTERM. ``--class CLSID=MODULE:ATTR``: ATTR is the class (or any
callable making an instance); MODULE a dotted name importable from the current directory
or a .py path. Entries of ``_com_interfaces_`` may be interface *names* of the ``--idl``
file; they are resolved here. Until ``dcerpc.cli`` wires the subcommand, run it as
``python -m dcerpc.com serve …``. Authentication takes the options of ``dcerpc serve``
(``--auth``, ``--users``, ``--keytab``, ``--min-level``; docs/security.md).

Exit status: 0 after a signal, 1 when the endpoint cannot be opened, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from .._cli_auth import AuthUsageError, add_serve_auth_arguments, serve_auth
from .._cli_rpc import (
    UsageError,
    _err,
    _import_module,
    _interfaces,
    _load_idl,
    _parse_binding,
    _serve_until_signal,
)
from ..errors import RpcError
from .guids import GUID
from .server import ComServer

__all__ = ["add_serve_arguments", "main", "run_serve"]

_CMD = "com serve"


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--idl", required=True, help="the IDL file declaring the [object] "
                                                "interfaces")
    p.add_argument("--acf", help="the ACF file (default: the IDL's name with .acf, if any)")
    p.add_argument("--class", dest="classes", action="append", required=True,
                   metavar="CLSID=MODULE:ATTR",
                   help="a COM class to host under CLSID (repeatable)")
    p.add_argument("--bind", action="append", required=True, metavar="STRING_BINDING",
                   help="where to listen, e.g. ncacn_ip_tcp:127.0.0.1[0] (repeatable)")
    p.add_argument("--ping-period", type=float, default=120.0, metavar="SECONDS",
                   help="objects unpinged for 3 periods are collected (default 120)")
    p.add_argument("--noping", action="store_true",
                   help="hand out SORF_NOPING references (objects live until released)")
    add_serve_auth_arguments(p)


def _resolve_class(mod: Any, spec: str) -> tuple[Any, Any]:
    clsid_text, sep, target = spec.partition("=")
    if not sep:
        raise UsageError(f"--class {spec!r}: expected CLSID=MODULE:ATTR")
    try:
        clsid = GUID(clsid_text)
    except ValueError:
        raise UsageError(f"--class {spec!r}: {clsid_text!r} is not a CLSID") from None
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--class {spec!r}: expected CLSID=MODULE:ATTR")
    module = _import_module(module_name)
    cls = getattr(module, attr, None)
    if cls is None or not callable(cls):
        raise UsageError(f"--class {spec!r}: module {module_name!r} has no class {attr!r}")
    by_name = {i.name: i for i in _interfaces(mod)}
    declared = list(getattr(cls, "_com_interfaces_", []))
    if not declared:
        raise UsageError(f"--class {spec!r}: {attr} has no _com_interfaces_")
    resolved = []
    for entry in declared:
        if isinstance(entry, str):
            if entry not in by_name:
                raise UsageError(f"--class {spec!r}: interface {entry!r} is not in the IDL "
                                 f"(it defines {', '.join(by_name) or 'none'})")
            entry = by_name[entry]
        resolved.append(entry)
    cls._com_interfaces_ = resolved
    return clsid, cls


async def _serve(server: ComServer) -> int:
    bindings = await server.start()
    for b in bindings:
        print(f"listening on {b}", flush=True)
    await _serve_until_signal([server])
    return 0


def run_serve(args: argparse.Namespace) -> int:
    try:
        mod = _load_idl(args.idl, args.acf)
        classes = [_resolve_class(mod, c) for c in args.classes]
        binds = [str(_parse_binding(b)) for b in args.bind]
        if not args.ping_period > 0:
            raise UsageError("--ping-period must be positive")
        acceptors, min_level = serve_auth(args)
        server = ComServer(*binds, ping_period=args.ping_period, noping=args.noping,
                           auth=acceptors, min_level=min_level)
        for clsid, cls in classes:
            server.register_class(clsid, cls)
    except (UsageError, AuthUsageError, ValueError, TypeError) as exc:
        _err(_CMD, exc)
        return 2
    try:
        return asyncio.run(_serve(server))
    except (OSError, RpcError) as exc:  # address in use, permission denied …
        _err(_CMD, exc)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dcerpc com", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="host COM classes (activation, OXID resolver, "
                                         "objects)")
    add_serve_arguments(serve)
    serve.set_defaults(run=run_serve)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
