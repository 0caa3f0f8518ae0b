"""``dcerpc demo``: the phonebook interface, from IDL to bytes to a call over TCP.

It compiles ``examples/phonebook/phonebook.idl`` (or ``--idl``), builds a value of the
interface's richest struct, marshals it, dumps the bytes, unmarshals them and checks the
round trip, shows the request and response bodies of one operation, and finally serves
the interface on loopback and calls it with the synchronous and the asyncio clients.
"""

from __future__ import annotations

import argparse
import io
import uuid
from pathlib import Path

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "phonebook" / "phonebook.idl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--idl", type=Path, default=_EXAMPLE, help="the phonebook IDL file")


def hexdump(data: bytes, width: int = 16) -> str:
    """Classic offset / hex / ASCII dump."""
    lines = []
    for off in range(0, len(data), width):
        chunk = data[off : off + width]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"  {off:04x}  {chunk.hex(' '):<{width * 3}} {text}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from . import idl, ndr

    print(f"compiling {args.idl.name} ...")
    pb = idl.load(args.idl)
    iface = pb.PhoneBook
    print(f"interface {iface.name} {iface.uuid} v{iface.version[0]}.{iface.version[1]}")
    for op in iface.operations:
        params = ", ".join(
            f"[{'in, out' if p.in_ and p.out else 'in' if p.in_ else 'out'}] {p.name}"
            for p in op.params
        )
        print(f"  opnum {op.opnum}: {op.name}({params})")

    entry = pb.PB_ENTRY(
        id=uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"),
        name="Ada Lovelace",
        numbers=[
            pb.PB_NUMBER(pb.PB_KIND.PbWork, "555-0100"),
            pb.PB_NUMBER(pb.PB_KIND.PbMobile, "555-0199"),
        ],
        extra=pb.PB_EXTRA(2, "first programmer"),
    )
    print(f"\nvalue:   {entry!r}")
    data = ndr.encode(pb.PB_ENTRY, entry)
    print(f"NDR 2.0 little-endian, {len(data)} bytes:\n{hexdump(data)}")
    back = ndr.decode(pb.PB_ENTRY, data)
    print(f"decoded: {back!r}")
    # The count and switch fields were left to the encoder; the decoder reads them back.
    assert back.count == 2 and back.extra_kind == 2
    entry.count, entry.extra_kind = 2, 2
    assert back == entry, "round trip changed the value"
    print("round trip: equal")

    codec = ndr.operation_codec(iface.operation("AddEntry"))
    request = codec.encode_request([entry])
    print(f"\nAddEntry request body: {len(request)} bytes (the same entry as a [in] ref param)")
    response = codec.encode_response(codec.result_type(return_value=0, index=7))
    print(f"AddEntry response body:\n{hexdump(response)}")
    print(f"decoded response: {codec.decode_response(response)!r}")
    _serve_and_call(pb, entry)
    _asyncrpc()
    _com_async()
    return 0


def _load_example(name: str, path: Path) -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _asyncrpc() -> None:
    """The seed page's AsyncRPC sample (examples/asyncrpc), server and client on loopback."""
    here = _EXAMPLE.parents[1] / "asyncrpc"
    if not here.is_dir():  # an installed package without the examples
        return
    server_mod = _load_example("demo_asyncrpc_server", here / "server.py")
    client_mod = _load_example("demo_asyncrpc_client", here / "client.py")
    notify_mod = _load_example("demo_asyncrpc_notifications", here / "notifications.py")
    print("\nAsyncRPC (examples/asyncrpc): AsyncFunc is [async] and completes after 500 ms")
    manager = server_mod.Manager()  # type: ignore[attr-defined]
    server, bindings = server_mod.serve("ncacn_ip_tcp:127.0.0.1[0]", manager)  # type: ignore[attr-defined]
    try:
        status = client_mod.main(str(bindings[0]), 500)  # type: ignore[attr-defined]
        print(f"AsyncRPC client finished with status {status}")
        # The same call once per notification type (examples/asyncrpc/notifications.py);
        # the server's own log lines would only interleave with the client's.
        manager.out = io.StringIO()
        print("\nAsyncFunc(50 ms) completed through every notification type:")
        status = notify_mod.main(str(bindings[0]), 50)  # type: ignore[attr-defined]
    finally:
        server.stop_background(5.0)
    print(f"notification types finished with status {status}")

class PhoneBookImpl:
    """The server side: methods named as the operations, results shaped as NDR results."""

    def __init__(self) -> None:
        self.entries: list[object] = []
        self.generation = 0

    def AddEntry(self, entry: object) -> tuple[int, int]:
        self.entries.append(entry)
        self.generation += 1
        return 0, len(self.entries) - 1

    async def Lookup(self, name: str) -> tuple[int, object]:  # async managers run on the loop
        for entry in self.entries:
            if entry.name == name:  # type: ignore[attr-defined]
                return 0, entry
        return 1, None  # S_FALSE: no such entry

    def Count(self, generation: int) -> tuple[int, int, int]:
        return 0, self.generation, len(self.entries)


def _serve_and_call(pb: object, entry: object) -> None:
    import asyncio

    import dcerpc
    import dcerpc.aio

    iface = pb.PhoneBook  # type: ignore[attr-defined]
    server = dcerpc.Server()
    server.register(iface, PhoneBookImpl())
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    (binding,) = server.start_background()
    print(f"\nserving {iface.name} on {binding}")
    try:
        with dcerpc.connect(binding, iface) as client:
            print(f"AddEntry(...)        -> {client.AddEntry(entry)!r}")
            print(f"Count(0)             -> {client.Count(0)!r}")

        async def lookup() -> None:
            async with dcerpc.aio.connect(binding, iface) as aclient:
                found, missing = await asyncio.gather(
                    aclient.Lookup("Ada Lovelace"), aclient.Lookup("nobody"))
                print(f"await Lookup('Ada Lovelace') -> hr=0x{found.return_value:08x}, "
                      f"numbers={[n.digits for n in found.entry.numbers]}")
                print(f"await Lookup('nobody')       -> hr=0x{missing.return_value:08x}, "
                      f"entry={missing.entry!r}")

        asyncio.run(lookup())
    finally:
        server.stop_background(5.0)
    print("server stopped")


def _com_async() -> None:
    """The seed page's COM asynchronous call (examples/com_async): ISimpleStream on loopback."""
    here = _EXAMPLE.parents[1] / "com_async"
    if not here.is_dir():  # an installed package without the examples
        return
    print("\nCOM asynchronous calls (examples/com_async): ISimpleStream via ICallFactory")
    run_mod = _load_example("demo_com_async_run", here / "run.py")
    status = run_mod.main()  # type: ignore[attr-defined]
    print(f"COM async demo finished with status {status}")
