"""Local simulations of government portals, for the demo, the tests and the benchmarks.

:class:`Portal` holds pages in memory, :class:`SimulatorServer` serves them with uvicorn on
127.0.0.1 (one or several ports), and :mod:`~syndicator.simulator.world` builds realistic content:
:func:`build_demo_world` (中国政府网, 江西省人民政府 and four county/city sites) and
:func:`build_bench_world` (thousands of RSS feeds). ``python -m syndicator.simulator --help``
runs either as a standalone server.
"""

from syndicator.simulator.app import LOOP_SUFFIX, Behaviour, Page, Portal, PortalApp, PortalStats
from syndicator.simulator.server import SimulatorError, SimulatorServer
from syndicator.simulator.world import (
    DEMO_SITE_IDS,
    DEMO_SOURCE_IDS,
    BenchWorld,
    BrokenMode,
    DemoChanges,
    DemoDocument,
    DemoEntry,
    DemoWorld,
    build_bench_world,
    build_demo_world,
)

__all__ = [
    "DEMO_SITE_IDS",
    "DEMO_SOURCE_IDS",
    "LOOP_SUFFIX",
    "Behaviour",
    "BenchWorld",
    "BrokenMode",
    "DemoChanges",
    "DemoDocument",
    "DemoEntry",
    "DemoWorld",
    "Page",
    "Portal",
    "PortalApp",
    "PortalStats",
    "SimulatorError",
    "SimulatorServer",
    "build_bench_world",
    "build_demo_world",
]
