"""The endpoint mapper manager (sans-IO): an in-memory endpoint map and the ept_* routines.

Theory of operation
-------------------
* The map is a list of elements ``(object UUID, tower, annotation)`` in insertion order
  (C706 appendix O "ept"; [MS-RPCE] 2.2.1.2, 3.1.1 and 3.3.3.3). The interface, transfer
  syntax and protocol of an element are read from its tower (:mod:`.towers`).
* :class:`EndpointMapper` is a *manager object*: each method is an operation of
  ``epm.idl`` called as ``impl.Op(*in_args)`` with the decoded [in] parameters (minus the
  ``handle_t``) and returning the operation's result in the shape
  :func:`dcerpc.ndr.operation_codec` encodes ([out] parameters in IDL order; one value
  bare, several as the codec's namedtuple).
* Context handles: ``entry_handle`` arrives as the Python object this manager returned
  earlier (or None for the NULL handle) and goes out as an object (keep the handle open) or
  None (close it); the runtime maps objects ⇄ 20-byte wire handles ([MS-RPCE] 3.3.1.5.3).
  Lookups snapshot their matches on the first call and hand them out ``max_*`` at a time;
  the final batch closes the handle and carries status 0, which is what impacket's
  ``hept_lookup`` loop expects (it stops on a NULL handle and raises on a non-zero status).
* Failures are reported, as Windows does, in the ``status`` [out] parameter with the DCE
  ``ept_s_*`` numbers (never as faults): e.g. ``EPT_S_NOT_REGISTERED`` (0x16C9A0D6) from an
  ``ept_map`` that matches nothing.

:func:`register_server` / :func:`unregister_server` are the local equivalents of
``RpcEpRegister`` / ``RpcEpUnregister``.
"""

from __future__ import annotations

import functools
import os
import types as _pytypes
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import NdrError
from ..protocol.constants import NDR_SYNTAX, SyntaxId
from .binding import StringBinding
from .towers import Tower, as_syntax, decode_tower, encode_tower

__all__ = [
    "EPT_S_CANT_PERFORM_OP",
    "EPT_S_INVALID_CONTEXT",
    "EPT_S_INVALID_ENTRY",
    "EPT_S_NOT_REGISTERED",
    "NIL_UUID",
    "RPC_C_EP_ALL_ELTS",
    "RPC_C_EP_MATCH_BY_BOTH",
    "RPC_C_EP_MATCH_BY_IF",
    "RPC_C_EP_MATCH_BY_OBJ",
    "RPC_C_VERS_ALL",
    "RPC_C_VERS_COMPATIBLE",
    "RPC_C_VERS_EXACT",
    "RPC_C_VERS_MAJOR_ONLY",
    "RPC_C_VERS_UPTO",
    "EndpointMapper",
    "EptElement",
    "LookupContext",
    "epm_idl",
    "register_server",
    "unregister_server",
]

# DCE status numbers of the ept_* routines (C706 appendix O; impacket's rpcrt table).
EPT_S_CANT_PERFORM_OP = 0x16C9A0CD
EPT_S_INVALID_ENTRY = 0x16C9A0D3
EPT_S_INVALID_CONTEXT = 0x16C9A0D5
EPT_S_NOT_REGISTERED = 0x16C9A0D6

# ept_lookup inquiry types and version options ([MS-RPCE] 2.2.1.2.4; C706 appendix O).
RPC_C_EP_ALL_ELTS = 0
RPC_C_EP_MATCH_BY_IF = 1
RPC_C_EP_MATCH_BY_OBJ = 2
RPC_C_EP_MATCH_BY_BOTH = 3
RPC_C_VERS_ALL = 1
RPC_C_VERS_COMPATIBLE = 2
RPC_C_VERS_EXACT = 3
RPC_C_VERS_MAJOR_ONLY = 4
RPC_C_VERS_UPTO = 5

NIL_UUID = uuid.UUID(int=0)
#: ``[string] char annotation[64]``: 63 characters and the NUL.
MAX_ANNOTATION = 63

EPM_IDL_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "idl", "include",
                            "epm.idl")


@functools.lru_cache(maxsize=1)
def epm_idl() -> _pytypes.ModuleType:
    """The compiled ``epm.idl`` module (``.epm`` is the Interface, ``.twr_t`` … the types)."""
    from .. import idl  # compiled on first use: the runtime should not pay for it at import

    return idl.load(EPM_IDL_PATH)


def _result(opname: str, *values: Any) -> Any:
    from ..ndr import operation_codec

    codec = operation_codec(epm_idl().epm.operation(opname))
    return codec.result_type(*values) if codec.result_type is not None else values[0]


