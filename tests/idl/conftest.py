"""Helpers for the IDL compiler tests: compile IDL text written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import dcerpc.idl as idl
from dcerpc.idl._compile import Compilation, compile_idl


@pytest.fixture
def compile_text(tmp_path: Path) -> Callable[..., Compilation]:
    def run(text: str, name: str = "t.idl", acf: str | None = None) -> Compilation:
        path = tmp_path / name
        path.write_text(text)
        acf_path = None
        if acf is not None:
            acf_path = tmp_path / (Path(name).stem + ".acf")
            acf_path.write_text(acf)
        return compile_idl(str(path), str(acf_path) if acf_path else None)

    return run


@pytest.fixture
def load_text(tmp_path: Path) -> Callable[..., ModuleType]:
    counter = [0]

    def run(text: str, acf: str | None = None) -> ModuleType:
        counter[0] += 1
        path = tmp_path / f"m{counter[0]}.idl"
        path.write_text(text)
        if acf is not None:
            path.with_suffix(".acf").write_text(acf)
        return idl.load(path)

    return run
