"""The MIDL-compatible IDL/ACF compiler.

Pipeline (Cap'n Proto style): C preprocessor subset (:mod:`._preprocess`) → LALR
grammar (:mod:`._grammar`, :mod:`._parser`) → syntax tree (:mod:`._ast`) → name
resolution into the :mod:`dcerpc.ndr.types` model (:mod:`._resolve`, :mod:`._compile`)
→ Python source (:mod:`._codegen`).

* :func:`load` compiles an IDL file in memory and returns the generated module;
* :func:`compile_to_source` returns the generated source (``dcerpc idl compile``);
* :mod:`dcerpc.idl.decl` declares the same model in Python, without IDL.

An ACF next to the IDL (same name, ``.acf``) is used automatically, as MIDL does.
"""

from __future__ import annotations

import hashlib
import os
import sys
import types as _pytypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import IdlError
from ._codegen import generate
from ._compile import Compilation, compile_idl

__all__ = ["CompileResult", "IdlError", "compile_to_source", "load"]


@dataclass
class CompileResult:
    source: str
    compilation: Compilation
    warnings: list[str] = field(default_factory=list)


def _default_acf(path: str) -> str | None:
    candidate = os.path.splitext(path)[0] + ".acf"
    return candidate if os.path.isfile(candidate) else None


def compile_to_source(path: str | os.PathLike[str], acf: str | os.PathLike[str] | None = None,
                      include_dirs: Sequence[str | os.PathLike[str]] = (),
                      defines: Mapping[str, str | None] | None = None) -> CompileResult:
    """Compile an IDL file (and its ACF) into the source of a Python module.

    Raises:
        IdlError: with ``file:line:column`` of the first problem.
    """
    p = os.path.abspath(os.fspath(path))
    acf_path = os.path.abspath(os.fspath(acf)) if acf is not None else _default_acf(p)
    comp = compile_idl(p, acf_path, [os.fspath(d) for d in include_dirs], defines)
    source = generate(comp)
    return CompileResult(source, comp, list(comp.warnings))


_CACHE: dict[tuple[object, ...], _pytypes.ModuleType] = {}


def module_from_source(source: str, name: str, filename: str) -> _pytypes.ModuleType:
    """Execute generated source as a module registered under ``name``."""
    mod = _pytypes.ModuleType(name)
    mod.__file__ = filename
    # dataclasses resolve string annotations through sys.modules[cls.__module__]
    sys.modules[name] = mod
    try:
        exec(compile(source, filename, "exec"), mod.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return mod


def _add_async_twins(mod: _pytypes.ModuleType) -> None:
    """``AsyncIX`` beside every ``[async_uuid]`` interface ``IX`` (F42)."""
    from ._async import async_interface, is_async_capable

    for it in list(getattr(mod, "__interfaces__", ())):
        if is_async_capable(it) and not hasattr(mod, f"Async{it.name}"):
            setattr(mod, f"Async{it.name}", async_interface(it))


def load(path: str | os.PathLike[str], acf: str | os.PathLike[str] | None = None,
         include_dirs: Sequence[str | os.PathLike[str]] = (),
         defines: Mapping[str, str | None] | None = None) -> _pytypes.ModuleType:
    """Compile ``path`` in memory and return the generated module (cached per options).

    The module has the same shape as the file ``dcerpc idl compile`` writes: constants,
    enum/struct/union classes, typedef names, per interface ``X`` (the
    :class:`~dcerpc.ndr.types.Interface`), ``XClient`` and one function per operation,
    ``__interfaces__`` and ``__idl_source__``. ``.warnings`` lists the compiler warnings.
    """
    p = os.path.abspath(os.fspath(path))
    acf_path = os.path.abspath(os.fspath(acf)) if acf is not None else _default_acf(p)
    dirs = tuple(os.path.abspath(os.fspath(d)) for d in include_dirs)
    defs = tuple(sorted((defines or {}).items(), key=lambda kv: kv[0]))
    try:
        stamp = (os.stat(p).st_mtime_ns, os.stat(acf_path).st_mtime_ns if acf_path else 0)
    except OSError as exc:
        raise IdlError(f"cannot read {exc.filename}: {exc.strerror}", str(exc.filename)) from None
    key = (p, acf_path, dirs, defs, stamp)
    mod = _CACHE.get(key)
    if mod is not None:
        return mod
    result = compile_to_source(p, acf_path, dirs, dict(defs))
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(p))[0])
    mod = module_from_source(result.source, f"dcerpc.idl._loaded.{stem}_{digest}", p)
    mod.warnings = result.warnings  # type: ignore[attr-defined]
    _add_async_twins(mod)
    _CACHE[key] = mod
    return mod
