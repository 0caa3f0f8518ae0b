"""The published-IDL corpus: real interfaces from the specifications' "Appendix A: Full IDL".

Every ``tests/idl/corpus/*.idl`` file must compile, with no edits, to a module that imports,
and the interfaces in it must carry the UUIDs, versions and opnums that the specifications
publish. The expected values (``corpus/expected.json``) were written from the specification
text (the method tables of each spec's section 3.x.4), not from the compiler's output, so a
compiler that numbers operations wrongly or mangles a UUID fails here.

Imports inside the corpus (``import "ms-dtyp.idl";`` …) resolve through the include path (the
corpus directory) and then the base IDL the package ships; see ``corpus/README.md``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dcerpc.idl
from dcerpc.ndr.types import Interface

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads(
    (CORPUS / "expected.json").read_text(encoding="utf-8")
)
FILES = sorted(p.name for p in CORPUS.glob("*.idl"))


def _interface(module: ModuleType, name: str) -> Interface:
    iface = getattr(module, name, None)
    assert isinstance(iface, Interface), f"module has no interface {name!r} (got {iface!r})"
    return iface


def _check(module: ModuleType, spec: dict[str, Any]) -> None:
    iface = _interface(module, spec["name"])
    assert iface.uuid == uuid.UUID(spec["uuid"])
    major, minor = (int(x) for x in spec["version"].split("."))
    assert iface.version == (major, minor)
    first, last = spec["first_opnum"], spec["last_opnum"]
    # An [object] interface may list its base's methods too; count only its own range.
    own = [op for op in iface.operations if op.opnum >= first]
    assert [op.opnum for op in own] == list(range(first, last + 1)), "opnums not contiguous"
    assert len(own) == spec["operations"]
    for opnum, name in spec["opnums"]:
        assert iface.operation(opnum).name == name, f"opnum {opnum}"
        assert iface.operation(name).opnum == opnum, f"operation {name}"
    if "base" in spec:
        assert iface.object
        assert iface.base is not None and iface.base.name == spec["base"]
    # Parameter names and directions of a few operations, as the spec's signatures give them:
    # a parameter dropped or with the wrong direction changes the request/response stubs.
    for opnum, params in spec.get("params", {}).items():
        op = iface.operation(int(opnum))
        got = [
            [p.name, ",".join(d for d, on in (("in", p.in_), ("out", p.out)) if on)]
            for p in op.params
        ]
        assert got == params, f"{op.name} parameters"


def test_expected_table_covers_the_corpus() -> None:
    assert len(FILES) >= 15
    assert sorted(EXPECTED) == FILES
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for filename in FILES:  # every file has its provenance row
        assert f"| `{filename}` |" in readme, filename
    for entries in EXPECTED.values():
        for spec in entries:
            assert spec["operations"] == spec["last_opnum"] - spec["first_opnum"] + 1
            names = [n for _, n in spec["opnums"]]
            assert spec["first_opnum"] in [o for o, _ in spec["opnums"]], spec["name"]
            assert spec["last_opnum"] in [o for o, _ in spec["opnums"]], spec["name"]
            assert len(set(names)) == len(names)


@pytest.mark.parametrize("filename", FILES)
def test_load(filename: str) -> None:
    module = dcerpc.idl.load(CORPUS / filename, include_dirs=[CORPUS])
    for spec in EXPECTED[filename]:
        _check(module, spec)


def _import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


@pytest.mark.parametrize("filename", FILES)
def test_cli_compile(filename: str, tmp_path: Path) -> None:
    from dcerpc.cli import main

    modname = "corpus_" + filename.removesuffix(".idl").replace("-", "_")
    out = tmp_path / f"{modname}.py"
    assert main(["idl", "compile", str(CORPUS / filename), "-I", str(CORPUS), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "do not edit" in text[:500]  # DESIGN.md §9: generated-file header
    module = _import_file(out, modname)
    for spec in EXPECTED[filename]:
        _check(module, spec)
