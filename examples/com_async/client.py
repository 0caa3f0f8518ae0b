"""The client side of the seed page "Making an Asynchronous Call", step by step.

1. QueryInterface(IID_ICallFactory) on the server object (E_NOINTERFACE: no async).
2. ICallFactory::CreateCall(IID_AsyncISimpleStream, NULL, IID_IUnknown), release the factory.
3. Begin_Read; the client does other work meanwhile.
4. ISynchronize::Wait: RPC_E_TIMEOUT while Begin_ is not done, S_OK once it is.
5. Finish_Read gives the [out] parameters, exactly as the synchronous Read would.
Then a cancelled call (ICancelMethodCalls::Cancel), and the synchronous fallback.

Run alone against ``server.py``: ``python client.py ncacn_ip_tcp:127.0.0.1[4748]``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from dcerpc.com import CoCreateInstance, COMError, hresult
from dcerpc.com.guids import IID_ICallFactory, IID_ISynchronize, IID_IUnknown


def say(*parts: object) -> None:
    """Print one whole line in one write: server threads log to the same stdout, and
    print() writes its pieces separately, so their lines could cut into ours."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def load_sibling(stem: str) -> ModuleType:
    """Import server.py / client.py of this folder under a name no other module uses."""
    modname = f"com_async_example_{stem}"
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, Path(__file__).with_name(f"{stem}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


server = load_sibling("server")
CLSID_SimpleStream, CLSID_SyncStream = server.CLSID_SimpleStream, server.CLSID_SyncStream
stream_idl = server.stream_idl
ISimpleStream = stream_idl.ISimpleStream
AsyncISimpleStream = stream_idl.AsyncISimpleStream


def name(hr: int) -> str:
    return f"{hresult.hresult_name(hr)} (0x{hr & 0xFFFFFFFF:08X})"


def async_read(binding: str) -> None:
    stream = CoCreateInstance(CLSID_SimpleStream, binding, ISimpleStream)
    say("1. QueryInterface(IID_ICallFactory) -> S_OK")
    factory = stream.QueryInterface(IID_ICallFactory)
    say("2. CreateCall(IID_AsyncISimpleStream, None, IID_IUnknown), then release the factory")
    call = factory.CreateCall(AsyncISimpleStream, None, IID_IUnknown)
    factory.Release()
    call.Begin_Read(64)  # the proxy convention: a failure would raise COMError
    say("3. Begin_Read(64) -> S_OK: the request is out, the call object is pending")
    say("4. other work while the call is out: summing 1..1000 =", sum(range(1, 1001)))
    sync = call.QueryInterface(IID_ISynchronize)
    hr = sync.Wait(0, 50)
    say("5. ISynchronize::Wait(0, 50 ms) ->", name(hr), "(Begin_Read not done yet)")
    while hr == hresult.RPC_E_TIMEOUT:
        hr = sync.Wait(0, 1000)
    say("   ISynchronize::Wait(0, 1000 ms) ->", name(hr))
    pv, cb_read = call.Finish_Read()
    say(f"6. Finish_Read -> pcbRead={cb_read}, pv={bytes(pv)!r}")
    call.Release()

    say("\nCancel: Begin_Read, then ICancelMethodCalls::Cancel before the server signals")
    call = stream.QueryInterface(IID_ICallFactory).CreateCall(AsyncISimpleStream, None,
                                                               IID_IUnknown)
    call.Begin_Read(8)
    say("   Cancel(1) ->", name(call.Cancel(1)))
    try:
        call.Finish_Read()
        say("   Finish_Read -> completed (unexpected)")
    except COMError as exc:
        say("   Finish_Read -> canceled:", name(exc.hresult))
    call.Release()
    stream.Release()


def sync_fallback(binding: str) -> None:
    say("\nFallback: an object whose interface has no [async_uuid]")
    stream = CoCreateInstance(CLSID_SyncStream, binding, stream_idl.ISyncStream)
    try:
        stream.QueryInterface(IID_ICallFactory)
        say("   QueryInterface(IID_ICallFactory) -> S_OK (unexpected)")
    except COMError as exc:
        say("   QueryInterface(IID_ICallFactory) ->", name(exc.hresult))
    pv, cb_read = stream.Read(16)
    say(f"   synchronous Read(16) -> pcbRead={cb_read}, pv={bytes(pv)!r}")
    stream.Release()


def main(binding: str) -> int:
    async_read(binding)
    sync_fallback(binding)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ncacn_ip_tcp:127.0.0.1[4748]"))
