"""Activation ([MS-DCOM] 3.1.2.5.2.3): ``CoCreateInstanceEx`` and friends as a plain RPC to
IRemoteSCMActivator at the server's endpoint, with an ActivationPropertiesIn blob; the
reply names the object exporter (OXID, bindings, IPID of its IRemUnknown2) and carries one
OBJREF per requested interface, which become :class:`~.client.ComPtr` proxies."""

from __future__ import annotations

import uuid
from typing import Any

from .._sync import SyncProxy
from ..errors import NdrError, RpcError
from ..ndr import types as t
from ..runtime.binding import StringBinding
from . import hresult as hr
from ._orpc import dcom_idl, objidl_idl, orpcthis
from .actprops import ActivationRequest, decode_reply_blob, encode_request_blob
from .client import ComPtr, _exporter_for, _iid_of, decode_standard, rpc_hresult
from .guids import GUID, IID_IUnknown
from .hresult import COMError, unsigned
from .security import Blanket

__all__ = ["CoCreateInstance", "CoCreateInstanceEx", "CoGetClassObject",
           "activation_args", "activation_proxies"]


def activation_args(clsid: Any, interfaces: list[Any]
                    ) -> tuple[list[tuple[uuid.UUID, t.Interface | None]], Any]:
    """The requested (IID, model) pairs and the ``pActProperties`` to send."""
    pairs = [_iid_of(x) for x in interfaces] or [(IID_IUnknown, None)]
    blob = encode_request_blob(ActivationRequest(GUID(clsid), [iid for iid, _ in pairs]))
    return pairs, dcom_idl().MInterfacePointer(len(blob), blob)


def activation_proxies(code: int, out: Any, pairs: list[tuple[uuid.UUID, Any]], server: str,
                       ping_period: float | None, blanket: Blanket | None = None
                       ) -> list[ComPtr | None]:
    """The proxies of an activation answer (see :func:`CoCreateInstanceEx`)."""
    if hr.FAILED(code):
        raise COMError(unsigned(code))
    if out is None:
        raise COMError(hr.E_UNEXPECTED, "activation succeeded without properties")
    try:
        reply = decode_reply_blob(bytes(out.abData))
    except NdrError as exc:
        raise COMError(hr.E_UNEXPECTED, f"bad activation reply: {exc}") from None
    blanket = blanket if blanket is not None else Blanket.default()
    if reply.authn_hint > blanket.AuthnLevel:
        if blanket.AuthInfo is None:
            raise COMError(hr.E_ACCESSDENIED, f"the server wants authentication level "
                           f"{reply.authn_hint}; pass auth= credentials")
        # [MS-DCOM] 3.2.4.1.1.2: authnHint is the least level for the object calls
        blanket = blanket.set(AuthnLevel=min(int(reply.authn_hint), 6))
    ex = _exporter_for(reply.oxid, reply.bindings, reply.ipid_rem_unknown, server,
                       StringBinding.parse(server), ping_period)
    results: list[ComPtr | None] = []
    for (iid, spec), code_i, data in zip(pairs, reply.hresults, reply.objrefs, strict=False):
        if code_i != hr.S_OK or data is None:
            results.append(None)
            continue
        ref = decode_standard(data)
        ex.resolver_dsa = ref.saResAddr
        p = ex.proxy(iid, ref.std, spec)
        p._blanket = blanket
        results.append(p)
    if pairs and all(r is None for r in results):
        raise COMError(hr.E_NOINTERFACE)
    return results


def _activate(clsid: Any, server: str, interfaces: list[Any], class_object: bool,
              ping_period: float | None, auth: Any = None, level: Any = None
              ) -> list[ComPtr | None]:
    blanket = Blanket.for_credentials(auth, level)
    pairs, act = activation_args(clsid, interfaces)
    try:
        with SyncProxy(server, dcom_idl().IRemoteSCMActivator,
                       **blanket.options()) as scm:
            if class_object:
                code, _that, out = scm.RemoteGetClassObject(orpcthis(flags=1), act)
            else:
                code, _that, out = scm.RemoteCreateInstance(orpcthis(flags=1), None, act)
    except RpcError as exc:
        raise COMError(rpc_hresult(exc), str(exc), exc) from exc
    return activation_proxies(code, out, pairs, server, ping_period, blanket)


def CoCreateInstanceEx(clsid: Any, server: str, interfaces: list[Any] | None = None, *,
                       ping_period: float | None = None, auth: Any = None,
                       level: Any = None) -> list[ComPtr | None]:
    """Activate ``clsid`` at ``server`` (a string binding with endpoint) asking for
    several interfaces at once (MULTI_QI): one proxy per interface, None where the
    object lacks it; COMError when activation fails or it has none of them.
    ``auth``/``level`` (``dcerpc.auth.NTLM(...)``, ``"privacy"``) authenticate the
    activation and are the proxies' initial blanket (:mod:`.security`)."""
    return _activate(clsid, server, list(interfaces or []), False, ping_period, auth, level)


def CoCreateInstance(clsid: Any, server: str | None, interface: Any = None, *,
                     ping_period: float | None = None, auth: Any = None,
                     level: Any = None) -> ComPtr:
    """Activate ``clsid`` and return one interface (IUnknown by default). ``server``
    None is CLSCTX_INPROC_SERVER: a class of :func:`dcerpc.com.inproc.register_class`,
    created in this process and called directly (an in-process pointer, :mod:`.inproc`)."""
    if server is None:
        from .inproc import create_instance

        return create_instance(clsid, interface if interface is not None  # type: ignore[return-value]
                               else IID_IUnknown)
    got = _activate(clsid, server, [interface if interface is not None else IID_IUnknown],
                    False, ping_period, auth, level)[0]
    if got is None:
        raise COMError(hr.E_NOINTERFACE)
    return got


def CoGetClassObject(clsid: Any, server: str, *, ping_period: float | None = None
                     ) -> ComPtr:
    """RemoteGetClassObject: the class's IClassFactory."""
    got = _activate(clsid, server, [objidl_idl().IClassFactory], True, ping_period)[0]
    if got is None:
        raise COMError(hr.E_NOINTERFACE)
    return got
