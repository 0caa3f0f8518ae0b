"""Fuzzing the cores with mutated conversations: flipped, dropped, duplicated and
truncated octets of valid client and server streams, in random chunkings.

Each run must end in events, NEED_DATA, a close, or RemoteProtocolError — never another
exception — and whatever a core sends back must decode as well-formed PDUs.
"""

from __future__ import annotations

import random

import pytest
from conn_helpers import IFACE2, Pair, drain, elem, make_policy
from hypothesis import given, settings
from hypothesis import strategies as st

from dcerpc.errors import RemoteProtocolError
from dcerpc.protocol.connection import (
    ClientConnection,
    ConnectionConfig,
    ConnectionState,
    ServerConnection,
)
from dcerpc.protocol.pdu import PduReader, decode_pdu

CONFIG = ConnectionConfig(max_stub_size=20_000, max_fragments=64)


def conversation() -> tuple[bytes, bytes]:
    """A valid client stream and the server's answers to it."""
    pair = Pair(ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432))
    pair.client.bind([elem(0), elem(1, IFACE2)], features=3)
    client_stream = pair.client.data_to_send()
    pair.server.receive_data(client_stream)
    drain(pair.server)
    server_stream = pair.server.data_to_send()
    pair.client.receive_data(server_stream)
    drain(pair.client)
    for i in range(4):
        pair.client.send_request(i % 2, i, bytes(range(256)) * (i * 3))
    pair.client.cancel(3)
    pair.client.orphan(4)
    pair.client.alter_context([elem(2)])
    out = pair.client.data_to_send()
    client_stream += out
    pair.server.receive_data(out)
    for ev in drain(pair.server):
        if hasattr(ev, "opnum"):
            pair.server.send_response(ev.call_id, ev.stub[::-1])
    pair.server.shutdown()
    server_stream += pair.server.data_to_send()
    return client_stream, server_stream


CLIENT_STREAM, SERVER_STREAM = conversation()


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[pos] = rng.randrange(256)
        elif op == 1:
            del buf[pos:pos + rng.randint(1, 32)]
        elif op == 2:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 3:
            n = rng.randint(1, 64)
            buf[pos:pos] = buf[pos:pos + n]
        else:
            del buf[rng.randrange(len(buf) + 1):]
    return bytes(buf)


def feed_all(conn: ServerConnection | ClientConnection, data: bytes, rng: random.Random
             ) -> None:
    pos = 0
    try:
        while pos < len(data):
            n = rng.randint(1, 2000)
            conn.receive_data(data[pos:pos + n])
            pos += n
            drain(conn)
        conn.receive_data(b"")
        drain(conn)
    except RemoteProtocolError:
        assert conn.state is ConnectionState.ERROR
    out = conn.data_to_send()
    reader = PduReader()
    reader.receive_data(out)
    for raw in reader:
        decode_pdu(raw)
    assert reader.buffered == 0
    assert conn.closed


def client_for_replay() -> ClientConnection:
    cli = ClientConnection(ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432))
    cli.bind([elem(0), elem(1, IFACE2)], features=3)
    return cli


def test_unmutated_streams_replay_cleanly() -> None:
    srv = ServerConnection(make_policy(), CONFIG)
    feed_all(srv, CLIENT_STREAM, random.Random(0))
    assert srv.state is ConnectionState.CLOSED


@pytest.mark.parametrize("seed", range(300))
def test_mutated_client_stream_against_server(seed: int) -> None:
    rng = random.Random(seed)
    feed_all(ServerConnection(make_policy(), CONFIG), mutate(CLIENT_STREAM, rng), rng)


@pytest.mark.parametrize("seed", range(150))
def test_mutated_server_stream_against_client(seed: int) -> None:
    rng = random.Random(seed)
    feed_all(client_for_replay(), mutate(SERVER_STREAM, rng), rng)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.randoms(use_true_random=False))
def test_random_bytes(data: bytes, rng: random.Random) -> None:
    feed_all(ServerConnection(make_policy(), CONFIG), data, rng)
    feed_all(client_for_replay(), data, rng)
