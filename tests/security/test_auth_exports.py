"""``dcerpc.auth`` exports Kerberos lazily: NTLM users do not need python-gssapi."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_ntlm_works_without_gssapi_importable() -> None:
    # gssapi made unimportable (a None entry in sys.modules): dcerpc.auth and an NTLM
    # context still work, and Kerberos fails only when it is touched.
    code = ("import sys; sys.modules['gssapi'] = None\n"
            "import dcerpc.auth\n"
            "ctx = dcerpc.auth.NTLM('u', 'p', 'D').client_context(6, 0, None)\n"
            "assert ctx.step(None)\n"
            "try:\n    dcerpc.auth.Kerberos\nexcept ImportError:\n    print('lazy')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "lazy"


def test_kerberos_names_resolve_on_first_use() -> None:
    pytest.importorskip("gssapi")
    import dcerpc.auth
    from dcerpc.auth import kerberos

    assert dcerpc.auth.Kerberos is kerberos.Kerberos
    assert dcerpc.auth.KerberosAcceptor is kerberos.KerberosAcceptor
