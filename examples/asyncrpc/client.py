"""The AsyncRPC client: the C fragment of the MS-RPC "Making the Asynchronous Call" page,
translated line by line onto :mod:`dcerpc.win32`.

    python client.py BINDING [delay_ms]      # e.g. ncacn_ip_tcp:127.0.0.1[4747] 2000

The implicit handle ``AsyncRPC_ClientIfHandle`` is made as the MIDL samples make it:
RpcStringBindingCompose → RpcBindingFromStringBinding, and freed with RpcBindingFree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dcerpc.idl
from dcerpc.win32 import (
    INFINITE,
    RPC_ASYNC_STATE,
    WAIT_OBJECT_0,
    CreateEvent,
    RpcAsyncCompleteCall,
    RpcAsyncInitializeHandle,
    RpcBindingFree,
    RpcBindingFromStringBinding,
    RpcException,
    RpcExceptionCode,
    RpcNotificationTypeEvent,
    RpcStringBindingCompose,
    RpcStringBindingParse,
    RpcStringFree,
    WaitForSingleObject,
    sizeof,
)

HERE = Path(__file__).resolve().parent
_stubs = dcerpc.idl.load(HERE / "AsyncRPC.idl", acf=HERE / "AsyncRPC.acf")
AsyncFunc = _stubs.AsyncFunc        # (pAsync, hBinding, nAsychDelay), returns at once
NonAsyncFunc = _stubs.NonAsyncFunc  # (hBinding, pszMessage), synchronous


def main(binding: str, nAsychDelay: int = 1000,
         pszMessage: str = "hello from the AsyncRPC client") -> int:
    """Run the sample against ``binding``; return 0 or the failing RPC_STATUS."""
    status, pszUuid, pszProtocolSequence, pszNetworkAddress, pszEndpoint, pszOptions = \
        RpcStringBindingParse(binding)
    if status:
        print(f"RpcStringBindingParse failed: {status}")
        return status

    status, pszStringBinding = RpcStringBindingCompose(
        pszUuid, pszProtocolSequence, pszNetworkAddress, pszEndpoint, pszOptions)
    if status:
        print(f"RpcStringBindingCompose failed: {status}")
        return status

    status, AsyncRPC_ClientIfHandle = RpcBindingFromStringBinding(pszStringBinding)
    RpcStringFree(pszStringBinding)
    if status:
        print(f"RpcBindingFromStringBinding failed: {status}")
        return status
    try:
        return _run(AsyncRPC_ClientIfHandle, nAsychDelay, pszMessage)
    finally:
        status, AsyncRPC_ClientIfHandle = RpcBindingFree(AsyncRPC_ClientIfHandle)


def _run(AsyncRPC_ClientIfHandle: Any, nAsychDelay: int, pszMessage: str) -> int:
    Async = RPC_ASYNC_STATE()

    # Initialize the handle.
    status = RpcAsyncInitializeHandle(Async, sizeof(RPC_ASYNC_STATE))
    if status:
        print(f"RpcAsyncInitializeHandle failed: 0x{status:x}")
        return status

    Async.UserInfo = None
    Async.NotificationType = RpcNotificationTypeEvent

    Async.u.hEvent = CreateEvent(None, False, False, None)
    if not Async.u.hEvent:
        print("CreateEvent failed")
        return 1

    # Call an asynchronous RPC routine here
    try:  # RpcTryExcept
        print("\nCalling the remote procedure 'AsyncFunc'")
        AsyncFunc(Async, AsyncRPC_ClientIfHandle, nAsychDelay)
    except RpcException:  # RpcExcept(1)
        ulCode = RpcExceptionCode()
        print(f"AsyncFunc: Run time reported exception 0x{ulCode:x} = {ulCode}")
        # No completion notification follows an exception raised by the call itself.
        return ulCode

    # Call a synchronous routine while
    # the asynchronous procedure is still running
    try:  # RpcTryExcept
        print("\nCalling the remote procedure 'NonAsyncFunc'")
        NonAsyncFunc(AsyncRPC_ClientIfHandle, pszMessage)
        print("While 'AsyncFunc' is running asynchronously,\n"
              "we still can send message to the server in the mean time.\n",
              file=sys.stderr)
    except RpcException:  # RpcExcept(1)
        ulCode = RpcExceptionCode()
        print(f"NonAsyncFunc: Run time reported exception 0x{ulCode:x} = {ulCode}")

    # The page stops here; the rest of the flow waits for the event and collects the reply.
    if WaitForSingleObject(Async.u.hEvent, INFINITE) != WAIT_OBJECT_0:
        print("WaitForSingleObject failed")
        return 1
    status, _reply = RpcAsyncCompleteCall(Async, None)  # AsyncFunc is void: no reply
    if status:
        print(f"AsyncFunc: RpcAsyncCompleteCall returned 0x{status:x} = {status}")
        return status
    print("AsyncFunc completed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000))
