"""String bindings: ``[objuuid@]protseq:network_addr[endpoint,option=value,…]``.

The syntax is Microsoft's ("String Binding", RpcStringBindingCompose/RpcStringBindingParse;
C706 appendix on string bindings). Rules, as Windows' rpcrt4 applies them (and Wine
mirrors, with tests run against Windows):

* ``\\`` escapes the next character anywhere, so ``\\\\`` is a backslash and
  ``ncacn_np:.[\\pipe\\x]`` names the endpoint ``pipex``: write ``[\\\\pipe\\\\x]``.
* The first unescaped ``@`` ends the object UUID, the first unescaped ``:`` ends the
  protocol sequence (so an IPv6 address needs no brackets: ``ncacn_ip_tcp:fe80::1[135]``;
  ``ncacn_ip_tcp:[::1][135]`` is *invalid*, there is text after the ``]``), and ``[`` …
  ``]`` hold the comma-separated endpoint and ``name=value`` options. The endpoint may also
  be given as ``endpoint=…``. The ``:`` is mandatory.
* Composing escapes ``\\ @ [ ]`` everywhere and also ``, =`` inside the brackets, so
  :meth:`StringBinding.parse` ``(str(b)) == b`` for every binding. ``:`` needs no escape
  after the protocol sequence and is left alone for readable IPv6 addresses (Windows
  escapes it; both forms parse the same).

Pure string handling: no I/O, no name resolution.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import status as _status
from ..errors import RpcError

__all__ = [
    "NCACN_IP_TCP",
    "NCACN_NP",
    "NCALRPC",
    "PROTSEQ_TOWER_FLOORS",
    "StringBinding",
]

NCACN_IP_TCP = "ncacn_ip_tcp"
NCACN_NP = "ncacn_np"
NCALRPC = "ncalrpc"

#: Tower protocol identifiers of the floors after the two UUID floors, per protocol
#: sequence (C706 appendix I, [MS-RPCE] 2.2.1.3; protocol-digest §6.1): RPC protocol,
#: then endpoint, then host. Drives tower ⇄ binding conversion in the endpoint mapper.
PROTSEQ_TOWER_FLOORS: dict[str, tuple[int, ...]] = {
    NCACN_IP_TCP: (0x0B, 0x07, 0x09),  # ncacn, TCP port (big-endian), IPv4 host
    NCACN_NP: (0x0B, 0x0F, 0x11),  # ncacn, SMB named pipe, NetBIOS host name
    NCALRPC: (0x0C, 0x10),  # ncalrpc, local endpoint name
    "ncadg_ip_udp": (0x0A, 0x08, 0x09),
    "ncacn_http": (0x0B, 0x1F, 0x09),
}

#: Protocol sequences whose endpoint is a decimal port number.
_PORT_PROTSEQS = frozenset({NCACN_IP_TCP, "ncadg_ip_udp", "ncacn_http"})
_UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\Z")
_PROTSEQ_RE = re.compile(r"[A-Za-z0-9_]+\Z")
_ESCAPE_OUTSIDE = frozenset("\\@[]")
_ESCAPE_INSIDE = frozenset("\\@[],=")


def _invalid(message: str, status: int = _status.RPC_S_INVALID_STRING_BINDING) -> RpcError:
    return RpcError(message, status)


def _escape(text: str, special: frozenset[str]) -> str:
    return "".join("\\" + c if c in special else c for c in text)


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for c in chars:
        if c == "\\":
            c = next(chars, None)  # type: ignore[arg-type]
            if c is None:
                raise _invalid("string binding ends with a lone escape character '\\'")
        out.append(c)
    return "".join(out)


def _find(text: str, delim: str, start: int = 0) -> int:
    """Index of the first unescaped ``delim`` at or after ``start``, or -1."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == delim:
            return i
        i += 1
    return -1


def _split(text: str, delim: str) -> list[str]:
    parts, start = [], 0
    while (i := _find(text, delim, start)) >= 0:
        parts.append(text[start:i])
        start = i + 1
    parts.append(text[start:])
    return parts


