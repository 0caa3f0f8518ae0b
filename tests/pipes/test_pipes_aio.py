"""Streamed pipes over loopback TCP: the Pythonic face (asyncio and threads), ordering
rules (F39), errors, and bounded memory."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import bigstream
import pytest
from pipesvc import SPEC, PumpImpl

import dcerpc
import dcerpc.aio
from dcerpc import status as st
from dcerpc import streaming
from dcerpc.aio._pipes import PipeError


class Impl(PumpImpl):
    pass


async def _serve(impl: Any) -> dcerpc.Server:
    server = dcerpc.Server()
    server.register(SPEC, impl)
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    await server.start()
    return server


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_in_pipe_chunks_arrive_in_order_and_nonpipe_data_first() -> None:
    async def main() -> None:
        impl = Impl()
        server = await _serve(impl)
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                async with c.Sum.stream(5, [[1, 2], [3]]) as call:
                    assert await call.result() == (11, 3)
                # manual pushes through call.inp
                async with c.Sum.stream(0, None) as call:
                    for k in range(10):
                        await call.inp.push([k] * 3)
                    await call.inp.close()
                    assert await call.result() == (135, 30)
        finally:
            await server.stop()
        assert impl.seen[:2] == [[1, 2], [3]]
    run(main())


def test_out_pipe_is_an_async_iterator_then_the_result() -> None:
    async def main() -> None:
        server = await _serve(Impl())
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                async with c.Range.stream(10, 1000) as call:
                    got = [x async for chunk in call.outp for x in chunk]
                    assert await call.result() == 1000
                assert got == list(range(10, 1010))
        finally:
            await server.stop()
    run(main())


def test_in_then_out_pipes_and_in_out_pipe() -> None:
    async def main() -> None:
        server = await _serve(Impl())
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                async with c.Echo.stream(3, None) as call:
                    await call.inp.push(b"abc")
                    await call.inp.push(b"de")
                    await call.inp.close()
                    data = b"".join([ch async for ch in call.outp])
                    assert await call.result() == (0, 5)
                assert data == b"x" * 15
                async with c.Copy.stream([[1, 2], [3]]) as call:
                    assert [ch async for ch in call.io] == [[2, 4, 6]]
                    assert await call.result() == 3
                # [in, out] pipe with a plain async def manager (not [async])
                async with c.Pump.stream([b"a" * 70000, b"b"]) as call:
                    back = b"".join([ch async for ch in call.io])
                    assert await call.result() == (0, 70001)
                assert len(back) == 70001
                # whole-message mode on the client, streaming server: same octets
                assert await c.Sum(1, [4, 5]) == (10, 2)
        finally:
            await server.stop()
    run(main())


def test_pipe_order_rules() -> None:
    async def main() -> None:
        impl = Impl()
        server = await _serve(impl)
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                # server pulls b before a is drained → 1831, then does it right
                async with c.Two.stream([[7, 8]], [[9]]) as call:
                    assert await call.result() == (0, 7)
                assert impl.errors and impl.errors[0].status == st.RPC_X_WRONG_PIPE_ORDER
                # client pushes b before closing a → 1831
                async with c.Two.stream(None, None) as call:
                    with pytest.raises(PipeError) as ei:
                        await call.b.push([1])
                    assert ei.value.status == st.RPC_X_WRONG_PIPE_ORDER
                    # and asks for the result with open [in] pipes → 1831
                    with pytest.raises(PipeError):
                        await call.result()
                    await call.a.push([1])
                    await call.a.close()
                    await call.b.close()
                    assert await call.result() == (0, 1)
        finally:
            await server.stop()
    run(main())


class Failing(Impl):
    async def Echo(self, pAsync: Any, scale: int, inp: Any, outp: Any) -> None:
        async for chunk in inp:
            if chunk[:4] == b"STOP":
                pAsync.server_abort(0x1234)
                return

    async def Pump(self, io: Any) -> Any:
        return 0, 0  # completes without draining its [in] pipe


def test_server_abort_mid_stream_reaches_the_client() -> None:
    async def main() -> None:
        server = await _serve(Failing())
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                async with c.Echo.stream(1, None) as call:
                    await call.inp.push(b"x" * 1000)
                    await call.inp.push(b"STOP")
                    with pytest.raises(dcerpc.RpcError) as ei:
                        for _ in range(10000):  # the fault ends the pushes
                            await call.inp.push(b"y" * 4096)
                    assert ei.value.status == 0x1234
                    with pytest.raises(dcerpc.RpcError) as ei2:
                        await call.result()
                    assert ei2.value.status == 0x1234
                # completing before the [in] pipe is drained: pipe discipline error
                async with c.Pump.stream(None) as call:
                    await call.io.push(b"z" * 10)
                    await call.io.close()
                    with pytest.raises(dcerpc.RpcError) as ei3:
                        await call.result()
                    assert ei3.value.status == st.RPC_X_PIPE_DISCIPLINE_ERROR
                # the connection still serves
                assert await c.Sum(1, [1]) == (2, 1)
        finally:
            await server.stop()
    run(main())


class Watching(Impl):
    def __init__(self) -> None:
        super().__init__()
        self.failed: asyncio.Future[BaseException] | None = None
        self.started: asyncio.Event | None = None

    async def Sum(self, pAsync: Any, tag: int, inp: Any) -> None:
        assert self.started is not None and self.failed is not None
        self.started.set()
        total = count = 0
        try:
            async for chunk in inp:
                total, count = total + sum(chunk), count + len(chunk)
        except dcerpc.RpcError as exc:
            if not self.failed.done():
                self.failed.set_result(exc)
            return
        pAsync.server_complete((total + tag, count))


def test_client_disconnect_mid_stream_fails_the_server_pull_without_leak() -> None:
    async def main() -> None:
        impl = Watching()
        loop = asyncio.get_running_loop()
        impl.failed, impl.started = loop.create_future(), asyncio.Event()
        server = await _serve(impl)
        try:
            c = dcerpc.aio.connect(server.bindings[0], SPEC)
            await c.connect()
            call = c.Sum.stream(1, None)
            await call.start()
            await call.inp.push(list(range(5000)))
            await impl.started.wait()
            await c.aclose()  # the connection goes away mid-stream
            exc = await asyncio.wait_for(impl.failed, 10)
            assert isinstance(exc, dcerpc.RpcError) and exc.status == st.RPC_S_CALL_FAILED
            for _ in range(100):
                if server.active_calls == 0:
                    break
                await asyncio.sleep(0.01)
            assert server.active_calls == 0
            assert all(not p._pipe_calls for p in server._protocols)
        finally:
            await server.stop()
    run(main())


def test_abortive_cancel_and_abandon() -> None:
    async def main() -> None:
        impl = Watching()
        loop = asyncio.get_running_loop()
        impl.failed, impl.started = loop.create_future(), asyncio.Event()
        server = await _serve(impl)
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                async with c.Sum.stream(1, None) as call:
                    await call.inp.push([1, 2])
                    await impl.started.wait()
                    call.cancel(abortive=True)
                    with pytest.raises(dcerpc.errors.CallCancelled):
                        await call.result()
                exc = await asyncio.wait_for(impl.failed, 10)
                assert exc.status == st.RPC_S_CALL_FAILED  # orphaned: the pull fails
                # the connection carries other calls again
                assert await c.Sum(1, [1]) == (2, 1)
        finally:
            await server.stop()
    run(main())


class Blocking(Impl):
    @streaming
    def Pump(self, io: Any) -> Any:  # a plain def on a worker thread
        assert threading.current_thread() is not threading.main_thread()
        total = sum(len(chunk) for chunk in io)  # blocking iteration
        io.push_sync(b"k" * total)
        io.close_sync()
        return 0, total


def test_threaded_manager_and_threaded_client() -> None:
    server = dcerpc.Server()
    server.register(SPEC, Blocking())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    server.start_background()
    try:
        from dcerpc._sync import run_sync

        async def client() -> Any:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c, \
                    c.Pump.stream([b"ab", b"cde"]) as call:
                back = b"".join([ch async for ch in call.io])
                return back, await call.result()

        back, result = run_sync(client())  # from this (non-loop) thread
        assert back == b"kkkkk" and result == (0, 5)
        # the threaded client face: blocking pipes, in, out and in/out
        with dcerpc.connect(server.bindings[0], SPEC) as proxy:
            with proxy.Pump.stream(None) as call:
                call.io.push_sync(b"12345678")
                call.io.close_sync()
                assert b"".join(call.io) == b"k" * 8
                assert call.result() == (0, 8)
            with proxy.Echo.stream(2, [b"ab", b"c"]) as call:
                assert b"".join(call.outp) == b"x" * 6
                assert call.result() == (0, 3)
            with proxy.Range.stream(5, 250) as call:
                assert [x for chunk in call.outp for x in chunk] == list(range(5, 255))
                assert call.result() == 250
    finally:
        server.stop_background()


def test_64_mib_through_an_in_out_pipe_with_bounded_memory() -> None:
    got, _secs, server_kib, client_kib = bigstream.run(64)
    assert got == 64 << 20
    assert server_kib < 16 << 10 and client_kib < 16 << 10  # far below 64 MiB


@pytest.mark.slow
def test_1_gib_through_an_in_out_pipe_with_bounded_memory() -> None:
    got, _secs, server_kib, client_kib = bigstream.run(1024)
    assert got == 1 << 30
    assert server_kib < 64 << 10 and client_kib < 64 << 10


class CancelAware(Impl):
    async def Sum(self, pAsync: Any, tag: int, inp: Any) -> None:
        from dcerpc.win32 import RpcAsyncAbortCall, RpcAsyncGetCallHandle, RpcServerTestCancel

        async for _chunk in inp:
            if RpcServerTestCancel(RpcAsyncGetCallHandle(pAsync)) == st.RPC_S_OK:
                RpcAsyncAbortCall(pAsync, st.RPC_S_CALL_CANCELLED)
                return
        pAsync.server_complete((0, 0))


def test_non_abortive_cancel_reaches_the_streaming_manager() -> None:
    async def main() -> None:
        server = await _serve(CancelAware())
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c, \
                    c.Sum.stream(0, None) as call:
                await call.inp.push([1])
                call.cancel()  # co_cancel: the manager sees it and aborts
                with pytest.raises(dcerpc.RpcError) as ei:
                    for k in range(100000):
                        await call.inp.push([k])
                        await asyncio.sleep(0)
                assert ei.value.status == st.RPC_S_CALL_CANCELLED
                with pytest.raises(dcerpc.RpcError):
                    await call.result()
        finally:
            await server.stop()
    run(main())


def test_other_calls_proceed_while_a_request_streams() -> None:
    async def main() -> None:
        server = await _serve(Impl())
        try:
            async with dcerpc.aio.connect(server.bindings[0], SPEC) as c, \
                    c.Sum.stream(0, None) as call:
                await call.inp.push([1, 2])
                # the streaming connection is busy: this call takes another one
                assert await asyncio.wait_for(c.Sum(1, [5]), 10) == (6, 1)
                await call.inp.close()
                assert await call.result() == (3, 2)
        finally:
            await server.stop()
    run(main())


def test_streamed_calls_pass_the_same_admission_as_other_calls() -> None:
    """A pipe call is refused like any other call: below the interface's minimum level,
    and by its security callback (rpc_s_access_denied, counted)."""
    async def main() -> None:
        for policy in ("min_level", "if_callback"):
            server = dcerpc.Server()
            if policy == "min_level":
                server.register(SPEC, Impl(), min_level="integrity")
            else:
                server.register(SPEC, Impl())
                server.set_if_callback(SPEC, lambda spec, call: st.RPC_S_ACCESS_DENIED)
            server.listen("ncacn_ip_tcp:127.0.0.1[0]")
            await server.start()
            try:
                async with dcerpc.aio.connect(server.bindings[0], SPEC) as c:
                    with pytest.raises(dcerpc.RpcError) as info:
                        async with c.Sum.stream(5, [[1, 2], [3]]) as call:
                            await call.result()
                    assert info.value.status == st.RPC_S_ACCESS_DENIED
            finally:
                await server.stop()
            if policy == "min_level":
                assert server.security_stats["level_too_low"] == 1
    run(main())