@dataclass(frozen=True, slots=True)
class EptElement:
    """One element of the endpoint map."""

    object: uuid.UUID
    tower: bytes
    parsed: Tower
    annotation: str = ""

    @property
    def interface(self) -> SyntaxId:
        return self.parsed.interface


@dataclass(eq=False)
class LookupContext:
    """The state behind an ``ept_lookup_handle_t``: the matches not yet returned."""

    operation: str  # "ept_lookup" or "ept_map"
    remaining: list[Any] = field(default_factory=list)
    closed: bool = False


def _uuid_or_nil(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else NIL_UUID


def _annotation(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    text = (text or "").split("\0", 1)[0]
    return text[:MAX_ANNOTATION]


def _version_matches(have: SyntaxId, want: SyntaxId, vers_option: int) -> bool | None:
    """C706 appendix O ``rpc_c_vers_*`` for ept_lookup; None for an unknown option."""
    if vers_option == RPC_C_VERS_ALL:
        return True
    if vers_option == RPC_C_VERS_COMPATIBLE:
        return have.major == want.major and have.minor >= want.minor
    if vers_option == RPC_C_VERS_EXACT:
        return (have.major, have.minor) == (want.major, want.minor)
    if vers_option == RPC_C_VERS_MAJOR_ONLY:
        return have.major == want.major
    if vers_option == RPC_C_VERS_UPTO:
        return (have.major, have.minor) <= (want.major, want.minor)
    return None


class EndpointMapper:
    """The ``epm`` interface's manager over an in-memory endpoint map.

    ``object_uuid`` is what ``ept_inq_object`` reports. With ``read_only`` the remote
    update routines (ept_insert, ept_delete, ept_mgmt_delete) answer
    ``EPT_S_CANT_PERFORM_OP``, as Windows does for remote callers; local code still
    registers through :meth:`insert` / :func:`register_server`.
    """

    #: ``max_ents`` / ``max_towers`` above this are refused ([MS-RPCE] 2.2.1.2.4-5: range 0-500).
    MAX_RESULTS = 500

    def __init__(self, object_uuid: uuid.UUID | None = None, *, read_only: bool = False) -> None:
        self.object_uuid = object_uuid or NIL_UUID
        self.read_only = read_only
        self._elements: list[EptElement] = []

    # ------------------------------------------------------------------ local API
    @property
    def elements(self) -> list[EptElement]:
        """A copy of the map, in insertion order."""
        return list(self._elements)

    def insert(self, elements: Iterable[tuple[uuid.UUID | None, bytes, str]],
               replace: bool = True) -> None:
        """Add ``(object, tower octets, annotation)`` elements (all or none).

        ``replace`` drops existing elements for the same object, interface (UUID and major
        version), transfer syntax, protocol and network address first, as ``ept_insert``
        with ``replace`` does (C706 appendix O). An identical (object, tower) element is
        updated in place either way. Raises NdrError for a malformed tower.
        """
        new = [EptElement(_uuid_or_nil(obj), bytes(tower), decode_tower(tower), _annotation(ann))
               for obj, tower, ann in elements]
        # replacement applies to what was there before, not among the new elements (one
        # RpcEpRegister call may register several endpoints of the same interface)
        kept = [old for old in self._elements
                if not (replace and any(_replaces(el, old) for el in new))]
        for el in new:
            kept = [old for old in kept if (old.object, old.tower) != (el.object, el.tower)]
            kept.append(el)
        self._elements = kept

    def remove(self, object_uuid: uuid.UUID | None, tower: bytes) -> bool:
        """Remove the element (object, tower); False when there is none."""
        key = (_uuid_or_nil(object_uuid), bytes(tower))
        before = len(self._elements)
        self._elements = [el for el in self._elements if (el.object, el.tower) != key]
        return len(self._elements) != before

    # ------------------------------------------------------------------ opnum 0-1, 6
    def ept_insert(self, num_ents: int, entries: Sequence[Any], replace: int) -> int:
        if self.read_only:
            return EPT_S_CANT_PERFORM_OP
        try:
            self.insert([(e.object, _tower_octets(e.tower), e.annotation)
                         for e in entries[:num_ents]], bool(replace))
        except NdrError:
            return EPT_S_INVALID_ENTRY
        return 0

    def ept_delete(self, num_ents: int, entries: Sequence[Any]) -> int:
        if self.read_only:
            return EPT_S_CANT_PERFORM_OP
        try:
            keys = [(_uuid_or_nil(e.object), _tower_octets(e.tower)) for e in entries[:num_ents]]
        except NdrError:
            return EPT_S_INVALID_ENTRY
        present = {(el.object, el.tower) for el in self._elements}
        if any(k not in present for k in keys):  # C706: all or nothing
            return EPT_S_NOT_REGISTERED
        for obj, tower in keys:
            self.remove(obj, tower)
        return 0

    def ept_mgmt_delete(self, object_speced: int, object: Any, tower: Any) -> int:
        if self.read_only:
            return EPT_S_CANT_PERFORM_OP
        try:
            octets = _tower_octets(tower)
        except NdrError:
            return EPT_S_INVALID_ENTRY
        doomed = [el for el in self._elements if el.tower == octets
                  and (not object_speced or el.object == _uuid_or_nil(object))]
        if not doomed:
            return EPT_S_NOT_REGISTERED
        self._elements = [el for el in self._elements if el not in doomed]
        return 0

    # ------------------------------------------------------------------ opnum 2
    def ept_lookup(self, inquiry_type: int, object: Any, Ifid: Any, vers_option: int,
                   entry_handle: Any, max_ents: int) -> Any:
        def answer(handle: Any, items: list[Any], status: int) -> Any:
            return _result("ept_lookup", handle, len(items), items, status)

        if not 0 < max_ents <= self.MAX_RESULTS:
            return answer(entry_handle, [], EPT_S_CANT_PERFORM_OP)
        if entry_handle is None:
            matches = self._lookup_matches(inquiry_type, object, Ifid, vers_option)
            if matches is None:
                return answer(None, [], EPT_S_CANT_PERFORM_OP)
            ctx = LookupContext("ept_lookup", matches)
        else:
            ctx = entry_handle
        return self._next_batch(ctx, "ept_lookup", max_ents, answer, _entry_value)

    def _lookup_matches(self, inquiry_type: int, object: Any, Ifid: Any,
                        vers_option: int) -> list[EptElement] | None:
        by_if = inquiry_type in (RPC_C_EP_MATCH_BY_IF, RPC_C_EP_MATCH_BY_BOTH)
        by_obj = inquiry_type in (RPC_C_EP_MATCH_BY_OBJ, RPC_C_EP_MATCH_BY_BOTH)
        if inquiry_type != RPC_C_EP_ALL_ELTS and not (by_if or by_obj):
            return None
        want_if: SyntaxId | None = None
        if by_if:
            if Ifid is None:
                return None
            want_if = SyntaxId.make(Ifid.uuid, Ifid.vers_major, Ifid.vers_minor)
            if _version_matches(want_if, want_if, vers_option) is None:
                return None
        want_obj = _uuid_or_nil(object)
        out = []
        for el in self._elements:
            if by_obj and el.object != want_obj:
                continue
            if want_if is not None and (el.interface.if_uuid != want_if.if_uuid or not
                                        _version_matches(el.interface, want_if, vers_option)):
                continue
            out.append(el)
        return out

    # ------------------------------------------------------------------ opnum 3
    def ept_map(self, obj: Any, map_tower: Any, entry_handle: Any, max_towers: int) -> Any:
        def answer(handle: Any, items: list[Any], status: int) -> Any:
            return _result("ept_map", handle, len(items), items, status)

        if not 0 < max_towers <= self.MAX_RESULTS:
            return answer(entry_handle, [], EPT_S_CANT_PERFORM_OP)
        if entry_handle is None:
            if map_tower is None:
                return answer(None, [], EPT_S_CANT_PERFORM_OP)
            try:
                query = decode_tower(_tower_octets(map_tower))
            except NdrError:
                return answer(None, [], EPT_S_NOT_REGISTERED)  # nothing can match it
            ctx = LookupContext("ept_map", self._map_matches(_uuid_or_nil(obj), query))
        else:
            ctx = entry_handle
        return self._next_batch(ctx, "ept_map", max_towers, answer, _twr_value)

    def _map_matches(self, obj: uuid.UUID, query: Tower) -> list[bytes]:
        """Towers for ept_map ([MS-RPCE] 3.1.1 / C706 appendix O ept_map): same interface
        UUID and major version with a registered minor version >= the requested one, same
        transfer syntax UUID and major version, same protocol floors; elements for the
        requested object first, then those registered with the nil object."""
        want = query.interface

        def fits(el: EptElement) -> bool:
            have, t = el.interface, el.parsed
            return (have.if_uuid == want.if_uuid and have.major == want.major
                    and have.minor >= want.minor
                    and t.transfer_syntax.if_uuid == query.transfer_syntax.if_uuid
                    and t.transfer_syntax.major == query.transfer_syntax.major
                    and t.protocol_ids == query.protocol_ids)

        exact = [el.tower for el in self._elements if el.object == obj and fits(el)]
        wild = [el.tower for el in self._elements
                if obj != NIL_UUID and el.object == NIL_UUID and fits(el)]
        seen: set[bytes] = set()
        return [t for t in exact + wild if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]

    # ------------------------------------------------------------------ continuation
    @staticmethod
    def _next_batch(ctx: Any, operation: str, limit: int, answer: Any, to_value: Any) -> Any:
        if not isinstance(ctx, LookupContext) or ctx.operation != operation or ctx.closed:
            # a handle of another kind, or one already freed (Windows checks a signature)
            return answer(None, [], EPT_S_CANT_PERFORM_OP)
        if not ctx.remaining:
            ctx.closed = True
            return answer(None, [], EPT_S_NOT_REGISTERED)
        batch, ctx.remaining = ctx.remaining[:limit], ctx.remaining[limit:]
        if not ctx.remaining:
            ctx.closed = True
            return answer(None, [to_value(x) for x in batch], 0)
        return answer(ctx, [to_value(x) for x in batch], 0)

    # ------------------------------------------------------------------ opnum 4-5
    def ept_lookup_handle_free(self, entry_handle: Any) -> Any:
        if isinstance(entry_handle, LookupContext):
            entry_handle.closed = True
            entry_handle.remaining = []
        elif entry_handle is not None:
            return _result("ept_lookup_handle_free", entry_handle, EPT_S_CANT_PERFORM_OP)
        return _result("ept_lookup_handle_free", None, 0)

    def ept_inq_object(self) -> Any:
        return _result("ept_inq_object", self.object_uuid, 0)


# --------------------------------------------------------------------------- helpers
def _tower_octets(twr: Any) -> bytes:
    """The octets of a decoded ``twr_t`` (``tower_length`` must agree with them)."""
    if twr is None:
        raise NdrError("NULL tower")
    octets = bytes(twr.tower_octet_string)
    if twr.tower_length != len(octets):
        raise NdrError(f"twr_t.tower_length {twr.tower_length} != {len(octets)} octets")
    return octets


def _twr_value(octets: bytes) -> Any:
    # a fresh twr_t per tower: the towers are [ptr] pointers, and one Python object sent
    # twice would be marshalled as an alias (C706 §14.3.10.3)
    return epm_idl().twr_t(tower_length=len(octets), tower_octet_string=octets)


def _entry_value(el: EptElement) -> Any:
    return epm_idl().ept_entry_t(object=el.object, tower=_twr_value(el.tower),
                                 annotation=el.annotation)


def _replaces(new: EptElement, old: EptElement) -> bool:
    a, b = new.parsed, old.parsed
    return (new.object == old.object and a.interface.if_uuid == b.interface.if_uuid
            and a.interface.major == b.interface.major
            and a.transfer_syntax == b.transfer_syntax
            and a.protocol_ids == b.protocol_ids and a.network_addr == b.network_addr)


def _towers_for(bindings: Iterable[StringBinding | str], interfaces: Iterable[Any],
                transfer_syntaxes: Sequence[Any]) -> list[bytes]:
    out = []
    for binding in bindings:
        sb = StringBinding.parse(binding) if isinstance(binding, str) else binding
        if not sb.endpoint:
            raise ValueError(f"server binding {sb} has no endpoint to register")
        for iface in interfaces:
            syntax = as_syntax(iface)
            for ts in transfer_syntaxes:
                out.append(encode_tower(syntax, sb, ts))
    return out


def register_server(epm: EndpointMapper, server_bindings: Iterable[StringBinding | str],
                    interfaces: Iterable[Any], annotation: str = "", *,
                    object_uuids: Iterable[uuid.UUID] = (),
                    transfer_syntaxes: Sequence[Any] = (NDR_SYNTAX,),
                    replace: bool = True) -> None:
    """Register every (interface, binding, object) combination with ``epm`` — RpcEpRegister.

    ``server_bindings`` are the bindings the server listens on (with endpoints);
    ``interfaces`` are :class:`~dcerpc.ndr.types.Interface` objects, SyntaxIds or
    ``(uuid, (major, minor))`` pairs. No ``object_uuids`` registers the nil object.
    """
    objects = list(object_uuids) or [NIL_UUID]
    towers = _towers_for(list(server_bindings), list(interfaces), transfer_syntaxes)
    epm.insert([(obj, tower, annotation) for tower in towers for obj in objects], replace)


def unregister_server(epm: EndpointMapper, server_bindings: Iterable[StringBinding | str],
                      interfaces: Iterable[Any], *, object_uuids: Iterable[uuid.UUID] = (),
                      transfer_syntaxes: Sequence[Any] = (NDR_SYNTAX,)) -> int:
    """Remove what :func:`register_server` added — RpcEpUnregister. Returns the count."""
    objects = list(object_uuids) or [NIL_UUID]
    towers = _towers_for(list(server_bindings), list(interfaces), transfer_syntaxes)
    return sum(epm.remove(obj, tower) for tower in towers for obj in objects)
