"""Fixtures of the COM suite: a ComServer hosting the test class on loopback TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dcerpc.com import ComServer

from .calc_impl import Calc, CLSID_Calc


@pytest.fixture
def com_server() -> Iterator[ComServer]:
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Calc, Calc)
    srv.start_background()
    yield srv
    srv.stop_background(1.0)


@pytest.fixture
def binding(com_server: ComServer) -> str:
    return str(com_server.bindings[0])
