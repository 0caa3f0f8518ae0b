"""Managers of the DCOM RPC interfaces a COM server exports ([MS-DCOM] 3.1.2.5):
IRemoteSCMActivator, IActivation and IObjectExporter (plain RPC, ORPCTHIS/ORPCTHAT as
explicit parameters), IRemUnknown/IRemUnknown2 and the objects' own interfaces (ORPC, IPID as
the object UUID). The policy lives in :class:`~dcerpc.com.server.ComServer`.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .. import status as st
from ..aio import current_call
from ..errors import NdrError, RpcError
from ..ndr import types as t
from . import hresult as hr
from ._marshal import fix_longs, iid_for, op_shape, pack_values, walk_ifaces
from ._orpc import COM_VERSION, dcom_idl, orpcthat
from .actprops import ActivationReply, decode_request_blob, encode_reply_blob
from .client import ComPtr
from .errinfo import ErrorDetails, error_extensions
from .exporter import OR_INVALID_OXID
from .hresult import COMError, signed
from .servercall import create_server_call

if TYPE_CHECKING:
    from .server import ComServer

__all__ = ["ActivatorManager", "LegacyActivatorManager", "ObjectManager", "RemUnknownManager",
           "ResolverManager"]

log = logging.getLogger("dcerpc.com")


class ActivatorManager:
    """IRemoteSCMActivator ([MS-DCOM] 3.1.2.5.2.3): RemoteGetClassObject (opnum 3) and
    RemoteCreateInstance (opnum 4)."""

    def __init__(self, server: ComServer) -> None:
        self.server = server

    def RemoteCreateInstance(self, orpcthis: Any, pUnkOuter: Any, pActProperties: Any) -> Any:
        if pUnkOuter is not None:
            return signed(hr.CLASS_E_NOAGGREGATION), orpcthat(), None
        return self._activate(pActProperties, class_object=False)

    def RemoteGetClassObject(self, orpcthis: Any, pActProperties: Any) -> Any:
        return self._activate(pActProperties, class_object=True)

    def _activate(self, props: Any, class_object: bool) -> Any:
        m = dcom_idl()
        if props is None:
            return signed(hr.E_INVALIDARG), orpcthat(), None
        try:
            req = decode_request_blob(bytes(props.abData))
        except NdrError as exc:
            log.warning("malformed activation properties: %s", exc)
            return signed(hr.E_INVALIDARG), orpcthat(), None
        srv = self.server
        try:
            obj = srv.create_object(req.clsid, class_object)
        except COMError as exc:
            return signed(exc.hresult), orpcthat(), None
        results: list[int] = []
        refs: list[bytes | None] = []
        for iid in req.iids:
            ref = srv.marshal(obj, iid)
            results.append(hr.S_OK if ref is not None else hr.E_NOINTERFACE)
            refs.append(ref)
        if req.iids and all(r is None for r in refs):
            return signed(hr.E_NOINTERFACE), orpcthat(), None
        reply = ActivationReply(list(req.iids), results, refs, srv.exporter.oxid,
                                srv.oxid_bindings(), srv.exporter.ipid_rem_unknown,
                                srv.authn_hint, COM_VERSION)
        blob = encode_reply_blob(reply)
        return hr.S_OK, orpcthat(), m.MInterfacePointer(len(blob), blob)


class LegacyActivatorManager:
    """IActivation::RemoteActivation ([MS-DCOM] 3.1.2.5.2.3.1), the pre-Windows-2000
    activator: the same outcome as RemoteCreateInstance with plain parameters."""

    def __init__(self, server: ComServer) -> None:
        self.server = server

    def RemoteActivation(self, orpcthis: Any, Clsid: uuid.UUID, pwszObjectName: Any,
                         pObjectStorage: Any, ClientImpLevel: int, Mode: int,
                         Interfaces: int, pIIDs: Any, cRequestedProtseqs: int,
                         aRequestedProtseqs: Any) -> Any:
        srv = self.server
        m = dcom_idl()
        iids = list(pIIDs or [])
        words, sec = srv.oxid_bindings().words()
        dsa = m.DUALSTRINGARRAY(wNumEntries=len(words), wSecurityOffset=sec,
                                aStringArray=words)
        version = m.COMVERSION(*COM_VERSION)
        results: list[int] = []
        refs: list[Any] = []
        try:
            if pwszObjectName is not None or pObjectStorage is not None:
                raise COMError(hr.E_NOTIMPL, "persistent activation")
            obj = srv.create_object(Clsid)
        except COMError as exc:
            code = signed(exc.hresult)
            return (0, orpcthat(), srv.exporter.oxid, dsa, srv.exporter.ipid_rem_unknown,
                    srv.authn_hint, version, code, [None] * len(iids), [code] * len(iids))
        for iid in iids:
            ref = srv.marshal(obj, iid)
            results.append(signed(hr.S_OK if ref is not None else hr.E_NOINTERFACE))
            refs.append(None if ref is None else m.MInterfacePointer(len(ref), ref))
        overall = hr.S_OK if any(r is not None for r in refs) else hr.E_NOINTERFACE
        return (0, orpcthat(), srv.exporter.oxid, dsa, srv.exporter.ipid_rem_unknown,
                srv.authn_hint, version, signed(overall), refs, results)


class ResolverManager:
    """IObjectExporter, the OXID resolver ([MS-DCOM] 3.1.2.5.1)."""

    def __init__(self, server: ComServer) -> None:
        self.server = server

    def _resolve(self, oxid: int) -> tuple[int, Any, uuid.UUID, int]:
        srv = self.server
        m = dcom_idl()
        if oxid != srv.exporter.oxid:
            return OR_INVALID_OXID, None, uuid.UUID(int=0), 0
        words, sec = srv.oxid_bindings().words()
        dsa = m.DUALSTRINGARRAY(wNumEntries=len(words), wSecurityOffset=sec,
                                aStringArray=words)
        return 0, dsa, srv.exporter.ipid_rem_unknown, srv.authn_hint

    def ResolveOxid(self, pOxid: int, cRequestedProtseqs: int, arRequestedProtseqs: Any) -> Any:
        return self._resolve(pOxid)

    def ResolveOxid2(self, pOxid: int, cRequestedProtseqs: int, arRequestedProtseqs: Any) -> Any:
        return (*self._resolve(pOxid), dcom_idl().COMVERSION(*COM_VERSION))

    def SimplePing(self, pSetId: int) -> int:
        return self.server.exporter.simple_ping(pSetId)

    def ComplexPing(self, pSetId: int, SequenceNum: int, cAddToSet: int, cDelFromSet: int,
                    AddToSet: Any, DelFromSet: Any) -> Any:
        status, setid, backoff = self.server.exporter.complex_ping(
            pSetId, SequenceNum, list(AddToSet or []), list(DelFromSet or []))
        return status, setid, backoff

    def ServerAlive(self) -> int:
        return 0

    def ServerAlive2(self) -> Any:
        m = dcom_idl()
        words, sec = self.server.resolver_bindings().words()
        dsa = m.DUALSTRINGARRAY(wNumEntries=len(words), wSecurityOffset=sec,
                                aStringArray=words)
        return 0, m.COMVERSION(*COM_VERSION), dsa, 0


def _check_ipid(server: ComServer, expected: uuid.UUID | None = None) -> Any:
    ipid = current_call().object_uuid
    if expected is not None:
        if ipid != expected:
            raise RpcError(f"IRemUnknown called on IPID {ipid}", hr.RPC_E_INVALID_IPID)
        return None
    entry = server.exporter.lookup(ipid)
    if entry is None:
        # The error impacket anticipates for a vanished object (protocol-digest §7.2).
        raise RpcError(f"no object with IPID {ipid}", hr.RPC_E_DISCONNECTED)
    return entry


class RemUnknownManager:
    """IRemUnknown2 on the exporter's ``ipidRemUnknown`` ([MS-DCOM] 3.1.1.5.6/3.1.1.5.7)."""

    def __init__(self, server: ComServer) -> None:
        self.server = server

    def RemQueryInterface(self, orpcthis: Any, ripid: uuid.UUID, cRefs: int, cIids: int,
                          iids: list[uuid.UUID]) -> Any:
        srv = self.server
        _check_ipid(srv, srv.exporter.ipid_rem_unknown)
        m = dcom_idl()
        out = []
        results = srv.exporter.query_interface(ripid, max(cRefs, 1), list(iids))
        for code, std in results:
            s = std or _NULL_STD
            out.append(m.REMQIRESULT(hResult=signed(code), std=m.STDOBJREF(
                flags=s.flags, cPublicRefs=s.cPublicRefs, oxid=s.oxid, oid=s.oid,
                ipid=s.ipid)))
        failed = all(code != hr.S_OK for code, _ in results)
        status = results[0][0] if failed and results else hr.S_OK
        return signed(status), orpcthat(), out

    def RemAddRef(self, orpcthis: Any, cInterfaceRefs: int, InterfaceRefs: Any) -> Any:
        srv = self.server
        _check_ipid(srv, srv.exporter.ipid_rem_unknown)
        codes = [srv.exporter.add_ref(r.ipid, r.cPublicRefs, r.cPrivateRefs)
                 for r in InterfaceRefs]
        status = hr.S_OK if all(c == hr.S_OK for c in codes) else hr.E_INVALIDARG
        return signed(status), orpcthat(), [signed(c) for c in codes]

    def RemRelease(self, orpcthis: Any, cInterfaceRefs: int, InterfaceRefs: Any) -> Any:
        srv = self.server
        _check_ipid(srv, srv.exporter.ipid_rem_unknown)
        codes = [srv.exporter.release(r.ipid, r.cPublicRefs, r.cPrivateRefs)
                 for r in InterfaceRefs]
        status = hr.S_OK if all(c == hr.S_OK for c in codes) else hr.E_INVALIDARG
        return signed(status), orpcthat()

    def RemQueryInterface2(self, orpcthis: Any, ripid: uuid.UUID, cIids: int,
                           iids: list[uuid.UUID]) -> Any:
        srv = self.server
        _check_ipid(srv, srv.exporter.ipid_rem_unknown)
        m = dcom_idl()
        entry = srv.exporter.lookup(ripid)
        codes: list[int] = []
        mifs: list[Any] = []
        for iid in iids:
            ref = srv.marshal(entry.owner.obj, iid) if entry is not None else None
            codes.append(signed(hr.S_OK if ref is not None else
                                hr.E_NOINTERFACE if entry is not None else
                                hr.RPC_E_INVALID_IPID))
            mifs.append(None if ref is None else m.MInterfacePointer(len(ref), ref))
        status = hr.S_OK if any(m_ is not None for m_ in mifs) else hr.E_NOINTERFACE
        return signed(status), orpcthat(), codes, mifs


