"""The COM client: interface proxies, reference counting and unmarshaling
(activation is :mod:`.activate`, pinging :mod:`._ping`).

    calc, stats = dcerpc.com.CoCreateInstanceEx(
        CLSID_Calc, server="ncacn_ip_tcp:127.0.0.1[4747]", interfaces=[calc_idl.ICalc,
                                                                        calc_idl.IStats])
    calc.Add(2, 3)                        # -> 5 (the [out] values; COMError on failure)
    s2 = calc.QueryInterface(calc_idl.IStats)
    calc.Release(); stats.Release(); s2.Release()

Theory of operation
-------------------
* Activation is a plain RPC to IRemoteSCMActivator at ``server`` (RemoteCreateInstance,
  [MS-DCOM] 3.1.2.5.2.3.2) with an ActivationPropertiesIn blob; the reply names the
  object exporter (OXID, its bindings, the IPID of its IRemUnknown2) and carries one
  OBJREF per requested interface.
* A :class:`ComPtr` stands for one IPID. Its methods are the interface's operations
  (IDL names, ``[in]`` values in, ``[out]`` values back); the call goes to the IPID as
  the request's object UUID with ORPCTHIS/ORPCTHAT framing (:mod:`._orpc`). Proxies for
  the same exporter share pooled connections (:mod:`dcerpc.aio._channel`).
* IUnknown is local first: ``AddRef``/``Release`` count on the proxy; the last
  ``Release`` returns the public references the proxy received to the server with
  RemRelease. ``QueryInterface`` is RemQueryInterface on the exporter's IRemUnknown2.
* Pinging ([MS-DCOM] 3.2.6): the OIDs held are grouped in one ping set per OXID
  resolver; a daemon thread sends ComplexPing when the set changes and SimplePing
  otherwise, every ``ping_period`` seconds. Stopping the pings (a dead client) lets the
  server collect the objects.
* ``[out]`` interface pointers are unmarshaled into proxies; an unknown OXID is resolved
  with ResolveOxid2 at the OBJREF's resolver address.

* Security (:mod:`.security`): ``auth=``/``level=`` authenticate the activation and
  become the proxies' blanket (raised to the reply's ``authnHint``);
  ``QueryBlanket``/``SetBlanket`` on a proxy (or ``CoSetProxyBlanket``) change it for
  later calls; a QueryInterface result inherits its source's blanket.

* Local Python COM objects passed as ``[in]`` interface pointers (callbacks, event
  sinks) are exported by the client's own object exporter (:mod:`.local`); a server
  handing one back gives the client the object itself.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from .._sync import SyncProxy
from ..errors import CallFault, NdrError, RpcError
from ..ndr import types as t
from ..runtime.binding import StringBinding
from . import hresult as hr
from . import local
from ._marshal import fix_longs, iid_for, op_shape, walk_ifaces
from ._orpc import dcom_idl, orpc_interface, orpcthis
from ._ping import _Pinger, _pinger
from .errinfo import error_from_orpcthat
from .guids import GUID, IID_ICallFactory, IID_IUnknown
from .hresult import COMError, unsigned
from .objref import DualStringArray, ObjRefStandard, StdObjRef, decode_objref
from .security import Blanket

__all__ = ["ComPtr", "register_interface", "unmarshal"]

#: Public references we ask for in RemQueryInterface (Windows asks for 5 as well).
QI_REFS = 5

_SPECS: dict[uuid.UUID, t.Interface] = {}
_lock = threading.RLock()


def register_interface(spec: Any) -> t.Interface:
    """Make an interface model known to the client (by its IID), with its bases."""
    from .comobject import _as_interface

    it: t.Interface | None = _as_interface(spec)
    first = it
    while it is not None:
        if it.uuid is not None:
            _SPECS.setdefault(it.uuid, it)
        it = it.base
    assert first is not None
    return first


def _spec_for(iid: uuid.UUID) -> t.Interface | None:
    return _SPECS.get(iid)


def _iid_of(x: Any) -> tuple[uuid.UUID, t.Interface | None]:
    if isinstance(x, (uuid.UUID, str, bytes)):
        iid = GUID(x)
        return iid, _spec_for(iid)
    spec = register_interface(x)
    assert spec.uuid is not None
    return spec.uuid, spec


# --------------------------------------------------------------------------- exporters
class _Exporter:
    """What the client knows about one remote OXID."""

    def __init__(self, oxid: int, binding: str, ipid_rem_unknown: uuid.UUID,
                 pinger: _Pinger) -> None:
        self.oxid = oxid
        self.binding = binding
        self.ipid_rem_unknown = ipid_rem_unknown
        self.pinger = pinger
        self.resolver_dsa = DualStringArray()
        self._rem: SyncProxy | None = None
        #: IRemUnknown2 proxies of authenticated blankets, by Blanket.key()
        self._rems: dict[tuple[int, int], SyncProxy] = {}
        self.proxies: dict[uuid.UUID, ComPtr] = {}

    def rem_unknown(self, blanket: Blanket | None = None) -> SyncProxy:
        opts = blanket.options() if blanket is not None else {}
        if opts:
            assert blanket is not None
            with _lock:
                rem = self._rems.get(blanket.key())
                if rem is None:
                    rem = self._rems[blanket.key()] = SyncProxy(
                        self.binding, orpc_interface(dcom_idl().IRemUnknown2),
                        object_uuid=self.ipid_rem_unknown, **opts)
                return rem
        if self._rem is None:
            self._rem = SyncProxy(self.binding, orpc_interface(dcom_idl().IRemUnknown2),
                                  object_uuid=self.ipid_rem_unknown)
        return self._rem

    def forget_if_unused(self) -> None:
        """No proxy left: drop the exporter (and its IRemUnknown connection share)."""
        with _lock:
            if self.proxies or _EXPORTERS.get(self.oxid) is not self:
                return
            del _EXPORTERS[self.oxid]
            rem, self._rem = self._rem, None
            rems, self._rems = list(self._rems.values()), {}
        for r in [rem, *rems]:
            if r is not None:
                r.close()

    def proxy(self, iid: uuid.UUID, std: StdObjRef, spec: t.Interface | None) -> ComPtr:
        with _lock:
            p = self.proxies.get(std.ipid)
            if p is not None and p._local > 0:
                p._remote += std.cPublicRefs
                p._local += 1
                return p
            p = ComPtr(self, iid, std, spec if spec is not None else _spec_for(iid))
            self.proxies[std.ipid] = p
            if not std.flags & 0x1000:  # SORF_NOPING
                self.pinger.hold(std.oid)
            return p


_EXPORTERS: dict[int, _Exporter] = {}


def _pick_binding(dsa: DualStringArray, prefer: StringBinding | None) -> str:
    """The exporter binding to use: one with the protocol sequence (and, for TCP, the
    host) the client reached the server with, else the first we can speak (impacket
    matches the host the same way, protocol-digest §7.4)."""
    choices = dsa.rpc_bindings()
    if not choices:
        raise COMError(hr.RPC_E_INVALID_OXID, "the exporter has no binding we can use")
    if prefer is not None:
        for c in choices:
            b = StringBinding.parse(c)
            if b.protseq == prefer.protseq.lower() and (
                    b.protseq != "ncacn_ip_tcp"
                    or b.network_addr.lower() == prefer.network_addr.lower()):
                return c
    return choices[0]


def _exporter_for(oxid: int, dsa: DualStringArray, ipid_rem: uuid.UUID, resolver: str,
                  prefer: StringBinding | None, ping_period: float | None) -> _Exporter:
    with _lock:
        ex = _EXPORTERS.get(oxid)
        if ex is None:
            ex = _EXPORTERS[oxid] = _Exporter(oxid, _pick_binding(dsa, prefer), ipid_rem,
                                              _pinger(resolver, ping_period))
        return ex


# --------------------------------------------------------------------------- proxies
class _Method:
    __slots__ = ("_op", "_ptr", "_shape")

    def __init__(self, ptr: ComPtr, op: t.Operation) -> None:
        self._ptr, self._op, self._shape = ptr, op, op_shape(op)

    def __call__(self, *args: Any) -> Any:
        return self._ptr._call(self._op, self._shape, args)

    def __repr__(self) -> str:
        return f"<COM method {self._ptr._spec_name}.{self._op.name}>"


class ComPtr:
    """A client proxy for one interface of a remote object (one IPID)."""

    def __init__(self, exporter: _Exporter, iid: uuid.UUID, std: StdObjRef,
                 spec: t.Interface | None) -> None:
        self._exporter = exporter
        self._iid = iid
        self._std = std
        self._spec = spec
        self._wire = orpc_interface(spec) if spec is not None and spec.object else None
        self._remote = std.cPublicRefs
        self._local = 1
        self._sync: SyncProxy | None = None
        self._methods: dict[str, _Method] = {}
        self._blanket = Blanket.default()
        self._old_syncs: list[SyncProxy] = []  # of earlier blankets, closed at Release

    # -- IClientSecurity (F66) ----------------------------------------------------------------
    def QueryBlanket(self) -> tuple[int, int, str | None, int, int, Any, int]:
        """(AuthnSvc, AuthzSvc, ServerPrincName, AuthnLevel, ImpLevel, AuthInfo,
        Capabilities) of this proxy's calls."""
        return self._blanket.as_tuple()

    def SetBlanket(self, *args: Any, **kw: Any) -> int:
        """Change the blanket for calls made from now on (:meth:`Blanket.set`)."""
        self._check_alive()
        new = self._blanket.set(*args, **kw)
        with _lock:
            if new.key() != self._blanket.key() and self._sync is not None:
                # calls in progress keep their connection (and blanket)
                self._old_syncs.append(self._sync)
                self._sync = None
            self._blanket = new
        return hr.S_OK

    # -- identity ------------------------------------------------------------------------
    @property
    def iid(self) -> uuid.UUID:
        return self._iid

    @property
    def ipid(self) -> uuid.UUID:
        return self._std.ipid

    @property
    def oid(self) -> int:
        return self._std.oid

    @property
    def oxid(self) -> int:
        return self._std.oxid

    @property
    def _spec_name(self) -> str:
        return self._spec.name if self._spec is not None else str(self._iid)

    def _com_objref_(self) -> bytes:
        """Re-marshal this pointer (no references transferred)."""
        s = self._std
        return ObjRefStandard(self._iid, StdObjRef(s.flags, 0, s.oxid, s.oid, s.ipid),
                              self._exporter.resolver_dsa).pack()

    # -- IUnknown --------------------------------------------------------------------------
    def QueryInterface(self, interface: Any) -> ComPtr:
        """RemQueryInterface for one interface (a model or an IID); COMError on failure."""
        iid, spec = _iid_of(interface)
        self._check_alive()
        if iid == IID_ICallFactory:
            # The proxy manager's ICallFactory (F45, F47): there for [async_uuid]
            # interfaces, E_NOINTERFACE (use the synchronous interface) otherwise.
            if self._spec is None or self._spec.async_uuid is None:
                raise COMError(hr.E_NOINTERFACE)
            from .callobj import CallFactory

            return CallFactory(self)  # type: ignore[return-value]
        rem = self._exporter.rem_unknown(self._blanket)
        known = set(self._exporter.proxies)  # IPIDs already proxied keep their blanket
        try:
            code, _that, results = rem.RemQueryInterface(orpcthis(), self._std.ipid, QI_REFS,
                                                         1, [iid])
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        got = self._qi_result(iid, spec, code, results)
        if got is not self and got.ipid not in known:
            got._blanket = self._blanket  # a new proxy inherits its source's blanket
        return got

    def _qi_result(self, iid: uuid.UUID, spec: t.Interface | None, code: int,
                   results: Any) -> ComPtr:
        res = results[0] if results else None
        if unsigned(code) != hr.S_OK or res is None or unsigned(res.hResult) != hr.S_OK:
            failed = res.hResult if res is not None else code
            raise COMError(unsigned(failed) or hr.E_NOINTERFACE)
        s = res.std
        return self._exporter.proxy(iid, StdObjRef(s.flags, s.cPublicRefs, s.oxid, s.oid,
                                                   s.ipid), spec)

    def AddRef(self) -> int:
        with _lock:
            self._check_alive()
            self._local += 1
            return self._local

    def Release(self) -> int:
        """Drop a local reference; the last one returns the remote ones (RemRelease)."""
        left, refs = self._release_begin()
        if left:
            return left
        try:
            if refs:
                self._exporter.rem_unknown(self._blanket).RemRelease(orpcthis(), 1, refs)
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        finally:
            self._release_end()
        return 0

    def _release_begin(self) -> tuple[int, list[Any]]:
        """Count one Release down: (references left, REMINTERFACEREFs to send)."""
        ex = self._exporter
        with _lock:  # proxies are shared between threads; counts move under the lock
            self._check_alive()
            self._local -= 1
            if self._local > 0:
                return self._local, []
            if ex.proxies.get(self._std.ipid) is self:
                del ex.proxies[self._std.ipid]
            remote, self._remote = self._remote, 0
        if not self._std.flags & 0x1000:
            ex.pinger.drop(self._std.oid)
        if remote <= 0:
            return 0, []
        return 0, [dcom_idl().REMINTERFACEREF(ipid=self._std.ipid, cPublicRefs=remote,
                                              cPrivateRefs=0)]

    def _release_end(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        olds, self._old_syncs = self._old_syncs, []
        for old in olds:
            old.close()
        self._exporter.forget_if_unused()

    def _check_alive(self) -> None:
        if self._local <= 0:
            raise COMError(hr.CO_E_OBJNOTCONNECTED, "the interface pointer was released")

    # -- methods ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is None:
            if self._wire is None:
                raise AttributeError(f"no interface model for {self._iid}: register it "
                                     "with dcerpc.com.register_interface")
            try:
                op = self._wire.operation(name)
            except KeyError:
                raise AttributeError(f"{self._spec_name} has no method {name!r}") from None
            method = self._methods[name] = _Method(self, op)
        return method

    def _sync_proxy(self) -> SyncProxy:
        if self._sync is None:
            assert self._wire is not None
            self._sync = SyncProxy(self._exporter.binding, self._wire,
                                   object_uuid=self._std.ipid, **self._blanket.options())
        return self._sync

    def _call(self, op: t.Operation, shape: Any, args: tuple[Any, ...]) -> Any:
        self._check_alive()
        sync = self._sync_proxy()
        ins = request_ins(op, shape, args, self._exporter.binding)
        try:
            result = getattr(sync, op.name)(*ins)
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        return self._finish_call(op, shape, ins, result)

    def _finish_call(self, op: t.Operation, shape: Any, ins: list[Any], result: Any) -> Any:
        """The method's value from a response (shared with call objects' Finish_)."""
        ret, outs = split_result(op, shape, result)
        named = shape.named(ins)
        for p in shape.out_ifaces:
            if outs[p.index] is not None:
                mine = _local_of(bytes(outs[p.index]))
                if mine is not None:
                    outs[p.index] = mine  # our own object handed back: itself
                    continue
                known = set(self._exporter.proxies)
                got = _unmarshal(bytes(outs[p.index]), p.iid(named), self._exporter)
                if got._exporter is self._exporter and got.ipid not in known:
                    got._blanket = self._blanket  # same server: the caller's blanket
                outs[p.index] = got
        for i, T in shape.out_nested:
            outs[i] = walk_ifaces(T, outs[i], self._unmarshal_out, named)
        return shape.join(ret, outs)

    def _unmarshal_out(self, desc: t.InterfacePointer, data: Any, scope: dict[str, Any]
                       ) -> Any:
        """A nested [out] interface pointer: our own object, or a proxy."""
        mine = _local_of(bytes(data))
        if mine is not None:
            return mine
        known = set(self._exporter.proxies)
        got = _unmarshal(bytes(data), iid_for(desc, scope), self._exporter)
        if got._exporter is self._exporter and got.ipid not in known:
            got._blanket = self._blanket
        return got

    def __enter__(self) -> ComPtr:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._local > 0:
            self.Release()

    def __repr__(self) -> str:
        return f"<ComPtr {self._spec_name} ipid={self._std.ipid} refs={self._local}>"


def request_ins(op: t.Operation, shape: Any, args: tuple[Any, ...],
                peer: str | None = None) -> list[Any]:
    """The wire [in] values of an ORPC call: ORPCTHIS first, HRESULT spellings mapped,
    proxies passed as [in] interface pointers re-marshaled, local COM objects exported
    by the client's own exporter (:mod:`.local`) for the server at ``peer``."""
    ins = [orpcthis(), *args]
    fix_longs(ins, shape.long_ins)
    named = shape.named(ins)
    for p in shape.in_ifaces:
        v = ins[p.index]
        if v is not None:
            ins[p.index] = marshal_in(op, v, p.iid(named), peer)
    for i, T in shape.in_nested:  # in structures, arrays, behind unique pointers
        ins[i] = walk_ifaces(T, ins[i], lambda d, v, scope: marshal_in(
            op, v, iid_for(d, scope), peer), named)
    return ins


def marshal_in(op: t.Operation, v: Any, iid: uuid.UUID, peer: str | None) -> bytes:
    """One [in] interface pointer on the wire: OBJREF bytes as they are, a proxy
    re-marshaled, a local COM object exported."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    objref = getattr(v, "_com_objref_", None)
    if objref is not None:
        return objref()  # type: ignore[no-any-return]
    if peer is None or not local.is_com_object(v):
        raise TypeError(f"{op.name}: an [in] interface pointer must be a proxy or a COM "
                        f"object (a class with _com_interfaces_), not {type(v).__name__}")
    unwrap = getattr(v, "_com_local_object_", None)  # an in-process pointer
    return local.marshal_local(unwrap() if unwrap is not None else v, iid, peer)


def split_result(op: t.Operation, shape: Any, result: Any) -> tuple[Any, list[Any]]:
    """(return value, [out] values) of a response; a failed HRESULT raises COMError."""
    vals = list(result) if isinstance(result, tuple) else [result]
    if op.returns is not None:
        ret, outs = vals[0], vals[2:]
    else:
        ret, outs = None, vals[1:]
    if shape.hresult and hr.FAILED(ret):
        # [MS-DCOM] 2.2.21: the description (and source, help file) of the failure
        info = error_from_orpcthat(vals[1]) if op.returns is not None else None
        if info is not None:
            raise COMError(unsigned(ret), info.description, info)
        raise COMError(unsigned(ret))
    return ret, outs


def rpc_hresult(exc: RpcError) -> int:
    """The HRESULT a COM proxy reports for a failed RPC: an HRESULT fault as is, any
    other fault (``nca_s_*``) as RPC_E_SERVERFAULT, a Win32 RPC status (comm failure,
    timeout, …) as HRESULT_FROM_WIN32 (0x800706BE for RPC_S_CALL_FAILED, as Windows)."""
    status = unsigned(exc.status) if exc.status is not None else 0
    if status & 0x80000000:
        return status
    if isinstance(exc, CallFault) and status > 0xFFFF:
        return hr.RPC_E_SERVERFAULT
    if 0 < status <= 0xFFFF:
        return 0x80070000 | status
    return hr.E_FAIL


# --------------------------------------------------------------------------- unmarshal
def decode_standard(data: bytes) -> ObjRefStandard:
    try:
        ref = decode_objref(data)
    except NdrError as exc:
        raise COMError(hr.E_UNEXPECTED, f"bad OBJREF: {exc}") from None
    if not isinstance(ref, ObjRefStandard):
        raise COMError(hr.E_NOTIMPL, "only standard OBJREFs can be unmarshaled")
    return ref


def _local_of(data: bytes) -> Any:
    """The local object an OBJREF names when the client's exporter holds it, else None."""
    ref = decode_standard(data)
    return local.local_object(ref)


def known_exporter(ref: ObjRefStandard, via: _Exporter | None) -> _Exporter | None:
    if via is not None and via.oxid == ref.std.oxid:
        return via
    return _EXPORTERS.get(ref.std.oxid)


def resolved_exporter(ref: ObjRefStandard, resolver: str, result: Any) -> _Exporter:
    """The exporter from a ResolveOxid2 answer ([MS-DCOM] 3.1.2.5.1.7)."""
    status, bindings, ipid_rem, _hint, _ver = result
    if status != 0 or bindings is None:
        raise COMError(hr.RPC_E_INVALID_OXID, f"ResolveOxid2 failed with {status}")
    found = DualStringArray.from_words(list(bindings.aStringArray), bindings.wSecurityOffset)
    ex = _exporter_for(ref.std.oxid, found, ipid_rem, resolver, None, None)
    ex.resolver_dsa = ref.saResAddr
    return ex


def proxy_from(ex: _Exporter, ref: ObjRefStandard, iid: uuid.UUID) -> ComPtr:
    if not ex.resolver_dsa.string_bindings:
        ex.resolver_dsa = ref.saResAddr
    return ex.proxy(ref.iid or iid, ref.std, _spec_for(ref.iid))


def _unmarshal(data: bytes, iid: uuid.UUID, via: _Exporter | None) -> ComPtr:
    ref = decode_standard(data)
    ex = known_exporter(ref, via)
    if ex is None:
        resolver = _pick_binding(ref.saResAddr, None)
        try:
            with SyncProxy(resolver, dcom_idl().IObjectExporter) as p:
                result = p.ResolveOxid2(ref.std.oxid, 1, [7])
        except RpcError as exc:
            raise COMError(rpc_hresult(exc), str(exc), exc) from exc
        ex = resolved_exporter(ref, resolver, result)
    return proxy_from(ex, ref, iid)


def unmarshal(data: bytes, interface: Any = None) -> ComPtr:
    """A proxy from OBJREF bytes (``MInterfacePointer.abData``); ``interface`` (a model)
    registers the interface the OBJREF is for, when the client does not know it yet."""
    if interface is not None:
        register_interface(interface)
    return _unmarshal(data, IID_IUnknown, None)
