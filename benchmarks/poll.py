"""Polling engine benchmark: syndicator's poller against a sequential feedparser loop.

A feed farm (``python -m syndicator.simulator bench``) runs in a separate process and serves N RSS
feeds of ≈30 KB / 50 items over H loopback ports ("hosts"). In the same run this script measures:

* baseline: ``feedparser.parse(url)`` in a plain sequential loop (what a simple script does), over
  a sample of the same feeds, as sources per second;
* cold cycle: the real poll service (fetcher + parsers + SQLite storage, default politeness
  settings) over all N sources with an empty database;
* steady cycle: after the farm changes 10 % of the feeds (half of the rest answer 304 to
  conditional requests, half send the identical body again), all N sources again.

Targets (issue 2): steady ≥ 10× the baseline, cold ≥ 1.5×, peak RSS of this process ≤ 300 MB.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import feedparser

from syndicator.clock import SystemClock
from syndicator.db import Database, upgrade
from syndicator.services import Services, settle_heap
from syndicator.settings import load_settings
from syndicator.sources.config import load_sources
from syndicator.sources.registry import sync_sources


def _sources_toml(urls: list[str]) -> str:
    lines = ['[[site]]\nid = "bench"\nname = "基准测试站点"\nlevel = "county"\n']
    for n, url in enumerate(urls):
        lines.append(
            f'[[source]]\nid = "feed-{n:05d}"\nsite = "bench"\nrole = "upstream"\n'
            f'kind = "rss"\nurl = "{url}"\ninterval = "10m"\n'
        )
    return "\n".join(lines)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _baseline(urls: list[str]) -> float:
    started = time.perf_counter()
    for url in urls:
        parsed = feedparser.parse(url)
        if not parsed.entries:
            raise SystemExit(f"baseline: {url} gave no entries ({parsed.get('bozo_exception')})")
    return len(urls) / (time.perf_counter() - started)


def _cycle(services: Services, ids: list[str]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    outcomes = services.poll(ids)
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    if len(outcomes) != len(ids):
        raise SystemExit(f"polled {len(outcomes)} of {len(ids)} sources")
    return len(ids) / elapsed, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=400,
        help="feeds in the sequential baseline (every k-th source; 0 = all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    farm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syndicator.simulator",
            "bench",
            "--sources",
            str(args.sources),
            "--hosts",
            str(args.hosts),
            "--seed",
            str(args.seed),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdin is not None and farm.stdout is not None
    try:
        hello: dict[str, Any] = json.loads(farm.stdout.readline())
        urls: list[str] = hello["urls"]
        print(f"feed farm: {len(urls)} feeds on {len(hello['base_urls'])} ports")

        with tempfile.TemporaryDirectory(prefix="syndicator-bench-") as tmp:
            data = Path(tmp)
            (data / "sources.toml").write_text(_sources_toml(urls), encoding="utf-8")
            settings = load_settings({"SYNDICATOR_DATA_DIR": str(data)})
            db = Database(settings.database_url)
            upgrade(db)
            db.dispose()
            services = Services(settings, clock=SystemClock())
            sync_sources(services.db, load_sources(data / "sources.toml"), clock=services.clock)
            ids = [f"feed-{n:05d}" for n in range(len(urls))]
            settle_heap()  # as `syndicator run` and Celery worker children do at start-up

            cold_rate, cold_counts = _cycle(services, ids)
            print(f"cold cycle:   {cold_rate:8.1f} sources/s  {cold_counts}")
            farm.stdin.write("mutate\n")
            farm.stdin.flush()
            mutated = json.loads(farm.stdout.readline())["mutated"]
            steady_rate, steady_counts = _cycle(services, ids)
            print(
                f"steady cycle: {steady_rate:8.1f} sources/s  {steady_counts} ({mutated} changed)"
            )
            services.close()
            peak = _peak_rss_mb()

        step = max(1, len(urls) // args.baseline_sample) if args.baseline_sample else 1
        sample = urls[::step]
        base_rate = _baseline(sample)
        print(
            f"baseline:     {base_rate:8.1f} sources/s  (sequential feedparser.parse(url), "
            f"{len(sample)} feeds)"
        )
    finally:
        if farm.stdin and not farm.stdin.closed:
            farm.stdin.close()
        farm.wait(timeout=30)

    cold_ratio = cold_rate / base_rate
    steady_ratio = steady_rate / base_rate
    print(
        f"cold ratio {cold_ratio:.2f}x (target ≥ 1.5x); steady ratio {steady_ratio:.2f}x "
        f"(target ≥ 10x); peak RSS {peak:.0f} MB (target ≤ 300 MB)"
    )
    print(
        json.dumps(
            {
                "benchmark": "poll",
                "sources": len(urls),
                "cold_ratio": round(cold_ratio, 2),
                "steady_ratio": round(steady_ratio, 2),
                "steady_sources_per_s": round(steady_rate, 1),
                "peak_rss_mb": round(peak, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
