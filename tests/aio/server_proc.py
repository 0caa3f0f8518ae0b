"""Run the test service in its own process (for the "server killed" tests).

Prints the TCP binding on stdout, then serves until killed.
"""

from __future__ import annotations

import asyncio
import sys

from svc import make_server


async def main() -> None:
    server, _ = make_server()
    server.listen("ncacn_ip_tcp:127.0.0.1[0]")
    await server.start()
    print(server.bindings[0], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
