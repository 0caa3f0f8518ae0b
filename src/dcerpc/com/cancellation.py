"""Per-thread cancellation switch for client call objects: ``CoDisableCancellation`` /
``CoEnableCancellation`` (seed-semantics F64, T73: CO_E_CANCEL_DISABLED).

A call is cancellable or not according to the state of the thread that began it, at the
time it began (as Windows decides for CoDisableCallCancellation: "enabling or disabling
cancellation later has no effect on calls pending on the thread").  The switch is
counted per thread: after n ``CoDisableCancellation`` calls, n ``CoEnableCancellation``
calls are needed before calls begun on the thread can be cancelled again.  A call object
whose ``Begin_`` ran while cancellation was disabled answers ``Cancel`` with
CO_E_CANCEL_DISABLED (0x80010140) and its call completes normally.
"""

from __future__ import annotations

import threading
from typing import Any

from . import hresult as hr

__all__ = ["CoDisableCancellation", "CoEnableCancellation", "cancellation_enabled"]

_state = threading.local()


def _count() -> int:
    return getattr(_state, "disabled", 0)  # type: ignore[no-any-return]


def CoDisableCancellation(pReserved: Any = None) -> int:
    """Disable cancelling the calls this thread begins from now on; S_OK."""
    if pReserved is not None:
        return hr.E_INVALIDARG
    _state.disabled = _count() + 1
    return hr.S_OK


def CoEnableCancellation(pReserved: Any = None) -> int:
    """Undo one ``CoDisableCancellation``: S_OK once every disable is balanced (calls
    begun from now on can be cancelled), CO_E_CANCEL_DISABLED while more disables than
    enables remain; S_OK when cancellation was not disabled at all."""
    if pReserved is not None:
        return hr.E_INVALIDARG
    n = _count()
    if n <= 1:
        _state.disabled = 0
        return hr.S_OK
    _state.disabled = n - 1
    return hr.CO_E_CANCEL_DISABLED


def cancellation_enabled() -> bool:
    """Whether calls begun on this thread now can be cancelled."""
    return _count() == 0
