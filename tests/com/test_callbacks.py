"""The client as an object exporter: local COM objects passed to a server as [in]
interface pointers (callbacks), their identity, QI/Release and garbage collection."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dcerpc.com import CoCreateInstance, COMError, ComServer, IID_IUnknown, hresult
from dcerpc.com import aio as com_aio
from dcerpc.com.local import close_local_exporter, local_exporters, set_local_exporter

from .events_impl import CLSID_Events, Events, Sink, events_idl

BOUND = 30.0  # guards against a hang only


def test_callback_during_call_and_later_from_a_thread(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    sink = Sink()
    ev.Subscribe(sink, 7)
    assert sink.got == [7]  # called back while Subscribe was running
    [local] = local_exporters()
    # started lazily, listening where the server can reach it: loopback, not 0.0.0.0
    assert [b.network_addr for b in local.bindings] == ["127.0.0.1"]
    server_obj = Events.instances[-1]
    sink.event.clear()
    ev.FireLater(9)
    assert server_obj.fired.wait(BOUND) and not server_obj.errors
    assert sink.got == [7, 9]
    assert ev.Fire(11) == 0 and sink.got == [7, 9, 11]
    assert ev.Unsubscribe() == 0  # the server's last Release
    assert local.exporter.objects == {}  # RemRelease came back: disconnected
    ev.Release()


def test_identity_and_own_object_back(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    sink, other = Sink(), Sink()
    assert ev.Same(sink, sink) == 1  # one OID/IPID, one proxy on the server
    assert ev.Same(sink, other) == 0
    ev.Subscribe(sink, 1)
    assert ev.GetSink() is sink  # our own object comes back as itself
    [local] = local_exporters()
    oids = {e.oid for e in local.exporter.objects.values() if e.obj is sink}
    assert len(oids) == 1
    ev.Unsubscribe()
    ev.Release()


def test_in_pointers_released_when_the_call_returns(events_server: str) -> None:
    """COM's stub releases [in] interface pointers after the call: a pointer the server
    did not AddRef comes back to the client's exporter at once (RemRelease), without
    waiting for the ping timeout; one it AddRef'd stays until it releases it."""
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    kept, passing = Sink(), Sink()
    assert ev.Same(passing, passing) == 1
    [local] = local_exporters()

    def still_exported() -> bool:
        return any(e.obj is passing for e in local.exporter.objects.values())

    # released by the stub right after the call, not collected by ping expiry (the
    # server's proxy would ping for 120 s x 3 first)
    deadline = time.monotonic() + BOUND
    while still_exported() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not still_exported()
    ev.Subscribe(kept, 3)  # the server AddRefs what it keeps
    assert [e.obj for e in local.exporter.objects.values()] == [kept]
    assert ev.Fire(4) == 0 and kept.got == [3, 4]
    ev.Unsubscribe()
    ev.Release()


def test_qi_and_release_through_the_server(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    sink = Sink()
    ev.Subscribe(sink, 1)
    [local] = local_exporters()
    assert ev.QiRelease() == 1  # RemQueryInterface(IUnknown) then back to ICallback
    (ent,) = local.exporter.objects.values()
    assert set(ent.ipids) == {events_idl.ICallback.uuid, IID_IUnknown}
    assert ev.Fire(2) == 0 and sink.got == [1, 2]
    ev.Unsubscribe()
    assert local.exporter.objects == {}
    ev.Release()


def test_collected_when_the_server_stops_pinging(events_server: str) -> None:
    # the server's proxy pings every 120 s by default: far too late for this exporter
    set_local_exporter(ping_period=0.05, ping_count=2)
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    sink = Sink()
    ev.Subscribe(sink, 1)
    [local] = local_exporters()
    gone = threading.Event()
    local.exporter.on_disconnect = lambda obj: gone.set() if obj is sink else None
    assert gone.wait(BOUND)
    assert local.exporter.objects == {}
    assert ev.Fire(3) & 0xFFFFFFFF == hresult.RPC_E_DISCONNECTED  # the server's proxy is stale
    assert sink.got == [1]
    ev.Release()


def test_explicit_exporter_and_close(events_server: str) -> None:
    srv = set_local_exporter(["ncacn_ip_tcp:127.0.0.1[0]"])
    assert srv is not None and local_exporters() == [srv]
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    sink = Sink()
    ev.Subscribe(sink, 5)
    assert sink.got == [5] and len(srv.exporter.objects) == 1
    close_local_exporter()
    assert local_exporters() == []
    assert hresult.FAILED(ev.Fire(6))  # the exporter is gone
    assert sink.got == [5]
    ev.Release()


def test_not_a_com_object_is_refused(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    with pytest.raises(TypeError):
        ev.Subscribe(object(), 1)
    ev.Release()


def test_async_client_exports_too(events_server: str) -> None:
    async def main() -> None:
        ev = await com_aio.CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
        sink = Sink()
        await ev.Subscribe(sink, 4)
        assert sink.got == [4]
        assert await ev.GetSink() is sink
        assert await ev.Fire(8) == 0 and sink.got == [4, 8]
        assert await ev.Unsubscribe() == 0
        await ev.Release()

    asyncio.run(asyncio.wait_for(main(), BOUND))


def test_comerror_from_a_callback_reaches_the_server(events_server: str) -> None:
    class Failing(Sink):
        def Notify(self, n: int) -> None:
            raise COMError(hresult.E_FAIL)

    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    with pytest.raises(COMError) as info:
        ev.Subscribe(Failing(), 1)  # the server's cb.Notify raised, Subscribe failed
    assert info.value.hresult == hresult.E_FAIL  # a COMError in the server method
    ev.Release()


class AwaitingEvents(Events):
    """An ``async def`` method on the server's loop calls the sink back awaitably
    (``dcerpc.com.aio.AsyncComPtr`` over the [in] proxy), so the loop keeps serving
    other clients meanwhile."""

    async def Subscribe(self, cb, n):  # type: ignore[no-untyped-def]
        acb = com_aio.AsyncComPtr(cb)
        cb.AddRef()  # kept beyond the call (COM's rule for [in] pointers)
        self.sinks.append(cb)
        await acb.Notify(n)
        await acb.Notify(n + 1)


def test_async_server_method_calls_back_awaitably() -> None:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Events, AwaitingEvents)
    srv.start_background()
    try:
        ev = CoCreateInstance(CLSID_Events, str(srv.bindings[0]), events_idl.IEvents)
        sink = Sink()
        ev.Subscribe(sink, 5)
        assert sink.got == [5, 6]
        assert ev.Fire(7) == 0 and sink.got == [5, 6, 7]  # the kept proxy still works
        ev.Unsubscribe()
        ev.Release()
    finally:
        srv.stop_background(1.0)
        close_local_exporter()
