"""The AsyncRPC client flow with the asyncio face: ``proxy.AsyncFunc.start(...)`` issues
the call and returns a future-like call object at once; ``NonAsyncFunc`` is awaited while
it is still pending; then the pending call is awaited.  (On the client, ``[async]`` only
changes the C-style stubs; the wire and the asyncio proxy are the same.)

    python client_aio.py BINDING [delay_ms]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import dcerpc
import dcerpc.aio
import dcerpc.idl
from dcerpc.errors import RpcError

HERE = Path(__file__).resolve().parent
AsyncRPC = dcerpc.idl.load(HERE / "AsyncRPC.idl", acf=HERE / "AsyncRPC.acf")


async def main(binding: str, nAsychDelay: int = 1000,
               pszMessage: str = "hello from the asyncio AsyncRPC client") -> int:
    """Run the flow against ``binding``; return 0 or the failing RPC_STATUS."""
    async with dcerpc.aio.connect(binding, AsyncRPC.AsyncRPC) as proxy:
        try:
            print("\nCalling the remote procedure 'AsyncFunc'")
            call = proxy.AsyncFunc.start(nAsychDelay)
            print("\nCalling the remote procedure 'NonAsyncFunc'")
            await proxy.NonAsyncFunc(pszMessage)
            print("While 'AsyncFunc' is running asynchronously,\n"
                  "we still can send message to the server in the mean time.\n",
                  file=sys.stderr)
            await call
        except RpcError as exc:
            print(f"Run time reported exception 0x{exc.status:x} = {exc.status}")
            return exc.status
    print("AsyncFunc completed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000)))