def release_in_pointers(held: list[ComPtr]) -> None:
    """The stub's Release of the ``[in]`` interface pointers it unmarshaled ([MS-DCOM]
    3.2.4.4; COM's rule: a callee that keeps an ``[in]`` pointer AddRefs it). Done on a
    worker thread after the call, so the reply is not delayed by a RemRelease round trip
    and no event loop ever blocks on one."""
    if held:
        _RELEASES.submit(_release_all, list(held))


def _release_all(held: list[ComPtr]) -> None:
    for p in held:
        try:
            p.Release()
        except COMError as exc:  # the client went away: its pings stop, nothing to undo
            log.debug("releasing an [in] interface pointer: %s", exc)


_RELEASES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dcerpc-com-release")


class _NullStd:
    flags = cPublicRefs = oxid = oid = 0
    ipid = uuid.UUID(int=0)


_NULL_STD = _NullStd()


def _error_that(exc: COMError, iid: uuid.UUID | None) -> Any:
    """The ORPCTHAT of a failed call: with the error information extension
    ([MS-DCOM] 2.2.21.1) when the COMError has a description, source or help file."""
    d = exc.details
    if isinstance(d, ErrorDetails):
        details = d._replace(iid=d.iid or iid)
    elif exc.text != hr.hresult_name(exc.hresult):  # COMError(hresult, "description")
        details = ErrorDetails(exc.text, None, None, 0, iid)
    else:
        return orpcthat()
    that = orpcthat()
    that.extensions = error_extensions(details)
    return that


