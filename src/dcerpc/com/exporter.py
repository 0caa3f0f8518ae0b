"""The object exporter's tables: OXID, OIDs, IPIDs, reference counts and ping sets.

Sans-IO ([MS-DCOM] 3.1.1.1 / 3.1.2.1 abstract data model): no sockets, no timers, no
threads of its own; the clock is an input (``now`` arguments, or the ``clock`` given at
construction) so that garbage collection is testable without waiting.

* One OXID per exporter (one apartment). Every exported Python object gets an OID; every
  (object, IID) pair an IPID with a public reference count ([MS-DCOM] 3.1.1.5.6).
  Marshaling an interface hands out ``refs_per_marshal`` public references (5, as
  Windows does, so a client can pass the pointer on without a round trip).
* ``RemAddRef``/``RemRelease`` move the counts; when every IPID of an object is back to
  zero the object is disconnected (dropped from the tables).
* Pinging ([MS-DCOM] 3.1.2.5.1.2-3): clients group the OIDs they hold in ping sets
  (``ComplexPing`` adds/removes OIDs and creates the set, ``SimplePing`` keeps it alive).
  An OID that has not been pinged - through a set, or since it was marshaled - for
  ``ping_period * ping_count`` seconds belongs to a vanished client: :meth:`collect`
  disconnects it and drops expired sets, whatever the reference counts say.
* OBJREFs marked ``SORF_NOPING`` (``noping=True``) are never collected that way.

The tables are guarded by one lock: the server runs managers on worker threads.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import hresult as hr
from .objref import SORF_NOPING, StdObjRef

__all__ = [
    "OR_INVALID_OID",
    "OR_INVALID_OXID",
    "OR_INVALID_SET",
    "ExportedObject",
    "Exporter",
    "IpidEntry",
]

#: winerror.h: the OXID resolver's error_status_t values ([MS-DCOM] 3.1.2.5.1).
OR_INVALID_OXID = 1910
OR_INVALID_OID = 1911
OR_INVALID_SET = 1912


@dataclass(eq=False)
class ExportedObject:
    oid: int
    obj: Any
    last_ping: float
    noping: bool = False
    ipids: dict[uuid.UUID, IpidEntry] = field(default_factory=dict)  # by IID


@dataclass(eq=False)
class IpidEntry:
    ipid: uuid.UUID
    iid: uuid.UUID
    owner: ExportedObject
    refs: int = 0


@dataclass(eq=False)
class _PingSet:
    setid: int
    oids: set[int]
    seq: int
    last: float


class Exporter:
    """The tables of one object exporter (see the module docstring)."""

    def __init__(self, *, ping_period: float = 120.0, ping_count: int = 3,
                 noping: bool = False, refs_per_marshal: int = 5,
                 clock: Callable[[], float] = time.monotonic,
                 supports: Callable[[Any, uuid.UUID], bool] | None = None) -> None:
        if ping_period <= 0 or ping_count < 1:
            raise ValueError("ping_period must be positive and ping_count at least 1")
        self.oxid = secrets.randbits(64) or 1
        #: IPID of this exporter's IRemUnknown2 ([MS-DCOM] 3.1.1.5.6).
        self.ipid_rem_unknown = uuid.uuid4()
        self.ping_period = ping_period
        self.ping_count = ping_count
        self.noping = noping
        self.refs_per_marshal = refs_per_marshal
        self.clock = clock
        self._supports = supports or (lambda obj, iid: True)
        self._lock = threading.RLock()
        self._by_obj: dict[int, ExportedObject] = {}
        self.objects: dict[int, ExportedObject] = {}  # by OID
        self.ipids: dict[uuid.UUID, IpidEntry] = {}
        self._sets: dict[int, _PingSet] = {}
        self._oid_seq = itertools.count(secrets.randbits(32) << 16 | 1)
        #: Called with each object disconnected by release or garbage collection.
        self.on_disconnect: Callable[[Any], None] | None = None

    @property
    def timeout(self) -> float:
        return self.ping_period * self.ping_count

    # -- marshaling ----------------------------------------------------------------
    def export(self, obj: Any, iid: uuid.UUID, refs: int | None = None) -> StdObjRef:
        """Marshal ``obj`` for ``iid``: the STDOBJREF to put in an OBJREF."""
        n = self.refs_per_marshal if refs is None else refs
        with self._lock:
            ent = self._by_obj.get(id(obj))
            if ent is None or ent.obj is not obj:
                oid = next(self._oid_seq)
                ent = ExportedObject(oid, obj, self.clock(), self.noping)
                self._by_obj[id(obj)] = ent
                self.objects[oid] = ent
            else:
                ent.last_ping = max(ent.last_ping, self.clock())
            ip = ent.ipids.get(iid)
            if ip is None:
                ip = ent.ipids[iid] = IpidEntry(uuid.uuid4(), iid, ent)
                self.ipids[ip.ipid] = ip
            ip.refs += n
            return StdObjRef(SORF_NOPING if ent.noping else 0, n, self.oxid, ent.oid, ip.ipid)

    def lookup(self, ipid: uuid.UUID | None) -> IpidEntry | None:
        if ipid is None:
            return None
        with self._lock:
            return self.ipids.get(ipid)

    def object_of(self, oid: int) -> Any:
        with self._lock:
            ent = self.objects.get(oid)
            return None if ent is None else ent.obj

    # -- IRemUnknown ([MS-DCOM] 3.1.1.5.6) ----------------------------------------------
    def query_interface(self, ipid: uuid.UUID, refs: int, iids: list[uuid.UUID]
                        ) -> list[tuple[int, StdObjRef | None]]:
        """RemQueryInterface: per IID (HRESULT, STDOBJREF or None)."""
        with self._lock:
            ip = self.ipids.get(ipid)
            if ip is None:
                return [(hr.RPC_E_INVALID_IPID, None) for _ in iids]
            obj = ip.owner.obj
            out: list[tuple[int, StdObjRef | None]] = []
            for iid in iids:
                if self._supports(obj, iid):
                    out.append((hr.S_OK, self.export(obj, iid, refs)))
                else:
                    out.append((hr.E_NOINTERFACE, None))
            return out

    def add_ref(self, ipid: uuid.UUID, public: int, private: int = 0) -> int:
        with self._lock:
            ip = self.ipids.get(ipid)
            if ip is None:
                return hr.RPC_E_INVALID_IPID
            ip.refs += public + private
            return hr.S_OK

    def release(self, ipid: uuid.UUID, public: int, private: int = 0) -> int:
        """RemRelease of one REMINTERFACEREF; the object goes when no IPID holds refs."""
        gone = None
        with self._lock:
            ip = self.ipids.get(ipid)
            if ip is None:
                return hr.RPC_E_INVALID_IPID
            ip.refs = max(0, ip.refs - public - private)
            owner = ip.owner
            if all(x.refs == 0 for x in owner.ipids.values()):
                gone = self._disconnect(owner)
        if gone is not None and self.on_disconnect is not None:
            self.on_disconnect(gone)
        return hr.S_OK

    def _disconnect(self, ent: ExportedObject) -> Any:
        for ip in ent.ipids.values():
            self.ipids.pop(ip.ipid, None)
        ent.ipids.clear()
        self.objects.pop(ent.oid, None)
        if self._by_obj.get(id(ent.obj)) is ent:
            del self._by_obj[id(ent.obj)]
        return ent.obj

    # -- pinging ([MS-DCOM] 3.1.2.5.1.2, 3.1.2.5.1.3) -------------------------------------
    def simple_ping(self, setid: int) -> int:
        now = self.clock()
        with self._lock:
            ps = self._sets.get(setid)
            if ps is None:
                return OR_INVALID_SET
            self._touch(ps, now)
            return 0

    def complex_ping(self, setid: int, seq: int, add: list[int], delete: list[int]
                     ) -> tuple[int, int, int]:
        """Returns ``(status, setid, ping backoff factor)``."""
        now = self.clock()
        with self._lock:
            if setid == 0:
                setid = secrets.randbits(64) or 1
                ps = self._sets[setid] = _PingSet(setid, set(), seq, now)
            else:
                found = self._sets.get(setid)
                if found is None:
                    return OR_INVALID_SET, setid, 0
                ps = found
            ps.oids.difference_update(delete)
            ps.oids.update(oid for oid in add if oid in self.objects)
            ps.seq = seq
            self._touch(ps, now)
            return 0, setid, 0

    def _touch(self, ps: _PingSet, now: float) -> None:
        ps.last = now
        for oid in ps.oids:
            ent = self.objects.get(oid)
            if ent is not None:
                ent.last_ping = now

    def collect(self, now: float | None = None) -> list[Any]:
        """Disconnect objects whose pings stopped; returns them (oldest first)."""
        now = self.clock() if now is None else now
        limit = now - self.timeout
        gone: list[Any] = []
        with self._lock:
            for setid in [s for s, ps in self._sets.items() if ps.last < limit]:
                del self._sets[setid]
            for ent in [e for e in self.objects.values()
                        if not e.noping and e.last_ping < limit]:
                gone.append(self._disconnect(ent))
        if self.on_disconnect is not None:
            for obj in gone:
                self.on_disconnect(obj)
        return gone

    @property
    def ping_sets(self) -> int:
        with self._lock:
            return len(self._sets)

    def rem_unknown_ref(self) -> StdObjRef:
        """The STDOBJREF of the exporter's IRemUnknown2 (never collected)."""
        return StdObjRef(SORF_NOPING, 0, self.oxid, 0, self.ipid_rem_unknown)