@dataclass(frozen=True, slots=True)
class StringBinding:
    """A parsed string binding; ``str()`` composes it (RpcStringBindingCompose).

    ``options`` is a tuple of ``(name, value)`` pairs in order (a mapping is accepted and
    converted). Empty strings mean "absent", as in the Win32 API.
    """

    protseq: str
    network_addr: str = ""
    endpoint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    object_uuid: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not _PROTSEQ_RE.match(self.protseq or ""):
            raise _invalid(f"invalid protocol sequence {self.protseq!r}")
        opts = self.options
        items = opts.items() if isinstance(opts, Mapping) else opts
        pairs = tuple((str(k), str(v)) for k, v in items)
        object.__setattr__(self, "options", pairs)
        if any(key == "endpoint" for key, _ in pairs):
            # RpcStringBindingParse reads "endpoint=" as the endpoint, never as an option.
            raise _invalid("'endpoint' is not an option: pass it as the endpoint")
        if isinstance(self.object_uuid, str):
            object.__setattr__(self, "object_uuid", _parse_uuid(self.object_uuid))
        for part in (self.network_addr, self.endpoint, *(x for p in pairs for x in p)):
            if "\0" in part:
                raise _invalid("string binding components cannot contain NUL")

    # -- parse -----------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> StringBinding:
        """Parse a string binding (RpcStringBindingParse rules, see the module docstring).

        Raises :class:`~dcerpc.errors.RpcError` with ``RPC_S_INVALID_STRING_BINDING``, or
        ``RPC_S_INVALID_STRING_UUID`` for a malformed object UUID (as Windows does).
        """
        if not isinstance(text, str):
            raise _invalid(f"a string binding is text, not {type(text).__name__}")
        if "\0" in text:
            raise _invalid("string binding contains NUL")
        colon, at = _find(text, ":"), _find(text, "@")
        if colon < 0:
            raise _invalid(f"no ':' after the protocol sequence in {text!r}")
        object_uuid = None
        rest = text
        if 0 <= at < colon:
            object_uuid = _parse_uuid(_unescape(text[:at]))
            rest, colon = text[at + 1:], colon - at - 1
        elif at >= 0:
            raise _invalid(f"unescaped '@' after the protocol sequence in {text!r} "
                           "(write it as '\\@')")
        protseq = _unescape(rest[:colon])
        network_addr, endpoint, options = cls._parse_address(rest[colon + 1:], text)
        return cls(protseq, network_addr, endpoint, options, object_uuid)

    @staticmethod
    def _parse_address(text: str, whole: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        open_ = _find(text, "[")
        if open_ < 0:
            if _find(text, "]") >= 0:
                raise _invalid(f"unbalanced ']' in {whole!r}")
            return _unescape(text), "", ()
        close = _find(text, "]", open_ + 1)
        if close < 0:
            raise _invalid(f"'[' without ']' in {whole!r}")
        if close != len(text) - 1:
            raise _invalid(f"text after ']' in {whole!r}")
        endpoint: str | None = None
        options: list[tuple[str, str]] = []
        inner = text[open_ + 1:close]
        for token in _split(inner, ",") if inner else []:
            eq = _find(token, "=")
            if eq < 0 or token[:eq] == "endpoint":
                if endpoint is not None:
                    raise _invalid(f"two endpoints in {whole!r}")
                endpoint = _unescape(token if eq < 0 else token[eq + 1:])
            else:
                options.append((_unescape(token[:eq]), _unescape(token[eq + 1:])))
        return _unescape(text[:open_]), endpoint or "", tuple(options)

    # -- compose ---------------------------------------------------------------------
    def __str__(self) -> str:
        out = f"{self.object_uuid}@" if self.object_uuid is not None else ""
        out += _escape(self.protseq, _ESCAPE_OUTSIDE) + ":"
        out += _escape(self.network_addr, _ESCAPE_OUTSIDE)
        inside = [_escape(self.endpoint, _ESCAPE_INSIDE)] if self.endpoint else []
        inside += [f"{_escape(k, _ESCAPE_INSIDE)}={_escape(v, _ESCAPE_INSIDE)}"
                   for k, v in self.options]
        if inside:
            out += "[" + ",".join(inside) + "]"
        return out

    # -- conveniences ----------------------------------------------------------------
    def option(self, name: str, default: str | None = None) -> str | None:
        """The value of the first option called ``name`` (case-insensitive)."""
        for key, value in self.options:
            if key.lower() == name.lower():
                return value
        return default

    @property
    def port(self) -> int | None:
        """The endpoint as a port number for TCP/UDP/HTTP protocol sequences, else None.

        Raises ``RPC_S_INVALID_ENDPOINT_FORMAT`` when the endpoint is not a port.
        """
        if self.protseq.lower() not in _PORT_PROTSEQS or not self.endpoint:
            return None
        ep = self.endpoint
        if not (ep.isascii() and ep.isdigit()) or int(ep) > 0xFFFF:
            raise RpcError(f"endpoint {ep!r} of {self.protseq} is not a port number",
                           _status.RPC_S_INVALID_ENDPOINT_FORMAT)
        return int(ep)

    def with_endpoint(self, endpoint: str | int) -> StringBinding:
        """A copy with ``endpoint`` replaced (e.g. after an endpoint-mapper lookup)."""
        return StringBinding(self.protseq, self.network_addr, str(endpoint), self.options,
                             self.object_uuid)

    @classmethod
    def compose(cls, obj_uuid: str | None, protseq: str, network_addr: str | None = None,
                endpoint: str | None = None, options: str | None = None) -> StringBinding:
        """RpcStringBindingCompose's argument shape: ``options`` as one ``"a=b,c=d"`` string."""
        parsed: Iterable[tuple[str, str]] = ()
        if options:
            probe = cls.parse(f"{protseq}:[{options}]")
            if probe.endpoint:
                raise _invalid(f"option without '=' in {options!r}")
            parsed = probe.options
        uid = _parse_uuid(obj_uuid) if obj_uuid else None
        return cls(protseq, network_addr or "", endpoint or "", tuple(parsed), uid)


def _parse_uuid(text: str) -> uuid.UUID:
    """UuidFromString's syntax only: 8-4-4-4-12 hex digits, no braces, no ``urn:``."""
    if not _UUID_RE.match(text):
        raise _invalid(f"invalid object UUID {text!r}", _status.RPC_S_INVALID_STRING_UUID)
    return uuid.UUID(text)
