"""``dcerpc serve``, ``dcerpc call`` and ``dcerpc epm serve|lookup``.

* ``serve`` compiles an IDL file, binds manager objects to its interfaces and listens on
  the given string bindings (optionally with an endpoint mapper next to it) until SIGINT
  or SIGTERM. One ``listening on <binding>`` line per ``--bind`` tells scripts the real
  endpoint (port 0 picks a free port).
* ``call`` is a generic client in the spirit of grpcurl: JSON in, JSON out, the mapping is
  in :mod:`dcerpc._cli_json`.
* ``epm lookup`` walks ``ept_lookup`` ([MS-RPCE] 2.2.1.2.5, C706 appendix O) and prints
  what rpcdump prints: interface, version, binding, annotation.

Exit status: 0 success, 1 the call failed (fault, communication failure), 2 bad usage
(arguments, IDL errors, impl problems).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import signal
import sys
import types as _pytypes
from collections.abc import Sequence
from typing import Any

from ._cli_auth import (
    AuthUsageError,
    add_call_auth_arguments,
    add_serve_auth_arguments,
    call_auth_options,
    serve_auth,
)
from .errors import CallFault, IdlError, NdrError, RpcError
from .ndr import types as t

__all__ = [
    "add_call_arguments",
    "add_epm_lookup_arguments",
    "add_epm_serve_arguments",
    "add_serve_arguments",
    "run_call",
    "run_epm_lookup",
    "run_epm_serve",
    "run_serve",
]

EPM_ANNOTATION = "dcerpc serve"


class UsageError(Exception):
    """Bad command-line input: reported as ``dcerpc <cmd>: error: …`` with exit status 2."""


def _err(cmd: str, message: object) -> None:
    print(f"dcerpc {cmd}: error: {message}", file=sys.stderr, flush=True)


def _warn(cmd: str, message: object) -> None:
    print(f"dcerpc {cmd}: warning: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- shared
def _load_idl(path: str, acf: str | None) -> _pytypes.ModuleType:
    from . import idl

    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such IDL file")
    try:
        return idl.load(path, acf)
    except IdlError as exc:  # the message starts with file:line:column
        raise UsageError(str(exc)) from None


def _interfaces(mod: _pytypes.ModuleType) -> list[t.Interface]:
    return list(getattr(mod, "__interfaces__", []))


def _parse_binding(text: str) -> Any:
    from .runtime.binding import StringBinding

    try:
        return StringBinding.parse(text)
    except RpcError as exc:
        raise UsageError(f"bad string binding {text!r}: {exc}") from None


# --------------------------------------------------------------------------- serve
def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--idl", required=True, help="the IDL file declaring the interfaces")
    p.add_argument("--acf", help="the ACF file (default: the IDL's name with .acf, if any)")
    p.add_argument("--impl", action="append", required=True, metavar="[INTERFACE=]MODULE:ATTR",
                   help="manager for an interface: ATTR is a class (instantiated with no "
                        "arguments) or an instance; MODULE is a dotted name importable from "
                        "the current directory or a .py file path; INTERFACE may be omitted "
                        "when the IDL defines one interface (repeatable)")
    p.add_argument("--bind", action="append", required=True, metavar="STRING_BINDING",
                   help="where to listen, e.g. ncacn_ip_tcp:127.0.0.1[0] (port 0 = any free "
                        "port; repeatable)")
    p.add_argument("--epm", type=int, metavar="PORT",
                   help="also serve the endpoint mapper on this TCP port of the first "
                        "ncacn_ip_tcp binding's host, with the served endpoints registered")
    add_serve_auth_arguments(p)


def _import_module(spec: str) -> _pytypes.ModuleType:
    if spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec):
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise UsageError(f"impl module file {spec!r} not found")
        name = "_dcerpc_impl_" + "".join(c if c.isalnum() else "_" for c in path)
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"cannot import {spec!r}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
        return module
    # "importable from the current directory" even when run as a console script
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise UsageError(f"cannot import impl module {spec!r}: {exc}") from None


def _split_impl(text: str) -> tuple[str | None, str, str]:
    iface: str | None = None
    head, sep, rest = text.partition("=")
    if sep and head.isidentifier():
        iface, text = head, rest
    module, sep, attr = text.rpartition(":")
    if not sep or not module or not attr:
        raise UsageError(f"--impl {text!r}: expected [INTERFACE=]MODULE:ATTR")
    return iface, module, attr


def resolve_impls(mod: _pytypes.ModuleType, specs: Sequence[str],
                  cmd: str = "serve") -> list[tuple[t.Interface, Any]]:
    """Match each ``--impl`` to an interface of the IDL and build its manager object."""
    ifaces = {i.name: i for i in _interfaces(mod)}
    if not ifaces:
        raise UsageError("the IDL file defines no interface")
    out: list[tuple[t.Interface, Any]] = []
    for spec in specs:
        name, module_name, attr = _split_impl(spec)
        if name is None:
            if len(ifaces) != 1:
                raise UsageError(f"--impl {spec!r}: the IDL defines {len(ifaces)} interfaces "
                                 f"({', '.join(ifaces)}); write INTERFACE={spec}")
            name = next(iter(ifaces))
        if name not in ifaces:
            raise UsageError(f"--impl {spec!r}: unknown interface {name!r} "
                             f"(the IDL defines {', '.join(ifaces)})")
        iface = ifaces[name]
        if any(i is iface for i, _ in out):
            raise UsageError(f"interface {name} has two --impl")
        module = _import_module(module_name)
        try:
            obj = getattr(module, attr)
        except AttributeError:
            raise UsageError(f"--impl {spec!r}: module {module_name!r} has no {attr!r}") from None
        if isinstance(obj, type):
            try:
                obj = obj()
            except Exception as exc:  # a manager constructor bug is a usage problem here
                raise UsageError(f"--impl {spec!r}: {attr}() failed: {exc!r}") from None
        missing = [op.name for op in iface.operations if not callable(getattr(obj, op.name, None))]
        if missing:
            # Served anyway: those opnums fault with nca_s_op_rng_error (dispatch.py).
            _warn(cmd, f"{type(obj).__name__} has no method for {name}."
                       f"{', '.join(missing)}")
        out.append((iface, obj))
    return out


async def _serve_until_signal(servers: list[Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for server in reversed(servers):
            await server.stop(timeout=5)


def _epm_host(bindings: Sequence[Any]) -> str:
    for b in bindings:
        if b.protseq.lower() == "ncacn_ip_tcp" and b.network_addr:
            return str(b.network_addr)
    return "127.0.0.1"


async def _serve(pairs: list[tuple[t.Interface, Any]], binds: list[Any],
                 epm_port: int | None, acceptors: Sequence[Any] = (),
                 min_level: str | None = None) -> int:
    import dcerpc

    server = dcerpc.Server(epm=False, auth=acceptors)
    for iface, impl in pairs:
        server.register(iface, impl, min_level=min_level)
    for b in binds:
        server.listen(str(b))
    started = [server]
    try:
        bindings = await server.start()
        for b in bindings:
            print(f"listening on {b}", flush=True)
        if epm_port is not None:
            from .runtime.epm import register_server

            mapper, epm_server = _epm_server(_epm_host(binds), epm_port)
            epm_bindings = await epm_server.start()
            started.append(epm_server)
            # replace=False: every endpoint of ours is listed, not just the last one
            register_server(mapper, bindings, [i for i, _ in pairs], EPM_ANNOTATION,
                            replace=False)
            for b in epm_bindings:
                print(f"endpoint mapper on {b}", flush=True)
    except BaseException:
        for s in reversed(started):
            await s.stop(timeout=5)
        raise
    await _serve_until_signal(started)
    return 0


def _epm_server(host: str, port: int) -> tuple[Any, Any]:
    import dcerpc

    from .runtime.epm import EndpointMapper, epm_idl

    mapper = EndpointMapper()
    server = dcerpc.Server(epm=False)
    server.register(epm_idl().epm, mapper)
    server.listen(f"ncacn_ip_tcp:{host}[{port}]")
    return mapper, server


def run_serve(args: argparse.Namespace) -> int:
    try:
        mod = _load_idl(args.idl, args.acf)
        pairs = resolve_impls(mod, args.impl)
        binds = [_parse_binding(b) for b in args.bind]
        if args.epm is not None and not 0 <= args.epm <= 65535:
            raise UsageError(f"--epm {args.epm}: not a TCP port")
        acceptors, min_level = serve_auth(args)
    except (UsageError, AuthUsageError) as exc:
        _err("serve", exc)
        return 2
    try:
        return asyncio.run(_serve(pairs, binds, args.epm, acceptors, min_level))
    except OSError as exc:  # address in use, permission denied …
        _err("serve", exc)
        return 1
    except RpcError as exc:
        _err("serve", exc)
        return 1


# --------------------------------------------------------------------------- call
_CALL_HELP = """\
JSON mapping: integers are numbers; strings are strings; byte arrays are base64
strings (a list of 0..255 also works on input); other arrays are lists; structs are
objects keyed by IDL field names (size/length/switch counters may be left out);
unions are {"tag": t, "value": v}; enums are names (or integers); GUIDs are strings;
NULL pointers are null. The result is an object: "return_value" (if not void) and the
[out] parameters by name. A fault prints its status name on stderr and exits 1."""


def add_call_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Call one operation with JSON arguments and print the JSON result."
    p.epilog = _CALL_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("binding", metavar="STRING_BINDING",
                   help="e.g. ncacn_ip_tcp:127.0.0.1[4747]")
    p.add_argument("--idl", required=True, help="the IDL file declaring the operation")
    p.add_argument("--acf", help="the ACF file")
    p.add_argument("operation", metavar="OPERATION",
                   help="operation name, or INTERFACE.OPERATION when several interfaces "
                        "define it")
    p.add_argument("args", nargs="?", default="[]", metavar="JSON_ARGS",
                   help="a JSON array of the [in] parameters in order, or an object by "
                        "parameter name (default: [])")
    add_call_auth_arguments(p)


def find_operation(mod: _pytypes.ModuleType, name: str) -> tuple[t.Interface, t.Operation]:
    ifaces = _interfaces(mod)
    iface_name, dot, op_name = name.rpartition(".")
    if dot:
        ifaces = [i for i in ifaces if i.name == iface_name]
        if not ifaces:
            raise UsageError(f"unknown interface {iface_name!r}")
    hits = [(i, op) for i in ifaces for op in i.operations if op.name == op_name]
    if not hits:
        known = ", ".join(f"{i.name}.{op.name}" for i in ifaces for op in i.operations)
        raise UsageError(f"unknown operation {name!r} (known: {known})")
    if len(hits) > 1:
        raise UsageError(f"operation {name!r} is ambiguous: write "
                         f"{' or '.join(f'{i.name}.{op.name}' for i, op in hits)}")
    return hits[0]


def _wire_in_params(op: t.Operation) -> list[t.Param]:
    return [p for p in op.params if p.in_ and not isinstance(p.type, t.Handle)]


def call_arguments(op: t.Operation, text: str) -> list[Any]:
    """The [in] values of ``op`` from JSON (an array in order or an object by name)."""
    from ._cli_json import JsonValueError, from_json

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"JSON_ARGS is not JSON: {exc}") from None
    params = _wire_in_params(op)
    names = [p.name for p in params]
    if isinstance(raw, list):
        if len(raw) > len(params):
            raise UsageError(f"{op.name} takes {len(params)} [in] parameters "
                             f"({', '.join(names)}), got {len(raw)}")
        values = raw + [None] * (len(params) - len(raw))
    elif isinstance(raw, dict):
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise UsageError(f"{op.name} has no [in] parameter {unknown[0]!r} "
                             f"(parameters: {', '.join(names)})")
        values = [raw.get(n) for n in names]
    else:
        raise UsageError("JSON_ARGS must be an array or an object")
    try:
        return [from_json(p.type, v, p.name) for p, v in zip(params, values, strict=True)]
    except JsonValueError as exc:
        raise UsageError(str(exc)) from None


def result_json(op: t.Operation, result: Any) -> dict[str, Any]:
    """The call's result as a JSON object: ``return_value`` and the [out] parameters."""
    from ._cli_json import to_json

    slots: list[tuple[str, t.NdrType | None]] = []
    if op.returns is not None:
        slots.append(("return_value", op.returns))
    slots += [(p.name, p.type) for p in op.params
              if p.out and not isinstance(p.type, t.Handle)]
    if not slots:
        return {}
    values = [result] if len(slots) == 1 else list(result)
    return {name: to_json(T, v) for (name, T), v in zip(slots, values, strict=True)}


