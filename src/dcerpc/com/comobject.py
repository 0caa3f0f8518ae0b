"""The Python COM class contract and IUnknown semantics.

A COM class is a Python class that lists the interfaces it implements in
``_com_interfaces_`` (comtypes' convention: interface models from
:func:`dcerpc.idl.load`, e.g. ``[calc.ICalc, calc.IStats]``) and implements their methods
under their IDL names. The method takes the ``[in]`` (and ``[in, out]``) values in IDL
order and, for a method whose IDL return type is HRESULT, returns its ``[out]`` values
(one bare, several as a tuple, none as None) for S_OK and raises
:class:`~dcerpc.com.COMError` for a failure. A method with another return type returns
``(return value, *[out] values)`` like any RPC manager.

``[out]`` interface pointers are returned as Python COM objects (or proxies, or None);
``[in]`` interface pointers arrive as proxies (or the local object itself).

IUnknown on the server side is implemented by the runtime, not by the class: an object
answers QueryInterface for IUnknown and for every interface in ``_com_interfaces_`` and
their bases ([MS-DCOM] 3.1.1.5.6.1.1). A class may narrow that with a
``_com_query_interface_(iid) -> bool`` method.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..ndr import types as t
from ._orpc import interface_chain
from .guids import IID_IUnknown

__all__ = ["com_interfaces", "find_interface", "supports"]


def _as_interface(spec: Any) -> t.Interface:
    if isinstance(spec, t.Interface):
        return spec
    found = getattr(spec, "__interface__", None)
    if isinstance(found, t.Interface):
        return found
    raise TypeError(f"{spec!r} in _com_interfaces_ is not an interface model")


def com_interfaces(obj: Any) -> list[t.Interface]:
    """The interface models ``obj`` declares, most derived first."""
    return [_as_interface(s) for s in getattr(obj, "_com_interfaces_", ())]


def find_interface(obj: Any, iid: uuid.UUID) -> t.Interface | None:
    """The model with this IID among ``obj``'s interfaces and their bases."""
    for spec in com_interfaces(obj):
        for it in interface_chain(spec):
            if it.uuid == iid:
                return it
    return None


def supports(obj: Any, iid: uuid.UUID) -> bool:
    """Whether ``obj`` answers QueryInterface(iid) with S_OK."""
    custom = getattr(obj, "_com_query_interface_", None)
    if custom is not None:
        return bool(custom(iid))
    return iid == IID_IUnknown or find_interface(obj, iid) is not None
