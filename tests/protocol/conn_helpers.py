"""Shared helpers for the connection tests: interfaces, a policy, and an in-memory link
that moves octets between a client and a server core (h11's ConnectionPair idea)."""

from __future__ import annotations

import random

from dcerpc.protocol.connection import (
    ClientConnection,
    ConnectionConfig,
    InterfacePolicy,
    ServerConnection,
)
from dcerpc.protocol.constants import NDR64_SYNTAX, NDR_SYNTAX, SyntaxId
from dcerpc.protocol.events import NEED_DATA, Event
from dcerpc.protocol.pdu import ContextElement

IFACE = SyntaxId.make("9f3c2a51-7d4e-4b8a-a1c2-5e6f7a8b9c0d", 1, 0)
IFACE2 = SyntaxId.make("12345778-1234-abcd-ef00-0123456789ab", 2, 1)
UNKNOWN = SyntaxId.make("00000000-1111-2222-3333-444444444444", 1, 0)


def make_policy() -> InterfacePolicy:
    policy = InterfacePolicy()
    policy.register(IFACE, "iface")
    policy.register(IFACE2, "iface2")
    return policy


def elem(p_cont_id: int, abstract: SyntaxId = IFACE,
         transfer: tuple[SyntaxId, ...] = (NDR_SYNTAX,)) -> ContextElement:
    return ContextElement(p_cont_id=p_cont_id, abstract_syntax=abstract,
                          transfer_syntaxes=transfer)


def drain(conn: ClientConnection | ServerConnection) -> list[Event]:
    out = []
    while (ev := conn.next_event()) is not NEED_DATA:
        out.append(ev)
    return out


class Pair:
    """A client and a server core joined by a fake link that can chop the stream."""

    def __init__(self, client_config: ConnectionConfig | None = None,
                 server_config: ConnectionConfig | None = None,
                 rng: random.Random | None = None, max_chunk: int | None = None,
                 client_auth: object = None, server_auth: object = None) -> None:
        self.client = ClientConnection(client_config, auth=client_auth)  # type: ignore[arg-type]
        self.server = ServerConnection(make_policy(), server_config,
                                       auth=server_auth)  # type: ignore[arg-type]
        self.rng, self.max_chunk = rng, max_chunk

    def _feed(self, conn: ClientConnection | ServerConnection, data: bytes) -> None:
        if not data:
            return  # b"" would mean EOF
        if self.rng is None:
            conn.receive_data(data)
            return
        pos = 0
        while pos < len(data):
            n = self.rng.randint(1, self.max_chunk or 4096)
            conn.receive_data(data[pos:pos + n])
            pos += n

    def to_server(self) -> list[Event]:
        self._feed(self.server, self.client.data_to_send())
        return drain(self.server)

    def to_client(self) -> list[Event]:
        self._feed(self.client, self.server.data_to_send())
        return drain(self.client)

    def bind(self, *elems: ContextElement, **kw: object) -> tuple[list[Event], list[Event]]:
        self.client.bind(elems or (elem(0),), **kw)  # type: ignore[arg-type]
        server_events = self.to_server()
        return server_events, self.to_client()


__all__ = ["IFACE", "IFACE2", "NDR64_SYNTAX", "UNKNOWN", "Pair", "drain", "elem",
           "make_policy"]