def invoke(binding: str, iface: t.Interface, op: t.Operation, args: list[Any],
           **options: Any) -> Any:
    """Make one synchronous call through the runtime's proxy."""
    import dcerpc

    with dcerpc.connect(binding, iface, **options) as client:
        return getattr(client, op.name)(*args)


def run_call(args: argparse.Namespace) -> int:
    from .ndr import operation_codec

    try:
        mod = _load_idl(args.idl, args.acf)
        iface, op = find_operation(mod, args.operation)
        values = call_arguments(op, args.args)
        _parse_binding(args.binding)
        # Marshal once up front so a value that does not fit is a usage error, not a call.
        operation_codec(op).encode_request(values)
        options = call_auth_options(args)
    except (UsageError, AuthUsageError) as exc:
        _err("call", exc)
        return 2
    except NdrError as exc:
        _err("call", f"arguments do not fit {op.name}: {exc}")
        return 2
    try:
        result = invoke(args.binding, iface, op, values, **options)
    except RpcError as exc:
        kind = "fault" if isinstance(exc, CallFault) else "failed"
        print(f"dcerpc call: {op.name} {kind}: {exc.status_name} (0x{exc.status:08x})"
              f"{_detail(exc)}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        _err("call", f"cannot reach {args.binding}: {exc}")
        return 1
    print(json.dumps(result_json(op, result), indent=2, ensure_ascii=False), flush=True)
    return 0


def _detail(exc: RpcError) -> str:
    text = str(exc)
    return "" if not text or text == exc.status_name else f": {text}"


# --------------------------------------------------------------------------- epm
def add_epm_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, required=True, help="TCP port (135 is the standard)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")


