"""ORPC framing of ``[object]`` interfaces ([MS-DCOM] 2.2.13, 3.1.1.5.x).

An ORPC call is an ordinary RPC request on the interface's IID (version 0.0) whose
object UUID is the IPID of the target interface, whose stub starts with an ``ORPCTHIS``
and whose response stub starts with an ``ORPCTHAT`` ([MS-DCOM] 3.2.4.2 / 3.1.1.5.1):
they are implicit first arguments that the IDL of the interface does not spell.

:func:`orpc_interface` turns the model of an ``[object]`` interface (from
:func:`dcerpc.idl.load`) into the model of its wire form: every operation of the
interface and of its bases from opnum 3 on (IUnknown's 0-2 are never remoted,
[MS-DCOM] 3.1.1.5.8), each with an ``ORPCthis`` [in] parameter and an ``ORPCthat``
[out] parameter in front of the IDL's own. The result contract of such an operation is
``(return value, ORPCTHAT, *[out] values)``.
"""

from __future__ import annotations

import functools
import os
import uuid
from types import ModuleType
from typing import Any

from ..ndr import types as t

__all__ = ["COM_VERSION", "dcom_idl", "interface_chain", "objidl_idl", "orpc_interface",
           "orpcthat", "orpcthis"]

#: The COM version we speak and announce: 5.7 ([MS-DCOM] 1.7, what Windows and impacket use).
COM_VERSION = (5, 7)

_INCLUDE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "idl", "include")


@functools.cache
def dcom_idl() -> ModuleType:
    """The shipped ``ms-dcom.idl`` compiled (types and the DCOM RPC interfaces)."""
    from .. import idl

    return idl.load(os.path.join(_INCLUDE, "ms-dcom.idl"))


@functools.cache
def objidl_idl() -> ModuleType:
    """The shipped ``objidl.idl`` compiled (IClassFactory and the local interfaces)."""
    from .. import idl

    return idl.load(os.path.join(_INCLUDE, "objidl.idl"))


def orpcthis(flags: int = 0, cid: uuid.UUID | None = None) -> Any:
    """An ``ORPCTHIS`` without extensions (32 bytes on the wire, protocol-digest §7.2)."""
    m = dcom_idl()
    return m.ORPCTHIS(version=m.COMVERSION(*COM_VERSION), flags=flags, reserved1=0,
                      cid=cid if cid is not None else uuid.uuid4(), extensions=None)


def orpcthat(flags: int = 0) -> Any:
    m = dcom_idl()
    return m.ORPCTHAT(flags=flags, extensions=None)


def interface_chain(spec: t.Interface) -> list[t.Interface]:
    """``spec`` and its bases, most derived first."""
    out: list[t.Interface] = []
    it: t.Interface | None = spec
    while it is not None:
        out.append(it)
        it = it.base
    return out


_WIRE: dict[int, tuple[t.Interface, t.Interface]] = {}


def orpc_interface(spec: t.Interface) -> t.Interface:
    """The wire model of an ``[object]`` interface (see the module docstring); cached."""
    hit = _WIRE.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if not spec.object:
        raise ValueError(f"{spec.name} is not an [object] interface")
    if spec.uuid is None:
        raise ValueError(f"{spec.name} has no [uuid]")
    m = dcom_idl()
    this_t = t.Pointer("ref", m.ORPCTHIS.__ndr__)
    that_t = t.Pointer("ref", m.ORPCTHAT.__ndr__)
    ops: list[t.Operation] = []
    for iface in reversed(interface_chain(spec)):
        for op in iface.operations:
            if op.opnum < 3:  # IUnknown: QueryInterface/AddRef/Release go via IRemUnknown
                continue
            params = [t.Param("ORPCthis", this_t, True, False),
                      t.Param("ORPCthat", that_t, False, True), *op.params]
            ops.append(t.Operation(op.name, op.opnum, params, op.returns, dict(op.attrs)))
    wire = t.Interface(spec.name, spec.uuid, (0, 0), ops, spec.pointer_default,
                       object=False, base=None, async_uuid=spec.async_uuid,
                       attrs={**spec.attrs, "orpc_of": spec})
    _WIRE[id(spec)] = (spec, wire)
    return wire
