"""Client binding handles, spelled as rpcdce.h spells them.

``RpcStringBindingCompose`` → ``RpcBindingFromStringBinding`` → generated
``Op(hBinding, …)`` / ``Op(Async, hBinding, …)`` → ``RpcBindingFree``, plus
``RpcBindingSetOption`` / ``RpcBindingInqOption`` and the ``RpcTryExcept`` pattern.

Return conventions (the faithful face's contract): a function whose Win32 signature
returns an ``RPC_STATUS`` returns that int; out-parameters come after it in a tuple
(``RpcBindingFromStringBinding(s)`` → ``(status, Binding)``).  The binding handle is a
:class:`dcerpc.Binding`, so the generated functions take it as is.

``RpcTryExcept`` / ``RpcExcept`` / ``RpcEndExcept`` become::

    try:
        AsyncFunc(Async, hBinding, 10)
    except RpcException:
        ulCode = RpcExceptionCode()

:class:`RpcException` *is* :class:`dcerpc.RpcError` (what the runtime raises, with
``.status``); :func:`RpcExceptionCode` reads the status of the exception being handled.

Deviations:

* ``RpcStringFree`` frees nothing (Python strings are not freed); it sets nothing and
  returns RPC_S_OK.  ``RpcBindingFree`` returns ``(status, None)``: the C function sets the
  caller's handle to NULL.
* Options supported by ``RpcBindingSetOption``: RPC_C_OPT_BINDING_NONCAUSAL (9) and
  RPC_C_OPT_CALL_TIMEOUT (12, milliseconds, 0 = none).  Other known option numbers return
  RPC_S_CANNOT_SUPPORT; unknown ones RPC_S_INVALID_ARG.
* A call timeout is a deadline per call (:mod:`dcerpc.aio._opcall`): non-abortive cancel at
  the timeout, abortive cancel ``RpcMgmtSetCancelTimeout`` seconds later (default 1 s);
  the call then ends with RPC_S_CALL_CANCELLED (1818), which is also what Windows reports
  for a timed-out call.
"""

from __future__ import annotations

import sys
from typing import Any

from dcerpc.errors import RpcError
from dcerpc.runtime.binding import StringBinding
from dcerpc.status import (
    RPC_S_CANNOT_SUPPORT,
    RPC_S_INVALID_ARG,
    RPC_S_INVALID_BINDING,
    RPC_S_INVALID_STRING_BINDING,
    RPC_S_OK,
)

__all__ = [
    "RPC_C_CANCEL_INFINITE_TIMEOUT",
    "RPC_C_OPT_BINDING_NONCAUSAL",
    "RPC_C_OPT_CALL_TIMEOUT",
    "RpcBindingFree",
    "RpcBindingFromStringBinding",
    "RpcBindingInqOption",
    "RpcBindingSetOption",
    "RpcBindingToStringBinding",
    "RpcException",
    "RpcExceptionCode",
    "RpcMgmtSetCancelTimeout",
    "RpcStringBindingCompose",
    "RpcStringBindingParse",
    "RpcStringFree",
]

# RpcBindingSetOption option numbers (rpcdcep.h; seed-semantics §1.2)
RPC_C_OPT_MQ_DELIVERY = 1
RPC_C_OPT_MQ_PRIORITY = 2
RPC_C_OPT_MQ_JOURNAL = 3
RPC_C_OPT_MQ_ACKNOWLEDGE = 4
RPC_C_OPT_MQ_AUTHN_SERVICE = 5
RPC_C_OPT_MQ_AUTHN_LEVEL = 6
RPC_C_OPT_MQ_TIME_TO_REACH_QUEUE = 7
RPC_C_OPT_MQ_TIME_TO_BE_RECEIVED = 8
RPC_C_OPT_BINDING_NONCAUSAL = 9
RPC_C_OPT_SECURITY_CALLBACK = 10
RPC_C_OPT_UNIQUE_BINDING = 11
RPC_C_OPT_CALL_TIMEOUT = 12
RPC_C_OPT_DONT_LINGER = 13
RPC_C_OPT_TRUST_PEER = 14
RPC_C_OPT_ASYNC_BLOCK = 15
RPC_C_OPT_OPTIMIZE_TIME = 16
RPC_C_OPT_MAX_OPTIONS = 17
RPC_C_CANCEL_INFINITE_TIMEOUT = -1

#: RpcMgmtSetCancelTimeout's value in seconds, for bindings made after it is set (the
#: default is dcerpc.aio._opcall.DEFAULT_CANCEL_TIMEOUT)
_cancel_timeout = [1.0]


def _binding_class() -> Any:
    # dcerpc._sync imports dcerpc.aio, which imports this package: import on use.
    from dcerpc._sync import Binding

    return Binding


def _is_binding(h: Any) -> bool:
    return isinstance(h, _binding_class()) and not h.freed

RpcException = RpcError
"""What ``RpcTryExcept`` catches: the runtime's :class:`dcerpc.RpcError` (``.status``)."""


def RpcExceptionCode() -> int:
    """The status of the exception being handled (call it inside ``except``).

    An :class:`RpcException` gives its ``.status``; another exception its ``winerror`` /
    ``errno`` when it has one, RPC_S_INVALID_ARG for ``TypeError``/``ValueError`` (bad
    arguments to a stub), else RPC_S_CALL_FAILED (1726).  Outside a handler: RPC_S_OK."""
    exc = sys.exc_info()[1]
    if exc is None:
        return RPC_S_OK
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    code = getattr(exc, "winerror", None) or getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, (TypeError, ValueError)):
        return RPC_S_INVALID_ARG
    return 1726  # RPC_S_CALL_FAILED


