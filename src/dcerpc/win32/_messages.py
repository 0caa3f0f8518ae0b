"""Thread message queues and message-only windows (seed-semantics §2 F21, §4).

Each thread gets a :class:`MessageQueue` the first time it needs one.  A :class:`Window`
belongs to the thread that created it.  ``PostMessage`` from any thread appends
``(hwnd, msg, wParam, lParam)`` to the owner's queue and returns at once; it never calls the
window procedure.  Only the owner's message loop (``GetMessage`` / ``PeekMessage`` +
``DispatchMessage``) runs the procedure, on the owner thread.

Choices where Python needs one:

* ``GetMessage`` returns the :class:`MSG` itself.  A MSG is falsy exactly when it is WM_QUIT,
  so ``while msg := GetMessage(): DispatchMessage(msg)`` ends on WM_QUIT as the C loop
  ``while (GetMessage(&msg, ...) > 0)`` does, and the exit code is still in ``msg.wParam``.
  The extra keyword ``timeout`` (ms, default INFINITE) makes it return ``None`` when nothing
  came in time.
* ``PeekMessage`` returns a MSG or ``None``; test it with ``is not None`` (WM_QUIT is falsy).
* WM_QUIT is a thread message: it passes any ``hWnd`` filter but not a range filter that
  excludes it.  ``hWnd = -1`` selects only thread messages (``hwnd is None``), as in Win32.
* ``DispatchMessage`` for a window owned by another thread does not call the procedure; it
  returns 0 with last error ERROR_WINDOW_OF_OTHER_THREAD.
* :class:`LoopWindow` (no Win32 counterpart) is a window whose "thread" is an asyncio event
  loop: ``PostMessage`` hands the MSG to the loop with ``loop.call_soon_threadsafe`` and the
  loop's thread runs the handler (or queues the MSG for ``await w.get_message()``).  It is
  how an asyncio program receives ``RpcNotificationTypeHwnd`` notifications (F21) without a
  ``GetMessage`` loop on a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dcerpc.status import INFINITE
from dcerpc.win32._kernel import SetLastError, _deadline, _remaining

WM_NULL = 0x0000
WM_QUIT = 0x0012
WM_USER = 0x0400
WM_APP = 0x8000
PM_NOREMOVE = 0x0000
PM_REMOVE = 0x0001
ERROR_INVALID_WINDOW_HANDLE = 1400  # winerror.h
ERROR_WINDOW_OF_OTHER_THREAD = 1408  # winerror.h
ERROR_INVALID_THREAD_ID = 1444  # winerror.h

WndProc = Callable[["Window", int, int, Any], Any]


@dataclass(slots=True)
class MSG:
    """The MSG structure; field names as winuser.h spells them."""

    hwnd: Window | None
    message: int
    wParam: int = 0
    lParam: Any = 0
    time: int = field(default_factory=lambda: int(time.monotonic() * 1000) & 0xFFFFFFFF)

    def __bool__(self) -> bool:
        return self.message != WM_QUIT

    def __iter__(self) -> Iterator[Any]:
        # Lets a test or a loop unpack ``hwnd, msg, wparam, lparam = m``.
        return iter((self.hwnd, self.message, self.wParam, self.lParam))


class MessageQueue:
    """The posted-message queue of one thread."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread_ref = weakref.ref(thread)
        self._cond = threading.Condition(threading.Lock())
        self._msgs: deque[MSG] = deque()

    def __len__(self) -> int:
        return len(self._msgs)

    def post(self, msg: MSG) -> None:
        with self._cond:
            self._msgs.append(msg)
            self._cond.notify_all()

    @staticmethod
    def _matches(m: MSG, hwnd: Any, lo: int, hi: int) -> bool:
        if (lo or hi) and not lo <= m.message <= hi:
            return False
        if hwnd is None or m.message == WM_QUIT:
            return True
        if hwnd == -1:
            return m.hwnd is None
        return m.hwnd is hwnd

    def _take(self, hwnd: Any, lo: int, hi: int, remove: bool) -> MSG | None:
        for i, m in enumerate(self._msgs):
            if self._matches(m, hwnd, lo, hi):
                if remove:
                    del self._msgs[i]
                return m
        return None

    def get(self, hwnd: Any = None, lo: int = 0, hi: int = 0,
            ms: int | None = INFINITE) -> MSG | None:
        """The first matching message (FIFO), blocking up to ``ms``; None on timeout."""
        deadline = _deadline(ms)
        with self._cond:
            while True:
                m = self._take(hwnd, lo, hi, True)
                if m is not None:
                    return m
                left = _remaining(deadline)
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)

    def peek(self, hwnd: Any = None, lo: int = 0, hi: int = 0,
             remove: bool = False) -> MSG | None:
        with self._cond:
            return self._take(hwnd, lo, hi, remove)


