"""The notify service without sockets: routing, message format, signing, retries, secrets.

Webhooks go through ``httpx.MockTransport``; the database is SQLite in ``tmp_path``.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syndicator import audit
from syndicator.compliance.notices import raise_notice
from syndicator.db import AuditEntry, Database, Notice, NoticeKind, NoticeStatus, Site
from syndicator.notify import (
    UNROUTED,
    ConsoleTarget,
    DeliveryError,
    LogTarget,
    NoticeMessage,
    Notifier,
    RateLimited,
    Rejected,
    Route,
    Target,
    TargetUnavailable,
    WebhookTarget,
    backoff_delay,
    encode_payload,
    headline,
    sign,
    site_ancestry,
)
from syndicator.settings import Secret, load_settings

NOW = datetime(2024, 1, 5, 12, 30, tzinfo=UTC)  # 20:30 in Asia/Shanghai
WALL = 1704457800.0  # the webhook's wall clock, fixed
SECRET = "s3cr3t-hmac-key-0f9e"

PARENTS: dict[str, str | None] = {
    "jiangxi": None,
    "ganzhou": "jiangxi",
    "xingguo": "ganzhou",
    "xingguo-gaoxing": "xingguo",
    "nanchang": "jiangxi",
}


def message(
    kind: NoticeKind = NoticeKind.BREACH,
    site_id: str | None = "ganzhou",
    site_name: str | None = "赣州市人民政府",
    **over: Any,
) -> NoticeMessage:
    fields: dict[str, Any] = {
        "id": 42,
        "kind": kind,
        "title": "兴国县人民政府未按时转载《关于进一步优化营商环境的通知》",
        "body": "期限：2024-01-05 18:00\n已超时 2 小时 30 分",
        "site_id": site_id,
        "site_name": site_name,
        "created_at": NOW,
        "data": {"obligation_id": 12, "due_at": "2024-01-05T10:00:00+00:00"},
    }
    fields.update(over)
    return NoticeMessage(**fields)


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("xingguo-gaoxing", ("xingguo-gaoxing", "xingguo", "ganzhou", "jiangxi")),
        ("jiangxi", ("jiangxi",)),
        (None, ()),
        ("not-in-table", ("not-in-table",)),
    ],
    ids=["deep", "root", "no-site", "unknown-site"],
)
def test_site_ancestry_walks_to_the_root(site: str | None, expected: tuple[str, ...]) -> None:
    assert site_ancestry(site, PARENTS) == expected


def test_site_ancestry_survives_a_cycle() -> None:
    assert site_ancestry("a", {"a": "b", "b": "a"}) == ("a", "b")


@pytest.mark.parametrize(
    ("kinds", "sites", "kind", "site", "expected"),
    [
        (None, None, NoticeKind.BREACH, "ganzhou", True),
        (None, None, NoticeKind.DIGEST, None, True),
        (["breach", "digest"], None, NoticeKind.BREACH, "ganzhou", True),
        (["breach", "digest"], None, NoticeKind.WARN, "ganzhou", False),
        (None, ["ganzhou"], NoticeKind.WARN, "ganzhou", True),
        (None, ["ganzhou"], NoticeKind.WARN, "xingguo", True),
        (None, ["ganzhou"], NoticeKind.WARN, "xingguo-gaoxing", True),
        (None, ["ganzhou"], NoticeKind.WARN, "nanchang", False),
        (None, ["ganzhou"], NoticeKind.WARN, "jiangxi", False),
        (None, ["ganzhou"], NoticeKind.DIGEST, None, False),
        (None, ["jiangxi"], NoticeKind.BREACH, "xingguo-gaoxing", True),
        (["breach"], ["ganzhou"], NoticeKind.BREACH, "xingguo", True),
        (["breach"], ["ganzhou"], NoticeKind.REMIND, "xingguo", False),
        (["breach"], ["ganzhou"], NoticeKind.BREACH, "nanchang", False),
    ],
    ids=[
        "all-takes-everything",
        "all-takes-siteless",
        "kind-listed",
        "kind-not-listed",
        "site-itself",
        "site-child",
        "site-deep-descendant",
        "site-sibling",
        "site-parent-is-not-below",
        "siteless-skips-site-filtered",
        "root-takes-whole-tree",
        "kind-and-site",
        "kind-and-site-wrong-kind",
        "kind-and-site-wrong-site",
    ],
)
def test_routing_by_kind_and_site_subtree(
    kinds: list[str] | None,
    sites: list[str] | None,
    kind: NoticeKind,
    site: str | None,
    expected: bool,
) -> None:
    target = LogTarget(route=Route.of(kinds=kinds, sites=sites))
    assert target.accepts(message(kind, site), site_ancestry(site, PARENTS)) is expected


# -- message format --------------------------------------------------------------------------


def test_message_from_a_notice_row_is_a_detached_copy() -> None:
    row = Notice(
        id=7,
        dedup_key="obligation:12:breach",
        kind=NoticeKind.BREACH,
        created_at=NOW,
        site_id="ganzhou",
        title="标题",
        body="正文",
        data={"nested": {"n": 1}},
    )
    built = NoticeMessage.from_notice(row, site_name="赣州市人民政府")
    assert (built.id, built.kind, built.site_id, built.site_name) == (
        7,
        NoticeKind.BREACH,
        "ganzhou",
        "赣州市人民政府",
    )
    built.data["nested"]["n"] = 2
    assert row.data == {"nested": {"n": 1}}
    assert built.delivery_id == "notice-7"


def test_payload_fields_times_and_encoding() -> None:
    msg = message()
    assert msg.to_json() == {
        "id": 42,
        "kind": "breach",
        "kind_zh": "超时",
        "title": msg.title,
        "body": msg.body,
        "site_id": "ganzhou",
        "site_name": "赣州市人民政府",
        "created_at": "2024-01-05T12:30:00+00:00",
        "created_at_local": "2024-01-05T20:30:00+08:00",
        "data": {"obligation_id": 12, "due_at": "2024-01-05T10:00:00+00:00"},
    }
    body = encode_payload(msg)
    assert "赣州市人民政府".encode() in body  # UTF-8, not \\u escapes
    assert b": " not in body and b", " not in body
    assert json.loads(body) == msg.to_json()


@pytest.mark.parametrize(
    ("site_id", "site_name", "expected"),
    [
        ("ganzhou", "赣州市人民政府", "[超时] 2024-01-05 20:30 赣州市人民政府：标题"),
        ("ganzhou", None, "[超时] 2024-01-05 20:30 ganzhou：标题"),
        (None, None, "[超时] 2024-01-05 20:30 标题"),
    ],
    ids=["named-site", "unnamed-site", "no-site"],
)
def test_headline_is_zh_cn_in_shanghai_time(
    site_id: str | None, site_name: str | None, expected: str
) -> None:
    assert headline(message(site_id=site_id, site_name=site_name, title="标题")) == expected


def test_console_writes_headline_and_indented_body_to_a_stream_or_callable() -> None:
    stream = io.StringIO()
    ConsoleTarget(out=stream).send(message(title="标题"))
    assert stream.getvalue() == (
        "[超时] 2024-01-05 20:30 赣州市人民政府：标题\n"
        "  期限：2024-01-05 18:00\n"
        "  已超时 2 小时 30 分\n"
    )
    lines: list[str] = []
    ConsoleTarget(out=lines.append).send(
        message(NoticeKind.DIGEST, None, None, body="", title="汇总")
    )
    assert lines == ["[每日汇总] 2024-01-05 20:30 汇总"]


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        (NoticeKind.BREACH, logging.WARNING),
        (NoticeKind.UNKNOWN, logging.WARNING),
        (NoticeKind.UNCHECKED, logging.WARNING),
        (NoticeKind.STALE, logging.WARNING),
        (NoticeKind.REMIND, logging.INFO),
        (NoticeKind.WARN, logging.INFO),
        (NoticeKind.DIGEST, logging.INFO),
        (NoticeKind.STALE_WARN, logging.INFO),
    ],
    ids=lambda v: v.value if isinstance(v, NoticeKind) else logging.getLevelName(v),
)
def test_log_target_levels(caplog: pytest.LogCaptureFixture, kind: NoticeKind, level: int) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicator.notice")
    LogTarget().send(message(kind, title="标题"))
    (record,) = [r for r in caplog.records if r.name == "syndicator.notice"]
    assert record.levelno == level
    assert record.getMessage().startswith(f"[{message(kind).kind_zh}] 2024-01-05 20:30 赣州市")
    assert (getattr(record, "notice_id", None), getattr(record, "notice_kind", None)) == (
        42,
        kind.value,
    )


# -- webhook ---------------------------------------------------------------------------------


def test_signature_known_vector() -> None:
    # Checked against: printf '1704457800.{"id":1,"kind":"breach"}' | openssl dgst -sha256
    #   -hmac 'It is a secret'
    assert sign("It is a secret", 1704457800, b'{"id":1,"kind":"breach"}') == (
        "sha256=7dc4fd66cfdb52824fed9def26e096a2a8e02ebe81d9894484364376f1251931"
    )
    assert sign(Secret("It is a secret"), 1704457800, b'{"id":1,"kind":"breach"}').endswith("1931")


def _webhook(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    id: str = "hook",
    url: str = "https://hooks.example.gov.cn/syndicator",
    route: Route | None = None,
) -> WebhookTarget:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return WebhookTarget(
        id,
        url=url,
        secret=SECRET,
        client=client,
        user_agent="syndicator-test",
        route=route,
        clock=lambda: WALL,
    )


def test_webhook_request_headers_body_and_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    msg = message()
    _webhook(handler).send(msg)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://hooks.example.gov.cn/syndicator"
    assert request.content == encode_payload(msg)
    headers = request.headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"] == "syndicator-test"
    assert headers["x-syndicator-event"] == "notice.breach"
    assert headers["x-syndicator-delivery"] == "notice-42"
    assert headers["x-syndicator-timestamp"] == "1704457800"
    expected = hmac.new(SECRET.encode(), b"1704457800." + request.content, hashlib.sha256)
    assert headers["x-syndicator-signature"] == f"sha256={expected.hexdigest()}"


def _raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _answer(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, headers=headers, json={"error": "x"})


@pytest.mark.parametrize(
    ("handler", "error", "retryable", "retry_after", "http_status"),
    [
        (_answer(200), None, None, None, None),
        (_answer(202), None, None, None, None),
        (_answer(500), DeliveryError, True, None, 500),
        (_answer(503, **{"Retry-After": "7"}), DeliveryError, True, 7.0, 503),
        (_answer(408), DeliveryError, True, None, 408),
        (_answer(429, **{"Retry-After": "120"}), RateLimited, True, 120.0, 429),
        (
            _answer(429, **{"Retry-After": email.utils.formatdate(WALL + 90, usegmt=True)}),
            RateLimited,
            True,
            90.0,
            429,
        ),
        (_answer(429, **{"Retry-After": "soon"}), RateLimited, True, None, 429),
        (_answer(400), Rejected, False, None, 400),
        (_answer(401), Rejected, False, None, 401),
        (_answer(404), Rejected, False, None, 404),
        (_answer(302, Location="https://elsewhere.example/"), Rejected, False, None, 302),
        (_raising(httpx.ConnectError("refused")), TargetUnavailable, True, None, None),
        (_raising(httpx.ReadTimeout("slow")), TargetUnavailable, True, None, None),
        (_raising(httpx.ConnectTimeout("slow")), TargetUnavailable, True, None, None),
        (_raising(httpx.RemoteProtocolError("closed")), TargetUnavailable, True, None, None),
    ],
    ids=[
        "200",
        "202",
        "500",
        "503-retry-after",
        "408",
        "429-seconds",
        "429-http-date",
        "429-unparseable",
        "400",
        "401",
        "404",
        "302-not-followed",
        "connect-error",
        "read-timeout",
        "connect-timeout",
        "connection-closed",
    ],
)
def test_webhook_outcome_classification(
    handler: Callable[[httpx.Request], httpx.Response],
    error: type[DeliveryError] | None,
    retryable: bool | None,
    retry_after: float | None,
    http_status: int | None,
) -> None:
    target = _webhook(handler)
    if error is None:
        target.send(message())
        return
    with pytest.raises(error) as caught:
        target.send(message())
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert caught.value.http_status == http_status


# -- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (9, 3600), (5000, 3600)],
    ids=lambda v: str(v),
)
def test_backoff_doubles_up_to_the_cap(attempts: int, expected: float) -> None:
    assert backoff_delay(attempts, base=30, cap=3600, rand=lambda: 0.0) == expected
    shortest = backoff_delay(attempts, base=30, cap=3600, jitter=0.2, rand=lambda: 1.0)
    assert shortest == pytest.approx(expected * 0.8)


def test_retry_after_wins_over_backoff_but_not_over_the_cap() -> None:
    notifier = Notifier([], backoff_base=30, backoff_cap=600, rand=lambda: 0.0)
    assert notifier.retry_delay(1, None) == 30
    assert notifier.retry_delay(1, 120) == 120
    assert notifier.retry_delay(1, 0) == 0
    assert notifier.retry_delay(1, 86400) == 600


# -- dispatch --------------------------------------------------------------------------------


@pytest.fixture
def db(sqlite_db: Database) -> Iterator[Database]:
    with sqlite_db.begin() as session:
        for site_id, parent in PARENTS.items():
            session.add(Site(id=site_id, name=f"{site_id}政府", level="x", parent_id=parent))
    yield sqlite_db


def _raise(
    db: Database, key: str, kind: NoticeKind = NoticeKind.BREACH, site: str | None = "ganzhou"
) -> int:
    with db.begin() as session:
        new = raise_notice(
            session, key=key, kind=kind, now=NOW, title=f"标题 {key}", body="正文", site_id=site
        )
    assert new is not None
    return new


def _notice(db: Database, notice_id: int) -> Notice:
    with db.session() as session:
        row = session.get(Notice, notice_id)
        assert row is not None
        return row


class Hosts:
    """A MockTransport handler that counts requests per host and fails on command."""

    def __init__(self) -> None:
        self.calls: dict[str, list[str]] = {}
        self.plan: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.setdefault(host, []).append(request.headers["x-syndicator-delivery"])
        steps = self.plan.get(host)
        if steps:
            return steps.pop(0)(request)
        return httpx.Response(200)

    def targets(self, *ids: str, **route: Route) -> list[Target]:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return [
            WebhookTarget(
                i,
                url=f"https://{i}.example/hook",
                secret=SECRET,
                client=client,
                route=route.get(i),
                clock=lambda: WALL,
            )
            for i in ids
        ]


def test_a_target_that_succeeded_is_never_sent_the_notice_again(db: Database) -> None:
    hosts = Hosts()
    hosts.plan["b.example"] = [_answer(500)]
    notifier = Notifier(hosts.targets("a", "b"), rand=lambda: 0.0)
    notice_id = _raise(db, "n1")

    first = notifier.dispatch(db, NOW)
    assert (first.claimed, first.pending, first.delivered, first.errors) == (1, 1, 1, 1)
    row = _notice(db, notice_id)
    assert row.status is NoticeStatus.PENDING
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    assert row.deliveries["a"] == {"status": "sent", "at": NOW.isoformat(), "attempts": 1}
    assert row.deliveries["b"]["status"] == "retry" and row.deliveries["b"]["http_status"] == 500

    assert notifier.dispatch(db, NOW + timedelta(seconds=29)).claimed == 0
    second = notifier.dispatch(db, NOW + timedelta(seconds=30))
    assert (second.sent, second.delivered) == (1, 1)
    assert hosts.calls == {"a.example": ["notice-1"], "b.example": ["notice-1", "notice-1"]}
    row = _notice(db, notice_id)
    assert row.status is NoticeStatus.SENT and row.sent_at == NOW + timedelta(seconds=30)
    assert row.attempts == 2 and row.deliveries["b"]["attempts"] == 2
    assert row.claimed_until is None and row.next_attempt_at is None
    assert notifier.dispatch(db, NOW + timedelta(days=1)).claimed == 0


def test_an_unreachable_target_is_tried_once_per_run_and_holds_up_nobody(db: Database) -> None:
    hosts = Hosts()
    hosts.plan["down.example"] = [_raising(httpx.ConnectError("refused"))] * 5
    notifier = Notifier(hosts.targets("up", "down"), rand=lambda: 0.0)
    ids = [_raise(db, f"n{i}") for i in range(3)]

    report = notifier.dispatch(db, NOW)
    assert (report.claimed, report.pending, report.delivered, report.errors) == (3, 3, 3, 1)
    assert len(hosts.calls["up.example"]) == 3
    assert len(hosts.calls["down.example"]) == 1
    first, *rest = (_notice(db, i) for i in ids)
    assert first.deliveries["down"]["attempts"] == 1
    for row in rest:
        assert row.deliveries["down"]["attempts"] == 0
        assert row.deliveries["down"]["error"].startswith("本轮未发送")
        assert row.next_attempt_at == NOW + timedelta(seconds=30)
        assert row.deliveries["up"]["status"] == "sent"


def test_a_target_raising_anything_else_is_retried_and_others_still_deliver(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Target):
        kind = "broken"

        def send(self, message: NoticeMessage) -> None:
            raise RuntimeError("bug")

    lines: list[str] = []
    notifier = Notifier([Broken("broken"), ConsoleTarget(out=lines.append)], rand=lambda: 0.0)
    notice_id = _raise(db, "n1")
    with caplog.at_level(logging.ERROR, logger="syndicator.notify"):
        notifier.dispatch(db, NOW)
    row = _notice(db, notice_id)
    assert row.deliveries["console"]["status"] == "sent" and lines
    assert row.deliveries["broken"]["status"] == "retry"
    assert "RuntimeError: bug" in row.deliveries["broken"]["error"]


def test_gives_up_after_max_attempts_with_an_audit_entry(db: Database) -> None:
    hosts = Hosts()
    hosts.plan["hook.example"] = [_answer(503)] * 3
    notifier = Notifier(hosts.targets("hook"), max_attempts=3, rand=lambda: 0.0)
    notice_id = _raise(db, "n1")
    at = NOW
    for wait in (30, 60):
        assert notifier.dispatch(db, at).pending == 1
        at += timedelta(seconds=wait)
        assert _notice(db, notice_id).next_attempt_at == at
    assert notifier.dispatch(db, at).failed == 1
    row = _notice(db, notice_id)
    assert row.status is NoticeStatus.FAILED and row.next_attempt_at is None
    assert row.deliveries["hook"]["status"] == "failed" and row.deliveries["hook"]["attempts"] == 3
    with db.session() as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.failed"))
        assert entry.subject == f"notice:{notice_id}" and entry.actor == "system:notify"
        assert entry.data["targets"]["hook"]["http_status"] == 503
        assert audit.verify(session)[1] is None
    assert notifier.dispatch(db, at + timedelta(days=1)).claimed == 0


def test_a_permanent_error_fails_at_once(db: Database) -> None:
    hosts = Hosts()
    hosts.plan["hook.example"] = [_answer(400)]
    notifier = Notifier(hosts.targets("hook"), rand=lambda: 0.0)
    notice_id = _raise(db, "n1")
    assert notifier.dispatch(db, NOW).failed == 1
    row = _notice(db, notice_id)
    assert row.status is NoticeStatus.FAILED
    assert row.deliveries["hook"]["error"].startswith("接收方拒绝 / rejected, HTTP 400")


def test_a_notice_no_target_takes_is_marked_sent_and_says_so(db: Database) -> None:
    lines: list[str] = []
    notifier = Notifier([ConsoleTarget(out=lines.append, route=Route.of(kinds=["digest"]))])
    notice_id = _raise(db, "n1", NoticeKind.BREACH)
    assert notifier.dispatch(db, NOW).sent == 1
    row = _notice(db, notice_id)
    assert row.status is NoticeStatus.SENT and not lines
    assert row.deliveries == {UNROUTED: {"status": "unrouted", "at": NOW.isoformat()}}


def test_dispatch_routes_by_site_subtree_and_names_the_site(db: Database) -> None:
    county: list[str] = []
    everyone: list[str] = []
    notifier = Notifier(
        [
            ConsoleTarget("ganzhou", out=county.append, route=Route.of(sites=["ganzhou"])),
            ConsoleTarget("all", out=everyone.append),
        ]
    )
    _raise(db, "deep", site="xingguo-gaoxing")
    _raise(db, "other", site="nanchang")
    _raise(db, "digest", NoticeKind.DIGEST, site=None)
    notifier.dispatch(db, NOW)
    assert [line for line in county if line.startswith("[")] == [
        "[超时] 2024-01-05 20:30 xingguo-gaoxing政府：标题 deep"
    ]
    assert len([line for line in everyone if line.startswith("[")]) == 3


def test_duplicate_or_reserved_target_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Notifier([LogTarget("x"), ConsoleTarget("x")])
    with pytest.raises(ValueError, match="_"):
        Notifier([LogTarget("_x")])


# -- secrets ---------------------------------------------------------------------------------


def test_the_secret_appears_nowhere(
    tmp_path: Path, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "syndicator.toml"
    config.write_text(
        "[[notify.targets]]\n"
        'id = "supervisor"\nkind = "webhook"\n'
        'url = "https://hooks.example.gov.cn/syndicator"\n'
        'secret_env = "SUPERVISOR_WEBHOOK_SECRET"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        {
            "SYNDICATOR_DATA_DIR": str(tmp_path),
            "SYNDICATOR_CONFIG": str(config),
            "SUPERVISOR_WEBHOOK_SECRET": SECRET,
        }
    )
    (target_settings,) = settings.notify.targets
    assert target_settings.secret is not None and target_settings.secret.reveal() == SECRET

    def leaky(request: httpx.Request) -> httpx.Response:
        # A receiver that echoes the key back: still nothing of it may be stored or logged.
        return httpx.Response(
            401, text=f"bad signature for key {SECRET}", headers={"X-Key": SECRET}
        )

    client = httpx.Client(transport=httpx.MockTransport(leaky))
    caplog.set_level(logging.DEBUG)
    with Notifier.from_settings(settings, http_client=client) as notifier:
        notice_id = _raise(db, "n1")
        assert notifier.dispatch(db, NOW).failed == 1
        shown = [
            repr(settings),
            str(settings),
            repr(settings.notify),
            repr(target_settings),
            str(target_settings),
            f"{target_settings.secret}",
            repr(notifier),
            repr(notifier.targets[0]),
        ]
    row = _notice(db, notice_id)
    assert "***" in row.deliveries["supervisor"]["error"]
    shown.append(json.dumps(row.deliveries, ensure_ascii=False))
    with db.session() as session:
        shown.extend(
            json.dumps(e.data, ensure_ascii=False) for e in session.scalars(select(AuditEntry))
        )
    shown.extend(r.getMessage() for r in caplog.records)
    shown.append(caplog.text)
    assert any("supervisor" in r.getMessage() for r in caplog.records)  # the failure was logged
    for text in shown:
        assert SECRET not in text


def test_an_unexpected_error_carrying_the_secret_is_logged_and_stored_masked(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    class Buggy(WebhookTarget):
        def send(self, message: NoticeMessage) -> None:
            raise RuntimeError(f"signing with {SECRET} failed")

    target = Buggy("buggy", url="https://h.example/", secret=SECRET)
    notice_id = _raise(db, "n1")
    caplog.set_level(logging.DEBUG)
    with Notifier([target], rand=lambda: 0.0) as notifier:
        notifier.dispatch(db, NOW)
    error = _notice(db, notice_id).deliveries["buggy"]["error"]
    assert "signing with *** failed" in error
    assert "Traceback" in caplog.text and SECRET not in caplog.text
