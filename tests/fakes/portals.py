"""Portal simulator fixtures: real servers on 127.0.0.1 for the integration tests.

The simulator itself ships in :mod:`syndicator.simulator` (the demo and the benchmarks use it
too); this module re-exports it and adds the pytest fixtures. Fixtures are made visible to a test
directory by importing them in its ``conftest.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from syndicator.simulator import (
    LOOP_SUFFIX,
    BenchWorld,
    DemoWorld,
    Page,
    Portal,
    PortalStats,
    SimulatorServer,
    build_bench_world,
    build_demo_world,
)

__all__ = [
    "LOOP_SUFFIX",
    "BenchWorld",
    "DemoWorld",
    "Page",
    "Portal",
    "PortalStats",
    "ServerFactory",
    "SimulatorServer",
    "build_bench_world",
    "build_demo_world",
    "portal",
    "portal_factory",
    "unused_port",
]

ServerFactory = Callable[..., SimulatorServer]


def unused_port() -> int:
    """A local port with nothing listening on it (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def portal() -> Iterator[SimulatorServer]:
    """A running simulator with an empty :class:`Portal` on one port; stopped after the test."""
    with SimulatorServer(Portal()) as server:
        yield server


@pytest.fixture
def portal_factory() -> Iterator[ServerFactory]:
    """Start simulators on demand: ``portal_factory(portal=None, ports=2)``; all stopped after."""
    servers: list[SimulatorServer] = []

    def start(portal: Portal | None = None, *, ports: int = 1) -> SimulatorServer:
        server = SimulatorServer(portal, ports=ports).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
