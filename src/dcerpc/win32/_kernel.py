"""Win32 kernel objects in Python: events, per-thread APC queues, alertable waits.

Theory of operation
-------------------
Every waitable object and every APC queue in this module shares ONE lock and ONE condition
variable (``_COND``).  Any state change (an event is set, an APC is queued) calls
``notify_all``; every blocked waiter re-checks its own predicate.  That single lock is what
makes ``WaitForMultipleObjects(..., wait_all=True)`` atomic (all objects are tested and
consumed under the same lock, as the Win32 dispatcher lock does) and lets an alertable wait
wake for "object signalled" *or* "APC queued" without polling.  An auto-reset event woken
with ``notify_all`` still releases exactly one waiter: the first to re-acquire the lock
consumes the signal and the rest find it unsignalled and wait again.

Wait order on every pass (as the NT dispatcher does it): first the objects (a signalled
object wins and no APC runs), then, for alertable waits only, the calling thread's APC
queue; only if neither is ready does the thread block.  An alertable wait that finds APCs
runs *all* of them, FIFO, on the calling thread with the lock released, and returns
WAIT_IO_COMPLETION (seed-semantics §2 F19, §4).

Deviations from Win32 (documented, deliberate):

* ``GetCurrentThread()`` returns a *real* :class:`ThreadHandle` bound to the calling thread,
  not a pseudo-handle meaning "whoever uses it": a handle obtained on thread A and passed to
  thread B still names A, which is what ``QueueUserAPC`` from another thread needs.
* An APC that raises is logged (logger ``dcerpc.win32``) and the next APC still runs.
* APCs still queued when their thread ends are discarded (Windows cancels them too).
* More than ``MAXIMUM_WAIT_OBJECTS`` (64) handles: the Win32 function returns WAIT_FAILED
  with last error ERROR_INVALID_PARAMETER; the Pythonic :func:`wait_for_multiple` raises
  ``ValueError``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from dcerpc.status import (
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_SUCCESS,
    INFINITE,
    WAIT_FAILED,
    WAIT_IO_COMPLETION,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
)

log = logging.getLogger("dcerpc.win32")

MAXIMUM_WAIT_OBJECTS = 64  # winnt.h

# One dispatcher lock for all kernel objects of this module (see the theory block above).
_COND = threading.Condition(threading.Lock())

# --------------------------------------------------------------------------- last error

_tls = threading.local()


def GetLastError() -> int:
    """The calling thread's last-error value, as the Win32 function of that name."""
    return getattr(_tls, "last_error", ERROR_SUCCESS)


def SetLastError(dwErrCode: int) -> None:
    _tls.last_error = dwErrCode


# --------------------------------------------------------------------------- timeouts


def _deadline(ms: int | None) -> float | None:
    """INFINITE (0xFFFFFFFF) or None means no deadline."""
    if ms is None or ms == INFINITE:
        return None
    if ms < 0:
        raise ValueError(f"timeout must be >= 0 ms or INFINITE, got {ms}")
    return time.monotonic() + ms / 1000.0


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


# --------------------------------------------------------------------------- objects


class Waitable:
    """A kernel object a wait function can block on.  Subclasses implement the two hooks,
    which are always called with ``_COND`` held."""

    closed = False

    def _is_signalled(self) -> bool:
        raise NotImplementedError

    def _satisfy(self) -> None:
        """Side effect of a successful wait (an auto-reset event resets itself)."""

    def close(self) -> None:
        # Closing only invalidates the handle for new calls; a wait already in progress keeps
        # its reference, as the kernel's object reference count does.
        self.closed = True


