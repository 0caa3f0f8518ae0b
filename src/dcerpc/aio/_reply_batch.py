"""The client's batch path: the small replies of one received chunk, taken in one loop.

With many calls in flight the server's replies arrive many to a chunk. The general pump
takes each through the framer, the core's fast path, a ``ResponseReceived`` event and
``ClientProtocol._handle``; :func:`take_replies` does what those do for the usual reply
straight from the chunk: a whole little-endian response in one fragment (PFC_FIRST_FRAG
| PFC_LAST_FRAG, no auth_verifier, C706 §12.6.4.10) to a call in flight that is not
being reassembled, within ``max_stub_size``, on a bound unauthenticated connection with
nothing else pending in the core (``ClientConnection.batch_ready``). The first PDU that
is not usual (a fault, a fragment, a reply to an unknown call ...) stops the loop; it
and everything after it go through the general path, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NdrError
from ..protocol._fragments import RESPONSE_HEADER

if TYPE_CHECKING:
    from ..protocol.connection import ClientConnection
    from ._client_proto import ClientProtocol

__all__ = ["take_replies"]

_DREP_LE = b"\x10\x00\x00\x00"  # little-endian, ASCII, IEEE (C706 §14.1)
_unpack_response = RESPONSE_HEADER.unpack_from


def take_replies(proto: ClientProtocol, conn: ClientConnection, data: bytes) -> int:
    """Complete the calls answered at the front of ``data``; returns the offset of the
    first octet not consumed (``len(data)`` when all were)."""
    core_calls = conn._calls
    calls = proto.calls
    limit = conn.config.max_stub_size
    max_frag = conn._reader.max_frag_length
    end = len(data)
    pos = 0
    while end - pos >= 24:
        (rpc_vers, minor, ptype, flags, drep, frag_length, auth_length, call_id, alloc_hint,
         _p_cont_id, _cancel_count, _reserved) = _unpack_response(data, pos)
        nxt = pos + frag_length
        if (rpc_vers != 5 or minor > 1 or ptype != 2 or flags & 3 != 3 or drep != _DREP_LE
                or auth_length or frag_length < 24 or frag_length > max_frag or nxt > end):
            break
        core_call = core_calls.get(call_id)
        if (core_call is None or core_call.stub is not None or alloc_hint > limit
                or frag_length - 24 > limit or proto.dead):
            break
        del core_calls[call_id]
        stub = data[pos + 24:nxt]
        pos = nxt
        # ClientProtocol._handle(ResponseReceived), inline
        entry = calls.pop(call_id, None)
        if entry is None:
            continue
        call, codec = entry
        try:
            call.set_result(codec.decode_response(stub))
        except NdrError as exc:
            call.set_exception(exc)
        if proto.draining and not calls:
            proto.close()
        if proto._on_idle is not None:
            proto._on_idle(proto)
    return pos
