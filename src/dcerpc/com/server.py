"""``ComServer``: a COM server (object exporter, OXID resolver and activator) on top of
:class:`dcerpc.Server`.

One endpoint serves everything a DCOM client talks to ([MS-DCOM] 3.1.2.5 / 3.2.4.1):
IRemoteSCMActivator and IActivation (activation), IObjectExporter (OXID resolution and
pinging),
IRemUnknown2 on the exporter's IPID, and every registered class's ``[object]``
interfaces, dispatched by the request's object UUID (the IPID). Windows splits these
between rpcss (port 135) and the server process; peers only care that the bindings in
the activation reply and in OBJREFs lead to the right place.

    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]", ping_period=120)
    srv.register_class(CLSID_Calc, Calc)      # Calc has _com_interfaces_ = [calc.ICalc]
    srv.start_background()                    # or: async with srv: …

Garbage collection: a timer on the server loop calls :meth:`Exporter.collect` every
``ping_period / 2`` seconds (``ping_period * ping_count`` without pings disconnects an
object, :mod:`.exporter`).

Security (docs/com.md "Security"): ``auth=[acceptor, ...]`` and ``min_level=`` pass
through to the underlying :class:`dcerpc.Server` (``min_level`` guards activation,
IRemUnknown and every object interface; the OXID resolver stays open, as rpcss answers
ServerAlive2 to anyone). ``security_bindings`` (default: one per acceptor,
RPC_C_AUTHN_WINNT 10 / RPC_C_AUTHN_GSS_NEGOTIATE 9 ..., [MS-DCOM] 2.2.19.4) are advertised
in the DUALSTRINGARRAYs; ``authn_hint`` is the level the activation reply and ResolveOxid
tell clients to use for object connections ([MS-DCOM] 2.2.22.2.8 ``authnHint``): by
default the higher of ``min_level`` and the level the caller itself used (impacket reads
it as the level of its object connections), 1 (NONE) without ``auth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..aio._callctx import current_call
from ..aio._lifecycle import Lifecycle
from ..aio.server import Server
from ..auth.base import normalize_level
from ..errors import RpcError
from ..runtime.binding import StringBinding
from . import comobject
from ._managers import (
    ActivatorManager,
    LegacyActivatorManager,
    ObjectManager,
    RemUnknownManager,
    ResolverManager,
)
from ._orpc import dcom_idl, interface_chain, objidl_idl, orpc_interface
from .exporter import Exporter
from .guids import GUID, IID_IUnknown
from .hresult import REGDB_E_CLASSNOTREG, COMError
from .objref import (
    TOWER_NCACN_IP_TCP,
    TOWER_NCALRPC,
    DualStringArray,
    ObjRefStandard,
    SecurityBinding,
    decode_objref,
)
from .objref import (
    StringBinding as DsaStringBinding,
)

__all__ = ["ClassFactory", "ComServer"]

log = logging.getLogger("dcerpc.com")


def _authn_order(auth_type: int) -> tuple[int, int]:
    # NTLM (RPC_C_AUTHN_WINNT, 10) first: what impacket and most peers pick; then SPNEGO.
    return (0 if auth_type == 10 else 1 if auth_type == 9 else 2, auth_type)


class ClassFactory:
    """The IClassFactory RemoteGetClassObject hands out for a registered class."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self._com_interfaces_ = [objidl_idl().IClassFactory]

    def CreateInstance(self, pUnkOuter: Any, riid: uuid.UUID) -> Any:
        from .hresult import CLASS_E_NOAGGREGATION, E_NOINTERFACE

        if pUnkOuter is not None:
            raise COMError(CLASS_E_NOAGGREGATION)
        obj = self._create()
        if not comobject.supports(obj, riid):
            raise COMError(E_NOINTERFACE)
        return obj

    def LockServer(self, fLock: int) -> None:
        return None


