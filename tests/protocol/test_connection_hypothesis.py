"""Hypothesis over (state, input) sequences for both cores (h2 test_state_machines style).

Whatever the sequence of peer PDUs, garbage, EOF, timers and local intents:
* only RemoteProtocolError (peer input) or LocalProtocolError (our misuse) ever escapes;
* error ⇒ closed, and an errored connection keeps refusing with RemoteProtocolError;
* whatever a core wants to send decodes as well-formed PDUs;
* the call tables stay within their limits.
"""

from __future__ import annotations

import random

from conn_helpers import IFACE, IFACE2, UNKNOWN, elem, make_policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dcerpc.errors import LocalProtocolError, RemoteProtocolError
from dcerpc.protocol import constants as c
from dcerpc.protocol.connection import (
    ClientConnection,
    ConnectionConfig,
    ConnectionState,
    ServerConnection,
)
from dcerpc.protocol.events import (
    NEED_DATA,
    CallOrphaned,
    CancelTimedOut,
    ConnectionClosed,
    FaultReceived,
    RequestReceived,
    ResponseReceived,
)
from dcerpc.protocol.pdu import (
    AlterContext,
    AlterContextResp,
    Auth3,
    AuthVerifier,
    Bind,
    BindAck,
    BindNak,
    CoCancel,
    ContextResult,
    Fault,
    Orphaned,
    PduReader,
    Request,
    Response,
    Shutdown,
    decode_pdu,
)

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CONFIG = ConnectionConfig(max_concurrent_calls=3, max_fragments=4, max_stub_size=64,
                          bind_timeout=5.0, idle_timeout=7.0, cancel_timeout=2.0)
call_ids = st.integers(min_value=0, max_value=4)
flags = st.sampled_from([3, 1, 0, 2, 3 | 4, 3 | 0x10, 3 | 0x40, 1 | 4, 0xFF])
stubs = st.binary(max_size=40)
ctx_ids = st.integers(min_value=0, max_value=3)
contexts = st.lists(st.builds(elem, ctx_ids, st.sampled_from([IFACE, IFACE2, UNKNOWN])),
                    min_size=1, max_size=3).map(tuple)
accept = ContextResult(transfer_syntax=c.NDR_SYNTAX)

peer_pdus = st.one_of(
    st.builds(Bind, call_id=call_ids, pfc_flags=flags, p_context_elem=contexts,
              assoc_group_id=st.sampled_from([0, 0x1234, 7])),
    st.builds(AlterContext, call_id=call_ids, p_context_elem=contexts),
    st.builds(Request, call_id=call_ids, pfc_flags=flags, p_cont_id=ctx_ids,
              opnum=st.integers(0, 2), stub_data=stubs,
              alloc_hint=st.sampled_from([0, 10, 1 << 30])),
    st.builds(CoCancel, call_id=call_ids),
    st.builds(Orphaned, call_id=call_ids),
    st.builds(Auth3, call_id=call_ids,
              auth_verifier=st.just(AuthVerifier(auth_value=b"abcd"))),
    st.builds(Response, call_id=call_ids, pfc_flags=flags, stub_data=stubs,
              alloc_hint=st.sampled_from([0, 10, 1 << 30])),
    st.builds(Fault, call_id=call_ids, status=st.sampled_from([0x1C010003, 5])),
    st.builds(BindAck, call_id=call_ids, pfc_flags=flags,
              p_result_list=st.lists(st.just(accept), min_size=1, max_size=3).map(tuple)),
    st.builds(BindNak, call_id=call_ids),
    st.builds(AlterContextResp, call_id=call_ids,
              p_result_list=st.lists(st.just(accept), min_size=1, max_size=2).map(tuple)),
    st.builds(Shutdown),
).map(lambda p: ("data", p.encode()))

