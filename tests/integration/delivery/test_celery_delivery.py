"""Delivery in distributed mode for real: a Celery worker process on Redis and PostgreSQL,
sending over HTTP to fake platforms on 127.0.0.1.

Each test approves a push to two ``[[channels]]`` read from a TOML file by the worker — a
``webhook`` to an in-house receiver (:class:`tests.fakes.webhook.FakeWebhook`) and a
``wecom_bot`` group robot (:class:`syndicator.simulator.fakes.wecom.FakeWeCom`) — with their
secrets in environment variables (``secret_env``, ``key_env``), then plays the approval flow
and beat: it puts ``deliver_task`` / ``sweep_deliveries`` messages on the broker, as
``syndicator pushes approve`` and beat do, and watches what a user would see: the fakes' posts,
the delivery states and the delivery log (``DeliveryAttempt`` rows). What is proven:

1. an approved push reaches both platforms, once each, and every delivery is ``sent`` with one
   logged publish attempt (the webhook receiver's id kept as the external id);
2. messages the broker loses cost nothing: the ``sweep_deliveries`` tick re-enqueues the due
   rows, which are then sent exactly once (a second tick finds nothing to do);
3. a duplicated queue message sends nothing twice (the claim lets one worker through);
4. a channel failing — for good (the robot was removed: ``failed``) or for now (the receiver
   answers 5xx: ``retry_wait``) — does not hold up the other, and its error is in the log.

The worker runs with ``--pool prefork --concurrency 2``. Waits poll with a timeout (no fixed
sleeps); a timeout shows the worker's log. A task's completion is read from that log (results
are not stored: ``task_ignore_result``), by the task id the test gave it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from sqlalchemy import select

from syndicator.db import Database
from syndicator.db.models import Delivery, DeliveryAttempt, DeliveryState
from syndicator.delivery.engine import approve_push, create_push
from tests.conftest import REDIS_URL, require_service
from tests.fakes.webhook import SECRET as WEBHOOK_SECRET
from tests.fakes.webhook import FakeWebhook, WebhookFactory
from tests.fakes.wecom import WeComServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
# A Redis database of its own on the tests' server: the other Redis tests flush theirs, and
# test_celery_worker.py runs a worker on the same "syndicator" queue; a run of either at the
# same time (another checkout, another engineer) would eat these messages, and vice versa.
BROKER_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path="/14"))
QUEUE = "syndicator"
TIMEOUT = 30.0

WEBHOOK = "duty-room"
WECOM = "jx-wecom"
WEBHOOK_SECRET_ENV = "E2E_DUTY_WEBHOOK_SECRET"
WECOM_KEY_ENV = "E2E_JX_WECOM_KEY"

TITLE = "关于“某地自来水被污染”的辟谣"
BODY = "近日网传某地自来水被污染。经核查，该信息不实，供水水质检测全部合格。"


# -- the worker ---------------------------------------------------------------------------


@dataclass
class Worker:
    """A running ``celery worker`` subprocess and its log."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def result(self, task_id: str) -> str | None:
        """The logged return value of task *task_id*, or None while it has not succeeded."""
        match = re.search(rf"\[{re.escape(task_id)}\] succeeded in [\d.e-]+s: (.*)", self.log())
        return match.group(1) if match else None

    def wait(self, predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"the worker exited ({code}):\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.log()}")

    def wait_for_tasks(self, *task_ids: str) -> None:
        self.wait(
            lambda: all(self.result(t) is not None for t in task_ids),
            f"tasks {', '.join(task_ids)} to finish",
        )


StartWorker = Callable[[str, dict[str, str]], Worker]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Redis db of the tests, empty before and after (queues and the shared rate windows)."""
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{BROKER_URL}: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def producer(broker: redis.Redis) -> Iterator[Celery]:
    """The sending side (the CLI, beat): a Celery client on the broker."""
    client = Celery(broker=BROKER_URL)
    yield client
    client.close()


@pytest.fixture
def start_worker(tmp_path: Path, broker: redis.Redis, pg_url: str) -> Iterator[StartWorker]:
    """``start_worker(channels_toml, secrets)``: a worker configured by a TOML file whose
    ``[[channels]]`` are *channels_toml*, with *secrets* in its environment; stopped after."""
    started: list[tuple[Worker, Any]] = []

    def start(channels_toml: str, secrets: dict[str, str]) -> Worker:
        config = tmp_path / "syndicator.toml"
        config.write_text(channels_toml, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
        env.update(
            {
                "SYNDICATOR_DATA_DIR": str(tmp_path),
                "SYNDICATOR_CONFIG": str(config),
                "SYNDICATOR_DATABASE_URL": pg_url,
                "SYNDICATOR_BROKER_URL": BROKER_URL,
                **secrets,
            }
        )
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.app",
                "worker",
                "-Q",
                QUEUE,
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = Worker(process, log_path)
        started.append((worker, log))
        return worker

    yield start
    for worker, log in started:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=10)
        log.close()


def send(producer: Celery, task: str, *args: Any) -> str:
    """Put one ``workers.tasks.<task>`` message on the queue, as ``task.delay`` does; its id."""
    task_id = f"{task}-{uuid.uuid4().hex[:8]}"
    producer.send_task(f"workers.tasks.{task}", args, queue=QUEUE, task_id=task_id)
    return task_id


# -- the two channels ---------------------------------------------------------------------


@dataclass
class Platforms:
    """The two fakes, the worker configuration pointing at them, and its secrets."""

    webhook: FakeWebhook
    wecom: WeComServer
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def channels_toml(self) -> str:
        return (
            "[[channels]]\n"
            f'id = "{WEBHOOK}"\n'
            'type = "webhook"\n'
            f'url = "{self.webhook.url}"\n'
            f'secret_env = "{WEBHOOK_SECRET_ENV}"\n'
            "\n"
            "[[channels]]\n"
            f'id = "{WECOM}"\n'
            'type = "wecom_bot"\n'
            f'base_url = "{self.wecom.base_url}"\n'
            f'key_env = "{WECOM_KEY_ENV}"\n'
        )

    def wecom_posts(self) -> int:
        """Requests that reached the robot's send endpoint, whatever it answered."""
        return len(self.wecom.fake.requests)


