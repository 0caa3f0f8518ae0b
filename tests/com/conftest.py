"""Fixtures of the COM suite: ComServers hosting the test classes on loopback TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dcerpc.com import ComServer
from dcerpc.com.local import close_local_exporter, set_local_exporter

from .calc_impl import Calc, CLSID_Calc
from .events_impl import CLSID_Events, Events


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


@pytest.fixture
def events_server() -> Iterator[str]:
    """A server of the callback test class; afterwards the client's own object
    exporter (started by the callbacks) is closed and its options are the defaults."""
    srv = ComServer("ncacn_ip_tcp:127.0.0.1[0]")
    srv.register_class(CLSID_Events, Events)
    srv.start_background()
    yield str(srv.bindings[0])
    srv.stop_background(1.0)
    close_local_exporter()
    set_local_exporter()  # back to the defaults
