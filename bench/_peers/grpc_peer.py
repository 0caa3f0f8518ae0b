"""grpcio, sync and grpc.aio, without protoc: generic handlers over struct-packed bytes.

``/bench.Bench/Small``: request ``a:u32`` + UTF-8 ``s``, response ``a + len(s)`` as i32;
``/bench.Bench/Bulk``: request the raw bytes, response their count as u32. The sync row
talks to a sync server (thread pool), the aio row to a grpc.aio server.
"""

from __future__ import annotations

import asyncio
import struct
from concurrent import futures
from typing import Any

import grpc
import grpc.aio

from .common import (
    Budget,
    Phases,
    Tally,
    bulk_async,
    bulk_sync,
    flight_async,
    flight_window,
    seq_async,
    seq_sync,
)

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_MAX = 64 << 20  # the 16 MiB bulk call exceeds grpc's 4 MiB default message limit
_KEEP: list[Any] = []
OPTIONS = [("grpc.max_receive_message_length", _MAX), ("grpc.max_send_message_length", _MAX)]
# The server resets streams once more than grpc.server.max_pending_requests (1000 by
# default) calls wait for a handler: 1024 in flight would see CANCELLED without these.
SERVER_OPTIONS = [*OPTIONS, ("grpc.server.max_pending_requests", 4096),
                  ("grpc.server.max_pending_requests_hard_limit", 8192)]


def _ser_small(req: tuple[int, str]) -> bytes:
    return _U32.pack(req[0]) + req[1].encode("utf-8")


def _de_small(raw: bytes) -> tuple[int, str]:
    return _U32.unpack_from(raw)[0], raw[4:].decode("utf-8")


def _ser_i32(v: int) -> bytes:
    return _I32.pack(v)


def _de_i32(raw: bytes) -> int:
    return _I32.unpack(raw)[0]


def _ident(b: bytes) -> bytes:
    return b


def _ser_u32(v: int) -> bytes:
    return _U32.pack(v)


def _de_u32(raw: bytes) -> int:
    return _U32.unpack(raw)[0]


def _handlers(small: Any, bulk: Any) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler("bench.Bench", {
        "Small": grpc.unary_unary_rpc_method_handler(
            small, request_deserializer=_de_small, response_serializer=_ser_i32),
        "Bulk": grpc.unary_unary_rpc_method_handler(
            bulk, request_deserializer=_ident, response_serializer=_ser_u32),
    })


# ------------------------------------------------------------------ servers
def serve_sync() -> str:
    def small(req: tuple[int, str], ctx: Any) -> int:
        return req[0] + len(req[1])

    def bulk(data: bytes, ctx: Any) -> int:
        return len(data)

    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=SERVER_OPTIONS)
    srv.add_generic_rpc_handlers((_handlers(small, bulk),))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    _KEEP.append(srv)  # a grpc.Server stops when garbage-collected
    return str(port)


async def serve_aio() -> str:
    async def small(req: tuple[int, str], ctx: Any) -> int:
        return req[0] + len(req[1])

    async def bulk(data: bytes, ctx: Any) -> int:
        return len(data)

    srv = grpc.aio.server(options=SERVER_OPTIONS)
    srv.add_generic_rpc_handlers((_handlers(small, bulk),))
    port = srv.add_insecure_port("127.0.0.1:0")
    await srv.start()
    _KEEP.append(srv)
    return str(port)


# ------------------------------------------------------------------ clients
def _stubs(channel: Any) -> tuple[Any, Any]:
    small = channel.unary_unary("/bench.Bench/Small", request_serializer=_ser_small,
                                response_deserializer=_de_i32)
    bulk = channel.unary_unary("/bench.Bench/Bulk", request_serializer=_ident,
                               response_deserializer=_de_u32)
    return small, bulk


def run_sync(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    with grpc.insecure_channel(f"127.0.0.1:{addr}", options=OPTIONS) as ch:
        small, bulk = _stubs(ch)
        ph = Phases()
        ph.run("seq", lambda: seq_sync(lambda a, s: small((a, s)), b, tally))
        for n in flights:  # in flight: grpc's sync futures (small.future), a sliding window
            ph.run("flight", lambda n=n: flight_window(lambda a, s: small.future((a, s)),
                                                       lambda f: f.result(), n, b, tally), n)
        ph.run("bulk", lambda: bulk_sync(bulk, b, tally))
        return ph.res


async def _run_aio(addr: str, b: Budget, flights: tuple[int, ...],
                   tally: Tally) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{addr}", options=OPTIONS) as ch:
        small, bulk = _stubs(ch)

        async def call(a: int, s: str) -> int:
            return await small((a, s))  # type: ignore[no-any-return]

        ph = Phases()
        await ph.arun("seq", lambda: seq_async(call, b, tally))
        for n in flights:
            await ph.arun("flight", lambda n=n: flight_async(call, n, b, tally), n)
        await ph.arun("bulk", lambda: bulk_async(bulk, b, tally))
        return ph.res


def run_aio(addr: str, b: Budget, flights: tuple[int, ...], tally: Tally) -> dict[str, Any]:
    return asyncio.run(_run_aio(addr, b, flights, tally))
