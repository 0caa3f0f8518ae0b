"""String bindings: parse/compose round trips, MS examples, escapes, invalid inputs."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcerpc import status
from dcerpc.errors import RpcError
from dcerpc.runtime import NCACN_IP_TCP, NCACN_NP, NCALRPC, StringBinding
from dcerpc.runtime.binding import PROTSEQ_TOWER_FLOORS

OBJ = uuid.UUID("00000000-0000-0000-c000-000000000046")

# text -> (object_uuid, protseq, network_addr, endpoint, options)
PARSED = {
    # DESIGN.md / impacket style
    "ncacn_ip_tcp:127.0.0.1[4747]": (None, NCACN_IP_TCP, "127.0.0.1", "4747", ()),
    # MS "String Binding" network address examples
    "ncacn_ip_tcp:128.10.2.30[135]": (None, NCACN_IP_TCP, "128.10.2.30", "135", ()),
    "ncacn_ip_tcp:anynode.microsoft.com": (None, NCACN_IP_TCP, "anynode.microsoft.com", "", ()),
    "ncalrpc:thismachine[my_endpoint]": (None, NCALRPC, "thismachine", "my_endpoint", ()),
    "ncalrpc:[my_endpoint]": (None, NCALRPC, "", "my_endpoint", ()),
    "ncacn_ip_tcp:": (None, NCACN_IP_TCP, "", "", ()),
    # IPv6: everything between the first ':' and '[' is the address, no brackets
    "ncacn_ip_tcp:::1[135]": (None, NCACN_IP_TCP, "::1", "135", ()),
    "ncacn_ip_tcp:fe80::1%eth0[49152]": (None, NCACN_IP_TCP, "fe80::1%eth0", "49152", ()),
    "ncacn_ip_tcp:\\:\\:1[135]": (None, NCACN_IP_TCP, "::1", "135", ()),  # Windows' own form
    # Wine's tests, which also run on Windows: '\' escapes, so "\p" is "p"
    "00000000-0000-0000-c000-000000000046@ncacn_np:.[endpoint=\\pipe\\test]":
        (OBJ, NCACN_NP, ".", "pipetest", ()),
    "00000000-0000-0000-c000-000000000046@ncacn_np:.[\\pipe\\test]":
        (OBJ, NCACN_NP, ".", "pipetest", ()),
    "ncacn_np:.[endpoint=test]": (None, NCACN_NP, ".", "test", ()),
    "ncacn_np:.[\\\\pipe\\\\wine_rpc_test]": (None, NCACN_NP, ".", "\\pipe\\wine_rpc_test", ()),
    "ncacn_np:\\\\\\\\myotherserver[\\\\pipe\\\\epmapper]":
        (None, NCACN_NP, "\\\\myotherserver", "\\pipe\\epmapper", ()),
    # options (MS "Using transport-level security on the client")
    "ncacn_np:srv[\\\\pipe\\\\x,Security=Impersonation Dynamic False]":
        (None, NCACN_NP, "srv", "\\pipe\\x", (("Security", "Impersonation Dynamic False"),)),
    "ncalrpc:[ep,Security=Identification Dynamic True,x=1]":
        (None, NCALRPC, "", "ep", (("Security", "Identification Dynamic True"), ("x", "1"))),
    "ncacn_ip_tcp:h[a=b=c]": (None, NCACN_IP_TCP, "h", "", (("a", "b=c"),)),
    "ncacn_ip_tcp:h[a=1,endpoint=99]": (None, NCACN_IP_TCP, "h", "99", (("a", "1"),)),
    "ncacn_ip_tcp:h[]": (None, NCACN_IP_TCP, "h", "", ()),
    # escapes of every delimiter
    "ncacn_ip_tcp:a\\@b\\[c\\]d[e\\,f\\=g\\]h,k\\=1=v\\,2]":
        (None, NCACN_IP_TCP, "a@b[c]d", "e,f=g]h", (("k=1", "v,2"),)),
    "6b29fc40-ca47-1067-b31d-00dd010662da@ncacn_ip_tcp:h[1]":
        (uuid.UUID("6b29fc40-ca47-1067-b31d-00dd010662da"), NCACN_IP_TCP, "h", "1", ()),
}


@pytest.mark.parametrize(("text", "expected"), PARSED.items(), ids=list(PARSED))
def test_parse(text: str, expected: tuple[object, ...]) -> None:
    b = StringBinding.parse(text)
    assert (b.object_uuid, b.protseq, b.network_addr, b.endpoint, b.options) == expected
    assert StringBinding.parse(str(b)) == b


@pytest.mark.parametrize("text", [
    "ncacn_ip_tcp:127.0.0.1[4747]",
    "ncacn_ip_tcp:::1[135]",
    "ncalrpc:[my_endpoint]",
    "00000000-0000-0000-c000-000000000046@ncacn_np:.[\\\\pipe\\\\x]",
    "ncacn_np:srv[\\\\pipe\\\\x,Security=Impersonation Dynamic False]",
    "ncacn_ip_tcp:a\\@b\\[c\\]d[e\\,f\\=g\\]h,k\\=1=v\\,2]",
])
def test_canonical_strings_compose_to_themselves(text: str) -> None:
    assert str(StringBinding.parse(text)) == text


def test_compose_matches_windows_for_named_pipes() -> None:
    # RpcStringBindingCompose(NULL, "ncacn_np", ".", "\\pipe\\wine_rpc_test", NULL) on
    # Windows gives "ncacn_np:.[\\\\pipe\\\\wine_rpc_test]" (Wine's rpc.c test).
    b = StringBinding.compose(None, "ncacn_np", ".", "\\pipe\\wine_rpc_test", None)
    assert str(b) == "ncacn_np:.[\\\\pipe\\\\wine_rpc_test]"


def test_compose_with_options_string_and_object() -> None:
    b = StringBinding.compose(str(OBJ), "ncalrpc", None, "ep", "Security=Anonymous Static True")
    assert b.object_uuid == OBJ and b.option("security") == "Anonymous Static True"
    assert str(b) == f"{OBJ}@ncalrpc:[ep,Security=Anonymous Static True]"
    with pytest.raises(RpcError):
        StringBinding.compose(None, "ncalrpc", None, None, "no_equals_sign")


def test_constructor_normalises() -> None:
    b = StringBinding("ncacn_ip_tcp", "h", "1", {"a": "b"}, str(OBJ))  # type: ignore[arg-type]
    assert b.options == (("a", "b"),) and b.object_uuid == OBJ
    assert hash(b) == hash(StringBinding.parse(str(b)))


def test_endpoint_is_not_an_option() -> None:
    with pytest.raises(RpcError):
        StringBinding("ncalrpc", options=(("endpoint", "x"),))


def test_port_and_with_endpoint() -> None:
    b = StringBinding.parse("ncacn_ip_tcp:127.0.0.1")
    assert b.port is None
    b = b.with_endpoint(4747)
    assert b.port == 4747 and str(b) == "ncacn_ip_tcp:127.0.0.1[4747]"
    assert StringBinding.parse("ncalrpc:[4747]").port is None
    for bad in ("ncacn_ip_tcp:h[http]", "ncacn_ip_tcp:h[65536]", "ncacn_ip_tcp:h[-1]"):
        with pytest.raises(RpcError) as info:
            _ = StringBinding.parse(bad).port
        assert info.value.status == status.RPC_S_INVALID_ENDPOINT_FORMAT


def test_tower_floor_table() -> None:
    # protocol-digest §6.1: ncacn_ip_tcp floors 3-5 are CO RPC, TCP port, IPv4 host.
    assert PROTSEQ_TOWER_FLOORS[NCACN_IP_TCP] == (0x0B, 0x07, 0x09)
    assert PROTSEQ_TOWER_FLOORS[NCALRPC][0] == 0x0C


INVALID = {
    "no colon": "ncacn_ip_tcp",
    "uuid but no colon": "00000000-0000-0000-c000-000000000046@ncacn_np",
    "empty protseq": ":127.0.0.1",
    "bad protseq char": "ncacn ip:h",
    "bracketed IPv6 (text after ']')": "ncacn_ip_tcp:[::1][135]",
    "unclosed bracket": "ncacn_ip_tcp:h[135",
    "stray close bracket": "ncacn_ip_tcp:h]",
    "text after bracket": "ncacn_ip_tcp:h[135]x",
    "two endpoints": "ncacn_ip_tcp:h[1,2]",
    "endpoint twice": "ncacn_ip_tcp:h[1,endpoint=2]",
    "lone trailing escape": "ncacn_ip_tcp:h\\",
    "unescaped @ in address": "ncacn_ip_tcp:user@host",
    "NUL": "ncacn_ip_tcp:h\0[1]",
    "empty": "",
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_string_bindings(text: str) -> None:
    with pytest.raises(RpcError) as info:
        StringBinding.parse(text)
    assert info.value.status == status.RPC_S_INVALID_STRING_BINDING
    assert str(info.value) != status.status_name(status.RPC_S_INVALID_STRING_BINDING)


@pytest.mark.parametrize("text", [
    "{00000000-0000-0000-c000-000000000046}@ncacn_np:.[x]",  # Windows rejects braces too
    "urn:uuid:00000000-0000-0000-c000-000000000046@ncacn_np:.",
    "not-a-uuid@ncacn_ip_tcp:h",
    "0000000000000000c000000000000046@ncacn_ip_tcp:h",
])
def test_invalid_object_uuid(text: str) -> None:
    with pytest.raises(RpcError) as info:
        StringBinding.parse(text)
    assert info.value.status in (status.RPC_S_INVALID_STRING_UUID,
                                 status.RPC_S_INVALID_STRING_BINDING)


def test_bad_object_uuid_status_is_windows_one() -> None:
    with pytest.raises(RpcError) as info:
        StringBinding.parse("{00000000-0000-0000-c000-000000000046}@ncacn_np:.[x]")
    assert info.value.status == status.RPC_S_INVALID_STRING_UUID


def test_non_text_input() -> None:
    with pytest.raises(RpcError):
        StringBinding.parse(b"ncacn_ip_tcp:h")  # type: ignore[arg-type]


component = st.text(st.characters(blacklist_characters="\0", max_codepoint=0x24F), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), component, component,
       st.lists(st.tuples(component, component), max_size=3), st.none() | st.uuids())
def test_compose_parse_round_trip(protseq: str, addr: str, endpoint: str,
                                  options: list[tuple[str, str]], obj: uuid.UUID | None) -> None:
    # An endpoint of "" with options is indistinguishable from no endpoint: fine.
    b = StringBinding(protseq, addr, endpoint, tuple(options), obj)
    text = str(b)
    assert StringBinding.parse(text) == b
    assert str(StringBinding.parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("ab:@[]\\,=_1"), max_size=20))
def test_parse_never_raises_anything_but_rpc_error(text: str) -> None:
    try:
        b = StringBinding.parse(text)
    except RpcError as exc:
        assert exc.status in (status.RPC_S_INVALID_STRING_BINDING,
                              status.RPC_S_INVALID_STRING_UUID)
    else:
        assert StringBinding.parse(str(b)) == b
