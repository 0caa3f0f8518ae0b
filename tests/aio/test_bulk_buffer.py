"""Large stubs are reassembled into a per-connection reused buffer (protocol
ReassemblyBuffer); nothing a manager keeps or a caller receives may alias it: values
decoded from one call must survive every later call on the same connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from svc import run

import dcerpc
import dcerpc.aio
import dcerpc.idl
from dcerpc.protocol._fragments import ReassemblyBuffer

IDL = """
[uuid(6b0d9a34-1f2e-4c5d-8e7f-a0b1c2d3e4f5), version(1.0)]
interface BulkKeep
{
    long Keep([in] long n, [in, size_is(n)] byte data[]);
    long KeepAsync([in] long n, [in, size_is(n)] byte data[]);
    void Give([in] long n, [in] byte fill, [out, size_is(n)] byte data[]);
}
"""
SIZE = (1 << 20) + 4096  # above the reuse threshold, several 64 KiB fragments


@pytest.fixture(scope="module")
def mod(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = Path(tmp_path_factory.mktemp("idl")) / "bulkkeep.idl"
    path.write_text(IDL)
    return dcerpc.idl.load(path)


class Keeper:
    def __init__(self) -> None:
        self.kept: list[bytes] = []

    def Keep(self, n: int, data: bytes) -> int:  # a worker thread
        self.kept.append(data)
        return len(data)

    async def KeepAsync(self, n: int, data: bytes) -> int:  # the loop
        await asyncio.sleep(0)
        self.kept.append(data)
        return len(data)

    def Give(self, n: int, fill: int) -> bytes:
        return bytes([fill]) * n


def test_kept_requests_and_received_replies_never_alias_the_buffer(
        mod, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    impl = Keeper()
    fills: list[int] = []
    real_fill = ReassemblyBuffer.fill

    def counting_fill(self: ReassemblyBuffer, parts: list, size: int) -> memoryview:  # type: ignore[type-arg]
        fills.append(size)
        return real_fill(self, parts, size)

    monkeypatch.setattr(ReassemblyBuffer, "fill", counting_fill)

    async def main() -> list[bytes]:
        server = dcerpc.Server()
        server.register(mod.BulkKeep, impl)
        server.listen("ncacn_ip_tcp:127.0.0.1[0]")
        got: list[bytes] = []
        async with server, dcerpc.aio.connect(server.bindings[0], mod.BulkKeep) as c:
            for i in range(6):
                op = c.Keep if i % 2 else c.KeepAsync
                assert await op(SIZE, bytes([i]) * SIZE) == SIZE
                got.append(await c.Give(SIZE, 0x40 + i))
            # several at once on the one connection, too
            more = await asyncio.gather(*(c.Give(SIZE, 0x60 + i) for i in range(4)))
            got.extend(more)
        return got

    got = run(main())
    assert len(fills) >= 16  # the reused buffer was in play, both directions
    assert [bytes(k) == bytes([i]) * SIZE for i, k in enumerate(impl.kept)] == [True] * 6
    expected = [0x40 + i for i in range(6)] + [0x60 + i for i in range(4)]
    assert [g == bytes([f]) * SIZE for g, f in zip(got, expected, strict=True)] == [True] * 10
    assert all(isinstance(g, bytes) for g in got)
