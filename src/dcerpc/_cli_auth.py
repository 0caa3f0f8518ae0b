"""Authentication options of ``dcerpc serve`` and ``dcerpc call`` (docs/security.md).

serve: ``--auth ntlm|negotiate|kerberos`` (repeatable), ``--users FILE`` (lines
``DOMAIN\\user:password``), ``--keytab FILE``, ``--min-level none|connect|integrity|privacy``.
call: ``--user [DOMAIN\\]NAME``, ``--password``, ``--auth ntlm|negotiate|kerberos``,
``--level connect|integrity|privacy`` (the default with ``--user``: integrity).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["AuthUsageError", "add_call_auth_arguments", "add_serve_auth_arguments",
           "call_auth_options", "serve_auth"]

_MECHS = ("ntlm", "negotiate", "kerberos")
_LEVELS = ("none", "connect", "call", "pkt", "integrity", "privacy")


class AuthUsageError(Exception):
    """A bad combination of authentication options (exit status 2)."""


def add_serve_auth_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("authentication")
    g.add_argument("--auth", action="append", choices=_MECHS, default=[],
                   help="offer this authentication service (repeatable)")
    g.add_argument("--users", metavar="FILE",
                   help="NTLM/Negotiate accounts, one DOMAIN\\user:password per line")
    g.add_argument("--keytab", metavar="FILE", help="Kerberos keytab of the service")
    g.add_argument("--min-level", choices=_LEVELS,
                   help="refuse calls authenticated below this level (rpc_s_access_denied)")


def serve_auth(args: argparse.Namespace) -> tuple[list[Any], str | None]:
    """The acceptors and the minimum level the serve options ask for."""
    acceptors: list[Any] = []
    mechs = list(dict.fromkeys(args.auth))
    if ("ntlm" in mechs or "negotiate" in mechs) and not args.users:
        raise AuthUsageError("--auth ntlm/negotiate needs --users FILE")
    if args.users and not ({"ntlm", "negotiate"} & set(mechs)):
        raise AuthUsageError("--users needs --auth ntlm or --auth negotiate")
    negotiate: Any = None
    if "ntlm" in mechs or "negotiate" in mechs:
        from .auth.negotiate import NegotiateAcceptor
        from .auth.ntlm import NTLMAcceptor, UserTable

        try:
            ntlm = NTLMAcceptor(UserTable.from_file(args.users))
        except (OSError, ValueError) as exc:
            raise AuthUsageError(f"--users: {exc}") from None
        if "ntlm" in mechs:
            acceptors.append(ntlm)
        if "negotiate" in mechs:
            negotiate = NegotiateAcceptor(ntlm)
    if "kerberos" in mechs:
        from .auth.kerberos import KerberosAcceptor

        acceptors.append(KerberosAcceptor(args.keytab))
        if "negotiate" in mechs:
            # One auth_type 9 acceptor: Kerberos when the client prefers it, else NTLM.
            negotiate = KerberosAcceptor(args.keytab, spnego=True, fallback=negotiate)
    elif args.keytab:
        raise AuthUsageError("--keytab needs --auth kerberos")
    if negotiate is not None:
        acceptors.append(negotiate)
    if args.min_level and args.min_level != "none" and not acceptors:
        raise AuthUsageError("--min-level needs --auth")
    return acceptors, args.min_level


def add_call_auth_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("authentication")
    g.add_argument("--user", metavar="[DOMAIN\\]NAME", help="authenticate as this user")
    g.add_argument("--password", default="", help="the user's password")
    g.add_argument("--auth", choices=_MECHS, default=None,
                   help="authentication service (default: ntlm when --user is given)")
    g.add_argument("--level", choices=_LEVELS, default=None,
                   help="authentication level (default: integrity when authenticating)")


def call_auth_options(args: argparse.Namespace) -> dict[str, Any]:
    """``auth=``/``level=`` for :func:`dcerpc.connect` from the call options."""
    mech = args.auth or ("ntlm" if args.user else None)
    if mech is None:
        if args.level not in (None, "none"):
            raise AuthUsageError("--level needs --user (or --auth kerberos)")
        return {}
    if mech in ("ntlm", "negotiate") and not args.user:
        raise AuthUsageError(f"--auth {mech} needs --user")
    domain, _, user = (args.user or "").rpartition("\\")
    if mech == "ntlm":
        from .auth.ntlm import NTLM

        creds: Any = NTLM(user, args.password, domain)
    elif mech == "negotiate":
        from .auth.negotiate import Negotiate

        creds = Negotiate(user, args.password, domain)
    else:
        from .auth.kerberos import Kerberos

        creds = Kerberos(args.user or None, args.password or None)
    return {"auth": creds, "level": args.level or "integrity"}