class ComServer(Lifecycle):
    """A COM server (see the module docstring)."""

    def __init__(self, *bindings: str, ping_period: float = 120.0, ping_count: int = 3,
                 noping: bool = False, authn_hint: int | None = None,
                 security_bindings: tuple[SecurityBinding, ...] | None = None,
                 server: Server | None = None, clock: Callable[[], float] | None = None,
                 auth: Iterable[Any] = (), min_level: int | str | None = None) -> None:
        if authn_hint is not None and authn_hint < 1:
            # impacket (and Windows) read 0 as "authenticate at level 0": never send it.
            raise ValueError("authn_hint must be an RPC_C_AUTHN_LEVEL_* value >= 1")
        acceptors = list(auth)
        self.server = server if server is not None else Server(auth=acceptors)
        if server is not None:
            for acceptor in acceptors:
                self.server.add_acceptor(acceptor)
        self.min_level = normalize_level(min_level) if min_level is not None else None
        if self.min_level is not None and self.min_level > 1 and not self.server.acceptors:
            raise ValueError("min_level needs auth=[acceptor, ...]")
        for b in bindings:
            self.server.listen(b)
        kw: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.exporter = Exporter(ping_period=ping_period, ping_count=ping_count,
                                 noping=noping, supports=comobject.supports, **kw)
        self._authn_hint = authn_hint
        if security_bindings is None:
            security_bindings = tuple(SecurityBinding(t) for t in sorted(
                self.server.acceptors, key=_authn_order))
        self.security_bindings = tuple(security_bindings)
        self.classes: dict[uuid.UUID, Callable[[], Any]] = {}
        self._registered: set[uuid.UUID] = set()
        self._gc_task: asyncio.Task[None] | None = None
        m = dcom_idl()
        lv = self._guard()
        self.server.register(m.IRemoteSCMActivator, ActivatorManager(self), **lv)
        self.server.register(m.IActivation, LegacyActivatorManager(self), **lv)
        self.server.register(m.IObjectExporter, ResolverManager(self))
        rem = RemUnknownManager(self)
        self.server.register(orpc_interface(m.IRemUnknown), rem, **lv)
        self.server.register(orpc_interface(m.IRemUnknown2), rem, **lv)
        self.register_interface(objidl_idl().IClassFactory)

    # -- security --------------------------------------------------------------------
    def _guard(self) -> dict[str, Any]:
        return {"min_level": self.min_level} if self.min_level is not None else {}

    @property
    def authn_hint(self) -> int:
        """The ``authnHint`` for the call being served (see the module docstring)."""
        if self._authn_hint is not None:
            return self._authn_hint
        if not self.server.acceptors:
            return 1
        level = self.min_level or 1
        with contextlib.suppress(RpcError):
            info = current_call().auth_info
            if info is not None:
                level = max(level, int(info.auth_level))
        return level

    @authn_hint.setter
    def authn_hint(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("authn_hint must be an RPC_C_AUTHN_LEVEL_* value >= 1")
        self._authn_hint = value

    # -- registration ----------------------------------------------------------------
    def register_interface(self, spec: Any) -> None:
        """Serve an ``[object]`` interface (and its bases) for exported objects."""
        for it in interface_chain(comobject._as_interface(spec)):
            if it.uuid is None or it.uuid in self._registered or it.uuid == IID_IUnknown:
                continue
            wire = orpc_interface(it)
            self.server.register(wire, ObjectManager(self, wire), **self._guard())
            self._registered.add(it.uuid)

    def register_class(self, clsid: Any, cls: Callable[[], Any]) -> None:
        """Make ``clsid`` activatable; ``cls()`` creates an instance (a class or factory).

        The interfaces of ``cls._com_interfaces_`` are registered at once (instances may
        add more: they are registered when first marshaled)."""
        self.classes[GUID(clsid)] = cls
        for spec in getattr(cls, "_com_interfaces_", ()):
            self.register_interface(spec)

    def create_object(self, clsid: uuid.UUID, class_object: bool = False) -> Any:
        factory = self.classes.get(clsid)
        if factory is None:
            raise COMError(REGDB_E_CLASSNOTREG)
        return ClassFactory(factory) if class_object else factory()

    # -- marshaling ------------------------------------------------------------------
    def oxid_bindings(self) -> DualStringArray:
        """Where this exporter's objects are (``host[port]`` for ncacn_ip_tcp, ``[name]``
        for ncalrpc, [MS-DCOM] 2.2.19.3)."""
        entries = []
        for b in self.server.bindings:
            protseq = b.protseq.lower()
            if protseq == "ncacn_ip_tcp":
                entries.append(DsaStringBinding(TOWER_NCACN_IP_TCP,
                                                f"{b.network_addr}[{b.endpoint}]"))
            elif protseq == "ncalrpc":
                # a local endpoint: only clients on this machine can use it
                entries.append(DsaStringBinding(TOWER_NCALRPC, f"[{b.endpoint}]"))
        return DualStringArray(tuple(entries), self.security_bindings)

    resolver_bindings = oxid_bindings  # the resolver is served on the same endpoints

    def marshal(self, obj: Any, iid: uuid.UUID) -> bytes | None:
        """OBJREF_STANDARD bytes for ``obj`` as ``iid``, or None if it lacks ``iid``."""
        if not comobject.supports(obj, iid):
            return None
        spec = comobject.find_interface(obj, iid)
        if spec is not None:
            self.register_interface(spec)
        std = self.exporter.export(obj, iid)
        return ObjRefStandard(iid, std, self.resolver_bindings()).pack()

    def marshal_value(self, value: Any, iid: uuid.UUID) -> bytes | None:
        """An [out] interface pointer: None, an OBJREF already, a proxy or a COM object."""
        if value is None or isinstance(value, (bytes, bytearray)):
            return None if value is None else bytes(value)
        objref = getattr(value, "_com_objref_", None)
        if callable(objref):
            return objref()  # type: ignore[no-any-return]
        unwrap = getattr(value, "_com_local_object_", None)  # an in-process pointer
        if callable(unwrap):
            value = unwrap()
        ref = self.marshal(value, iid)
        if ref is None:
            from .hresult import E_NOINTERFACE

            raise COMError(E_NOINTERFACE, f"{type(value).__name__} lacks {iid}")
        return ref

    def unmarshal(self, data: Any) -> Any:
        """An [in] interface pointer: our own objects come back as themselves, others
        as client proxies."""
        if data is None:
            return None
        ref = decode_objref(bytes(data))
        if isinstance(ref, ObjRefStandard) and ref.std.oxid == self.exporter.oxid:
            obj = self.exporter.object_of(ref.std.oid)
            if obj is not None:
                return obj
        from .client import unmarshal

        return unmarshal(bytes(data))

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def bindings(self) -> list[StringBinding]:
        return list(self.server.bindings)

    async def start(self) -> list[StringBinding]:
        out = await self.server.start()
        self._gc_task = asyncio.get_running_loop().create_task(self._gc_loop())
        return out

    async def stop(self, timeout: float = 5.0) -> None:
        task, self._gc_task = self._gc_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.server.stop(timeout)

    async def _gc_loop(self) -> None:
        period = max(self.exporter.ping_period / 2, 0.02)
        while True:
            await asyncio.sleep(period)
            try:
                gone = self.exporter.collect()
            except Exception:  # the collector must never stop
                log.exception("garbage collection failed")
                continue
            if gone:
                log.info("collected %d objects whose clients stopped pinging", len(gone))