class Win32Event(Waitable):
    """An event object: manual-reset stays signalled until reset; auto-reset releases
    exactly one waiter and resets itself in the same atomic step (seed-semantics §4)."""

    def __init__(self, manual_reset: bool = False, initial: bool = False) -> None:
        self.manual_reset = bool(manual_reset)
        self._signalled = bool(initial)

    def __repr__(self) -> str:
        kind = "manual" if self.manual_reset else "auto"
        return f"<Win32Event {kind} signalled={self._signalled}>"

    def _is_signalled(self) -> bool:
        return self._signalled

    def _satisfy(self) -> None:
        if not self.manual_reset:
            self._signalled = False

    def set(self) -> None:
        with _COND:
            self._signalled = True
            _COND.notify_all()

    def reset(self) -> None:
        with _COND:
            self._signalled = False

    def is_set(self) -> bool:
        with _COND:
            return self._signalled

    def wait(self, ms: int | None = INFINITE) -> int:
        """WAIT_OBJECT_0 (0) or WAIT_TIMEOUT (258)."""
        return wait_for_multiple([self], False, ms, alertable=False)


class _Closeable:
    """Marker base for non-waitable handles (completion ports, thread handles) that
    CloseHandle accepts."""

    closed = False

    def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- threads and APCs


class ApcQueue:
    """The user-mode APC queue of one thread.  Only its own thread drains it."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread_ref = weakref.ref(thread)
        self._items: deque[tuple[Callable[[Any], Any], Any]] = deque()

    def __len__(self) -> int:
        return len(self._items)


# Keyed by the Thread object, not its ident: idents are reused after a thread ends, and a
# new thread must not inherit a dead thread's APCs.
_apc_queues: weakref.WeakKeyDictionary[threading.Thread, ApcQueue] = (
    weakref.WeakKeyDictionary()
)


def _queue_for(thread: threading.Thread) -> ApcQueue:
    """Caller holds ``_COND``."""
    q = _apc_queues.get(thread)
    if q is None:
        q = _apc_queues[thread] = ApcQueue(thread)
    return q


class ThreadHandle(_Closeable):
    """A real handle to one thread (see the module docstring for why not a pseudo-handle).
    Not waitable here: nothing signals the dispatcher when a Python thread ends."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread

    def __repr__(self) -> str:
        return f"<ThreadHandle {self.thread.name!r} ident={self.thread.ident}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ThreadHandle) and other.thread is self.thread

    def __hash__(self) -> int:
        return id(self.thread)

    def close(self) -> None:
        # A thread handle can be closed any number of times; the thread itself is unaffected.
        pass

    @property
    def ident(self) -> int | None:
        return self.thread.ident


def current_thread() -> ThreadHandle:
    return ThreadHandle(threading.current_thread())


def _resolve_thread(thread: ThreadHandle | threading.Thread | int | None) -> threading.Thread:
    """0 or None means the calling thread (seed-semantics §4, the RPC ``hThread = 0`` rule);
    an int other than 0 is a thread ident."""
    if thread is None or thread == 0:
        return threading.current_thread()
    if isinstance(thread, ThreadHandle):
        return thread.thread
    if isinstance(thread, threading.Thread):
        return thread
    if isinstance(thread, int):
        for t in threading.enumerate():
            if t.ident == thread:
                return t
        raise ValueError(f"no running thread with ident {thread}")
    raise TypeError(f"not a thread handle: {thread!r}")


def queue_user_apc(fn: Callable[[Any], Any], thread: ThreadHandle | threading.Thread | int | None,
                   data: Any = 0) -> None:
    """Append ``fn(data)`` to the target thread's APC queue and wake that thread if it is in
    an alertable wait.  Never runs ``fn`` here."""
    if not callable(fn):
        raise TypeError(f"APC routine is not callable: {fn!r}")
    target = _resolve_thread(thread)
    with _COND:
        _queue_for(target)._items.append((fn, data))
        _COND.notify_all()


def pending_apcs(thread: ThreadHandle | threading.Thread | int | None = None) -> int:
    """How many APCs wait on ``thread`` (the calling thread by default)."""
    target = _resolve_thread(thread)
    with _COND:
        q = _apc_queues.get(target)
        return len(q) if q is not None else 0


