"""Delivery benchmark: the real engine, end to end, against a no-op Celery ceiling.

Path measured: approved pushes in PostgreSQL (the outbox) → ``deliver_task`` on Redis → a
prefork Celery worker (2 processes) → the ``webhook`` adapter → a signed-JSON receiver on
loopback (uvicorn) → receipt recorded → ``sent``. The ceiling is ``workers.tasks.ping`` (returns
at once) drained by the same worker with the same settings, in the same run.

The receiver runs in a process of its own, as the in-house system it stands for would (it used
to be a thread of this process, where it waited for the GIL while this process enqueued the
tasks); it still shares the machine's cores. Both phases are watched the same way, with a cheap
``LLEN`` until the queue is empty; the delivery phase then counts ``sent`` rows until all are
(counting them every 20 ms from the start cost PostgreSQL and this process a few tenths of a
millisecond of CPU per delivery, on the same cores).

Where the CPU goes: the CPU time of every process (this one, the receiver, the worker's main
process and children, PostgreSQL, Redis) is read from ``/proc`` around each phase and printed
per task, with whatever else ran on the machine meanwhile ("other").

Rounds: the outbox is filled first, then each of ``BENCH_ROUNDS`` (3) rounds drains 2,000 pings
and then 1,000 deliveries, back to back, so that the ceiling and the deliveries it is compared
with see the machine in the same state (on these shared machines its speed drifts by a third
within a minute); the ratio reported is the median of the rounds' ratios, each round's printed.

Figures: deliveries per second, their ratio to the ping ceiling (target ≥ 40 %), and the latency
from approval to ``sent`` on an idle system, p95 over sequential pushes (target ≤ 500 ms).
Needs PostgreSQL (127.0.0.1:5432, database ``test``) and Redis (127.0.0.1:6379); ``.ci/run``
starts them. Last line: one JSON object.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from sqlalchemy import create_engine, func, select, text

from syndicator.db import Database, upgrade
from syndicator.db.models import Delivery, DeliveryState
from syndicator.delivery.engine import approve_push, create_push
from syndicator.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "SYNDICATOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SYNDICATOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "1000"))  # per round
PINGS = int(os.environ.get("BENCH_PINGS", "2000"))  # per round
LATENCY_SAMPLES = 40
WORKER_PROCESSES = 2
SECRET = "bench-webhook-secret"


class Receiver:
    """A minimal in-house system: answers 200 with an id to every POST."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        self.count += 1
        body = json.dumps({"id": f"r-{self.count}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def serve_receiver() -> int:
    """``deliver.py --receiver``: print the receiver's URL, serve until stdin closes."""
    with SimulatorServer(app=Receiver(), loop="uvloop") as server:
        print(server.base_urls[0], flush=True)
        sys.stdin.read()
    return 0


def _cpu_seconds(receiver: int, worker: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the processes taking part, by role; "busy" is
    the whole machine's. (PostgreSQL and Redis: every process of theirs.)"""
    tick = os.sysconf("SC_CLK_TCK")
    roles: dict[str, float] = {}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(")")
        fields = rest.split()
        pid, parent = int(entry), int(fields[1])
        if pid == me:
            role = "benchmark (enqueue, watch)"
        elif pid == receiver:
            role = "receiver"
        elif pid == worker:
            role = "worker main"
        elif parent == worker:
            role = "worker children"
        elif name == "postgres":
            role = "postgresql"
        elif name == "redis-server":
            role = "redis"
        else:
            continue
        roles[role] = roles.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    with open("/proc/stat", encoding="ascii") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    roles["busy"] = (sum(cpu) - cpu[3] - cpu[4]) / tick  # all but idle and iowait
    return roles


def _cpu_per_task(
    before: dict[str, float], after: dict[str, float], tasks: int
) -> dict[str, float]:
    """Milliseconds of CPU per task by role, "total" of them, and "other": the rest of the
    machine's busy time meanwhile (another workload: the figures of that run are unreliable)."""
    ms = {k: (after.get(k, 0.0) - before.get(k, 0.0)) * 1000 / tasks for k in after}
    busy = ms.pop("busy")
    ms["total"] = sum(ms.values())
    ms["other"] = busy - ms["total"]
    return ms


def _mean(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.fmean(r.get(k, 0.0) for r in rounds) for k in rounds[0]}


def _cpu_line(ms: dict[str, float]) -> str:
    roles = sorted(
        (kv for kv in ms.items() if kv[0] not in ("total", "other")), key=lambda kv: -kv[1]
    )
    parts = ", ".join(f"{k} {v:.2f}" for k, v in roles)
    return f"{ms['total']:.2f} ms CPU per task: {parts}; other load {ms['other']:.2f}"


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _sent(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state == DeliveryState.SENT)
            )
            or 0
        )


def _approve(db: Database, n: int) -> list[int]:
    ids: list[int] = []
    for i in range(n):
        push_id = create_push(
            db,
            kind="rebuttal",
            title=f"关于网传信息的说明（{i}）",
            body="经核查，网传信息不实。" * 5,
            channels=["duty"],
            by="bench",
            now=_now(),
        )
        ids += approve_push(db, push_id, by="bench", now=_now())
    return ids


def _wait(predicate: Any, timeout: float, step: float = 0.01) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(step)
    return time.perf_counter() - started


def main() -> int:
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None and receiver.stdin is not None
    receiver_url = receiver.stdout.readline().strip()
    if not re.fullmatch(r"http://127\.0\.0\.1:\d+", receiver_url):
        receiver.kill()
        raise RuntimeError(f"the receiver did not start: {receiver_url!r}")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    worker: subprocess.Popen[bytes] | None = None
    db = Database(url)
    try:
        upgrade(db)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "syndicator.toml"
            config.write_text(
                "[[channels]]\n"
                'id = "duty"\ntype = "webhook"\n'
                f'url = "{receiver_url}/hook"\nsecret_env = "BENCH_WEBHOOK_SECRET"\n',
                encoding="utf-8",
            )
            env = {
                **os.environ,
                "SYNDICATOR_DATA_DIR": tmp,
                "SYNDICATOR_CONFIG": str(config),
                "SYNDICATOR_DATABASE_URL": url,
                "SYNDICATOR_BROKER_URL": REDIS_URL,
                "BENCH_WEBHOOK_SECRET": SECRET,
            }
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.app",
                    "worker",
                    "-Q",
                    "syndicator",
                    "--concurrency",
                    str(WORKER_PROCESSES),
                    "--pool",
                    "prefork",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
            )
            client = Celery(broker=REDIS_URL)
            # Warm up: both processes import everything and build their channels.
            for _ in range(20):
                client.send_task("workers.tasks.ping", queue="syndicator")
            warm = _approve(db, 4)
            for delivery_id in warm:
                client.send_task("workers.tasks.deliver_task", (delivery_id,), queue="syndicator")
            _wait(lambda: _sent(db) == len(warm), 60)

            # The outbox is filled first (approving is not measured), then each round
            # drains pings (the ceiling: no-op tasks through the same worker) and deliveries
            # back to back, so that both see the machine in the same state.
            outbox = _approve(db, ROUNDS * DELIVERIES)
            rounds: list[tuple[float, float]] = []
            ping_cpu: list[dict[str, float]] = []
            delivery_cpu: list[dict[str, float]] = []
            for round_ in range(ROUNDS):
                cpu = _cpu_seconds(receiver.pid, worker.pid)
                started = time.perf_counter()
                for _ in range(PINGS):
                    client.send_task("workers.tasks.ping", queue="syndicator")
                _wait(lambda: broker.llen("syndicator") == 0, 120, 0.005)
                ping_rate = PINGS / (time.perf_counter() - started)
                ping_cpu.append(_cpu_per_task(cpu, _cpu_seconds(receiver.pid, worker.pid), PINGS))

                ids = outbox[round_ * DELIVERIES : (round_ + 1) * DELIVERIES]
                before = _sent(db)
                cpu = _cpu_seconds(receiver.pid, worker.pid)
                started = time.perf_counter()
                for delivery_id in ids:
                    client.send_task(
                        "workers.tasks.deliver_task", (delivery_id,), queue="syndicator"
                    )
                _wait(lambda: broker.llen("syndicator") == 0, 300, 0.005)
                _wait(lambda before=before: _sent(db) - before == DELIVERIES, 60, 0.005)
                rate = DELIVERIES / (time.perf_counter() - started)
                delivery_cpu.append(
                    _cpu_per_task(cpu, _cpu_seconds(receiver.pid, worker.pid), DELIVERIES)
                )
                rounds.append((ping_rate, rate))
                print(
                    f"round {round_ + 1}: ceiling {ping_rate:.0f}/s, deliveries {rate:.0f}/s, "
                    f"ratio {rate / ping_rate:.0%}",
                    flush=True,
                )

            # Latency on an idle system: approve, enqueue, wait for sent.
            latencies: list[float] = []
            for _ in range(LATENCY_SAMPLES):
                started = time.perf_counter()
                push_id = create_push(
                    db,
                    kind="test",
                    title="延迟测试",
                    body="测试",
                    channels=["duty"],
                    by="bench",
                    now=_now(),
                )
                (delivery_id,) = approve_push(db, push_id, by="bench", now=_now())
                client.send_task("workers.tasks.deliver_task", (delivery_id,), queue="syndicator")

                def done(delivery_id: int = delivery_id) -> bool:
                    with db.session() as session:
                        row = session.get(Delivery, delivery_id)
                        return row is not None and row.state is DeliveryState.SENT

                _wait(done, 30, 0.002)
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)
            client.close()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        broker.flushdb()
        broker.close()
        receiver.stdin.close()
        receiver.wait(timeout=30)

    latencies.sort()
    p95 = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)]  # nearest rank
    ratio = statistics.median(rate / ceiling for ceiling, rate in rounds)
    ceiling = statistics.median(ceiling for ceiling, _ in rounds)
    throughput = statistics.median(rate for _, rate in rounds)
    pings, deliveries = _mean(ping_cpu), _mean(delivery_cpu)
    print(
        f"no-op ceiling (workers.tasks.ping, {WORKER_PROCESSES} processes): {ceiling:.0f} tasks/s"
        f" (median of {ROUNDS} rounds)"
    )
    print(
        f"deliveries (outbox → Celery → webhook adapter → receiver → sent): {throughput:.0f}/s, "
        f"ratio {ratio:.0%} (median of the rounds' ratios; target ≥ 40 %)"
    )
    print(f"  ping: {_cpu_line(pings)}")
    print(f"  delivery: {_cpu_line(deliveries)}")
    print(
        f"approval → sent, idle: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {p95:.0f} ms (target ≤ 500 ms)"
    )
    print(
        json.dumps(
            {
                "benchmark": "deliver",
                "deliveries_per_s": round(throughput, 1),
                "ratio_vs_noop": round(ratio, 3),
                "approval_to_sent_p95_ms": round(p95, 1),
                "noop_tasks_per_s": round(ceiling, 1),
                "round_ratios": [round(r / p, 3) for p, r in rounds],
                "cpu_ms_per_delivery": round(deliveries["total"], 2),
                "cpu_ms_per_ping": round(pings["total"], 2),
                "other_load_ms_per_delivery": round(deliveries["other"], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(serve_receiver() if sys.argv[1:] == ["--receiver"] else main())
