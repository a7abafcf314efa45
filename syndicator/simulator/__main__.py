"""Run the portal simulator as a process of its own.

``python -m syndicator.simulator bench --sources 2000 --hosts 200 [--seed 0]``
    Serves the bench world on N random ports and prints one JSON line
    ``{"base_urls": [...], "urls": [...]}``. Then reads commands from stdin, one a line:
    ``mutate`` (a steady-cycle change; answers ``{"mutated": k}``), ``stats`` (request counts),
    ``quit``; end of input also quits. Used by ``benchmarks/poll.py``.

``python -m syndicator.simulator demo [--port P] [--slow-delay 3] [--broken redesign]``
    Serves the demo world, writes its sources file and prints where; ``advance`` on stdin
    publishes new items. Stops on Ctrl-C (or ``quit``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from syndicator.clock import format_local
from syndicator.simulator.server import SimulatorServer
from syndicator.simulator.world import build_bench_world, build_demo_world


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _emit(message: dict[str, Any]) -> None:
    _say(json.dumps(message, ensure_ascii=False))


def _fast_loop() -> Literal["asyncio", "uvloop"]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _bench(args: argparse.Namespace) -> int:
    world = build_bench_world(args.sources, hosts=args.hosts, seed=args.seed)
    rng = random.Random(args.seed + 1)
    with SimulatorServer(world.portal, ports=args.hosts, loop=_fast_loop()) as server:
        _emit({"base_urls": server.base_urls, "urls": world.urls(server.base_urls)})
        for line in sys.stdin:
            command = line.strip()
            if command == "mutate":
                _emit({"mutated": world.steady_cycle(args.changed_fraction, rng)})
            elif command == "stats":
                stats = server.portal.stats
                _emit(
                    {
                        "requests": stats.total_requests,
                        "connections": stats.total_connections,
                        "max_in_flight": max(stats.max_in_flight.values(), default=0),
                    }
                )
            elif command == "quit":
                break
            elif command:
                _emit({"error": f"unknown command {command!r}: use mutate, stats or quit"})
    return 0


def _demo(args: argparse.Namespace) -> int:
    world = build_demo_world(datetime.now(UTC), slow_delay=args.slow_delay, broken=args.broken)
    with SimulatorServer(world.portal, ports=[args.port]) as server:
        base = server.base_urls[0]
        out = Path(args.out or Path(tempfile.gettempdir()) / "syndicator-demo-sources.toml")
        out.write_text(world.sources_toml(base), encoding="utf-8")
        _say(f"模拟门户已启动 / simulator running at {base}")
        _say(f"信息源文件 / sources file: {out}")
        for source_id in sorted({*world.entries, "govcn-zuixin", "jx-szfwj"}):
            _say(f"  {source_id:<14} {base}{world.source_path(source_id)}")
        _say(
            "输入 advance 发布新条目，quit 或 Ctrl-C 退出"
            " / type advance for new items, quit to stop"
        )
        for line in sys.stdin:
            command = line.strip()
            if command == "advance":
                changes = world.advance(datetime.now(UTC))
                for document in changes.published:
                    _say(
                        f"新发布 / published: {document.title}"
                        f"（{format_local(document.published)}）"
                    )
                for source_id, entry in changes.reposted:
                    _say(f"新转载 / reposted on {source_id}: {entry.title}")
            elif command == "quit":
                return 0
            elif command:
                _say(f"未知命令 / unknown command {command!r}: advance or quit")
        threading.Event().wait()  # stdin closed: serve until Ctrl-C
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m syndicator.simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="serve the benchmark feed farm")
    bench.add_argument("--sources", type=int, default=2000, help="number of feeds")
    bench.add_argument("--hosts", type=int, default=200, help="number of ports (hosts)")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument(
        "--changed-fraction", type=float, default=0.1, help="share changed by mutate"
    )
    demo = commands.add_parser("demo", help="serve the demo portals")
    demo.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    demo.add_argument("--slow-delay", type=float, default=3.0, help="seconds the slow site takes")
    demo.add_argument("--broken", choices=["redesign", "http_500", "working"], default="redesign")
    demo.add_argument("--out", help="where to write the sources file")
    args = parser.parse_args(argv)
    try:
        return _bench(args) if args.command == "bench" else _demo(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
