"""Notices over real HTTP to the fake receiver, on SQLite and PostgreSQL.

The dispatch time comes from a frozen clock, so retries are reached by moving it, never by
sleeping; the signature timestamp is the real wall clock, as the receiver checks it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from syndicator import audit
from syndicator.clock import FrozenClock
from syndicator.compliance.notices import raise_notice
from syndicator.db import AuditEntry, Database, Notice, NoticeKind, NoticeStatus, Site
from syndicator.notify import (
    NoticeMessage,
    Notifier,
    Rejected,
    WebhookTarget,
    claim_due_notices,
    encode_payload,
)
from syndicator.settings import load_settings
from tests.fakes.webhook import SECRET, FakeWebhook, WebhookFactory

pytestmark = pytest.mark.integration

SITES = [
    ("jiangxi", "江西省人民政府", None),
    ("ganzhou", "赣州市人民政府", "jiangxi"),
    ("xingguo", "兴国县人民政府", "ganzhou"),
]


@pytest.fixture
def sites(db: Database) -> Database:
    with db.begin() as session:
        for site_id, name, parent in SITES:
            session.add(Site(id=site_id, name=name, level="x", parent_id=parent))
    return db


def hook(target_id: str, url: str, *, env: str = "HOOK_SECRET", **extra: object) -> str:
    lines = [
        "[[notify.targets]]",
        f'id = "{target_id}"',
        'kind = "webhook"',
        f'url = "{url}"',
        f'secret_env = "{env}"',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


class Rig:
    """Settings from a real file, a notifier from them, and notices raised on the frozen clock."""

    def __init__(self, tmp_path: Path, db: Database, clock: FrozenClock) -> None:
        self.tmp_path, self.db, self.clock = tmp_path, db, clock
        self.notifiers: list[Notifier] = []

    def notifier(self, toml: str, **secrets: str) -> Notifier:
        path = self.tmp_path / "syndicator.toml"
        path.write_text(toml, encoding="utf-8")
        env = {"SYNDICATOR_DATA_DIR": str(self.tmp_path), "SYNDICATOR_CONFIG": str(path)}
        settings = load_settings({**env, "HOOK_SECRET": SECRET, **secrets})
        built = Notifier.from_settings(settings, rand=lambda: 0.0)
        self.notifiers.append(built)
        return built

    def raise_notice(self, key: str = "obligation:1:breach", site: str | None = "xingguo") -> int:
        with self.db.begin() as session:
            new = raise_notice(
                session,
                key=key,
                kind=NoticeKind.BREACH,
                now=self.clock.now(),
                title="兴国县人民政府未按时转载《关于进一步优化营商环境的通知》",
                body="期限：2026-11-26 08:00",
                site_id=site,
                data={"obligation_id": 1},
            )
        assert new is not None
        return new

    def notice(self, notice_id: int) -> Notice:
        with self.db.session() as session:
            row = session.get(Notice, notice_id)
            assert row is not None
            return row

    def dispatch(self, notifier: Notifier, after: float = 0.0) -> tuple[int, int, int]:
        if after:
            self.clock.advance(after)
        report = notifier.dispatch(self.db, self.clock.now())
        return report.sent, report.pending, report.failed


@pytest.fixture
def rig(tmp_path: Path, sites: Database, clock: FrozenClock) -> Iterator[Rig]:
    built = Rig(tmp_path, sites, clock)
    yield built
    for notifier in built.notifiers:
        notifier.close()


def test_signed_delivery_verified_by_the_receiver(rig: Rig, webhook: FakeWebhook) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url, sites=["ganzhou"]))
    notice_id = rig.raise_notice()
    assert rig.dispatch(notifier) == (1, 0, 0)

    (got,) = webhook.received
    assert webhook.requests == [(200, f"notice-{notice_id}")]
    assert got.delivery_id == f"notice-{notice_id}" and got.event == "notice.breach"
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert abs(got.timestamp - time.time()) < 60
    payload = got.payload
    assert payload["site_id"] == "xingguo" and payload["site_name"] == "兴国县人民政府"
    assert payload["kind_zh"] == "超时"
    assert payload["created_at"] == "2026-11-26T01:00:00+00:00"
    assert payload["created_at_local"] == "2026-11-26T09:00:00+08:00"
    assert payload["data"] == {"obligation_id": 1}
    row = rig.notice(notice_id)
    assert row.status is NoticeStatus.SENT and row.sent_at == rig.clock.now()
    assert row.deliveries["supervisor"]["status"] == "sent"


def test_a_wrong_secret_is_a_permanent_failure_and_leaks_nowhere(
    rig: Rig, webhook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-receivers-key-77"
    notifier = rig.notifier(hook("supervisor", webhook.url), HOOK_SECRET=wrong)
    notice_id = rig.raise_notice()
    caplog.set_level(logging.DEBUG)
    assert rig.dispatch(notifier) == (0, 0, 1)

    assert webhook.requests == [(401, f"notice-{notice_id}")] and not webhook.received
    row = rig.notice(notice_id)
    assert row.status is NoticeStatus.FAILED and row.next_attempt_at is None
    entry = row.deliveries["supervisor"]
    assert entry["status"] == "failed" and entry["http_status"] == 401
    assert "bad signature" in entry["error"]
    with rig.db.session() as session:
        (failed,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.failed"))
        assert failed.subject == f"notice:{notice_id}"
        assert failed.data["targets"]["supervisor"]["http_status"] == 401
        assert audit.verify(session)[1] is None
        stored = [json.dumps(row.deliveries, ensure_ascii=False)]
        stored += [
            json.dumps(e.data, ensure_ascii=False) for e in session.scalars(select(AuditEntry))
        ]
    stored += [caplog.text, repr(notifier)]
    for text in stored:
        assert wrong not in text and SECRET not in text
    assert rig.dispatch(notifier, after=86400) == (0, 0, 0)


@pytest.mark.parametrize("skew", [-301, 301], ids=["too-old", "too-new"])
def test_the_receiver_refuses_stale_or_future_timestamps(webhook: FakeWebhook, skew: int) -> None:
    target = WebhookTarget("t", url=webhook.url, secret=SECRET, clock=lambda: time.time() + skew)
    msg = NoticeMessage(
        id=1,
        kind=NoticeKind.DIGEST,
        title="每日汇总",
        body="",
        site_id=None,
        site_name=None,
        created_at=datetime(2026, 11, 26, 1, 0, tzinfo=UTC),
    )
    try:
        with pytest.raises(Rejected, match="timestamp outside tolerance"):
            target.send(msg)
    finally:
        target.close()
    assert not webhook.received


def test_a_500_is_retried_after_the_backoff(rig: Rig, webhook: FakeWebhook) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url))
    notice_id = rig.raise_notice()
    webhook.fail_next(1, status=500)
    start = rig.clock.now()
    assert rig.dispatch(notifier) == (0, 1, 0)
    row = rig.notice(notice_id)
    assert row.next_attempt_at == start + timedelta(seconds=30)
    assert row.deliveries["supervisor"]["status"] == "retry"
    assert row.deliveries["supervisor"]["http_status"] == 500

    assert rig.dispatch(notifier, after=29) == (0, 0, 0)
    assert rig.dispatch(notifier, after=1) == (1, 0, 0)
    assert [status for status, _ in webhook.requests] == [500, 200]
    assert len(webhook.received) == 1
    assert rig.notice(notice_id).deliveries["supervisor"]["attempts"] == 2


def test_429_retry_after_sets_the_next_attempt(rig: Rig, webhook: FakeWebhook) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url))
    notice_id = rig.raise_notice()
    webhook.fail_next(1, status=429, retry_after="120")
    start = rig.clock.now()
    assert rig.dispatch(notifier) == (0, 1, 0)
    assert rig.notice(notice_id).next_attempt_at == start + timedelta(seconds=120)
    assert rig.dispatch(notifier, after=60) == (0, 0, 0)
    assert rig.dispatch(notifier, after=60) == (1, 0, 0)
    assert [status for status, _ in webhook.requests] == [429, 200]


@pytest.mark.parametrize(
    ("fault", "error"),
    [("slow", "timed out"), ("drop", "connection failed")],
    ids=["timeout", "connection-closed"],
)
def test_timeouts_and_dropped_connections_are_retried(
    rig: Rig, webhook: FakeWebhook, fault: str, error: str
) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url, timeout=0.3))
    notice_id = rig.raise_notice()
    if fault == "slow":
        webhook.slow_next(1, delay=2.0)
    else:
        webhook.drop_next(1)
    assert rig.dispatch(notifier) == (0, 1, 0)
    entry = rig.notice(notice_id).deliveries["supervisor"]
    assert entry["status"] == "retry" and error in entry["error"]
    assert "http_status" not in entry

    assert rig.dispatch(notifier, after=30) == (1, 0, 0)
    assert [r.delivery_id for r in webhook.received] == [f"notice-{notice_id}"]


def test_partial_success_retries_only_the_target_that_failed(
    rig: Rig, webhook_factory: WebhookFactory
) -> None:
    first, second = webhook_factory(), webhook_factory(secret="second-key-9d")
    notifier = rig.notifier(
        hook("province", first.url) + hook("city", second.url, env="CITY_SECRET"),
        CITY_SECRET="second-key-9d",
    )
    notice_id = rig.raise_notice()
    second.fail_next(1, status=503)
    assert rig.dispatch(notifier) == (0, 1, 0)
    row = rig.notice(notice_id)
    assert row.deliveries["province"]["status"] == "sent"
    assert row.deliveries["city"]["status"] == "retry"

    assert rig.dispatch(notifier, after=30) == (1, 0, 0)
    assert first.requests == [(200, f"notice-{notice_id}")]
    assert [status for status, _ in second.requests] == [503, 200]
    assert len(first.received) == len(second.received) == 1


def test_dispatching_again_never_delivers_twice(rig: Rig, webhook: FakeWebhook) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url))
    notice_id = rig.raise_notice()
    assert rig.dispatch(notifier) == (1, 0, 0)
    assert rig.dispatch(notifier) == (0, 0, 0)
    assert rig.dispatch(notifier, after=86400) == (0, 0, 0)
    assert len(webhook.requests) == 1

    # Had the outcome been lost (a crash after sending), the resend carries the same delivery
    # id, and the receiver drops it.
    with rig.db.begin() as session:
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(status=NoticeStatus.PENDING, deliveries={}, next_attempt_at=rig.clock.now())
        )
    assert rig.dispatch(notifier) == (1, 0, 0)
    assert len(webhook.requests) == 2 and len(webhook.received) == 1
    assert webhook.duplicates == 1


def test_claims_lease_due_pending_notices(rig: Rig) -> None:
    now = rig.clock.now()
    due = rig.raise_notice("a")
    later = rig.raise_notice("b")
    done = rig.raise_notice("c")
    with rig.db.begin() as session:
        session.execute(
            update(Notice)
            .where(Notice.id == later)
            .values(next_attempt_at=now + timedelta(minutes=5))
        )
        session.execute(update(Notice).where(Notice.id == done).values(status=NoticeStatus.SENT))

    assert claim_due_notices(rig.db, now=now, limit=10, lease_seconds=300) == [due]
    assert claim_due_notices(rig.db, now=now, limit=10, lease_seconds=300) == []
    assert (
        claim_due_notices(rig.db, now=now + timedelta(seconds=299), limit=10, lease_seconds=300)
        == []
    )
    assert claim_due_notices(
        rig.db, now=now + timedelta(seconds=301), limit=10, lease_seconds=300
    ) == [
        due,
        later,
    ]


def test_concurrent_dispatchers_deliver_each_notice_once(rig: Rig, webhook: FakeWebhook) -> None:
    notifiers = [rig.notifier(hook("supervisor", webhook.url)) for _ in range(3)]
    ids = [rig.raise_notice(f"n{i}") for i in range(12)]
    now = rig.clock.now()
    barrier = threading.Barrier(len(notifiers))
    errors: list[BaseException] = []

    def run(notifier: Notifier) -> None:
        barrier.wait()
        try:
            notifier.dispatch(rig.db, now, limit=5)
            notifier.dispatch(rig.db, now, limit=5)
        except BaseException as exc:  # surfaced below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in notifiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sorted(str(d) for _, d in webhook.requests) == sorted(f"notice-{i}" for i in ids)
    assert all(rig.notice(i).status is NoticeStatus.SENT for i in ids)


def test_postgresql_claims_skip_rows_locked_by_another_claimer(
    pg_db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    rig = Rig(tmp_path, pg_db, clock)
    locked, free = rig.raise_notice("a", site=None), rig.raise_notice("b", site=None)
    with pg_db.engine.connect() as other, other.begin():
        other.execute(select(Notice.id).where(Notice.id == locked).with_for_update())
        assert claim_due_notices(pg_db, now=clock.now(), limit=10, lease_seconds=60) == [free]
    assert claim_due_notices(pg_db, now=clock.now(), limit=10, lease_seconds=60) == [locked]


def test_body_bytes_are_what_was_signed(rig: Rig, webhook: FakeWebhook) -> None:
    notifier = rig.notifier(hook("supervisor", webhook.url))
    notice_id = rig.raise_notice(site=None)
    rig.dispatch(notifier)
    (got,) = webhook.received
    with rig.db.session() as session:
        row = session.get(Notice, notice_id)
        assert row is not None
        assert got.body == encode_payload(NoticeMessage.from_notice(row))
