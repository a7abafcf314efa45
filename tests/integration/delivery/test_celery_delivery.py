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
   answers 5xx: ``retry_wait``) — does not hold up the other, and its error is in the log;
5. a worker killed (SIGKILL, its whole process group) between send and record posts nothing
   twice: on the WeCom robot (not ``idempotent``) the message the group got while the worker
   waited for the answer is swept to ``unconfirmed``, never resent, until staff confirm it with
   ``syndicator deliveries confirm ID --sent``; on the webhook (``idempotent``) the sweep
   re-queues it and the receiver's duplicate filter drops the repeat: one effective delivery.

The worker runs with ``--pool prefork --concurrency 2``, in a session (process group) of its
own so that a test can kill all of it at once. Waits poll with a timeout (no fixed sleeps); a
timeout shows the worker's log. A task's completion is read from that log (results
are not stored: ``task_ignore_result``), by the task id the test gave it.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from syndicator.db import Database
from syndicator.db.models import Delivery, DeliveryAttempt, DeliveryState
from syndicator.delivery.engine import approve_push, create_push
from tests.conftest import REDIS_URL, celery_worker_command, empty_redis
from tests.fakes._base import serving
from tests.fakes.webhook import SECRET as WEBHOOK_SECRET
from tests.fakes.webhook import FakeWebhook, WebhookFactory
from tests.fakes.wecom import FakeWeCom, WeComServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
# A Redis database of its own on the tests' server: the other Redis tests flush theirs, and
# test_celery_worker.py runs a worker on the same "syndicator" queue; a run of either at the
# same time (another checkout, another engineer) would eat these messages, and vice versa.
BROKER_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path="/14"))
QUEUE = "syndicator"
TIMEOUT = 30.0
HOLD_LIMIT = 60.0  # a held answer is let go after this, whatever the test does

WEBHOOK = "duty-room"
WECOM = "jx-wecom"
WEBHOOK_SECRET_ENV = "E2E_DUTY_WEBHOOK_SECRET"
WECOM_KEY_ENV = "E2E_JX_WECOM_KEY"

TITLE = "关于“某地自来水被污染”的辟谣"
BODY = "近日网传某地自来水被污染。经核查，该信息不实，供水水质检测全部合格。"


# -- the worker ---------------------------------------------------------------------------