def _run_apcs(q: ApcQueue) -> None:
    """Run every queued APC FIFO on the calling thread, including ones queued meanwhile.
    Called without the lock so an APC may itself queue APCs, set events or wait."""
    while True:
        with _COND:
            if not q._items:
                return
            fn, data = q._items.popleft()
        try:
            fn(data)
        except Exception:
            # seed-semantics §4: a failing routine must not stop the others.
            log.exception("APC routine %r raised; continuing with the next APC", fn)


# --------------------------------------------------------------------------- waits


def _check_objects(objects: Sequence[Waitable], wait_all: bool) -> int | None:
    """Index of the object that satisfies the wait (0 for wait_all), consuming signals, or
    None.  Caller holds ``_COND``."""
    if wait_all:
        if all(o._is_signalled() for o in objects):
            for o in objects:
                o._satisfy()
            return 0
        return None
    for i, o in enumerate(objects):
        if o._is_signalled():
            o._satisfy()
            return i
    return None


def wait_for_multiple(objects: Sequence[Waitable], wait_all: bool = False,
                      ms: int | None = INFINITE, alertable: bool = False) -> int:
    """The core of every wait function.  Returns WAIT_OBJECT_0 + index (the lowest signalled
    index for wait-any), WAIT_TIMEOUT, or WAIT_IO_COMPLETION after running APCs."""
    if len(objects) > MAXIMUM_WAIT_OBJECTS:
        raise ValueError(f"at most {MAXIMUM_WAIT_OBJECTS} objects per wait, got {len(objects)}")
    for o in objects:
        if not isinstance(o, Waitable):
            raise TypeError(f"not a waitable handle: {o!r}")
    deadline = _deadline(ms)
    me = threading.current_thread()
    with _COND:
        q = _queue_for(me) if alertable else None
        while True:
            if objects:
                hit = _check_objects(objects, wait_all)
                if hit is not None:
                    return WAIT_OBJECT_0 + hit
            if q is not None and q._items:
                break
            left = _remaining(deadline)
            if left is not None and left <= 0:
                return WAIT_TIMEOUT
            _COND.wait(left)
    assert q is not None
    _run_apcs(q)
    return WAIT_IO_COMPLETION


def sleep_ex(ms: int | None, alertable: bool) -> int:
    """0 when the time runs out, WAIT_IO_COMPLETION when APCs ran (F19: SleepEx returns 0 on
    timeout).  A non-alertable sleep never looks at the APC queue."""
    result = wait_for_multiple([], False, ms, alertable)
    return 0 if result == WAIT_TIMEOUT else result


# --------------------------------------------------------------------------- Win32 face


def _valid(h: object) -> bool:
    return isinstance(h, Waitable) and not h.closed


def CreateEvent(lpEventAttributes: object = None, bManualReset: bool = False,
                bInitialState: bool = False, lpName: str | None = None) -> Win32Event:
    """pywin32 order: CreateEvent(EventAttributes, bManualReset, bInitialState, Name)."""
    if lpName is not None:
        raise NotImplementedError("named events are not supported; pass lpName=None")
    return Win32Event(bManualReset, bInitialState)


def SetEvent(hEvent: Win32Event) -> bool:
    if not isinstance(hEvent, Win32Event) or hEvent.closed:
        SetLastError(ERROR_INVALID_HANDLE)
        return False
    hEvent.set()
    return True


def ResetEvent(hEvent: Win32Event) -> bool:
    if not isinstance(hEvent, Win32Event) or hEvent.closed:
        SetLastError(ERROR_INVALID_HANDLE)
        return False
    hEvent.reset()
    return True


def WaitForSingleObjectEx(hHandle: Waitable, dwMilliseconds: int, bAlertable: bool) -> int:
    if not _valid(hHandle):
        SetLastError(ERROR_INVALID_HANDLE)
        return WAIT_FAILED
    return wait_for_multiple([hHandle], False, dwMilliseconds, bool(bAlertable))


def WaitForSingleObject(hHandle: Waitable, dwMilliseconds: int) -> int:
    return WaitForSingleObjectEx(hHandle, dwMilliseconds, False)