_queues: weakref.WeakKeyDictionary[threading.Thread, MessageQueue] = (
    weakref.WeakKeyDictionary()
)
_queues_lock = threading.Lock()


def queue_for(thread: threading.Thread | None = None) -> MessageQueue:
    """The thread's message queue, created on first use (the calling thread by default)."""
    t = thread if thread is not None else threading.current_thread()
    with _queues_lock:
        q = _queues.get(t)
        if q is None:
            q = _queues[t] = MessageQueue(t)
        return q


class Window:
    """A message-only window: an address for posted messages plus an optional procedure
    ``wndproc(hwnd, msg, wParam, lParam)`` that runs only when its owner dispatches."""

    def __init__(self, wndproc: WndProc | None = None) -> None:
        self.owner = threading.current_thread()
        self.queue = queue_for(self.owner)
        self.wndproc = wndproc
        self.destroyed = False

    def __repr__(self) -> str:
        return f"<Window owner={self.owner.name!r} destroyed={self.destroyed}>"

    def post(self, msg: int, wparam: int = 0, lparam: Any = 0) -> None:
        if self.destroyed:
            raise ValueError("window destroyed")
        self.queue.post(MSG(self, msg, wparam, lparam))

    def destroy(self) -> None:
        self.destroyed = True


class LoopWindow(Window):
    """A message-only window whose message loop is an asyncio event loop.

    ``PostMessage(w, ...)`` from any thread schedules delivery with
    ``loop.call_soon_threadsafe``; on the loop's thread the MSG goes to ``handler(w, msg,
    wParam, lParam)`` when one is given (a coroutine it returns is run as a task on the
    loop), else to an :class:`asyncio.Queue` read with ``await w.get_message()``.  The
    handler never runs on the posting thread, exactly as a window procedure runs only on
    its owner's thread.  Posting to a closed loop fails like posting to a destroyed window
    (PostMessage returns False, ERROR_INVALID_WINDOW_HANDLE); a message posted to a loop
    that never runs again is never delivered.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 handler: WndProc | None = None) -> None:
        # Not Window.__init__: the owner is the loop's thread, not the creating thread's
        # queue.  It is known now when created on the running loop, else at first delivery.
        self.loop = loop
        self.wndproc = handler
        self.destroyed = False
        self.queue = None  # type: ignore[assignment]
        self.messages: asyncio.Queue[MSG] = asyncio.Queue()
        self.owner = _loop_thread(loop)  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<LoopWindow loop={self.loop!r} destroyed={self.destroyed}>"

    def post(self, msg: int, wparam: int = 0, lparam: Any = 0) -> None:
        if self.destroyed:
            raise ValueError("window destroyed")
        try:
            self.loop.call_soon_threadsafe(self._deliver, MSG(self, msg, wparam, lparam))
        except RuntimeError as exc:  # the loop is closed
            raise ValueError(f"the window's event loop is closed: {exc}") from None

    def _deliver(self, m: MSG) -> None:
        self.owner = threading.current_thread()
        if self.destroyed:
            return
        if self.wndproc is None:
            self.messages.put_nowait(m)
            return
        result = self.wndproc(self, m.message, m.wParam, m.lParam)
        if asyncio.iscoroutine(result):
            self.loop.create_task(result)

    async def get_message(self) -> MSG:
        """The next posted MSG (only when no handler was given); call it on the loop."""
        return await self.messages.get()


def _loop_thread(loop: asyncio.AbstractEventLoop) -> threading.Thread | None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return threading.current_thread() if running is loop else None


def CreateWindow(lpClassName: str | None = None, lpWindowName: str | None = None,
                 *_unused: Any, wndproc: WndProc | None = None) -> Window:
    """A message-only window owned by the calling thread.  The C arguments (class, title,
    style, geometry, parent, menu, instance, param) are accepted and ignored; the window
    procedure is the keyword ``wndproc`` because there is no window-class registry here."""
    return Window(wndproc)


def DestroyWindow(hWnd: Window) -> bool:
    if not isinstance(hWnd, Window) or hWnd.destroyed:
        SetLastError(ERROR_INVALID_WINDOW_HANDLE)
        return False
    if hWnd.owner is not threading.current_thread():
        SetLastError(ERROR_WINDOW_OF_OTHER_THREAD)  # Win32: only the owner may destroy it
        return False
    hWnd.destroy()
    return True


def PostMessage(hWnd: Window | None, Msg: int, wParam: int = 0, lParam: Any = 0) -> bool:
    """Enqueue on the owner's queue and return at once.  ``hWnd = None`` posts a thread
    message to the calling thread, as Win32 does for a NULL hWnd."""
    if hWnd is None:
        queue_for().post(MSG(None, Msg, wParam, lParam))
        return True
    if not isinstance(hWnd, Window) or hWnd.destroyed:
        SetLastError(ERROR_INVALID_WINDOW_HANDLE)
        return False
    try:
        hWnd.post(Msg, wParam, lParam)
    except ValueError:  # destroyed meanwhile, or a LoopWindow whose loop is closed
        SetLastError(ERROR_INVALID_WINDOW_HANDLE)
        return False
    return True


def PostThreadMessage(idThread: int, Msg: int, wParam: int = 0, lParam: Any = 0) -> bool:
    for t in threading.enumerate():
        if t.ident == idThread:
            queue_for(t).post(MSG(None, Msg, wParam, lParam))
            return True
    SetLastError(ERROR_INVALID_THREAD_ID)
    return False



def PostQuitMessage(nExitCode: int = 0) -> None:
    queue_for().post(MSG(None, WM_QUIT, nExitCode, 0))


def GetMessage(hWnd: Any = None, wMsgFilterMin: int = 0, wMsgFilterMax: int = 0, *,
               timeout: int = INFINITE) -> MSG | None:
    """Block on the calling thread's queue; see the module docstring for the return value."""
    return queue_for().get(hWnd, wMsgFilterMin, wMsgFilterMax, timeout)


def PeekMessage(hWnd: Any = None, wMsgFilterMin: int = 0, wMsgFilterMax: int = 0,
                wRemoveMsg: int = PM_NOREMOVE) -> MSG | None:
    return queue_for().peek(hWnd, wMsgFilterMin, wMsgFilterMax, bool(wRemoveMsg & PM_REMOVE))


def TranslateMessage(lpMsg: MSG) -> bool:
    """No keyboard input exists here, so there is never anything to translate."""
    return False


def DispatchMessage(lpMsg: MSG) -> Any:
    """Call the target window's procedure on the calling thread and return its result."""
    w = lpMsg.hwnd
    if not isinstance(w, Window) or w.wndproc is None or w.destroyed:
        return 0
    if w.owner is not threading.current_thread():
        SetLastError(ERROR_WINDOW_OF_OTHER_THREAD)
        return 0
    return w.wndproc(w, lpMsg.message, lpMsg.wParam, lpMsg.lParam)