@pytest.fixture
def platforms(webhook_factory: WebhookFactory, wecom: WeComServer) -> Platforms:
    receiver = webhook_factory(reply_ids=True)
    secrets = {WEBHOOK_SECRET_ENV: WEBHOOK_SECRET, WECOM_KEY_ENV: wecom.key}
    return Platforms(receiver, wecom, secrets)


# -- the outbox ---------------------------------------------------------------------------


def _approve(db: Database) -> dict[str, int]:
    """Draft and approve a push to both channels; the delivery id by channel."""
    now = datetime.now(UTC)
    push_id = create_push(
        db,
        kind="rebuttal",
        title=TITLE,
        body=BODY,
        channels=[WEBHOOK, WECOM],
        by="staff:li",
        now=now,
    )
    ids = approve_push(db, push_id, by="staff:wang", now=now)
    return dict(zip([WEBHOOK, WECOM], ids, strict=True))


def _delivery(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def _state(db: Database, delivery_id: int) -> DeliveryState:
    return _delivery(db, delivery_id).state


def _log(db: Database, delivery_id: int) -> list[DeliveryAttempt]:
    """The delivery log of one delivery, oldest first."""
    with db.session() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(DeliveryAttempt.id)
            )
        )


def _states_are(db: Database, expected: dict[int, DeliveryState]) -> Callable[[], bool]:
    return lambda: all(_state(db, i) is state for i, state in expected.items())


# -- the tests ----------------------------------------------------------------------------


def test_an_approved_push_reaches_both_channels_once_and_is_logged(
    start_worker: StartWorker, producer: Celery, platforms: Platforms, pg_db: Database
) -> None:
    worker = start_worker(platforms.channels_toml, platforms.secrets)
    ids = _approve(pg_db)
    for delivery_id in ids.values():  # what `pushes approve` does in distributed mode
        send(producer, "deliver_task", delivery_id)

    worker.wait(
        _states_are(pg_db, dict.fromkeys(ids.values(), DeliveryState.SENT)),
        "both deliveries to be sent",
    )

    # The in-house receiver got one signed post (the fake checks the HMAC) with the push.
    hook = ids[WEBHOOK]
    assert platforms.webhook.requests == [(200, f"push-{_delivery(pg_db, hook).push_id}-{WEBHOOK}")]
    (received,) = platforms.webhook.received
    assert received.event == "push.rebuttal"
    assert received.payload["title"] == TITLE
    assert BODY in received.payload["body"]
    # The WeCom group got one message from its robot.
    assert platforms.wecom_posts() == 1
    (message,) = platforms.wecom.fake.delivered_to(platforms.wecom.key)
    assert BODY in str(message)

    # The delivery log: one publish attempt each, the receiver's id kept.
    (attempt,) = _log(pg_db, hook)
    assert (attempt.action, attempt.outcome) == ("publish", "published")
    assert attempt.external_id == "rcv-1"
    assert _delivery(pg_db, hook).external_id == "rcv-1"
    (attempt,) = _log(pg_db, ids[WECOM])
    assert (attempt.action, attempt.outcome, attempt.platform_code) == ("publish", "published", "0")
    assert attempt.external_id is None  # a WeCom robot gives no message id to keep
    row = _delivery(pg_db, ids[WECOM])
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_messages_lost_by_the_broker_are_sent_once_after_the_sweep_tick(
    start_worker: StartWorker,
    producer: Celery,
    broker: redis.Redis,
    platforms: Platforms,
    pg_db: Database,
) -> None:
    ids = _approve(pg_db)
    for delivery_id in ids.values():
        send(producer, "deliver_task", delivery_id)
    assert broker.llen(QUEUE) == 2
    broker.delete(QUEUE)  # the broker loses them before any worker took them

    worker = start_worker(platforms.channels_toml, platforms.secrets)
    worker.wait_for_tasks(send(producer, "ping"))  # the worker consumes: nothing is left for it
    assert {_state(pg_db, i) for i in ids.values()} == {DeliveryState.QUEUED}
    assert platforms.webhook.requests == [] and platforms.wecom_posts() == 0

    tick = send(producer, "sweep_deliveries")  # beat, every sweep_seconds
    worker.wait(
        _states_are(pg_db, dict.fromkeys(ids.values(), DeliveryState.SENT)),
        "the swept deliveries to be sent",
    )
    worker.wait_for_tasks(tick)
    assert ast.literal_eval(worker.result(tick) or "") == {"due": 2, "checks": 0}

    # The next tick finds nothing due: nothing is sent again.
    again = send(producer, "sweep_deliveries")
    worker.wait_for_tasks(again)
    assert ast.literal_eval(worker.result(again) or "") == {"due": 0, "checks": 0}
    assert len(platforms.webhook.requests) == 1
    assert platforms.wecom_posts() == 1
    for delivery_id in ids.values():
        assert [a.outcome for a in _log(pg_db, delivery_id)] == ["published"]