def _multiple_args(args: tuple[Any, ...], ex: bool) -> tuple[list[Any], bool, int, bool]:
    """Accept the C order (nCount, lpHandles, bWaitAll, ms[, bAlertable]) and the pywin32
    order (handleList, bWaitAll, ms[, bAlertable])."""
    c_order = bool(args) and isinstance(args[0], int) and not isinstance(args[0], bool)
    want = (4 if c_order else 3) + (1 if ex else 0)
    if len(args) != want:
        name = "WaitForMultipleObjectsEx" if ex else "WaitForMultipleObjects"
        form = ("nCount, lpHandles, bWaitAll, dwMilliseconds" if c_order
                else "handleList, bWaitAll, milliseconds")
        raise TypeError(f"{name}({form}{', bAlertable' if ex else ''}): "
                        f"expected {want} arguments, got {len(args)}")
    if c_order:
        n, handles, *rest = args
        handles = list(handles)
        if n != len(handles):
            raise ValueError(f"nCount={n} but {len(handles)} handles given")
    else:
        handles, *rest = args
        handles = list(handles)
    wait_all, ms, *alertable = rest
    return handles, bool(wait_all), ms, bool(alertable[0]) if alertable else False


def _wait_multiple_face(handles: list[Any], wait_all: bool, ms: int, alertable: bool) -> int:
    # Win32 style: too many (or no) handles is ERROR_INVALID_PARAMETER, not an exception.
    if not handles or len(handles) > MAXIMUM_WAIT_OBJECTS:
        SetLastError(ERROR_INVALID_PARAMETER)
        return WAIT_FAILED
    if not all(_valid(h) for h in handles):
        SetLastError(ERROR_INVALID_HANDLE)
        return WAIT_FAILED
    return wait_for_multiple(handles, wait_all, ms, alertable)


def WaitForMultipleObjects(*args: Any) -> int:
    """``WaitForMultipleObjects(nCount, lpHandles, bWaitAll, dwMilliseconds)`` or the pywin32
    form ``WaitForMultipleObjects(handleList, bWaitAll, milliseconds)``."""
    return _wait_multiple_face(*_multiple_args(args, ex=False))


def WaitForMultipleObjectsEx(*args: Any) -> int:
    """Either order of :func:`WaitForMultipleObjects` with ``bAlertable`` appended."""
    return _wait_multiple_face(*_multiple_args(args, ex=True))


def SleepEx(dwMilliseconds: int, bAlertable: bool) -> int:
    return sleep_ex(dwMilliseconds, bool(bAlertable))


def Sleep(dwMilliseconds: int) -> None:
    sleep_ex(dwMilliseconds, False)


def GetCurrentThread() -> ThreadHandle:
    """A real handle to the calling thread (deviation from the pseudo-handle: see module)."""
    return current_thread()


def GetCurrentThreadId() -> int:
    return threading.get_ident()


def QueueUserAPC(ob: Callable[[Any], Any], hThread: ThreadHandle | threading.Thread | int,
                 data: Any = 0) -> int:
    """pywin32 order ``QueueUserAPC(ob, hThread, data)``; ``ob(data)`` later runs on
    ``hThread`` inside an alertable wait.  Nonzero on success, 0 with a last error."""
    try:
        queue_user_apc(ob, hThread, data)
    except (TypeError, ValueError):
        SetLastError(ERROR_INVALID_HANDLE if callable(ob) else ERROR_INVALID_PARAMETER)
        return 0
    return 1


def CloseHandle(hObject: object) -> bool:
    """Close an event, completion port or thread handle.  FALSE + ERROR_INVALID_HANDLE for
    anything else or an already closed handle."""
    close = getattr(hObject, "close", None)
    if not isinstance(hObject, Waitable | _Closeable) or close is None or (
            getattr(hObject, "closed", False)):
        SetLastError(ERROR_INVALID_HANDLE)
        return False
    close()
    return True
