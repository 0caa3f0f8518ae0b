"""Client-side pinging ([MS-DCOM] 3.2.6): the OIDs a client holds, grouped in one ping
set per OXID resolver. A daemon thread per set sends ComplexPing when the set changed and
SimplePing otherwise, every ``ping_period`` seconds; a client that stops pinging (or dies)
lets the server collect its objects after ``ping_period * ping_count`` seconds."""

from __future__ import annotations

import contextlib
import threading

from .._sync import SyncProxy
from ..errors import RpcError
from ._orpc import dcom_idl

DEFAULT_PING_PERIOD = 120.0

_lock = threading.Lock()


class _Pinger:
    """One ping set at one OXID resolver (see the module docstring)."""

    def __init__(self, resolver: str, period: float) -> None:
        self.resolver = resolver
        self.period = period
        self.setid = 0
        self.seq = 0
        self.held: dict[int, int] = {}  # OID -> proxies holding it
        self._add: set[int] = set()
        self._del: set[int] = set()
        self._proxy: SyncProxy | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def hold(self, oid: int) -> None:
        with self._lock:
            n = self.held.get(oid, 0)
            self.held[oid] = n + 1
            if n == 0:
                self._del.discard(oid)
                self._add.add(oid)
            if self._thread is None and self.period > 0:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="dcerpc-com-ping")
                self._thread.start()

    def drop(self, oid: int) -> None:
        with self._lock:
            n = self.held.get(oid, 0) - 1
            if n > 0:
                self.held[oid] = n
                return
            self.held.pop(oid, None)
            if oid in self._add:
                self._add.discard(oid)
            else:
                self._del.add(oid)

    def ping(self) -> int:
        """Send one ComplexPing or SimplePing now; returns the resolver's status."""
        with self._lock:
            add, self._add = sorted(self._add), set()
            dele, self._del = sorted(self._del), set()
            if not add and not dele and (self.setid == 0 or not self.held):
                return 0
            if self._proxy is None:
                self._proxy = SyncProxy(self.resolver, dcom_idl().IObjectExporter)
            proxy = self._proxy
            self.seq = (self.seq + 1) & 0xFFFF
            setid, seq = self.setid, self.seq
        try:
            if add or dele or setid == 0:
                status, new_set, _backoff = proxy.ComplexPing(
                    setid, seq, len(add), len(dele), add or None, dele or None)
                if status == 0:
                    with self._lock:
                        self.setid = new_set
                return int(status)
            return int(proxy.SimplePing(setid))
        except RpcError:
            with self._lock:  # try again next time
                self._add.update(add)
                self._del.update(dele)
            raise

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            # A missed ping is retried; the server tolerates ping_count - 1 misses.
            with contextlib.suppress(RpcError):
                self.ping()

    def stop(self) -> None:
        """Stop pinging (what a crashed client does)."""
        self._stop.set()




_PINGERS: dict[str, _Pinger] = {}


def _pinger(resolver: str, period: float | None) -> _Pinger:
    with _lock:
        p = _PINGERS.get(resolver)
        if p is None or p._stop.is_set():
            p = _PINGERS[resolver] = _Pinger(resolver, DEFAULT_PING_PERIOD
                                             if period is None else period)
        return p
