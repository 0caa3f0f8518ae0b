"""The server's batch path: the small requests of one received chunk, answered in one loop.

Under load a client's writes are coalesced, so one ``data_received`` chunk holds many
complete requests. The general pump handles each through the framer, the protocol
core's event queue, the dispatcher, a ``PreparedCall``, a coroutine wrapping the manager
and the response framing: a dozen Python calls per request around the three that do the
work (request decoder, manager, response encoder). :func:`serve_chunk` takes the usual
case straight from the chunk instead:

* the connection is bound, unauthenticated, with no request being reassembled, no pipe
  stream, no queued event and nothing buffered in the core's framer
  (``ServerConnection.batch_ready``);
* the PDU is a whole little-endian request in one fragment (PFC_FIRST_FRAG |
  PFC_LAST_FRAG, no object UUID, not [maybe], no pending cancel, no auth_verifier,
  C706 §12.6.4.9) for a presentation context that is already bound, within every limit
  the core checks (``max_concurrent_calls``, ``max_stub_size``, the call-id rules);
* the server would admit it without a question (``max_calls`` not reached, not
  stopping, no ``min_level``/``local_only``/interface callback in use), the operation is
  neither ``[async]`` nor uses context handles or ``[in] handle_t`` binding handles, its
  manager is an ``async def`` of the default manager, the generated decoder takes the
  stub whole and the generated encoder takes the one plain result.

The manager is started at once in its own copy of the context with ``current_call()``
set (as ``Server._serve_async`` does); when it returns without suspending, its reply is
framed straight into the core's output buffer (one FIRST|LAST response fragment, C706
§12.6.4.10). A manager that suspends or raises, a result that is not plain, and a reply
that needs several fragments are handed to the general completion
(``Server._complete``), with the call registered exactly as the general dispatch
registers it, so each call is answered once either way. The first PDU that is not
usual stops the loop: it and everything after it go through the general path, in order.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from ..auth._impersonation import _current as _impersonating
from ..auth._impersonation import release as release_impersonation
from ..protocol._fragments import REQUEST_HEADER, RESPONSE_HEADER
from ..protocol._server import _Call
from ..runtime.dispatch import PreparedCall
from ..runtime.registry import NIL_UUID, RegisteredInterface
from ._callctx import ASYNC_CACHE, CallContext
from ._callctx import _current as _current_call
from ._eager import EAGER_DONE, resume_eager

if TYPE_CHECKING:
    from ..protocol.connection import ServerConnection
    from ._server_proto import ServerProtocol
    from .server import Server

__all__ = ["partial_request", "serve_chunk"]

_DREP_LE = b"\x10\x00\x00\x00"  # little-endian, ASCII, IEEE (C706 §14.1)
#: PFC_FIRST_FRAG | PFC_LAST_FRAG | PFC_PENDING_CANCEL | PFC_MAYBE | PFC_OBJECT_UUID:
#: of these, a batched request has exactly the first two (C706 §12.6.3.1).
_FLAGS_MASK = 0x01 | 0x02 | 0x04 | 0x40 | 0x80
_WHOLE = 0x01 | 0x02
#: Most replies queued before they are written (as ``ServerProtocol.flush_soon``).
_BATCH = 16
#: Response stubs above this size are handed to the core as a read-only view.
_VIEW_ABOVE = 4096
_PLAIN = frozenset({int, str, bytes, bool, float, tuple, list, dict, type(None)})
_unpack_request = REQUEST_HEADER.unpack_from
_pack_response = RESPONSE_HEADER.pack


def partial_request(rest: bytes, max_frag: int, ptype: int = 0) -> bool:
    """Is ``rest`` (what follows the last whole PDU of a chunk) the start of a one-
    fragment PDU of ``ptype`` (request; response for the client) the batch path may wait
    for (the rest comes with the next chunk)? Anything else is left to the core's
    framer, which judges it."""
    n = len(rest)
    if rest[0] != 5 or (n > 2 and rest[2] != ptype) or (n > 3 and rest[3] & _FLAGS_MASK != _WHOLE):
        return False  # not a request, or a fragment of a larger one
    if n < 10:
        return True
    frag_length = rest[8] | rest[9] << 8
    return rest[4] == 0x10 and rest[5] == 0 and 24 <= frag_length <= max_frag \
        and frag_length > n


def _fast_plan(server: Server, op: Any) -> Any:
    """The dispatcher's plan of ``op`` if the batch path may serve it, else None
    (remembered per operation)."""
    fast = server._fast_plans
    hit = fast.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    plan = server.dispatcher._plan_of(op)
    if (plan.dreq is None or plan.eresp is None or plan.in_handles or plan.out_handles
            or plan.binding_slots or op.attrs.get("async")):
        plan = None
    if len(fast) > 4096:  # bounded: operations are few, but models may be made
        fast.clear()
    fast[id(op)] = (op, plan)
    return plan


def serve_chunk(proto: ServerProtocol, conn: ServerConnection, data: bytes) -> int:
    """Serve the usual requests at the front of ``data`` (see the module docstring);
    returns the offset of the first octet not consumed (``len(data)`` when all were)."""
    server = proto.server
    if (server._stopping or server._local_only or server._min_level or server.if_callbacks):
        return 0
    calls = conn._calls
    contexts = conn.contexts
    config = conn.config
    max_concurrent = config.max_concurrent_calls
    max_stub = config.max_stub_size
    max_frag = conn._reader.max_frag_length
    max_reply = (conn.max_xmit_frag - 24) & ~15
    inflight = server._inflight
    max_calls = server.max_calls
    is_async = ASYNC_CACHE
    loop = proto.loop
    peer, protseq, group = proto.peer, proto.protseq, proto.group
    creds = proto.peer_credentials
    copy_context = contextvars.copy_context
    fast_plans = server._fast_plans
    set_current = _current_call.set
    end = len(data)
    pos = 0
    queued = 0
    while end - pos >= 24:
        (rpc_vers, minor, ptype, flags, drep, frag_length, auth_length, call_id, alloc_hint,
         p_cont_id, opnum) = _unpack_request(data, pos)
        nxt = pos + frag_length
        if (rpc_vers != 5 or minor > 1 or ptype or flags & _FLAGS_MASK != _WHOLE
                or drep != _DREP_LE or auth_length or frag_length < 24
                or frag_length > max_frag or nxt > end):
            break
        ctx = contexts.get(p_cont_id)
        if (ctx is None or call_id in calls or (calls and not conn.conc_mpx)
                or len(calls) >= max_concurrent or alloc_hint > max_stub
                or frag_length - 24 > max_stub or len(inflight) >= max_calls
                or proto._torn_down):
            break
        entry = ctx.interface
        if type(entry) is not RegisteredInterface:
            break
        op = entry.by_opnum.get(opnum)
        if op is None:
            break
        impl = entry.managers.get(NIL_UUID)
        method = getattr(impl, op.name, None)
        if not is_async.get(getattr(method, "__func__", None)):
            break  # plain def, not a method, or not seen by the general path yet
        hit = fast_plans.get(id(op))  # _fast_plan()'s usual case inline
        plan = hit[1] if hit is not None and hit[0] is op else _fast_plan(server, op)
        if plan is None:
            break
        stub = data[pos + 24:nxt]
        try:
            values, used = plan.dreq(stub, 0)
        except Exception:
            break  # the general path decodes it again and reports the fault
        if used != len(stub):
            break
        # -- the call is ours from here on: it is answered exactly once below ----------
        pos = nxt
        call = CallContext(peer, protseq, None, entry.spec, op, call_id, group, None,
                           loop=loop)
        if creds is not None:
            call.peer_credentials = creds
            call.local_identity = proto.local_identity
        call.link = proto
        inflight[call] = (proto, EAGER_DONE)
        coro = method(*values)
        cctx = copy_context()
        cctx.run(set_current, call)
        try:
            yielded = cctx.run(coro.send, None)
        except StopIteration as stop:
            result = stop.value
        except BaseException as exc:
            prepared = _slow(proto, conn, call, p_cont_id, entry, op, impl, method, values,
                             plan)
            server._complete(proto, call, prepared, False, exc, None)
            _release(cctx)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            continue
        else:
            # The manager waits for something: the rest of it runs in a Task, as in
            # Server._dispatch (aio/_eager.py).
            prepared = _slow(proto, conn, call, p_cont_id, entry, op, impl, method, values,
                             plan)
            task = loop.create_task(_resumed(server, proto, call, prepared, coro, yielded),
                                    context=cctx)
            if call in inflight:
                inflight[call] = (proto, task)
            continue
        if cctx.get(_impersonating) is not None:
            cctx.run(release_impersonation)  # the end of the manager reverts (§6.2)
        reply = None
        if type(result) in _PLAIN:
            try:
                reply = plan.eresp([result], [])
            except Exception:
                reply = None  # Server._complete reports it
        if reply is None or len(reply) > max_reply:
            prepared = _slow(proto, conn, call, p_cont_id, entry, op, impl, method, values,
                             plan)
            server._complete(proto, call, prepared, False, None, result)
            continue
        # Server._complete's usual case, inline: settle, then one FIRST|LAST fragment.
        del inflight[call]
        call._ended = True  # no impersonation of it from now on (seed-semantics §6.2)
        if not inflight and server._idle is not None:
            server._idle.set()
        total = len(reply)
        out = conn._out
        out += _pack_response(5, 0, 2, _WHOLE, _DREP_LE, 24 + total, 0, call_id, total,
                              p_cont_id, 0, 0)
        out += reply
        queued += 1
        if queued >= _BATCH:  # let the client start on these meanwhile
            queued = 0
            proto.flush()
    return pos


def _prepared(entry: Any, op: Any, impl: Any, method: Any, values: list[Any], group: int,
              plan: Any) -> PreparedCall:
    return PreparedCall(entry, op, impl, method, values, group, None, plan)


def _slow(proto: ServerProtocol, conn: ServerConnection, call: CallContext, p_cont_id: int,
          entry: Any, op: Any, impl: Any, method: Any, values: list[Any],
          plan: Any) -> PreparedCall:
    """Register ``call`` as the general dispatch does (the core's call table, the
    connection's calls) before the general completion takes it over."""
    conn._calls[call.call_id] = _Call(p_cont_id)
    proto.calls[call.call_id] = call
    return _prepared(entry, op, impl, method, values, proto.group, plan)


def _release(cctx: contextvars.Context) -> None:
    if cctx.get(_impersonating) is not None:
        cctx.run(release_impersonation)  # the end of the manager reverts (§6.2)


async def _resumed(server: Server, proto: ServerProtocol, call: CallContext,
                   prepared: PreparedCall, coro: Any, yielded: Any) -> None:
    """``Server._serve_async`` for a manager that already ran up to ``yielded``."""
    await server._answer_when_done(proto, call, prepared, resume_eager, coro, yielded)
