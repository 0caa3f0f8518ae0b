"""Server call dispatch: request stub → manager arguments, manager result → response
stub, and every failure → the fault status the client sees.

Theory of operation
-------------------
The driver owns the I/O and the running of managers; this module is the pure part
between the protocol core's :class:`~dcerpc.protocol.events.RequestReceived` and the
manager (MIDL's server stub). :meth:`Dispatcher.prepare` picks the operation and the
manager and unmarshals the [in] values; the driver calls ``method(*prepared.args)``
(on the loop for ``async def``, on a worker thread otherwise) and hands the outcome to
:meth:`Dispatcher.encode_result` or :func:`fault_status`.

Fault mapping (C706 §12.6.4.7 fault statuses; [MS-RPCE] 2.2.2.9):

* an unknown opnum, or a manager without a method of that name → ``nca_s_op_rng_error``;
* no manager for the request's object UUID → ``nca_s_unk_if``;
* :class:`~dcerpc.errors.NdrError` while unmarshalling the request → ``rpc_x_bad_stub_data``
  (0x6F7, the Win32 value Windows itself puts in the fault);
* context-handle mismatches → ``nca_s_fault_context_mismatch`` (see :mod:`.contexts`);
* a manager raising :class:`~dcerpc.errors.RpcError` → a fault with its ``status``, as
  Windows returns the code of an exception raised with RpcRaiseException;
* any other exception, including a result that does not fit the operation's NDR
  contract → ``nca_s_fault_unspec`` (0x1C000012), with the traceback logged to the
  ``dcerpc.server`` logger. The server never goes down because of a manager.

Explicit binding handles: an ``[in] handle_t`` parameter is not on the wire (C706
§14.3.10.1).  Managers registered MIDL-style (``dcerpc.win32.RpcServerRegisterIf``) still
receive an argument in its position — the *server binding handle of the call*, which the
driver supplies (:attr:`PreparedCall.binding`, the call's :class:`~dcerpc.aio.CallContext`)
— so they can pass it to ``RpcServerTestCancel`` and, later, to impersonation
(seed-semantics F29, §8: ``def Op(h_binding, *args)``).  Pythonic managers
(``Server.register``) get the [in] values without it, as before; they have
``dcerpc.current_call()``.

Result contract (same as :mod:`dcerpc.ndr._operation`): the manager returns the return
value (if the operation has one), then the [out] and [in, out] parameters in IDL order —
one value bare, several as a tuple or namedtuple, nothing as None.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import status as st
from ..errors import NdrError, RpcError
from ..ndr import ContextHandleValue, OperationCodec, operation_codec
from ..ndr import types as t
from .contexts import ContextHandleTable
from .registry import NIL_UUID, RegisteredInterface

__all__ = ["Dispatcher", "PreparedCall", "fault_status"]

log = logging.getLogger("dcerpc.server")

_NULL_HANDLE = ContextHandleValue()


def _context_handle(T: t.NdrType | None) -> t.ContextHandle | None:
    """The context handle a parameter carries at top level (through [ref] and [range])."""
    while isinstance(T, (t.Pointer, t.Range)):
        if isinstance(T, t.Pointer) and T.kind != "ref":
            return None
        T = T.target if isinstance(T, t.Pointer) else T.type
    return T if isinstance(T, t.ContextHandle) else None


@dataclass(frozen=True, slots=True)
class _OpPlan:
    """Per-operation facts the dispatcher needs on every call (computed once)."""

    codec: OperationCodec
    nresults: int
    #: (index among [in] values, param, handle type) of each [in] context handle
    in_handles: tuple[tuple[int, t.Param, t.ContextHandle], ...]
    #: (index among results, param or None for the return value, handle type)
    out_handles: tuple[tuple[int, t.Param | None, t.ContextHandle], ...]
    #: positions of the ``[in] handle_t`` parameters among the manager's arguments
    binding_slots: tuple[int, ...] = ()
    #: the generated little-endian request decoder (``codec.generated("dreq")``)
    dreq: Callable[..., Any] | None = None
    #: the generated little-endian response encoder when the result is one plain value
    #: (one result, no context handle, no [out] sized by an [in]): ``eresp([r], [])``
    eresp: Callable[..., Any] | None = None


def _plan(op: t.Operation) -> _OpPlan:
    codec = operation_codec(op)
    ins = tuple((i, p, h) for i, p in enumerate(codec.in_params)
                if (h := _context_handle(p.type)) is not None)
    results: list[tuple[t.Param | None, t.NdrType]] = []
    if op.returns is not None:
        results.append((None, op.returns))
    results += [(p, p.type) for p in codec.out_params]
    outs = tuple((k, p, h) for k, (p, T) in enumerate(results)
                 if (h := _context_handle(T)) is not None)
    manager_params = [p for p in op.params if p.in_]
    slots = tuple(i for i, p in enumerate(manager_params) if isinstance(p.type, t.Handle))
    dreq = eresp = None
    with contextlib.suppress(Exception):  # the public methods report any failure
        dreq = codec.generated("dreq")
        if len(results) == 1 and not outs and not codec.sizing_in_params:
            eresp = codec.generated("eresp")
    return _OpPlan(codec, len(results), ins, outs, slots, dreq, eresp)


@dataclass(eq=False, slots=True)
class PreparedCall:
    """A request ready to run: ``method(*args)``; the rest is for encoding the result."""

    entry: RegisteredInterface
    operation: t.Operation
    impl: Any
    method: Callable[..., Any]
    args: list[Any]
    group: int
    object_uuid: uuid.UUID | None
    plan: _OpPlan
    #: wire value of each [in, out] context handle param, to answer with the same GUID
    handle_in: dict[int, ContextHandleValue] = field(default_factory=dict)
    #: the server binding handle passed for ``[in] handle_t`` parameters (set by the
    #: driver once it has made the call's context)
    binding: Any = None

    @property
    def manager_args(self) -> list[Any]:
        """The manager's arguments: the [in] values, with :attr:`binding` inserted at each
        ``[in] handle_t`` position (``args`` stays the wire values, for sizing [out]s)."""
        slots = self.plan.binding_slots
        if not slots or self.binding is None:
            return self.args
        out = list(self.args)
        for i in slots:
            out.insert(i, self.binding)
        return out


class Dispatcher:
    """Pure request/response processing for one server (see the module docstring)."""

    def __init__(self, handles: ContextHandleTable | None = None) -> None:
        self.handles = handles if handles is not None else ContextHandleTable()
        self._plans: dict[int, tuple[t.Operation, _OpPlan]] = {}

    def _plan_of(self, op: t.Operation) -> _OpPlan:
        hit = self._plans.get(id(op))
        if hit is None or hit[0] is not op:
            hit = self._plans[id(op)] = (op, _plan(op))
        return hit[1]

    def prepare(self, entry: Any, opnum: int, stub: bytes, group: int,
                object_uuid: uuid.UUID | None = None, *, little_endian: bool = True
                ) -> PreparedCall:
        """Resolve and unmarshal a request. Raises :class:`RpcError` carrying the fault
        status when the call cannot be dispatched."""
        if not isinstance(entry, RegisteredInterface):
            raise RpcError("request on a context with no registered interface",
                           st.nca_s_unk_if)
        op = entry.by_opnum.get(opnum)
        if op is None:
            raise RpcError(f"{entry.spec.name} has no opnum {opnum}", st.nca_s_op_rng_error)
        managers = entry.managers  # entry.manager() inline: once per call
        if object_uuid is not None and object_uuid in managers:
            impl = managers[object_uuid]
        else:
            impl = managers.get(NIL_UUID)
        if impl is None:
            raise RpcError(f"no manager of {entry.spec.name} for object {object_uuid}",
                           st.nca_s_unk_if)
        method = getattr(impl, op.name, None)
        if method is None:
            raise RpcError(f"{type(impl).__name__} does not implement {op.name}",
                           st.nca_s_op_rng_error)
        hit = self._plans.get(id(op))  # _plan_of() inline
        plan = hit[1] if hit is not None and hit[0] is op else self._plan_of(op)
        args = None
        dreq = plan.dreq
        if dreq is not None and little_endian and type(stub) is bytes:
            # the usual request, straight into the generated decoder; anything it does
            # not take goes through decode_request below, which maps the error
            try:
                values, end = dreq(stub, 0)
                if end == len(stub):
                    args = values
            except Exception:
                pass
        if args is None:
            try:
                args = plan.codec.decode_request(stub, little_endian=little_endian)
            except NdrError as exc:
                raise RpcError(f"{op.name}: {exc}", st.RPC_X_BAD_STUB_DATA) from None
        call = PreparedCall(entry, op, impl, method, args, group, object_uuid, plan)
        for i, param, _h in plan.in_handles:
            value = args[i]
            if not isinstance(value, ContextHandleValue):
                raise RpcError(f"{op.name}: bad context handle", st.RPC_X_BAD_STUB_DATA)
            found = self.handles.lookup(group, value, allow_null=param.out)
            args[i] = found.obj if found is not None else None
            if param.out:
                call.handle_in[id(param)] = value
        return call

    def encode_result(self, call: PreparedCall, result: Any) -> bytes:
        """Marshal the manager's result; context-handle objects become wire handles.

        Raises :class:`RpcError` (``nca_s_fault_unspec``) when the result does not fit.
        """
        return bytes(self.encode_result_buf(call, result))

    def encode_result_buf(self, call: PreparedCall, result: Any) -> bytearray:
        """:meth:`encode_result` as the encoder's own buffer (owned by the caller, which
        hands it to the protocol core without another copy).

        Raises :class:`RpcError` (``nca_s_fault_unspec``) when the result does not fit.
        """
        plan = call.plan
        n = plan.nresults
        if n == 0:
            values: list[Any] = []
        elif n == 1:
            values = [result]
        elif isinstance(result, (tuple, list)) and len(result) == n:
            values = list(result)
        else:
            raise RpcError(f"{call.operation.name}: the manager returned {result!r}, "
                           f"expected {n} values", st.nca_s_fault_unspec)
        for k, param, htype in plan.out_handles:
            values[k] = self._out_handle(call, param, htype, values[k])
        try:
            # The request's values size [out] arrays as MIDL stubs do (max_count = size_is).
            return plan.codec.encode_response_buf(values[0] if n == 1 else values or None,
                                                  request=call.args)
        except NdrError as exc:
            raise RpcError(f"{call.operation.name}: the manager's result does not "
                           f"marshal: {exc}", st.nca_s_fault_unspec) from None

    def _out_handle(self, call: PreparedCall, param: t.Param | None,
                    htype: t.ContextHandle, value: Any) -> ContextHandleValue:
        if isinstance(value, ContextHandleValue):
            return value  # the manager passed a wire value through unchanged
        old = call.handle_in.get(id(param)) if param is not None else None
        if old:
            if value is None:  # [in, out] answered with NULL: the handle is closed
                self.handles.close(call.group, old)
                return _NULL_HANDLE
            self.handles.update(call.group, old, value)
            return old
        if value is None:
            return _NULL_HANDLE
        return self.handles.open(call.group, value, htype.name, call.impl)


def fault_status(exc: BaseException, where: str = "") -> int:
    """The fault status for an exception raised by (or while running) a manager."""
    if isinstance(exc, RpcError):
        return int(exc.status) & 0xFFFFFFFF
    log.error("manager %s raised; answering nca_s_fault_unspec", where or "?",
              exc_info=(type(exc), exc, exc.__traceback__))
    return st.nca_s_fault_unspec