def test_a_duplicated_queue_message_sends_nothing_twice(
    start_worker: StartWorker, producer: Celery, platforms: Platforms, pg_db: Database
) -> None:
    worker = start_worker(platforms.channels_toml, platforms.secrets)
    ids = _approve(pg_db)
    tasks = [send(producer, "deliver_task", i) for i in ids.values() for _ in range(2)]

    worker.wait_for_tasks(*tasks)
    assert {_state(pg_db, i) for i in ids.values()} == {DeliveryState.SENT}
    results = [worker.result(t) or "" for t in tasks]
    assert sum("not due or held by another worker" in r for r in results) == 2, results

    # One request each: the WeCom robot would have posted twice in the group, and the
    # receiver's de-duplication (which the webhook adapter relies on) was not even needed.
    assert len(platforms.webhook.requests) == 1 and platforms.webhook.duplicates == 0
    assert platforms.wecom_posts() == 1
    assert len(platforms.wecom.fake.delivered_to(platforms.wecom.key)) == 1
    for delivery_id in ids.values():
        assert [a.outcome for a in _log(pg_db, delivery_id)] == ["published"]
        assert _delivery(pg_db, delivery_id).attempts == 1


def test_a_channel_failing_for_good_does_not_hold_up_the_other(
    start_worker: StartWorker, producer: Celery, platforms: Platforms, pg_db: Database
) -> None:
    platforms.wecom.fake.remove_robot(platforms.wecom.key)  # someone removed it from the group
    worker = start_worker(platforms.channels_toml, platforms.secrets)
    ids = _approve(pg_db)
    for delivery_id in ids.values():
        send(producer, "deliver_task", delivery_id)

    worker.wait(
        _states_are(pg_db, {ids[WEBHOOK]: DeliveryState.SENT, ids[WECOM]: DeliveryState.FAILED}),
        "the webhook delivery sent and the WeCom one failed",
    )
    assert len(platforms.webhook.received) == 1
    assert platforms.wecom.fake.requests[0].errcode == 93000
    assert platforms.wecom_posts() == 1  # a refusal for good is not retried

    (attempt,) = _log(pg_db, ids[WECOM])
    assert (attempt.outcome, attempt.platform_code) == ("misconfigured", "93000")
    assert attempt.message is not None and "93000" in attempt.message
    assert "webhook 地址无效" in attempt.message  # said for the administrator
    row = _delivery(pg_db, ids[WECOM])
    assert row.last_error == attempt.message
    # The robot's key is its only credential: it is in neither the log nor the error.
    key = platforms.wecom.key
    assert key not in (row.last_error or "") and key not in str(attempt.request)


def test_a_receiver_answering_5xx_waits_to_retry_without_holding_up_the_other(
    start_worker: StartWorker, producer: Celery, platforms: Platforms, pg_db: Database
) -> None:
    platforms.webhook.fail_next(100, status=503)
    worker = start_worker(platforms.channels_toml, platforms.secrets)
    ids = _approve(pg_db)
    for delivery_id in ids.values():
        send(producer, "deliver_task", delivery_id)

    worker.wait(
        _states_are(
            pg_db, {ids[WEBHOOK]: DeliveryState.RETRY_WAIT, ids[WECOM]: DeliveryState.SENT}
        ),
        "the WeCom delivery sent and the webhook one waiting to retry",
    )
    assert len(platforms.wecom.fake.delivered_to(platforms.wecom.key)) == 1
    assert [status for status, _ in platforms.webhook.requests] == [503]
    assert platforms.webhook.received == []

    (attempt,) = _log(pg_db, ids[WEBHOOK])
    assert (attempt.outcome, attempt.http_status) == ("retry", 503)
    assert attempt.message
    row = _delivery(pg_db, ids[WEBHOOK])
    assert row.last_error == attempt.message
    assert row.next_attempt_at is not None and row.next_attempt_at > datetime.now(UTC)
    assert WEBHOOK_SECRET not in (row.last_error or "") + str(attempt.request)