raw_input = st.one_of(
    peer_pdus,
    st.binary(min_size=1, max_size=40).map(lambda b: ("data", b)),
    st.just(("eof", b"")),
    st.floats(min_value=0, max_value=20).map(lambda t: ("timer", t)),
)
# Mostly-valid client traffic for a bound server: calls, fragments, cancels, orphans.
valid_to_server = st.one_of(
    st.builds(Request, call_id=call_ids, pfc_flags=st.sampled_from([3, 3, 1, 0, 2, 2 | 4]),
              p_cont_id=st.sampled_from([0, 0, 1, 3]), opnum=st.just(1), stub_data=stubs),
    st.builds(CoCancel, call_id=call_ids),
    st.builds(Orphaned, call_id=call_ids),
    st.builds(AlterContext, call_id=call_ids,
              p_context_elem=st.just((elem(2, IFACE2),))),
).map(lambda p: ("data", p.encode()))
# Mostly-valid server traffic for a bound client (its calls get ids 2, 3, …).
client_call_ids = st.integers(min_value=2, max_value=6)
valid_to_client = st.one_of(
    st.builds(Response, call_id=client_call_ids, pfc_flags=st.sampled_from([3, 3, 1, 0, 2]),
              stub_data=stubs),
    st.builds(Fault, call_id=client_call_ids, status=st.just(0x1C010002)),
    st.builds(Shutdown),
).map(lambda p: ("data", p.encode()))

server_intents = st.one_of(
    st.tuples(st.just("respond"), call_ids, stubs),
    st.tuples(st.just("fault"), call_ids, st.just(b"")),
    st.tuples(st.just("shutdown"), call_ids, st.just(b"")),
).map(lambda t: ("intent", t))
client_intents = st.one_of(
    st.tuples(st.just("bind"), contexts),
    st.tuples(st.just("alter"), contexts),
    st.tuples(st.just("request"), ctx_ids, stubs),
    st.tuples(st.just("cancel"), call_ids),
    st.tuples(st.just("orphan"), call_ids),
).map(lambda t: ("intent", t))


def check_output(data: bytes) -> None:
    reader = PduReader()
    reader.receive_data(data)
    for raw in reader:
        decode_pdu(raw)
    assert reader.buffered == 0


def step(conn: ServerConnection | ClientConnection, kind: str, arg: object,
         intent: object) -> None:
    if kind == "data":
        conn.receive_data(arg, now=1.0)  # type: ignore[arg-type]
    elif kind == "eof":
        conn.receive_data(b"")
    elif kind == "timer":
        conn.handle_timer(arg)  # type: ignore[arg-type]
    else:
        intent(conn, arg)
    while conn.next_event() is not NEED_DATA:
        pass


def server_intent(srv: ServerConnection, arg: tuple) -> None:
    what, call_id, stub = arg
    if what == "respond":
        srv.send_response(call_id, stub)
    elif what == "fault":
        srv.send_fault(call_id, 5)
    else:
        srv.shutdown()


def client_intent(cli: ClientConnection, arg: tuple) -> None:
    what = arg[0]
    if what == "bind":
        cli.bind(arg[1], now=0.0)
    elif what == "alter":
        cli.alter_context(arg[1])
    elif what == "request":
        cli.send_request(arg[1], 0, arg[2], check_context=False, now=1.0)
    elif what == "cancel":
        cli.cancel(arg[1], now=1.0)
    else:
        cli.orphan(arg[1])


def run(conn: ServerConnection | ClientConnection, steps: list, intent: object) -> None:
    errored = False
    for kind, arg in steps:
        state_before = conn.state
        try:
            step(conn, kind, arg, intent)
        except RemoteProtocolError:
            errored = True
            assert conn.state is ConnectionState.ERROR and conn.closed  # error ⇒ closed
        except LocalProtocolError:
            assert kind == "intent" and conn.state is state_before
        check_output(conn.data_to_send())
        if errored:
            assert conn.state is ConnectionState.ERROR
            try:
                conn.next_event()
            except RemoteProtocolError:
                pass
            else:
                raise AssertionError("an errored connection produced an event")
        if conn.closed:
            assert conn.get_timer() is None
        assert conn.calls_in_progress <= CONFIG.max_concurrent_calls


