"""JSON ⇄ NDR Python values, driven by the interface model (for ``dcerpc call``).

The mapping (documented in ``dcerpc call --help``) follows the NDR Python mapping of
:mod:`dcerpc.ndr.types`, with JSON spellings for what JSON lacks:

* integers → numbers (a string such as ``"0x10"`` is accepted on input); boolean →
  ``true``/``false``; float/double → numbers;
* ``[string]`` and ``wchar_t`` arrays → strings;
* byte arrays (byte/uchar/usmall/char without ``[string]``) and interface pointers →
  **base64** strings (RFC 4648, standard alphabet, padded); a list of 0..255 integers is
  also accepted on input;
* other arrays → lists (nested for multi-dimensional arrays); pipes → lists;
* structs → objects keyed by the IDL field names (missing fields take the default, so
  ``size_is``/``length_is``/``switch_is`` counters may be left out and are computed);
* unions → ``{"tag": t, "value": v}`` (``t`` may be an enumerator name when the switch type
  is an enum); enums → the enumerator name (an integer is accepted on input);
* GUIDs → strings; unique/full pointers → the pointee or ``null``;
* context handles → ``{"attributes": n, "uuid": "…"}``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import uuid
from typing import Any

from .ndr import ContextHandleValue, python_type
from .ndr import types as t

__all__ = ["JsonValueError", "from_json", "to_json"]


class JsonValueError(ValueError):
    """A JSON value does not fit the IDL type it is meant for; the message names the path."""


def _fail(path: str, message: str) -> JsonValueError:
    return JsonValueError(f"{path}: {message}")


def _unwrap(T: t.NdrType) -> t.NdrType:
    # [range] and type serialisation change nothing about the Python value's shape.
    while isinstance(T, (t.Range, t.TypeSerialized)):
        T = T.type
    return T


def _is_text_array(T: t.Array) -> bool:
    el = _unwrap(T.element)
    return isinstance(el, t.Primitive) and (el.kind == "wchar" or (T.string and el.kind in
                                                                   t.BYTE_KINDS))


def _is_byte_array(T: t.Array) -> bool:
    el = _unwrap(T.element)
    return isinstance(el, t.Primitive) and el.kind in t.BYTE_KINDS and not T.string


# --------------------------------------------------------------------------- JSON → value
def from_json(T: t.NdrType, j: Any, path: str = "$") -> Any:
    """Convert the JSON value ``j`` to the Python value the NDR codec expects for ``T``."""
    T = _unwrap(T)
    if isinstance(T, t.Pointer):
        if T.kind != "ref" and j is None:
            return None
        return from_json(T.target, j, path)
    if j is None:
        # Counters and switch fields may be left to the encoder, which computes them.
        return None
    if isinstance(T, t.Primitive):
        return _prim_from_json(T, j, path)
    if isinstance(T, t.Guid):
        return _guid(j, path)
    if isinstance(T, t.Enum):
        return _enum_from_json(T, j, path)
    if isinstance(T, t.Struct):
        return _struct_from_json(T, j, path)
    if isinstance(T, (t.Switch, t.Union)):
        return _union_from_json(T.union if isinstance(T, t.Switch) else T, j, path)
    if isinstance(T, t.Array):
        return _array_from_json(T, T.dims, j, path)
    if isinstance(T, t.Pipe):
        return _array_from_json(t.Array(T.element), (t.Dim(),), j, path)
    if isinstance(T, t.ContextHandle):
        return _handle_from_json(j, path)
    if isinstance(T, t.InterfacePointer):
        return _bytes_from_json(j, path)
    if isinstance(T, t.Handle):
        return None
    raise _fail(path, f"cannot convert JSON to {type(T).__name__}")


def _prim_from_json(T: t.Primitive, j: Any, path: str) -> Any:
    if T.kind == "boolean":
        if isinstance(j, bool | int):
            return bool(j)
        raise _fail(path, f"expected true/false, got {j!r}")
    if T.kind in ("float", "double"):
        if isinstance(j, int | float) and not isinstance(j, bool):
            return float(j)
        raise _fail(path, f"expected a number, got {j!r}")
    if T.kind == "wchar" and isinstance(j, str) and len(j) == 1:
        return ord(j)
    if isinstance(j, int) and not isinstance(j, bool):
        return j
    if isinstance(j, str):
        try:
            return int(j, 0)
        except ValueError:
            pass
    raise _fail(path, f"expected an integer ({T.kind}), got {j!r}")


def _guid(j: Any, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(j)
    except (TypeError, ValueError, AttributeError):
        raise _fail(path, f"expected a GUID string, got {j!r}") from None


def _enum_from_json(T: t.Enum, j: Any, path: str) -> Any:
    cls = python_type(T)
    if isinstance(j, str) and j in T.members:
        return cls(T.members[j])
    if isinstance(j, int) and not isinstance(j, bool):
        return cls(j) if j in T.members.values() else j
    names = ", ".join(T.members)
    raise _fail(path, f"expected one of {names} (or an integer) for enum {T.name}, got {j!r}")


def _struct_from_json(T: t.Struct, j: Any, path: str) -> Any:
    if not isinstance(j, dict):
        raise _fail(path, f"expected an object for struct {T.name}, got {j!r}")
    fields = {f.name: f for f in T.fields}
    unknown = sorted(set(j) - set(fields))
    if unknown:
        raise _fail(path, f"struct {T.name} has no field {unknown[0]!r} "
                          f"(fields: {', '.join(fields)})")
    from .ndr._layout import pyname

    kwargs = {pyname(name): from_json(fields[name].type, value, f"{path}.{name}")
              for name, value in j.items()}
    return python_type(T)(**kwargs)


def _union_tag(U: t.Union, j: Any, path: str) -> int:
    st = _unwrap(U.switch_type)
    if isinstance(st, t.Enum) and isinstance(j, str) and j in st.members:
        return st.members[j]
    if isinstance(j, bool) or not isinstance(j, int | str):
        raise _fail(path, f"expected an integer union tag, got {j!r}")
    return _prim_from_json(t.LONG, j, path) if isinstance(j, str) else j


def _arm_for(U: t.Union, tag: int) -> t.Arm | None:
    default = None
    for arm in U.arms:
        if tag in arm.cases:
            return arm
        if arm.is_default:
            default = arm
    return default


def _union_from_json(U: t.Union, j: Any, path: str) -> Any:
    if not isinstance(j, dict) or "tag" not in j or set(j) - {"tag", "value"}:
        raise _fail(path, f'expected {{"tag": t, "value": v}} for union {U.name}, got {j!r}')
    tag = _union_tag(U, j["tag"], f"{path}.tag")
    arm = _arm_for(U, tag)
    if arm is None:
        cases = sorted(c for a in U.arms for c in a.cases)
        raise _fail(path, f"union {U.name} has no arm for tag {tag} (cases: {cases})")
    value = None
    if arm.type is not None:
        value = from_json(arm.type, j.get("value"), f"{path}.value")
    return python_type(U)(tag, value)


def _array_from_json(T: t.Array, dims: tuple[t.Dim, ...], j: Any, path: str) -> Any:
    if len(dims) <= 1 and _is_text_array(T):
        if not isinstance(j, str):
            raise _fail(path, f"expected a string, got {j!r}")
        return j
    if len(dims) <= 1 and _is_byte_array(T):
        return _bytes_from_json(j, path)
    if not isinstance(j, list):
        raise _fail(path, f"expected a list, got {j!r}")
    if len(dims) > 1:
        return [_array_from_json(T, dims[1:], x, f"{path}[{i}]") for i, x in enumerate(j)]
    return [from_json(T.element, x, f"{path}[{i}]") for i, x in enumerate(j)]


def _bytes_from_json(j: Any, path: str) -> bytes:
    if isinstance(j, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in j):
        return bytes(j)
    if isinstance(j, str):
        try:
            return base64.b64decode(j, validate=True)
        except binascii.Error:
            pass
    raise _fail(path, f"expected base64 bytes (or a list of 0..255), got {j!r}")


def _handle_from_json(j: Any, path: str) -> Any:
    if isinstance(j, str):
        return ContextHandleValue(0, _guid(j, path))
    if isinstance(j, dict) and set(j) <= {"attributes", "uuid"}:
        return ContextHandleValue(int(j.get("attributes", 0)),
                                  _guid(j.get("uuid", str(uuid.UUID(int=0))), path))
    raise _fail(path, f'expected {{"attributes": n, "uuid": "…"}}, got {j!r}')


# --------------------------------------------------------------------------- value → JSON
def to_json(T: t.NdrType | None, v: Any) -> Any:
    """Convert a decoded NDR Python value of type ``T`` to plain JSON data."""
    T = _unwrap(T) if T is not None else None
    if v is None:
        return None
    if isinstance(T, t.Pointer):
        return to_json(T.target, v)
    if isinstance(T, (t.Switch, t.Union)) and isinstance(v, t.UnionValue):
        U = T.union if isinstance(T, t.Switch) else T
        st = _unwrap(U.switch_type)
        tag: Any = v.tag
        if isinstance(st, t.Enum):
            tag = next((n for n, x in st.members.items() if x == v.tag), v.tag)
        arm = _arm_for(U, v.tag)
        return {"tag": tag, "value": to_json(arm.type if arm else None, v.value)}
    if isinstance(T, t.Struct):
        from .ndr._layout import pyname

        return {f.name: to_json(f.type, getattr(v, pyname(f.name), None)) for f in T.fields}
    if isinstance(T, t.Array) and isinstance(v, list):
        inner: t.NdrType = T.element if len(T.dims) <= 1 else t.Array(T.element, T.dims[1:],
                                                                      T.string)
        return [to_json(inner, x) for x in v]
    if isinstance(T, t.Pipe) and isinstance(v, list):
        return [to_json(T.element, x) for x in v]
    return _scalar_to_json(v)


def _scalar_to_json(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.name
    if isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, ContextHandleValue):
        return {"attributes": v.attributes, "uuid": str(v.uuid)}
    if isinstance(v, t.UnionValue):
        return {"tag": v.tag, "value": _scalar_to_json(v.value)}
    if isinstance(v, list | tuple):
        return [_scalar_to_json(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return {k: _scalar_to_json(getattr(v, k)) for k in v.__dataclass_fields__}
    return repr(v)