def RpcStringBindingCompose(ObjUuid: str | None, ProtSeq: str | None,
                            NetworkAddr: str | None = None, EndPoint: str | None = None,
                            Options: str | None = None) -> tuple[int, str | None]:
    """``(status, StringBinding)``; RPC_S_INVALID_STRING_BINDING (1700) or
    RPC_S_INVALID_STRING_UUID (1705) for bad parts."""
    if not ProtSeq:
        return RPC_S_INVALID_STRING_BINDING, None
    try:
        return RPC_S_OK, str(StringBinding.compose(ObjUuid or None, ProtSeq, NetworkAddr,
                                                   EndPoint, Options))
    except RpcError as exc:
        return exc.status, None
    except (TypeError, ValueError):
        return RPC_S_INVALID_ARG, None


def RpcStringBindingParse(StringBinding_: str) -> tuple[int, str | None, str | None,
                                                        str | None, str | None, str | None]:
    """``(status, ObjUuid, ProtSeq, NetworkAddr, EndPoint, NetworkOptions)``."""
    try:
        b = StringBinding.parse(StringBinding_)
    except RpcError as exc:
        return exc.status, None, None, None, None, None
    options = ",".join(f"{k}={v}" for k, v in b.options)
    return (RPC_S_OK, str(b.object_uuid) if b.object_uuid else "", b.protseq,
            b.network_addr, b.endpoint, options)


def RpcStringFree(String: Any) -> int:
    """Nothing to free in Python; RPC_S_OK."""
    return RPC_S_OK


def RpcBindingFromStringBinding(StringBinding_: str) -> tuple[int, Any]:
    """``(status, Binding)``: a :class:`dcerpc.Binding` for the generated functions.
    Nothing is connected yet (the first call connects, as on Windows)."""
    if not isinstance(StringBinding_, str):
        return RPC_S_INVALID_ARG, None
    try:
        binding = _binding_class()(StringBinding_)
    except RpcError as exc:
        return exc.status, None
    binding.cancel_timeout = _cancel_timeout[0]
    return RPC_S_OK, binding


def RpcBindingToStringBinding(Binding_: Any) -> tuple[int, str | None]:
    if not _is_binding(Binding_):
        return RPC_S_INVALID_BINDING, None
    return RPC_S_OK, str(Binding_.string_binding)


def RpcBindingFree(Binding_: Any) -> tuple[int, None]:
    """Close the binding's pooled connections; later use of it gives
    RPC_S_INVALID_BINDING (1702).  ``(status, None)``: C sets the handle to NULL."""
    if not _is_binding(Binding_):
        return RPC_S_INVALID_BINDING, None
    Binding_.free()
    return RPC_S_OK, None


def RpcBindingSetOption(hBinding: Any, Option: int, OptionValue: Any) -> int:
    """RPC_C_OPT_BINDING_NONCAUSAL (true/false) and RPC_C_OPT_CALL_TIMEOUT (ms)."""
    if not _is_binding(hBinding):
        return RPC_S_INVALID_BINDING
    if Option == RPC_C_OPT_BINDING_NONCAUSAL:
        hBinding.noncausal = bool(OptionValue)
        return RPC_S_OK
    if Option == RPC_C_OPT_CALL_TIMEOUT:
        if not isinstance(OptionValue, int) or isinstance(OptionValue, bool) \
                or OptionValue < 0:
            return RPC_S_INVALID_ARG
        hBinding.call_timeout = OptionValue / 1000.0 if OptionValue else None
        return RPC_S_OK
    if isinstance(Option, int) and 1 <= Option < RPC_C_OPT_MAX_OPTIONS:
        return RPC_S_CANNOT_SUPPORT
    return RPC_S_INVALID_ARG


def RpcBindingInqOption(hBinding: Any, Option: int) -> tuple[int, Any]:
    """``(status, OptionValue)`` for the options :func:`RpcBindingSetOption` sets."""
    if not _is_binding(hBinding):
        return RPC_S_INVALID_BINDING, None
    if Option == RPC_C_OPT_BINDING_NONCAUSAL:
        return RPC_S_OK, int(hBinding.noncausal)
    if Option == RPC_C_OPT_CALL_TIMEOUT:
        timeout = hBinding.call_timeout
        return RPC_S_OK, 0 if timeout is None else round(timeout * 1000)
    if isinstance(Option, int) and 1 <= Option < RPC_C_OPT_MAX_OPTIONS:
        return RPC_S_CANNOT_SUPPORT, None
    return RPC_S_INVALID_ARG, None


def RpcMgmtSetCancelTimeout(Timeout: int) -> int:
    """Seconds between a call timeout's non-abortive and abortive cancel, for bindings
    made afterwards (Windows keeps it per thread; here it is process-wide).
    RPC_C_CANCEL_INFINITE_TIMEOUT (-1): the abortive stage comes only after a day."""
    if not isinstance(Timeout, int) or isinstance(Timeout, bool) or Timeout < -1:
        return RPC_S_INVALID_ARG
    _cancel_timeout[0] = 86400.0 if Timeout == RPC_C_CANCEL_INFINITE_TIMEOUT else float(Timeout)
    return RPC_S_OK
