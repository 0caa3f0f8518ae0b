from __future__ import annotations

from pathlib import Path

import pytest

from dcerpc.errors import IdlError
from dcerpc.idl._preprocess import Preprocessor, eval_c_int


def pp(text: str, **defines: str | None) -> list[str]:
    return Preprocessor(defines=defines).run_text(text, "x.idl").text.split("\n")


def test_object_and_function_macros_expand() -> None:
    out = pp("#define N 4\n#define SQ(x) ((x)*(x))\nlong a[N]; long b[SQ(N)];\n")
    assert "long a[4]; long b[((4)*(4))];" in out


def test_macro_not_expanded_inside_strings_and_self_reference_stops() -> None:
    out = pp('#define A A + 1\n#define S x\ncpp_quote("S") A\n')
    assert 'cpp_quote("S") A + 1' in out


def test_conditionals_with_defined_and_arithmetic() -> None:
    text = ("#if defined(MIDL_PASS) && (2 * 3 == 6)\nyes1\n#else\nno1\n#endif\n"
            "#ifdef NOPE\nno2\n#elif __midl >= 500\nyes2\n#endif\n"
            "#ifndef NOPE\nyes3\n#endif\n#if 0\n#if 1\nno3\n#endif\n#endif\n")
    out = [x for x in pp(text) if x.strip()]
    assert out == ["yes1", "yes2", "yes3"]


def test_command_line_defines_and_undef() -> None:
    text = "#ifdef FOO\nfoo FOO\n#endif\n#undef FOO\n#ifdef FOO\nbad\n#endif\n"
    assert [x for x in pp(text, FOO="7") if x.strip()] == ["foo 7"]


def test_comments_stripped_and_columns_kept() -> None:
    out = pp("/* a\n b */ long x; // tail\n")
    assert out[1].rstrip() == "      long x;"


def test_line_map_points_into_included_file(tmp_path: Path) -> None:
    (tmp_path / "inc.h").write_text("\n\nline3\n")
    main = tmp_path / "main.idl"
    main.write_text('first\n#include "inc.h"\nlast\n')
    res = Preprocessor().run_file(str(main))
    lines = res.text.split("\n")
    n = lines.index("line3") + 1
    assert res.where(n, 2) == (str(tmp_path / "inc.h"), 3, 2)
    n = lines.index("last") + 1
    assert res.where(n, 1) == (str(main), 3, 1)


def test_pragma_and_line_ignored_unknown_directive_rejected() -> None:
    assert [x for x in pp("#pragma once\n#line 5\nok\n") if x.strip()] == ["ok"]
    with pytest.raises(IdlError, match=r"x.idl:2:1: unknown preprocessor directive #bogus"):
        pp("ok\n#bogus\n")


def test_unbalanced_conditionals_are_errors() -> None:
    with pytest.raises(IdlError, match="missing #endif"):
        pp("#if 1\n")
    with pytest.raises(IdlError, match="#endif without #if"):
        pp("#endif\n")
    with pytest.raises(IdlError, match="unterminated comment"):
        pp("/* open\n")


def test_missing_include_is_an_error() -> None:
    with pytest.raises(IdlError, match=r"cannot find include file 'nope\.h'"):
        pp('#include "nope.h"\n')


def test_eval_c_int_semantics() -> None:
    assert eval_c_int("-7 / 2") == -3
    assert eval_c_int("1 << 4 | 1") == 17
    assert eval_c_int("0x10 > 15 ? 3 : 4") == 3
    with pytest.raises(ValueError):
        eval_c_int("1 / 0")
