"""Fixtures of the seed suite (seed-semantics §8): ``server`` is the module's
:class:`seedlib.SeedServer`, reset for each test; ``binding`` is a fresh
:class:`dcerpc.Binding` to it; ``cutter`` relays to it and can kill the connections."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# seedlib.py (the server, the relay and the helpers) sits next to this file
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seedlib import Cutter, SeedServer

import dcerpc


@pytest.fixture(scope="module")
def seed_server() -> Iterator[SeedServer]:
    server = SeedServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(seed_server: SeedServer) -> Iterator[SeedServer]:
    seed_server.reset()
    try:
        yield seed_server
    finally:
        seed_server.reset()


@pytest.fixture
def binding(server: SeedServer) -> Iterator[dcerpc.Binding]:
    b = dcerpc.Binding(server.binding)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def cutter(seed_server: SeedServer) -> Iterator[Cutter]:
    c = Cutter(seed_server.port)
    try:
        yield c
    finally:
        c.close()
