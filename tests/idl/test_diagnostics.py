"""Errors name file:line:column and say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcerpc.errors import IdlError
from dcerpc.idl._compile import compile_idl


def fails(tmp_path: Path, text: str, acf: str | None = None) -> IdlError:
    path = tmp_path / "d.idl"
    path.write_text(text)
    acf_path = None
    if acf is not None:
        acf_path = tmp_path / "d.acf"
        acf_path.write_text(acf)
    with pytest.raises(IdlError) as info:
        compile_idl(str(path), str(acf_path) if acf_path else None)
    return info.value


def test_unknown_type_name(tmp_path: Path) -> None:
    e = fails(tmp_path, "typedef struct {\n  long a;\n    FOO b;\n} S;")
    assert (e.line, e.column) == (3, 5) and e.filename == str(tmp_path / "d.idl")
    assert "unknown type name 'FOO'" in str(e)


def test_syntax_error_lists_expected_tokens(tmp_path: Path) -> None:
    e = fails(tmp_path, "typedef struct {\n  long a\n} S;")
    assert (e.line, e.column) == (3, 1)
    assert "syntax error: unexpected '}'" in str(e) and "';'" in str(e)


def test_duplicate_definitions(tmp_path: Path) -> None:
    e = fails(tmp_path, "typedef long A;\ntypedef short A;")
    assert e.line == 2 and "duplicate definition of type 'A'" in str(e)
    e = fails(tmp_path, "typedef struct { long x; long x; } S;")
    assert "duplicate field 'x'" in str(e)


def test_size_is_naming_a_missing_field(tmp_path: Path) -> None:
    e = fails(tmp_path, "typedef struct {\n long n;\n [size_is(count)] long *p;\n} S;")
    assert (e.line, e.column) == (3, 3)
    assert "'count'" in str(e) and "known: n, p" in str(e)


def test_param_expression_must_name_a_param(tmp_path: Path) -> None:
    e = fails(tmp_path, "[uuid(11111111-2222-3333-4444-555555555555)] interface I {\n"
                        "void f([in, size_is(m)] long *p);\n}")
    assert e.line == 2 and "'m'" in str(e)


def test_errors_point_into_the_right_file(tmp_path: Path) -> None:
    (tmp_path / "inc.h").write_text("\n\n  bogus bogus;\n")
    e = fails(tmp_path, '#include "inc.h"\ntypedef long X;')
    assert e.filename == str(tmp_path / "inc.h") and e.line == 3


def test_semantic_errors(tmp_path: Path) -> None:
    iface = "[uuid(11111111-2222-3333-4444-555555555555)] interface I {{ {} }}"
    assert "not a pointer" in str(fails(tmp_path, iface.format("void f([in, unique] long a);")))
    assert "must be a pointer" in str(fails(tmp_path, iface.format("void f([out] long a);")))
    assert "void pointer" in str(fails(tmp_path, iface.format("void f([in] void *p);")))
    assert "base interface 'Nope'" in str(fails(tmp_path, "[object, uuid(11111111-2222-3333-4444-"
                                                "555555555555)] interface I : Nope {}"))
    assert "malformed UUID" in str(fails(tmp_path, '[uuid("zz")] interface I {}'))
    assert "duplicate case 1" in str(fails(
        tmp_path, "typedef [switch_type(long)] union { [case(1)] long a; [case(1)] long b; } U;"))
    assert "cannot find imported file" in str(fails(tmp_path, 'import "nope.idl";'))


def test_acf_errors(tmp_path: Path) -> None:
    idl = "[uuid(11111111-2222-3333-4444-555555555555)] interface I { void f(); }"
    e = fails(tmp_path, idl, "interface I { [async] g; }")
    assert e.filename == str(tmp_path / "d.acf") and "operation 'g'" in str(e)
    assert "interface 'J'" in str(fails(tmp_path, idl, "interface J { }"))