def run_epm_serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        _err("epm serve", f"--port {args.port}: not a TCP port")
        return 2

    async def main() -> int:
        _mapper, server = _epm_server(args.host, args.port)
        for b in await server.start():
            print(f"listening on {b}", flush=True)
        await _serve_until_signal([server])
        return 0

    try:
        return asyncio.run(main())
    except (OSError, RpcError) as exc:
        _err("epm serve", exc)
        return 1


def add_epm_lookup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("binding", metavar="STRING_BINDING",
                   help="the endpoint mapper, e.g. ncacn_ip_tcp:127.0.0.1[135]")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of lines")


def lookup_entries(binding: str, batch: int = 100) -> list[dict[str, str]]:
    """Every element of the endpoint map behind ``binding`` (ept_lookup, RPC_C_EP_ALL_ELTS)."""
    import dcerpc

    from .ndr import ContextHandleValue
    from .runtime.epm import EPT_S_NOT_REGISTERED, RPC_C_EP_ALL_ELTS, RPC_C_VERS_ALL, epm_idl
    from .runtime.towers import decode_tower

    epm = epm_idl()
    out: list[dict[str, str]] = []
    handle: Any = ContextHandleValue()  # the NULL handle starts a lookup
    with dcerpc.connect(binding, epm.epm) as client:
        while True:
            r = client.ept_lookup(RPC_C_EP_ALL_ELTS, None, None, RPC_C_VERS_ALL, handle, batch)
            if r.status not in (0, EPT_S_NOT_REGISTERED):  # an empty map is not an error
                raise dcerpc.CallFault(f"ept_lookup returned status 0x{r.status:08x}",
                                       r.status)
            for entry in r.entries or []:
                out.append(_entry_dict(entry, decode_tower))
            handle = r.entry_handle
            if r.status or not handle or not r.entries:
                break
    return out



