"""``dcerpc serve``, ``dcerpc call`` and ``dcerpc epm`` as a user runs them."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dcerpc import idl
from dcerpc._cli_json import JsonValueError, from_json, to_json
from dcerpc._cli_rpc import call_arguments, lookup_entries, resolve_impls, result_json
from dcerpc.cli import main

from .serving import HANG_GUARD, HERE, IDL, Served, dcerpc_cmd, port_of, start_serve

pytestmark = pytest.mark.interop


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def _in_interop_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # `--impl interop_impl:…` is importable from the current directory, as for a user
    monkeypatch.chdir(HERE)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``dcerpc ARGS…`` in this process (the IDL compiles once): exit status and output."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        rc = main(list(args))
        out, err = capsys.readouterr()
        return Ran(rc, out, err)

    return run


@pytest.fixture
def call(run_cli: Callable[..., Ran], served: Served) -> Callable[[str, object], Ran]:
    def run(op: str, args: object) -> Ran:
        return run_cli("call", served.bindings[0], "--idl", str(IDL), op, json.dumps(args))

    return run


@pytest.fixture
def call_ok(call: Callable[[str, object], Ran]) -> Callable[[str, object], object]:
    def run(op: str, args: object) -> object:
        r = call(op, args)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    return run


# --------------------------------------------------------------------------- serve
def test_serve_prints_one_line_per_bind_and_exits_0_on_sigterm(run_cli: Callable[..., Ran]) -> None:
    s = start_serve(("ncacn_ip_tcp:127.0.0.1[0]", "ncacn_ip_tcp:127.0.0.1[0]"))
    try:
        assert len(s.bindings) == 2
        ports = [port_of(b) for b in s.bindings]
        assert all(p > 0 for p in ports) and ports[0] != ports[1]
        for b in s.bindings:  # each endpoint really serves
            r = run_cli("call", b, "--idl", str(IDL), "Add", "[20, 22]")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout) == {"return_value": 42}
    finally:
        rc = s.stop(signal.SIGTERM)
    assert rc == 0, s.stderr_text()
    # exactly one line per --bind, nothing else on stdout
    assert s.stdout is not None
    assert s.stdout.rest().splitlines() == [f"listening on {b}" for b in s.bindings]


def test_serve_exits_0_on_sigint_and_takes_file_path_impl(run_cli: Callable[..., Ran]) -> None:
    impl_file = HERE / "interop_impl.py"
    s = start_serve(impls=(f"InteropTest={impl_file}:Test", "InteropAux=interop_impl:aux_instance"))
    try:
        r = run_cli("call", s.bindings[0], "--idl", str(IDL), "InteropAux.Ping", '{"cookie": 1}')
        assert json.loads(r.stdout) == {"return_value": 0, "echoed": 1 ^ 0xA5A5A5A5}
    finally:
        rc = s.stop(signal.SIGINT)
    assert rc == 0, s.stderr_text()


def test_serve_unknown_interface_is_exit_2(run_cli: Callable[..., Ran]) -> None:
    r = run_cli("serve", "--idl", str(IDL), "--impl", "Nope=interop_impl:Test",
                "--bind", "ncacn_ip_tcp:127.0.0.1[0]")
    assert r.returncode == 2
    assert "unknown interface 'Nope'" in r.stderr and "InteropTest" in r.stderr


def test_serve_needs_interface_name_when_idl_has_two(run_cli: Callable[..., Ran]) -> None:
    r = run_cli("serve", "--idl", str(IDL), "--impl", "interop_impl:Test",
                "--bind", "ncacn_ip_tcp:127.0.0.1[0]")
    assert r.returncode == 2
    assert "write INTERFACE=interop_impl:Test" in r.stderr


def test_serve_idl_error_names_file_line_column(run_cli: Callable[..., Ran],
                                                tmp_path: Path) -> None:
    bad = tmp_path / "bad.idl"
    bad.write_text("[uuid(0b1f4b1e-8a7c-4f1e-9b7d-3c2e1a0f9e8d)] interface X {\n"
                   "    long F([in] long a,);\n}\n")
    r = run_cli("serve", "--idl", str(bad), "--impl", "interop_impl:Test",
                "--bind", "ncacn_ip_tcp:127.0.0.1[0]")
    assert r.returncode == 2
    assert f"{bad}:2:" in r.stderr


@pytest.mark.parametrize("impl", ["no_such_module:X", "interop_impl:NoSuchAttr", "nocolon"])
def test_serve_bad_impl_is_exit_2(run_cli: Callable[..., Ran], impl: str) -> None:
    r = run_cli("serve", "--idl", str(IDL), "--impl", f"InteropTest={impl}",
                "--bind", "ncacn_ip_tcp:127.0.0.1[0]")
    assert r.returncode == 2, r.stderr
    assert "dcerpc serve: error:" in r.stderr


def test_serve_bad_binding_is_exit_2(run_cli: Callable[..., Ran]) -> None:
    r = run_cli("serve", "--idl", str(IDL), "--impl", "InteropTest=interop_impl:Test",
                "--bind", "ncacn_ip_tcp:127.0.0.1[0")
    assert r.returncode == 2
    assert "bad string binding" in r.stderr


def test_missing_operation_warns_and_faults_op_rng_error(run_cli: Callable[..., Ran]) -> None:
    s = start_serve(impls=("InteropTest=interop_impl:Partial",))
    try:
        r = run_cli("call", s.bindings[0], "--idl", str(IDL), "Checksum", '[3, "AAEC"]')
        assert r.returncode == 1
        assert "nca_s_op_rng_error" in r.stderr.lower()
        r = run_cli("call", s.bindings[0], "--idl", str(IDL), "Add", "[1, 1]")
        assert json.loads(r.stdout) == {"return_value": 2}
    finally:
        rc = s.stop()
    assert rc == 0
    err = s.stderr_text()
    assert "warning" in err and "Checksum" in err and "Greet" in err


# --------------------------------------------------------------------------- call
def test_call_struct(call_ok: Callable[[str, object], object]) -> None:
    rec = {"id": 9, "name": "Hopper", "where": {"x": 3, "y": 4}, "color": "Green",
           "stamp": -(1 << 50)}
    out = call_ok("EchoRecord", [rec])
    assert out == {"return_value": 0,
                   "echoed": {"id": 10, "name": "HOPPER", "where": {"x": 4, "y": 3},
                              "color": "Green", "stamp": 1 << 50}}


def test_call_list_and_object_arguments(call_ok: Callable[[str, object], object]) -> None:
    assert call_ok("SumArray", {"values": [1, 2, 3, 1 << 30, 1 << 30]}) == \
        {"return_value": 0, "total": 6 + (1 << 31)}
    assert call_ok("SumWindow", [None, [4, 5]]) == {"return_value": 0, "total": 9}


def test_call_strings_and_null(call_ok: Callable[[str, object], object]) -> None:
    assert call_ok("Greet", ["Ada", None]) == \
        {"return_value": 0, "greeting": "Hello, Ada!"}
    assert call_ok("Greet", {"name": "Ada", "title": "Countess"}) == \
        {"return_value": 0, "greeting": "Hello, Countess Ada!"}


def test_call_unions(call_ok: Callable[[str, object], object]) -> None:
    assert call_ok("Transform", [1, {"tag": 1, "value": 5}]) == \
        {"return_value": 0, "outKind": 2, "result": {"tag": 2, "value": {"x": 5, "y": -5}}}
    assert call_ok("Transform", [3, {"tag": 3, "value": "four"}]) == \
        {"return_value": 0, "outKind": 1, "result": {"tag": 1, "value": 4}}


def test_call_bytes_are_base64(call_ok: Callable[[str, object], object]) -> None:
    data = bytes(range(256)) * 30  # larger than one fragment
    out = call_ok("Checksum", [None, base64.b64encode(data).decode()])
    assert out == {"return_value": 0, "sum": zlib.crc32(data)}
    out = call_ok("Fill", [8, 250])
    assert out == {"return_value": 0, "used": 4,
                   "buffer": base64.b64encode(bytes([250, 251, 252, 253])).decode()}


def test_call_full_pointers_and_array_of_structs(call_ok: Callable[[str, object], object]) -> None:
    assert call_ok("AddFull", [None, 3]) == {"return_value": 0, "sum": -997}
    items = [{"name": "p", "where": {"x": 1, "y": 0}}, {"name": "q", "where": {"x": 2, "y": 0}}]
    assert call_ok("Tally", [None, items]) == \
        {"return_value": 0, "sumX": 3, "names": "p,q"}


def test_call_second_interface_by_qualified_name(call_ok: Callable[[str, object], object]) -> None:
    assert call_ok("InteropAux.Ping", [0]) == {"return_value": 0, "echoed": 0xA5A5A5A5}


def test_call_usage_errors_are_exit_2(run_cli: Callable[..., Ran], served: Served,
                                     call: Callable[[str, object], Ran]) -> None:
    r = call("NoSuchOp", [])
    assert r.returncode == 2 and "unknown operation 'NoSuchOp'" in r.stderr
    r = call("Add", [1, 2, 3])
    assert r.returncode == 2 and "takes 2 [in] parameters" in r.stderr
    r = call("Transform", [1, {"tag": 9, "value": 1}])
    assert r.returncode == 2 and "no arm for tag 9" in r.stderr
    r = run_cli("call", served.bindings[0], "--idl", str(IDL), "Add", "[1,")
    assert r.returncode == 2 and "not JSON" in r.stderr


def test_call_unreachable_server_is_exit_1(run_cli: Callable[..., Ran]) -> None:
    # a port nobody listens on: bind a socket, read its port, close it
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli("call", f"ncacn_ip_tcp:127.0.0.1[{port}]", "--idl", str(IDL), "Add", "[1, 2]")
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""


# --------------------------------------------------------------------------- epm
def test_epm_lookup_lists_served_endpoints(run_cli: Callable[..., Ran], served: Served) -> None:
    assert served.epm_binding is not None
    r = run_cli("epm", "lookup", served.epm_binding)
    assert r.returncode == 0, r.stderr
    lines = sorted(r.stdout.splitlines())
    binding = served.bindings[0]
    assert lines == sorted([
        f"d575aa6b-7652-40b5-b124-7345543c2078 v1.0  {binding}  dcerpc serve",
        f"4c2b6822-52a0-44cb-8d28-1867025668ee v2.1  {binding}  dcerpc serve",
    ])
    r = run_cli("epm", "lookup", "--json", served.epm_binding)
    entries = json.loads(r.stdout)
    assert {(e["interface"], e["version"], e["binding"]) for e in entries} == {
        ("d575aa6b-7652-40b5-b124-7345543c2078", "1.0", binding),
        ("4c2b6822-52a0-44cb-8d28-1867025668ee", "2.1", binding),
    }


def test_epm_serve_standalone_is_empty_and_stops_on_sigterm(run_cli: Callable[..., Ran]) -> None:
    proc = subprocess.Popen(dcerpc_cmd("epm", "serve", "--port", "0"), cwd=HERE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on ncacn_ip_tcp:127.0.0.1[")
        binding = line.removeprefix("listening on ")
        assert port_of(binding) > 0
        r = run_cli("epm", "lookup", binding)
        assert r.returncode == 0, r.stderr
        assert r.stdout == ""
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=HANG_GUARD)
    assert rc == 0


# --------------------------------------------------------------------------- JSON mapping
@pytest.fixture(scope="module")
def mod():  # type: ignore[no-untyped-def]
    return idl.load(IDL)


def test_json_arguments_by_position_and_name(mod) -> None:  # type: ignore[no-untyped-def]
    op = mod.InteropTest.operation("EchoRecord")
    by_pos = call_arguments(op, '[{"id": 1, "color": 2, "stamp": "0x10"}]')
    by_name = call_arguments(op, '{"rec": {"id": 1, "color": "Blue", "stamp": 16}}')
    assert by_pos == by_name
    assert by_pos[0].color is mod.COLOR.Blue and by_pos[0].stamp == 16


def test_json_values_round_trip(mod) -> None:  # type: ignore[no-untyped-def]
    from dcerpc.ndr import types as t

    guid = str(uuid.uuid4())
    assert to_json(t.GUID, from_json(t.GUID, guid)) == guid
    byte_array = t.Array(t.BYTE)
    assert from_json(byte_array, [1, 2, 255]) == b"\x01\x02\xff"
    assert to_json(byte_array, b"\x01\x02\xff") == "AQL/"
    union = mod.InteropTest.operation("Transform").params[1].type
    v = from_json(union, {"tag": 2, "value": {"x": 1, "y": 2}})
    assert to_json(union, v) == {"tag": 2, "value": {"x": 1, "y": 2}}


@pytest.mark.parametrize(("T_name", "value", "message"), [
    ("GUID", "not-a-guid", "expected a GUID"),
    ("LONG", "ten", "expected an integer"),
    ("LONG", True, "expected an integer"),
])
def test_json_type_errors(T_name: str, value: object, message: str) -> None:
    from dcerpc.ndr import types as t

    with pytest.raises(JsonValueError, match=message):
        from_json(getattr(t, T_name), value)


def test_json_result_shape(mod) -> None:  # type: ignore[no-untyped-def]
    op = mod.InteropTest.operation("Add")
    assert result_json(op, 5) == {"return_value": 5}
    op = mod.InteropTest.operation("Fill")
    assert result_json(op, (0, 2, b"\x00\x01")) == {"return_value": 0, "used": 2,
                                                    "buffer": "AAE="}


def test_impl_without_interface_name_for_single_interface_idl(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.idl"
    one.write_text("[uuid(5e0d7c2a-61b3-4c0e-9a57-0f3d2b1c4e6f), version(1.0)]\n"
                   "interface Solo { long Twice([in] long x); long Thrice([in] long x); }\n")
    impl = tmp_path / "solo_impl.py"
    impl.write_text("class Solo:\n    def Twice(self, x):\n        return 2 * x\n")
    pairs = resolve_impls(idl.load(one), [f"{impl}:Solo"])
    assert [(i.name, type(m).__name__) for i, m in pairs] == [("Solo", "Solo")]
    assert pairs[0][1].Twice(4) == 8
    assert "no method for Solo.Thrice" in capsys.readouterr().err


def test_epm_lookup_walks_the_entry_handle_in_batches(served: Served) -> None:
    assert served.epm_binding is not None
    one_by_one = lookup_entries(served.epm_binding, batch=1)
    assert len(one_by_one) == 2
    assert one_by_one == lookup_entries(served.epm_binding)
