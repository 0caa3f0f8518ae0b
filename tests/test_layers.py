"""DESIGN.md §3: dependencies point downward only, and the lower layers do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dcerpc"

# layer -> dcerpc packages it may import (besides itself and the shared leaf modules).
ALLOWED: dict[str, set[str]] = {
    "ndr": set(),
    "idl": {"ndr"},
    "protocol": {"ndr", "auth"},
    "auth": set(),
    "runtime": {"ndr", "idl", "protocol", "auth"},
    # The notification targets (events, APC queues, completion ports, message queues) are
    # the stdlib-only Win32 object modules of dcerpc.win32; notify delivers to them.
    "notify": {"ndr", "idl", "protocol", "auth", "runtime", "win32"},
}
LEAVES = {"errors", "status"}  # shared leaf modules every layer may use
IO_MODULES = {"socket", "asyncio", "threading", "time", "select", "selectors", "subprocess"}
SANS_IO = {"ndr", "idl", "protocol", "auth", "runtime"}
# A lock is not I/O: the NDR code generator serialises first-use generation with one.
LOCK_ONLY = {"ndr/_codegen.py": {"threading"}}


def imported_modules(source: str, package: list[str]) -> list[tuple[str, int]]:
    """(absolute dotted name, line) for every import; ``from a import b`` yields ``a.b``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out += [(f"{mod}.{alias.name}", node.lineno) for alias in node.names]
    return out


def violations(layer: str, source: str, package: list[str], exempt: frozenset[str] = frozenset()
               ) -> list[str]:
    problems = []
    for mod, line in imported_modules(source, package):
        parts = mod.split(".")
        if parts[0] in exempt:
            continue
        if parts[0] == "dcerpc" and len(parts) > 1:
            target = parts[1]
            if target not in (layer, *LEAVES) and target not in ALLOWED[layer]:
                problems.append(f"line {line}: imports {mod} (layer {layer!r})")
        if layer in SANS_IO and parts[0] in IO_MODULES:
            problems.append(f"line {line}: imports {mod} in a sans-IO layer")
    return problems


def _layer_files() -> list[tuple[str, Path]]:
    return [(layer, p) for layer in ALLOWED for p in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), _layer_files(), ids=str)
def test_layer_imports(layer: str, path: Path) -> None:
    package = list(path.relative_to(SRC.parent).parts[:-1])
    rel = path.relative_to(SRC).as_posix()
    exempt = frozenset(LOCK_ONLY.get(rel, ()))
    problems = violations(layer, path.read_text(encoding="utf-8"), package, exempt)
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_rule_reports_upward_and_io_imports() -> None:
    src = (
        "import socket\nfrom dcerpc import runtime\n"
        "from ..protocol import pdu\nfrom . import types\n"
    )
    problems = violations("ndr", src, ["dcerpc", "ndr"])
    assert len(problems) == 3
    assert "socket" in problems[0] and "dcerpc.runtime" in problems[1]
    assert "dcerpc.protocol.pdu" in problems[2]
