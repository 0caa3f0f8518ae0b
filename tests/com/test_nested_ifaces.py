"""Interface pointers nested in structures, arrays and unique pointers, both ways."""

from __future__ import annotations

import asyncio

from dcerpc.com import CoCreateInstance, ComPtr
from dcerpc.com import aio as com_aio
from dcerpc.com._marshal import has_iface, op_shape, walk_ifaces
from dcerpc.com._orpc import orpc_interface

from .events_impl import CLSID_Events, Sink, events_idl


def test_shapes_are_found() -> None:
    wire = orpc_interface(events_idl.IEvents)
    many = op_shape(wire.operation("SubscribeMany"))
    assert [i for i, _ in many.in_nested] == [2] and not many.in_ifaces
    assert [i for i, _ in op_shape(wire.operation("GetMany")).out_nested] == [1]
    assert not op_shape(wire.operation("Subscribe")).in_nested
    assert has_iface(events_idl.SINKINFO.__ndr__)


def test_walk_copies_structures() -> None:
    info = events_idl.SINKINFO(cookie=1, sink=b"x")
    out = walk_ifaces(events_idl.SINKINFO.__ndr__, info, lambda d, v, sc: v + b"y", {})
    assert out.sink == b"xy" and out.cookie == 1
    assert info.sink == b"x"  # the caller's value is left alone


def test_struct_array_unique_in(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    a, b, c = Sink(), Sink(), Sink()
    info = events_idl.SINKINFO(cookie=3, sink=a)
    ev.SubscribeInfo(info)  # a struct behind a [ref] pointer
    assert a.got == [3] and info.sink is a
    ev.SubscribeMany(2, [b, c])  # a conformant array of interface pointers
    assert b.got == [0] and c.got == [1]
    ev.SubscribeMaybe(None)  # a NULL unique pointer
    ev.SubscribeMaybe(events_idl.SINKINFO(cookie=9, sink=a))  # a unique pointer
    assert a.got == [3, 9]
    assert ev.Fire(5) == 0 and (a.got[-1], b.got[-1], c.got[-1]) == (5, 5, 5)
    ev.Unsubscribe()
    ev.Release()


def test_struct_and_array_out(events_server: str) -> None:
    ev = CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
    a = Sink()
    ev.Subscribe(a, 1)
    info = ev.GetInfo()
    assert info.cookie == 1 and info.sink is a  # our own object back, in a struct
    count, sinks = ev.GetMany()
    assert count == 2 and sinks[0] is a
    theirs = sinks[1]
    assert isinstance(theirs, ComPtr)  # the server's own sink: a proxy
    theirs.Notify(4)
    assert theirs.Release() == 0
    ev.Unsubscribe()
    ev.Release()


def test_async_nested(events_server: str) -> None:
    async def main() -> None:
        ev = await com_aio.CoCreateInstance(CLSID_Events, events_server, events_idl.IEvents)
        a = Sink()
        await ev.SubscribeInfo(events_idl.SINKINFO(cookie=2, sink=a))
        assert a.got == [2]
        count, sinks = await ev.GetMany()
        assert count == 2 and sinks[0] is a and isinstance(sinks[1], com_aio.AsyncComPtr)
        await sinks[1].Notify(1)
        await sinks[1].Release()
        await ev.Unsubscribe()
        await ev.Release()

    asyncio.run(asyncio.wait_for(main(), 30.0))