class ObjectManager:
    """The manager of one ``[object]`` interface: picks the object by the request's IPID
    and calls its method (see :mod:`dcerpc.com.comobject` for the contract)."""

    def __init__(self, server: ComServer, wire: t.Interface) -> None:
        self.server = server
        self.wire = wire
        self._methods: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        fn = self._methods.get(name)
        if fn is None:
            try:
                op = self.wire.operation(name)
            except KeyError:
                raise AttributeError(name) from None
            fn = self._methods[name] = self._bind(op)
        return fn

    def _bind(self, op: t.Operation) -> Any:
        shape = op_shape(op)
        srv = self.server
        iid = self.wire.uuid
        async_iid = self.wire.async_uuid

        def method(*ins: Any) -> Any:
            entry = _check_ipid(srv)
            if entry.iid != iid:
                raise RpcError(f"IPID {entry.ipid} is not an {self.wire.name} pointer",
                               hr.RPC_E_INVALID_IPID)
            this = ins[0]
            if this.version.MajorVersion != COM_VERSION[0]:
                # [MS-DCOM] 3.1.1.5.1: a major version we do not speak is refused
                raise RpcError(f"COM version {this.version.MajorVersion}."
                               f"{this.version.MinorVersion}", hr.RPC_E_VERSION_MISMATCH)
            impl = getattr(entry.owner.obj, op.name, None)
            if impl is None and (async_iid is None
                                 or not hasattr(entry.owner.obj, "CreateCall")):
                raise RpcError(f"{type(entry.owner.obj).__name__} does not implement "
                               f"{op.name}", st.nca_s_op_rng_error)
            ins_l = list(ins)
            held: list[ComPtr] = []  # [in] proxies, released when the call ends

            def unmarshal_in(v: Any) -> Any:
                obj = srv.unmarshal(v)
                if isinstance(obj, ComPtr):
                    held.append(obj)
                return obj

            try:
                args = list(ins)
                for p in shape.in_ifaces:
                    args[p.index] = unmarshal_in(args[p.index])
                for i, T in shape.in_nested:  # in structures, arrays, unique pointers
                    args[i] = walk_ifaces(T, args[i], lambda d, v, sc: unmarshal_in(v), {})
                if async_iid is not None:
                    # F52, F59: an object with server call objects serves the call
                    # through Begin_/Signal/Finish_ whatever kind of call the client made
                    made = create_server_call(entry.owner.obj, async_iid, current_call())
                    begin = getattr(made[0], f"Begin_{op.name}", None) if made else None
                    if made is not None and begin is not None:
                        # F60: a token taken in Begin_ lasts until Begin_ returns — this
                        # manager returns right after it, and the runtime reverts then
                        # (aio._callctx.run_manager)
                        begin(*args[1:])
                        pending = finish_async(made[0], made[1], ins_l, held)
                        held = []  # released when the call object has finished
                        return pending
                if impl is None:
                    raise RpcError(f"{type(entry.owner.obj).__name__} does not implement "
                                   f"{op.name}", st.nca_s_op_rng_error)
                result = impl(*args[1:])
                if inspect.isawaitable(result):
                    # an ``async def`` method: the server awaits this on its loop
                    pending = finish_later(result, ins_l, held)
                    held = []
                    return pending
                return answer(result, ins_l)
            except Exception as exc:
                return failed(exc, ins_l)
            finally:
                release_in_pointers(held)

        async def finish_async(callobj: Any, control: Any, ins: list[Any],
                               held: list[ComPtr]) -> Any:
            try:
                await control.signalled()
                return answer(getattr(callobj, f"Finish_{op.name}")(), ins)
            except Exception as exc:
                return failed(exc, ins)
            finally:
                release_in_pointers(held)

        async def finish_later(awaitable: Any, ins: list[Any], held: list[ComPtr]) -> Any:
            try:
                return answer(await awaitable, ins)
            except Exception as exc:
                return failed(exc, ins)
            finally:
                release_in_pointers(held)

        def failed(exc: Exception, ins: list[Any]) -> Any:
            if isinstance(exc, COMError):
                if not shape.hresult:
                    raise RpcError(str(exc), exc.hresult) from None
                return (signed(exc.hresult), _error_that(exc, iid),
                        *shape.failure_outs(shape.named(ins)))
            if isinstance(exc, RpcError):
                raise exc
            log.error("%s.%s raised", self.wire.name, op.name,
                      exc_info=(type(exc), exc, exc.__traceback__))
            raise RpcError(f"{op.name}: {exc!r}", hr.RPC_E_SERVERFAULT) from None

        def answer(result: Any, ins: list[Any]) -> Any:
            n = len(shape.out_types)
            ret, outs = shape.split(result)
            if shape.hresult:
                ret = hr.S_OK
            if len(outs) != n:
                raise RpcError(f"{op.name} returned {len(outs)} [out] values, expected {n}",
                               hr.RPC_E_SERVERFAULT)
            fix_longs(outs, shape.long_outs)
            if type(ret) is int and ret > 0x7FFFFFFF and op.returns is not None:
                ret = signed(ret)
            named = shape.named(ins)
            for p in shape.out_ifaces:  # a COMError here (E_NOINTERFACE) fails the call
                outs[p.index] = srv.marshal_value(outs[p.index], p.iid(named))
            for i, T in shape.out_nested:
                outs[i] = walk_ifaces(T, outs[i], lambda d, v, sc: srv.marshal_value(
                    v, iid_for(d, sc)), named)
            return (ret, orpcthat(), *outs) if op.returns is not None else \
                pack_values([orpcthat(), *outs])

        method.__name__ = op.name
        return method