@SETTINGS
@given(st.lists(st.one_of(raw_input, server_intents), max_size=25))
def test_server_any_sequence(steps: list) -> None:
    run(ServerConnection(make_policy(), CONFIG, now=0.0), steps, server_intent)


@SETTINGS
@given(st.lists(st.one_of(raw_input, client_intents), max_size=25))
def test_client_any_sequence(steps: list) -> None:
    run(ClientConnection(CONFIG), steps, client_intent)


@SETTINGS
@given(contexts, st.lists(st.one_of(raw_input, server_intents), max_size=20))
def test_server_after_random_bind(ctxs: tuple, steps: list) -> None:
    srv = ServerConnection(make_policy(), CONFIG, now=0.0)
    run(srv, [("data", Bind(pfc_flags=0x13, p_context_elem=ctxs).encode()), *steps],
        server_intent)


@SETTINGS
@given(st.booleans(), st.lists(st.one_of(valid_to_server, valid_to_server, server_intents,
                                         server_intents, raw_input), max_size=30))
def test_bound_server_mostly_valid_traffic(mpx: bool, steps: list) -> None:
    srv = ServerConnection(make_policy(), CONFIG, now=0.0)
    bind = Bind(pfc_flags=0x13 if mpx else 0x03, p_context_elem=(elem(0), elem(1, IFACE2)))
    run(srv, [("data", bind.encode()), *steps], server_intent)


@SETTINGS
@given(st.lists(st.one_of(valid_to_client, valid_to_client, client_intents, client_intents,
                          raw_input), max_size=30))
def test_bound_client_mostly_valid_traffic(steps: list) -> None:
    cli = ClientConnection(CONFIG)
    cli.bind([elem(0), elem(1, IFACE2)])
    ack = BindAck(call_id=1, pfc_flags=0x13, p_result_list=(accept, accept))
    run(cli, [("data", ack.encode()), *steps], client_intent)