def _entry_dict(entry: Any, decode_tower: Any) -> dict[str, str]:
    obj = str(entry.object)
    if entry.tower is None:
        return {"interface": "", "version": "", "binding": "(no tower)",
                "annotation": entry.annotation or "", "object": obj}
    tower = decode_tower(bytes(entry.tower.tower_octet_string))
    try:
        binding = str(tower.binding)
    except NdrError:
        ids = " ".join(f"0x{p:02x}" for p in tower.protocol_ids)
        binding = f"(floors {ids})"
    syntax = tower.interface
    return {"interface": str(syntax.if_uuid), "version": f"{syntax.major}.{syntax.minor}",
            "binding": binding, "annotation": entry.annotation or "", "object": obj}


def run_epm_lookup(args: argparse.Namespace) -> int:
    try:
        _parse_binding(args.binding)
    except UsageError as exc:
        _err("epm lookup", exc)
        return 2
    try:
        entries = lookup_entries(args.binding)
    except (RpcError, OSError) as exc:
        status = getattr(exc, "status_name", "")
        _err("epm lookup", f"{status}: {exc}" if status and status != str(exc) else exc)
        return 1
    if args.json:
        print(json.dumps(entries, indent=2), flush=True)
        return 0
    for e in entries:
        line = f"{e['interface']} v{e['version']}  {e['binding']}"
        print(f"{line}  {e['annotation']}" if e["annotation"] else line, flush=True)
    if not entries:
        print("(no endpoints registered)", file=sys.stderr, flush=True)
    return 0
