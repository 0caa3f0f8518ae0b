"""The sans-IO call engine: dispatch, fault mapping, context handles, the client call
record and the resolver hook — no sockets, no loop."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

import dcerpc
import dcerpc.idl
import dcerpc.runtime as rt
from dcerpc import status as st
from dcerpc.ndr import ContextHandleValue, operation_codec
from dcerpc.runtime import (
    CallState,
    ClientCall,
    ContextHandleTable,
    Dispatcher,
    InterfaceRegistry,
    fault_status,
    rundown_callable,
)

svc = dcerpc.idl.load(Path(__file__).resolve().parent / "testsvc.idl")
GROUP = 0x1234


class Mgr:
    def Add(self, a: int, b: int) -> int:
        return a + b

    def Open(self, start: int) -> tuple[int, object]:
        return 0, {"n": start}

    def Next(self, ctx: dict[str, int]) -> tuple[int, int]:
        ctx["n"] += 1
        return 0, ctx["n"]

    def Close(self, ctx: object) -> tuple[int, None]:
        return 0, None

    def Double(self, v: int) -> tuple[int, int]:
        return 0, 2 * v

    def rundown(self, obj: object) -> None:
        pass


def _setup() -> tuple[InterfaceRegistry, Dispatcher, rt.RegisteredInterface]:
    reg = InterfaceRegistry()
    entry = reg.register(svc.TestSvc, Mgr())
    disp = Dispatcher(ContextHandleTable())
    disp.handles.join(GROUP)
    return reg, disp, entry


def _request(name: str, *args: object) -> tuple[int, bytes]:
    op = svc.TestSvc.operation(name)
    return op.opnum, operation_codec(op).encode_request(args)


def _call(disp: Dispatcher, entry: rt.RegisteredInterface, name: str, *args: object,
          group: int = GROUP) -> object:
    opnum, stub = _request(name, *args)
    call = disp.prepare(entry, opnum, stub, group)
    stub = disp.encode_result(call, call.method(*call.args))
    return operation_codec(call.operation).decode_response(stub)


def test_registry_policy_hands_back_the_entry() -> None:
    reg, _disp, entry = _setup()
    found, value = reg.policy.lookup(rt.syntax_of(svc.TestSvc))
    assert found and value is entry
    assert reg.interfaces == [svc.TestSvc]


def test_dispatch_round_trip_and_in_out() -> None:
    _reg, disp, entry = _setup()
    assert _call(disp, entry, "Add", 2, 3) == 5
    assert _call(disp, entry, "Double", 21) == (0, 42)


@pytest.mark.parametrize(("opnum", "stub", "status"), [
    (99, b"", st.nca_s_op_rng_error),  # unknown opnum
    (1, b"", st.nca_s_op_rng_error),  # Echo: the manager lacks the method
    (0, b"\x01\x02", st.RPC_X_BAD_STUB_DATA),  # Add with a truncated stub
    (0, b"\0" * 12, st.RPC_X_BAD_STUB_DATA),  # trailing bytes
])
def test_prepare_faults(opnum: int, stub: bytes, status: int) -> None:
    _reg, disp, entry = _setup()
    with pytest.raises(dcerpc.RpcError) as info:
        disp.prepare(entry, opnum, stub, GROUP)
    assert info.value.status == status


def test_no_interface_or_manager_is_unk_if() -> None:
    _reg, disp, _entry = _setup()
    with pytest.raises(dcerpc.RpcError) as info:
        disp.prepare(None, 0, b"", GROUP)
    assert info.value.status == st.nca_s_unk_if
    reg = InterfaceRegistry()
    only_obj = reg.register(svc.TestSvc, Mgr(), uuid.uuid4())
    opnum, stub = _request("Add", 1, 2)
    with pytest.raises(dcerpc.RpcError) as info:
        disp.prepare(only_obj, opnum, stub, GROUP, uuid.uuid4())
    assert info.value.status == st.nca_s_unk_if


def test_manager_per_object_uuid() -> None:
    class Other(Mgr):
        def Add(self, a: int, b: int) -> int:
            return -1

    reg = InterfaceRegistry()
    obj = uuid.uuid4()
    reg.register(svc.TestSvc, Mgr())
    entry = reg.register(svc.TestSvc, Other(), obj)
    disp = Dispatcher()
    opnum, stub = _request("Add", 1, 2)
    assert disp.prepare(entry, opnum, stub, GROUP, obj).method(1, 2) == -1
    assert disp.prepare(entry, opnum, stub, GROUP, uuid.uuid4()).method(1, 2) == 3


def test_context_handles_map_objects_and_close() -> None:
    _reg, disp, entry = _setup()
    _, h = _call(disp, entry, "Open", 7)
    assert isinstance(h, ContextHandleValue) and h.attributes == 0 and h
    assert disp.handles.count(GROUP) == 1
    assert _call(disp, entry, "Next", h) == (0, 8)
    assert _call(disp, entry, "Close", h) == (0, ContextHandleValue())
    assert disp.handles.count(GROUP) == 0
    for bad in (h, ContextHandleValue(0, uuid.uuid4())):
        opnum, stub = _request("Next", bad)
        with pytest.raises(dcerpc.RpcError) as info:
            disp.prepare(entry, opnum, stub, GROUP)
        assert info.value.status == st.nca_s_fault_context_mismatch == 0x1C00001A
    opnum, stub = _request("Next", ContextHandleValue())
    with pytest.raises(dcerpc.RpcError) as info:
        disp.prepare(entry, opnum, stub, GROUP)
    assert info.value.status == st.RPC_X_SS_IN_NULL_CONTEXT


def test_handles_are_per_group_and_run_down_with_the_last_connection() -> None:
    _reg, disp, entry = _setup()
    _, h = _call(disp, entry, "Open", 1)
    opnum, stub = _request("Next", h)
    with pytest.raises(dcerpc.RpcError):
        disp.prepare(entry, opnum, stub, GROUP + 1)  # another group cannot use it
    disp.handles.join(GROUP)  # a second connection of the group
    assert disp.handles.leave(GROUP) == []
    (left,) = disp.handles.leave(GROUP)
    assert left.obj == {"n": 1} and left.type_name == "PCOUNTER"
    assert rundown_callable(left) == left.impl.rundown


def test_result_shape_errors_are_unspec() -> None:
    _reg, disp, entry = _setup()
    opnum, stub = _request("Double", 1)
    call = disp.prepare(entry, opnum, stub, GROUP)
    with pytest.raises(dcerpc.RpcError) as info:
        disp.encode_result(call, 5)  # needs (return_value, value)
    assert info.value.status == st.nca_s_fault_unspec


def test_fault_status_mapping(caplog: pytest.LogCaptureFixture) -> None:
    assert fault_status(dcerpc.RpcError(status=5)) == 5
    assert fault_status(dcerpc.NdrError("x")) == st.RPC_X_BAD_STUB_DATA == 0x6F7
    with caplog.at_level(logging.ERROR, logger="dcerpc.server"):
        assert fault_status(KeyError("boom"), "Op") == st.nca_s_fault_unspec
    assert "boom" in caplog.text and "Op" in caplog.text


def test_client_call_ends_exactly_once() -> None:
    op = svc.TestSvc.operation("Add")
    call = ClientCall(svc.TestSvc, op)
    seen: list[object] = []
    call.add_done_callback(lambda c: seen.append(c.state))
    assert call.set_result(3)
    assert not call.set_exception(dcerpc.CommFailure())
    assert not call.set_result(4)
    assert call.outcome() == 3 and seen == [CallState.COMPLETE]
    late: list[object] = []
    call.add_done_callback(lambda c: late.append(c.result))
    assert late == [3]
    failed = ClientCall(svc.TestSvc, op)
    assert failed.set_exception(dcerpc.RpcTimeout())
    assert failed.state is CallState.TIMED_OUT
    with pytest.raises(dcerpc.RpcTimeout):
        failed.outcome()


def test_no_resolver_raises_no_endpoint_found() -> None:
    with pytest.raises(dcerpc.RpcError) as info:
        rt.no_resolver(rt.StringBinding.parse("ncacn_ip_tcp:127.0.0.1"), svc.TestSvc)
    assert info.value.status == st.RPC_S_NO_ENDPOINT_FOUND


def test_importing_dcerpc_installs_the_endpoint_mapper_resolver() -> None:
    assert rt.resolver is not rt.no_resolver
    assert rt.resolver.__qualname__.startswith("epm_resolver")
