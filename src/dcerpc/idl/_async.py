"""The ``Async<Name>`` twin of an ``[async_uuid]`` interface (MIDL, seed-semantics F42-F43).

For every method ``M`` of an ``[object, async_uuid(IID2)]`` interface ``IX``, ``AsyncIX``
(IID = IID2) has

* ``Begin_M`` with the ``[in]`` and ``[in, out]`` parameters, returning HRESULT;
* ``Finish_M`` with the ``[out]`` and ``[in, out]`` parameters (all ``[out]`` there),
  returning the synchronous method's own return type.

The twin is a ``local`` model: async calls travel as the synchronous operation (F47, F52),
so it describes the call-object API, not a wire format. Operations are numbered
``Begin_``/``Finish_`` pairs after the base's, as MIDL lays out the vtable.
"""

from __future__ import annotations

from ..errors import IdlError
from ..ndr import types as t

__all__ = ["async_interface", "is_async_capable"]

_HRESULT = t.Primitive("long")
_CACHE: dict[int, tuple[t.Interface, t.Interface]] = {}


def is_async_capable(spec: t.Interface) -> bool:
    return spec.object and spec.async_uuid is not None


def async_interface(spec: t.Interface) -> t.Interface:
    """``AsyncIX`` for ``IX`` (cached); IdlError when ``IX`` has no ``[async_uuid]``."""
    hit = _CACHE.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if not is_async_capable(spec):
        raise IdlError(f"{spec.name} is not an [object] interface with [async_uuid]")
    base = spec.base
    if base is not None and base.name != "IUnknown" and base.async_uuid is None:
        # F42: a synchronous base (other than IUnknown) cannot have an async derivation
        raise IdlError(f"{spec.name}: [async_uuid] needs IUnknown or an [async_uuid] base, "
                       f"not {base.name}")
    async_base = async_interface(base) if base is not None and base.async_uuid else None
    first = len(async_base.operations) + 3 if async_base is not None else 3
    ops: list[t.Operation] = []
    for i, op in enumerate(spec.operations):
        begin = [t.Param(p.name, p.type, True, False, dict(p.attrs))
                 for p in op.params if p.in_]
        finish = [t.Param(p.name, p.type, False, True, dict(p.attrs))
                  for p in op.params if p.out]
        attrs = {"async_of": op.name}
        ops.append(t.Operation(f"Begin_{op.name}", first + 2 * i, begin, _HRESULT,
                               dict(attrs)))
        ops.append(t.Operation(f"Finish_{op.name}", first + 2 * i + 1, finish, op.returns,
                               dict(attrs)))
    twin = t.Interface(f"Async{spec.name}", spec.async_uuid, (0, 0), ops,
                       spec.pointer_default, object=True, local=True, base=async_base,
                       attrs={"sync_interface": spec.name})
    _CACHE[id(spec)] = (spec, twin)
    return twin
