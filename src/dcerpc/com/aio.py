"""The asyncio face of the COM client: the same proxies, awaited.

    from dcerpc.com import aio as com_aio
    calc, stats = await com_aio.CoCreateInstanceEx(CLSID_Calc, server=binding,
                                                   interfaces=[ICalc, IStats])
    await calc.Add(2, 3)
    s = await calc.QueryInterface(IStats)
    await calc.Release()

An :class:`AsyncComPtr` wraps the :class:`~dcerpc.com.ComPtr` of the same IPID (shared
reference counts, ping set membership and identity with the threaded face); its calls go
through :func:`dcerpc.aio.connect` proxies on the running loop, so nothing blocks it.
Proxies are bound to the loop that made their first call.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ..aio.client import AsyncProxy
from ..errors import RpcError
from ..ndr import types as t
from . import hresult as hr
from ._marshal import op_shape, walk_ifaces
from ._orpc import dcom_idl, objidl_idl, orpc_interface, orpcthis
from .activate import activation_args, activation_proxies
from .client import (
    QI_REFS,
    ComPtr,
    _Exporter,
    _iid_of,
    _local_of,
    _pick_binding,
    decode_standard,
    known_exporter,
    proxy_from,
    request_ins,
    resolved_exporter,
    rpc_hresult,
    split_result,
)
from .guids import IID_IUnknown
from .hresult import COMError
from .local import is_com_object, local_exporters
from .security import Blanket

__all__ = ["AsyncComPtr", "CoCreateInstance", "CoCreateInstanceEx", "CoGetClassObject",
           "unmarshal"]


def _exports(args: tuple[Any, ...], shape: Any) -> bool:
    """Whether marshaling may start the client's exporter (which blocks until it runs):
    a local COM object among the arguments, or nested pointers before it runs."""
    if shape.in_nested and not local_exporters():
        return True
    return any(is_com_object(v) and not hasattr(v, "_com_objref_") for v in args)


def _com_error(exc: RpcError) -> COMError:
    return COMError(rpc_hresult(exc), str(exc), exc)


class _AsyncMethod:
    __slots__ = ("_op", "_ptr", "_shape")

    def __init__(self, ptr: AsyncComPtr, op: t.Operation) -> None:
        self._ptr, self._op, self._shape = ptr, op, op_shape(op)

    async def __call__(self, *args: Any) -> Any:
        return await self._ptr._call(self._op, self._shape, args)


class AsyncComPtr:
    """An awaitable proxy for one interface of a remote object."""

    def __init__(self, ptr: ComPtr) -> None:
        self.ptr = ptr
        self._proxy: AsyncProxy | None = None
        self._proxy_key: tuple[int, int] | None = None  # the blanket _proxy was made for
        self._old_proxies: list[AsyncProxy] = []  # of earlier blankets, closed at Release
        self._methods: dict[str, _AsyncMethod] = {}

    iid = property(lambda self: self.ptr.iid)
    ipid = property(lambda self: self.ptr.ipid)
    oid = property(lambda self: self.ptr.oid)
    oxid = property(lambda self: self.ptr.oxid)

    def _com_objref_(self) -> bytes:
        return self.ptr._com_objref_()

    # -- IClientSecurity (F66): the blanket lives on the underlying proxy ---------------------
    def QueryBlanket(self) -> tuple[int, int, str | None, int, int, Any, int]:
        return self.ptr.QueryBlanket()

    def SetBlanket(self, *args: Any, **kw: Any) -> int:
        """For calls made from now on; a call in progress keeps its connection."""
        return self.ptr.SetBlanket(*args, **kw)

    async def QueryInterface(self, interface: Any) -> AsyncComPtr:
        iid, spec = _iid_of(interface)
        ptr = self.ptr
        ptr._check_alive()
        # IRemUnknown is called under the proxy's blanket, as the threaded client does
        rem = AsyncProxy(ptr._exporter.binding, orpc_interface(dcom_idl().IRemUnknown2),
                         object_uuid=ptr._exporter.ipid_rem_unknown,
                         **ptr._blanket.options())
        known = set(ptr._exporter.proxies)  # IPIDs already proxied keep their blanket
        try:
            code, _that, results = await rem.RemQueryInterface(
                orpcthis(), ptr.ipid, QI_REFS, 1, [iid])
        except RpcError as exc:
            raise _com_error(exc) from exc
        finally:
            await rem.aclose()
        got = ptr._qi_result(iid, spec, code, results)
        if got is not ptr and got.ipid not in known:
            got._blanket = ptr._blanket  # a new proxy inherits its source's blanket
        return AsyncComPtr(got)

    def AddRef(self) -> int:
        return self.ptr.AddRef()

    async def Release(self) -> int:
        left, refs = self.ptr._release_begin()
        if left:
            return left
        ex = self.ptr._exporter
        try:
            if refs:
                rem = AsyncProxy(ex.binding, orpc_interface(dcom_idl().IRemUnknown2),
                                 object_uuid=ex.ipid_rem_unknown,
                                 **self.ptr._blanket.options())
                try:
                    await rem.RemRelease(orpcthis(), 1, refs)
                finally:
                    await rem.aclose()
        except RpcError as exc:
            raise _com_error(exc) from exc
        finally:
            for old in self._old_proxies:
                await old.aclose()
            self._old_proxies.clear()
            if self._proxy is not None:
                await self._proxy.aclose()
                self._proxy = None
            self.ptr._release_end()
        return 0

    def __getattr__(self, name: str) -> _AsyncMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is None:
            wire = self.ptr._wire
            if wire is None:
                raise AttributeError(f"no interface model for {self.ptr.iid}: register it "
                                     "with dcerpc.com.register_interface")
            try:
                op = wire.operation(name)
            except KeyError:
                raise AttributeError(f"{wire.name} has no method {name!r}") from None
            method = self._methods[name] = _AsyncMethod(self, op)
        return method

    async def _call(self, op: t.Operation, shape: Any, args: tuple[Any, ...]) -> Any:
        ptr = self.ptr
        ptr._check_alive()
        key = ptr._blanket.key()
        if self._proxy is not None and self._proxy_key != key:
            # SetBlanket since: calls in progress keep the old connection (F66)
            self._old_proxies.append(self._proxy)
            self._proxy = None
        if self._proxy is None:
            assert ptr._wire is not None
            self._proxy = AsyncProxy(ptr._exporter.binding, ptr._wire, object_uuid=ptr.ipid,
                                     **ptr._blanket.options())
            self._proxy_key = key
        if (shape.in_ifaces or shape.in_nested) and _exports(args, shape):
            # the first export starts the client's exporter: not on this loop
            ins = await asyncio.get_running_loop().run_in_executor(
                None, request_ins, op, shape, args, ptr._exporter.binding)
        else:
            ins = request_ins(op, shape, args, ptr._exporter.binding)
        try:
            result = await getattr(self._proxy, op.name)(*ins)
        except RpcError as exc:
            raise _com_error(exc) from exc
        ret, outs = split_result(op, shape, result)
        named = shape.named(ins)
        for p in shape.out_ifaces:
            if outs[p.index] is not None:
                mine = _local_of(bytes(outs[p.index]))
                if mine is not None:
                    outs[p.index] = mine  # our own object handed back: itself
                    continue
                outs[p.index] = await _unmarshal(bytes(outs[p.index]), p.iid(named),
                                                 ptr._exporter)
        if shape.out_nested:
            # nested pointers may need ResolveOxid2: the threaded unmarshal, off the loop
            def nested() -> None:
                for i, T in shape.out_nested:
                    outs[i] = walk_ifaces(T, outs[i], lambda d, v, sc: _wrap(
                        ptr._unmarshal_out(d, v, sc)), named)
            await asyncio.get_running_loop().run_in_executor(None, nested)
        return shape.join(ret, outs)

    async def __aenter__(self) -> AsyncComPtr:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ptr._local > 0:
            await self.Release()

    def __repr__(self) -> str:
        return f"<AsyncComPtr {self.ptr._spec_name} ipid={self.ptr.ipid}>"


def _wrap(got: Any) -> Any:
    return AsyncComPtr(got) if isinstance(got, ComPtr) else got


async def _unmarshal(data: bytes, iid: uuid.UUID, via: _Exporter | None) -> AsyncComPtr:
    ref = decode_standard(data)
    ex = known_exporter(ref, via)
    if ex is None:
        resolver = _pick_binding(ref.saResAddr, None)
        proxy = AsyncProxy(resolver, dcom_idl().IObjectExporter)
        try:
            result = await proxy.ResolveOxid2(ref.std.oxid, 1, [7])
        except RpcError as exc:
            raise _com_error(exc) from exc
        finally:
            await proxy.aclose()
        ex = resolved_exporter(ref, resolver, result)
    return AsyncComPtr(proxy_from(ex, ref, iid))


async def unmarshal(data: bytes, interface: Any = None) -> AsyncComPtr:
    """An awaitable proxy from OBJREF bytes (see :func:`dcerpc.com.unmarshal`)."""
    if interface is not None:
        _iid_of(interface)
    return await _unmarshal(data, IID_IUnknown, None)


async def _activate(clsid: Any, server: str, interfaces: list[Any], class_object: bool,
                    ping_period: float | None, auth: Any = None, level: Any = None
                    ) -> list[AsyncComPtr | None]:
    blanket = Blanket.for_credentials(auth, level)
    pairs, act = activation_args(clsid, interfaces)
    scm = AsyncProxy(server, dcom_idl().IRemoteSCMActivator, **blanket.options())
    try:
        if class_object:
            code, _that, out = await scm.RemoteGetClassObject(orpcthis(flags=1), act)
        else:
            code, _that, out = await scm.RemoteCreateInstance(orpcthis(flags=1), None, act)
    except RpcError as exc:
        raise _com_error(exc) from exc
    finally:
        await scm.aclose()
    return [None if p is None else AsyncComPtr(p)
            for p in activation_proxies(code, out, pairs, server, ping_period, blanket)]


async def CoCreateInstanceEx(clsid: Any, server: str, interfaces: list[Any] | None = None,
                             *, ping_period: float | None = None, auth: Any = None,
                             level: Any = None) -> list[AsyncComPtr | None]:
    """:func:`dcerpc.com.CoCreateInstanceEx`, awaited (``auth=``/``level=`` likewise)."""
    return await _activate(clsid, server, list(interfaces or []), False, ping_period,
                           auth, level)


async def CoCreateInstance(clsid: Any, server: str, interface: Any = None, *,
                           ping_period: float | None = None, auth: Any = None,
                           level: Any = None) -> AsyncComPtr:
    """:func:`dcerpc.com.CoCreateInstance`, awaited."""
    got = (await _activate(clsid, server, [interface if interface is not None
                                           else IID_IUnknown], False, ping_period,
                           auth, level))[0]
    if got is None:
        raise COMError(hr.E_NOINTERFACE)
    return got


async def CoGetClassObject(clsid: Any, server: str, *,
                           ping_period: float | None = None, auth: Any = None,
                           level: Any = None) -> AsyncComPtr:
    """:func:`dcerpc.com.CoGetClassObject`, awaited."""
    got = (await _activate(clsid, server, [objidl_idl().IClassFactory], True,
                           ping_period, auth, level))[0]
    if got is None:
        raise COMError(hr.E_NOINTERFACE)
    return got