# --------------------------------------------------------------------------- pair machine
class PairMachine(RuleBasedStateMachine):
    """A client and a server core joined in memory, driven by random intents, random
    chunking, timers and the occasional corrupted octet.

    Invariants: error ⇒ closed on either side; every call the client started ends exactly
    once — by a response, a fault, a cancel time-out, an orphan, or in the pending list of
    the connection's end; the server never has more calls than its limit.
    """

    def __init__(self) -> None:
        super().__init__()
        config = ConnectionConfig(max_xmit_frag=1432, max_recv_frag=1432,
                                  max_concurrent_calls=6, cancel_timeout=3.0)
        self.client = ClientConnection(config)
        self.server = ServerConnection(make_policy(), config, now=0.0)
        self.started: set[int] = set()
        self.ended: list[int] = []
        self.server_calls: list[int] = []
        self.now = 0.0
        self.broken = False
        self.client_failed = False
        # The bind exchange itself is covered elsewhere; start from a bound pair.
        self.client.bind([elem(0), elem(1, IFACE2)], features=1, now=0.0)
        self.to_server(random.Random(0))
        self.to_client(random.Random(0))
        assert self.client.state is self.server.state is ConnectionState.BOUND

    def _pump(self, conn: ServerConnection | ClientConnection, data: bytes,
              rng: random.Random) -> list:
        events = []
        try:
            pos = 0
            while pos < len(data):
                n = rng.randint(1, 3000)
                conn.receive_data(data[pos:pos + n], now=self.now)
                pos += n
            while (ev := conn.next_event()) is not NEED_DATA:
                events.append(ev)
        except RemoteProtocolError:
            assert conn.state is ConnectionState.ERROR and conn.closed
            # The core raises again on every later call; the engine fails the pending
            # calls once, on the first error.
            if conn is self.client and not self.client_failed:
                self.client_failed = True
                self.ended += conn.pending_calls
            self.broken = True
        return events

    def _client_events(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, FaultReceived) and ev.association:
                continue  # ends no call
            if isinstance(ev, ResponseReceived | FaultReceived | CancelTimedOut):
                assert ev.call_id in self.started
                self.ended.append(ev.call_id)
            elif isinstance(ev, ConnectionClosed):
                self.ended += ev.pending_calls

    @rule(rng=st.randoms(use_true_random=False))
    def to_server(self, rng: random.Random) -> None:
        for ev in self._pump(self.server, self.client.data_to_send(), rng):
            if isinstance(ev, RequestReceived) and not ev.maybe:
                self.server_calls.append(ev.call_id)
            elif isinstance(ev, CallOrphaned) and ev.call_id in self.server_calls:
                self.server_calls.remove(ev.call_id)

    @rule(rng=st.randoms(use_true_random=False))
    def to_client(self, rng: random.Random) -> None:
        self._client_events(self._pump(self.client, self.server.data_to_send(), rng))

    @precondition(lambda self: self.client.state is ConnectionState.BOUND)
    @rule(p_cont_id=st.sampled_from([0, 1, 1, 7]), size=st.sampled_from([0, 5, 3000, 9000]))
    def send_request(self, p_cont_id: int, size: int) -> None:
        if self.client.calls_in_progress >= 6:
            return
        call_id = self.client.send_request(p_cont_id, 1, bytes(size), check_context=False)
        self.started.add(call_id)

    @precondition(lambda self: self.server_calls)
    @rule(data=st.data(), fault=st.booleans())
    def answer(self, data: st.DataObject, fault: bool) -> None:
        call_id = data.draw(st.sampled_from(self.server_calls))
        self.server_calls.remove(call_id)
        if fault:
            self.server.send_fault(call_id, 0x1C010002, did_not_execute=True)
        else:
            self.server.send_response(call_id, bytes(range(256)) * 10)

    @precondition(lambda self: self.started)
    @rule(data=st.data(), orphan=st.booleans())
    def cancel_or_orphan(self, data: st.DataObject, orphan: bool) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.started)))
        if orphan:
            if self.client.orphan(call_id):
                self.ended.append(call_id)
        else:
            self.client.cancel(call_id, now=self.now)

    @rule(dt=st.floats(min_value=0.5, max_value=5))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        for conn in (self.client, self.server):
            conn.handle_timer(self.now)
        self._client_events(list(iter(self.client.next_event, NEED_DATA)))

    @rule(pos=st.integers(min_value=0, max_value=31), octet=st.integers(0, 255),
          dice=st.integers(0, 7))
    def corrupt_client_stream(self, pos: int, octet: int, dice: int) -> None:
        data = bytearray(self.client.data_to_send())
        if data and dice == 0:  # rare, so that most runs get far into the protocol
            data[pos % min(len(data), 32)] = octet  # aim at the first PDU header
        self.client._out[:0] = data  # put the (maybe) damaged octets back in front

    @invariant()
    def error_means_closed(self) -> None:
        for conn in (self.client, self.server):
            if conn.state is ConnectionState.ERROR:
                assert conn.closed and conn.get_timer() is None

    @invariant()
    def calls_end_at_most_once(self) -> None:
        assert len(self.ended) == len(set(self.ended))
        assert set(self.ended) <= self.started

    @invariant()
    def server_within_limits(self) -> None:
        assert self.server.calls_in_progress <= 6

    def teardown(self) -> None:
        # Every call ends exactly once: whatever is still open ends with the connection.
        if not self.client.closed:
            self.client.receive_data(b"")
            self._client_events(list(iter(self.client.next_event, NEED_DATA)))
        elif self.client.state is ConnectionState.ERROR and not self.broken:
            self.ended += self.client.pending_calls
        assert sorted(self.ended) == sorted(self.started)


PairMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                         deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestPairMachine = PairMachine.TestCase
