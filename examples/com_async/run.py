"""One command: the ISimpleStream server and client on loopback in one process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# client.py loads server.py next to it; load client.py the same way (no sys.path games).
_spec = importlib.util.spec_from_file_location("com_async_example_client",
                                               Path(__file__).with_name("client.py"))
assert _spec is not None and _spec.loader is not None
client = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = client
_spec.loader.exec_module(client)
server = client.server


def main() -> int:
    srv = server.serve("ncacn_ip_tcp:127.0.0.1[0]")
    binding = str(srv.bindings[0])
    print(f"COM server with ISimpleStream (async_uuid) and ISyncStream on {binding}", flush=True)
    try:
        status = client.main(binding)
    finally:
        srv.stop_background(5.0)
    print(f"COM async example finished with status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