def _poll(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _process_group(pgid: int) -> dict[int, int]:
    """The processes of group *pgid* that still run, pid → parent pid (Linux ``/proc``; a
    zombie waiting for its reaper runs nothing and is left out)."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid pgrp …", and comm may hold spaces and parentheses.
        state, ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found[int(stat.parent.name)] = int(ppid)
    return found


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

    def kill(self) -> None:
        """SIGKILL the whole worker at once — the parent and its prefork pool processes, one
        signal to its process group, as the OOM killer or a lost host would; returns once none
        of them runs any more. No shutdown code runs: nothing is recorded, nothing acked."""
        pgid = self.process.pid  # the session leader: its pid is the group's id
        group = _process_group(pgid)
        pool = [pid for pid, ppid in group.items() if ppid == pgid]
        assert pgid in group and len(pool) == 2, f"not a parent and 2 pool processes: {group}"
        os.killpg(pgid, signal.SIGKILL)
        assert self.process.wait(timeout=TIMEOUT) == -signal.SIGKILL
        _poll(lambda: not _process_group(pgid), f"the worker's processes {sorted(group)} to die")


StartWorker = Callable[[str, dict[str, str]], Worker]


def _environment(tmp_path: Path, pg_url: str, secrets: dict[str, str]) -> dict[str, str]:
    """The environment of a worker (and of the CLI) configured by ``tmp_path/syndicator.toml``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    env.update(
        {
            "SYNDICATOR_DATA_DIR": str(tmp_path),
            "SYNDICATOR_CONFIG": str(tmp_path / "syndicator.toml"),
            "SYNDICATOR_DATABASE_URL": pg_url,
            "SYNDICATOR_BROKER_URL": BROKER_URL,
            **secrets,
        }
    )
    return env


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Redis db of the tests, empty before and after (queues and the shared rate windows)."""
    with empty_redis(BROKER_URL) as client:
        yield client


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
        (tmp_path / "syndicator.toml").write_text(channels_toml, encoding="utf-8")
        env = _environment(tmp_path, pg_url, secrets)
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            celery_worker_command(QUEUE),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Worker.kill kills all of it
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
            os.killpg(worker.process.pid, signal.SIGKILL)
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


def _platforms(receiver: FakeWebhook, wecom: WeComServer) -> Platforms:
    secrets = {WEBHOOK_SECRET_ENV: WEBHOOK_SECRET, WECOM_KEY_ENV: wecom.key}
    return Platforms(receiver, wecom, secrets)


@pytest.fixture
def platforms(webhook_factory: WebhookFactory, wecom: WeComServer) -> Platforms:
    return _platforms(webhook_factory(reply_ids=True), wecom)


# -- holding an answer back: the moment between send and record --------------------------
#
# The fakes' own switches do not open that moment: ``slow_next`` waits *before* the fake looks
# at the request (the message is posted only as the answer leaves, and the worker records it at
# once), and ``drop_next(commit=True)`` posts it and closes the connection at once (the worker
# records ``unconfirmed`` itself, no kill needed). So the tests hold the answer back around the
# fakes, which are left to do what they always do, and kill the worker while it waits.


class HeldAnswer:
    """An ASGI wrapper around a fake: once armed, the next request is handled by the fake as
    always — the robot posts the message in its group — but its answer waits here until
    :meth:`release` (or :data:`HOLD_LIMIT`): the sender is left waiting, the message posted."""

    def __init__(self, fake: FakeWeCom) -> None:
        self.fake = fake
        self.holding = threading.Event()
        self._armed = False
        self._released = threading.Event()
        self._lock = threading.Lock()

    def hold_next(self) -> None:
        with self._lock:
            self._armed = True

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        """:class:`SimulatorServer` calls it at stop: nothing stays held."""
        self.release()
        self.fake.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self._lock:
            held, self._armed = self._armed and scope["type"] == "http", False
        if not held:
            await self.fake(scope, receive, send)
            return

        async def send_later(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.holding.set()
                await asyncio.to_thread(self._released.wait, HOLD_LIMIT)
            await send(message)

        await self.fake(scope, receive, send_later)


@pytest.fixture
def held_wecom() -> Iterator[tuple[WeComServer, HeldAnswer]]:
    """The ``wecom`` fixture's fake (one robot), served behind a :class:`HeldAnswer`."""
    fake = FakeWeCom()
    key = fake.add_robot("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    gate = HeldAnswer(fake)
    with serving(gate) as base_url:
        yield WeComServer(fake, base_url, key), gate


class HeldClock:
    """The webhook receiver's clock, which it reads at the signature check, after reading the
    whole request and before filing it: once armed, the next read waits until :meth:`release`
    (or :data:`HOLD_LIMIT`) — the request is on the receiver's side, the sender is waiting."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self._armed = False
        self._released = threading.Event()
        self._lock = threading.Lock()

    def hold_next(self) -> None:
        with self._lock:
            self._armed = True

    def release(self) -> None:
        self._released.set()

    def __call__(self) -> float:
        with self._lock:
            held, self._armed = self._armed, False
        if held:
            self.holding.set()
            self._released.wait(HOLD_LIMIT)
        return time.time()


@pytest.fixture
def held_clock() -> Iterator[HeldClock]:
    clock = HeldClock()
    yield clock
    clock.release()


# -- the outbox ---------------------------------------------------------------------------


def _approve(db: Database, channels: Sequence[str] = (WEBHOOK, WECOM)) -> dict[str, int]:
    """Draft and approve a push to *channels* (both by default); the delivery id by channel."""
    now = datetime.now(UTC)
    push_id = create_push(
        db,
        kind="rebuttal",
        title=TITLE,
        body=BODY,
        channels=list(channels),
        by="staff:li",
        now=now,
    )
    ids = approve_push(db, push_id, by="staff:wang", now=now)
    return dict(zip(channels, ids, strict=True))


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


def _expire_lease(db: Database, delivery_id: int) -> None:
    """Move the claim's lease of a ``sending`` row into the past."""
    now = datetime.now(UTC)
    with db.begin() as session:
        row = session.get(Delivery, delivery_id, with_for_update=True)
        assert row is not None and row.state is DeliveryState.SENDING
        assert row.claimed_until is not None and row.claimed_until > now  # the live lease
        row.claimed_until = now - timedelta(seconds=1)


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
    # A task ends once its claim is committed; the send lands a moment later.
    worker.wait(
        _states_are(pg_db, dict.fromkeys(ids.values(), DeliveryState.SENT)),
        "both deliveries to be sent",
    )
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


# The engine's lease is 300 s (``lease_seconds``): rather than wait it out, these tests move a
# killed worker's lease into the past in PostgreSQL (:func:`_expire_lease`). It is the only thing
# they fake; the kill, the sweep, the resend and the confirmation are all real.
NOT_RESENT = "发送中断（进程终止），结果未知：不会自动重发，请核实"
REQUEUED = "发送中断（进程终止）；平台会丢弃重复请求，已重新排队"


def test_a_worker_killed_between_send_and_record_posts_nothing_twice_on_the_robot(
    start_worker: StartWorker,
    producer: Celery,
    webhook_factory: WebhookFactory,
    held_wecom: tuple[WeComServer, HeldAnswer],
    pg_db: Database,
    pg_url: str,
    tmp_path: Path,
) -> None:
    wecom, gate = held_wecom
    platforms = _platforms(webhook_factory(reply_ids=True), wecom)
    robot = platforms.wecom.fake
    first = start_worker(platforms.channels_toml, platforms.secrets)
    delivery = _approve(pg_db, [WECOM])[WECOM]

    # The robot posts the message in the group, and its answer is held back: the worker waits.
    gate.hold_next()
    send(producer, "deliver_task", delivery)
    first.wait(gate.holding.is_set, "the robot to post the message and hold its answer")
    assert [(r.status, r.errcode) for r in robot.requests] == [(200, 0)]
    (posted,) = robot.delivered_to(wecom.key)
    assert BODY in str(posted)
    assert _state(pg_db, delivery) is DeliveryState.SENDING

    first.kill()
    gate.release()  # the answer goes nowhere: nobody is left to read it
    row = _delivery(pg_db, delivery)
    assert (row.state, row.attempts, row.sent_at) == (DeliveryState.SENDING, 1, None)
    assert _log(pg_db, delivery) == []  # nothing was recorded

    _expire_lease(pg_db, delivery)
    second = start_worker(platforms.channels_toml, platforms.secrets)
    tick = send(producer, "sweep_deliveries")
    second.wait_for_tasks(tick)
    # Not queued (due 0), and nothing to check: the robot cannot say what it posted.
    assert ast.literal_eval(second.result(tick) or "") == {"due": 0, "checks": 0}
    row = _delivery(pg_db, delivery)
    assert (row.state, row.last_error, row.claimed_until) == (
        DeliveryState.UNCONFIRMED,
        NOT_RESENT,
        None,
    )
    (attempt,) = _log(pg_db, delivery)
    assert (attempt.action, attempt.outcome, attempt.message) == (
        "sweep",
        "unconfirmed",
        NOT_RESENT,
    )

    # A late or repeated queue message for it sends nothing; neither does the next tick.
    again = send(producer, "deliver_task", delivery)
    next_tick = send(producer, "sweep_deliveries")
    second.wait_for_tasks(again, next_tick)
    assert "not due or held by another worker" in (second.result(again) or "")
    assert ast.literal_eval(second.result(next_tick) or "") == {"due": 0, "checks": 0}
    assert _state(pg_db, delivery) is DeliveryState.UNCONFIRMED
    assert platforms.wecom_posts() == 1
    assert len(robot.delivered_to(wecom.key)) == 1

    # Staff see the message in the group and settle it.
    command = ["deliveries", "confirm", str(delivery), "--sent", "--by", "li"]
    confirmed = subprocess.run(
        [sys.executable, "-m", "syndicator", *command, "--note", "群里已看到这条消息"],
        cwd=ROOT,
        env=_environment(tmp_path, pg_url, platforms.secrets),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert f"投递 {delivery}：已发送" in confirmed.stdout
    row = _delivery(pg_db, delivery)
    assert (row.state, row.confirmed_by) == (DeliveryState.SENT, "staff:li")
    assert row.sent_at is not None
    assert [(a.action, a.outcome, a.message) for a in _log(pg_db, delivery)] == [
        ("sweep", "unconfirmed", NOT_RESENT),
        ("confirm", "confirmed_sent", "staff:li: 群里已看到这条消息"),
    ]
    assert platforms.wecom_posts() == 1
    assert len(robot.delivered_to(wecom.key)) == 1


def test_a_worker_killed_between_send_and_record_is_resent_once_to_the_deduplicating_receiver(
    start_worker: StartWorker,
    producer: Celery,
    webhook_factory: WebhookFactory,
    wecom: WeComServer,
    held_clock: HeldClock,
    pg_db: Database,
) -> None:
    platforms = _platforms(webhook_factory(reply_ids=True, clock=held_clock), wecom)
    receiver = platforms.webhook
    first = start_worker(platforms.channels_toml, platforms.secrets)
    delivery = _approve(pg_db, [WEBHOOK])[WEBHOOK]
    key = f"push-{_delivery(pg_db, delivery).push_id}-{WEBHOOK}"

    # The receiver has read the whole request and stops at its signature check: the worker waits.
    held_clock.hold_next()
    send(producer, "deliver_task", delivery)
    first.wait(held_clock.holding.is_set, "the receiver to read the request and hold it")
    assert _state(pg_db, delivery) is DeliveryState.SENDING

    first.kill()
    held_clock.release()  # the receiver files it and answers a sender that is gone
    _poll(lambda: len(receiver.received) == 1, "the receiver to file the delivery")
    assert receiver.requests == [(200, key)]
    row = _delivery(pg_db, delivery)
    assert (row.state, row.attempts, row.sent_at) == (DeliveryState.SENDING, 1, None)
    assert _log(pg_db, delivery) == []

    _expire_lease(pg_db, delivery)
    second = start_worker(platforms.channels_toml, platforms.secrets)
    tick = send(producer, "sweep_deliveries")
    second.wait(_states_are(pg_db, {delivery: DeliveryState.SENT}), "the resent delivery")
    second.wait_for_tasks(tick)
    assert ast.literal_eval(second.result(tick) or "") == {"due": 1, "checks": 0}

    # Sent twice, delivered once: the receiver's duplicate filter dropped the repeat.
    assert receiver.requests == [(200, key), (200, key)]
    assert receiver.duplicates == 1
    (received,) = receiver.received
    assert received.delivery_id == key and received.payload["title"] == TITLE
    row = _delivery(pg_db, delivery)
    assert (row.attempts, row.external_id, row.last_error) == (2, "rcv-1", None)
    assert [(a.action, a.outcome, a.message) for a in _log(pg_db, delivery)] == [
        ("sweep", "requeued", REQUEUED),
        ("publish", "published", "接收方已确认（HTTP 200）"),
    ]

    # Nothing is due any more: the next tick sends nothing.
    again = send(producer, "sweep_deliveries")
    second.wait_for_tasks(again)
    assert ast.literal_eval(second.result(again) or "") == {"due": 0, "checks": 0}
    assert len(receiver.requests) == 2 and len(receiver.received) == 1
