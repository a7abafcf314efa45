"""Pushes reach the platforms as their templates shape them, and internal notices go through
the same engine: services over SQLite, adapters talking HTTP to the WeCom fake on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from syndicator.clock import FrozenClock
from syndicator.compliance.notices import raise_notice
from syndicator.db import Database
from syndicator.db.models import (
    Delivery,
    DeliveryState,
    Notice,
    NoticeKind,
    NoticeStatus,
    Push,
    PushState,
)
from syndicator.delivery.engine import DeliveryError, create_push
from syndicator.services import Services
from syndicator.settings import load_settings
from tests.fakes.wecom import WeComServer
from workers.embedded import EmbeddedRunner

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
PARAGRAPH = "经核查，网传“某地自来水被污染”的说法不实，当地水质各项指标均符合国家标准。"


def _services(
    tmp_path: Path, db: Database, wecom: WeComServer, extra: str = "", **env: str
) -> Services:
    config = tmp_path / "syndicator.toml"
    config.write_text(
        "[[channels]]\n"
        'id = "duty-group"\ntype = "wecom_bot"\n'
        f'base_url = "{wecom.base_url}"\nkey_env = "DUTY_KEY"\n'
        "[[channels]]\n"
        'id = "strict-group"\ntype = "wecom_bot"\n'
        f'base_url = "{wecom.base_url}"\nkey_env = "DUTY_KEY"\n'
        'render = { rule = "refuse" }\n' + extra,
        encoding="utf-8",
    )
    settings = load_settings(
        {
            "SYNDICATOR_DATA_DIR": str(tmp_path),
            "SYNDICATOR_CONFIG": str(config),
            "DUTY_KEY": wecom.key,
            **env,
        }
    )
    return Services(settings, clock=FrozenClock(NOW), db=db)


@pytest.fixture
def services(tmp_path: Path, sqlite_db: Database, wecom: WeComServer) -> Iterator[Services]:
    built = _services(tmp_path, sqlite_db, wecom)
    yield built
    built.close()


def _draft(services: Services, body: str, channels: list[str]) -> int:
    return create_push(
        services.db,
        kind="rebuttal",
        title="关于某地自来水被污染的辟谣",
        body=body,
        channels=channels,
        by="staff:li",
        now=services.clock.now(),
        url="https://www.jiangxi.gov.cn/art/2026/12/2/art_1.html",
    )


def test_a_rebuttal_reaches_the_group_as_markdown_from_its_template(
    services: Services, wecom: WeComServer
) -> None:
    (delivery_id,) = services.approve(_draft(services, PARAGRAPH, ["duty-group"]), by="wang")
    assert services.deliver(delivery_id).state is DeliveryState.SENT

    (message,) = wecom.fake.delivered_to(wecom.key)
    assert message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert content.startswith("## 【辟谣】关于某地自来水被污染的辟谣")
    assert "发布时间：2026年12月2日 09:30" in content  # shown in Beijing time
    assert PARAGRAPH in content
    assert "[阅读原文](https://www.jiangxi.gov.cn/art/2026/12/2/art_1.html)" in content


def test_markdown_over_the_robot_limit_is_split_and_each_part_sent_once(
    services: Services, wecom: WeComServer
) -> None:
    # ≈ 9,600 UTF-8 bytes: over WeCom's 4,096-byte markdown limit, so three or more parts.
    body = "\n".join(f"{i}. {PARAGRAPH}" for i in range(1, 81))
    (delivery_id,) = services.approve(_draft(services, body, ["duty-group"]), by="wang")
    assert services.deliver(delivery_id).state is DeliveryState.SENT
    assert services.deliver(delivery_id).state is None  # already sent: nothing more

    sent = [m["markdown"]["content"] for m in wecom.fake.delivered_to(wecom.key)]
    count = len(sent)
    assert count >= 3
    assert all(len(text.encode("utf-8")) <= 4096 for text in sent)
    assert [text.split("\n", 1)[0] for text in sent] == [
        f"（{i}/{count}）" for i in range(1, count + 1)
    ]
    assert "80\\. " + PARAGRAPH in sent[-1]  # staff text never becomes markdown
    with services.db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and row.parts_sent == count


def test_markdown_between_the_text_and_markdown_limits_goes_as_one_message(
    services: Services, wecom: WeComServer
) -> None:
    body = "\n".join([PARAGRAPH] * 25)  # ≈ 3,000 bytes: over 2,048 (text), under 4,096
    (delivery_id,) = services.approve(_draft(services, body, ["duty-group"]), by="wang")
    assert services.deliver(delivery_id).state is DeliveryState.SENT
    assert len(wecom.fake.delivered_to(wecom.key)) == 1


def test_approval_is_refused_when_a_channel_would_refuse_the_body(
    services: Services, wecom: WeComServer
) -> None:
    body = "\n".join([PARAGRAPH] * 60)
    push_id = _draft(services, body, ["duty-group", "strict-group"])

    previews = {p.channel_id: p for p in services.preview(push_id)}
    assert previews["duty-group"].ok and len(previews["duty-group"].messages) > 1
    assert not previews["strict-group"].ok

    with pytest.raises(DeliveryError) as refused:
        services.approve(push_id, by="wang")
    message = str(refused.value)
    assert "strict-group" in message and "4096 字节(UTF-8)" in message
    assert "duty-group" not in message  # the channel that can take it is not blamed
    with services.db.session() as session:
        push = session.get(Push, push_id)
        assert push is not None and push.state is PushState.DRAFT
        assert session.scalars(select(Delivery)).all() == []
    assert wecom.fake.delivered_to(wecom.key) == []


def test_notices_go_to_a_channel_target_through_the_delivery_engine(
    tmp_path: Path, sqlite_db: Database, wecom: WeComServer
) -> None:
    targets = (
        "[[notify.targets]]\n"
        'id = "supervisors"\nkind = "channel"\nchannel = "duty-group"\n'
        'kinds = ["breach"]\n'
    )
    services = _services(tmp_path, sqlite_db, wecom, targets)
    try:
        with sqlite_db.begin() as session:
            notice_id = raise_notice(
                session,
                key="breach:1",
                kind=NoticeKind.BREACH,
                now=NOW,
                title="赣州市人民政府网站未在 12 小时内转载《国务院关于……的通知》",
                body="应转载时限：2026-12-02 09:00\n请立即处理。",
            )
        assert notice_id is not None

        report = services.dispatch_notices()
        assert report.delivered == 1

        (message,) = wecom.fake.delivered_to(wecom.key)
        content = message["markdown"]["content"]
        assert "【通知】超时｜赣州市人民政府网站未在 12 小时内转载" in content
        assert "时间：2026-12-02 09:30（北京时间）" in content
        assert "本通知仅供内部工作使用，请勿外传。" in content

        with sqlite_db.session() as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None and notice.status is NoticeStatus.SENT
            (delivery,) = session.scalars(select(Delivery)).all()
            assert delivery.state is DeliveryState.SENT and delivery.channel_id == "duty-group"
            push = session.get(Push, delivery.push_id)
            assert push is not None and push.kind == "notice"
            assert push.origin == f"notice-{notice_id}-supervisors"

        # A notifier that lost its record and sends the notice again queues nothing twice.
        from syndicator.notify import ChannelTarget

        target = services.notifier.targets[0]
        assert isinstance(target, ChannelTarget)
        with sqlite_db.session() as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None
            from syndicator.notify import NoticeMessage

            target.send(NoticeMessage.from_notice(notice))
        with sqlite_db.session() as session:
            assert len(session.scalars(select(Delivery)).all()) == 1
        assert len(wecom.fake.delivered_to(wecom.key)) == 1
    finally:
        services.close()


def test_in_distributed_mode_a_notice_delivery_is_handed_to_the_workers(
    tmp_path: Path, sqlite_db: Database, wecom: WeComServer
) -> None:
    targets = '[[notify.targets]]\nid = "supervisors"\nkind = "channel"\nchannel = "duty-group"\n'
    broker = {"SYNDICATOR_BROKER_URL": "redis://127.0.0.1:6379/14"}
    services = _services(tmp_path, sqlite_db, wecom, targets, **broker)
    handed: list[int] = []
    services.enqueue = handed.append  # what workers.tasks and the CLI install: deliver_task.delay
    try:
        with sqlite_db.begin() as session:
            raise_notice(
                session, key="breach:2", kind=NoticeKind.BREACH, now=NOW, title="超时", body="详情"
            )
        assert services.dispatch_notices().delivered == 1
        with sqlite_db.session() as session:
            (delivery,) = session.scalars(select(Delivery)).all()
        assert handed == [delivery.id] and delivery.state is DeliveryState.QUEUED
        assert wecom.fake.delivered_to(wecom.key) == []  # a worker sends it, not the notifier
    finally:
        services.close()


def test_a_handed_off_delivery_is_claimed_at_once_and_lands_before_close(
    tmp_path: Path, sqlite_db: Database, wecom: WeComServer
) -> None:
    # What a worker's deliver_task does: the task ends once the claim is committed, the
    # platform's answer is awaited on the event loop, and close() waits for it to land.
    services = _services(tmp_path, sqlite_db, wecom)
    try:
        (delivery_id,) = services.approve(_draft(services, PARAGRAPH, ["duty-group"]), by="wang")
        handed = services.hand_off(delivery_id)
        assert (handed.state, handed.detail) == (DeliveryState.SENDING, "claimed; sending")
        again = services.hand_off(delivery_id)  # a duplicate queue message
        assert again.state is None and again.detail == "not due or held by another worker"
    finally:
        services.close()
    with sqlite_db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and row.state is DeliveryState.SENT
    assert len(wecom.fake.delivered_to(wecom.key)) == 1


def test_the_embedded_sweep_sends_a_queued_delivery_and_idle_waits_for_it(
    tmp_path: Path, sqlite_db: Database, wecom: WeComServer
) -> None:
    # Queued but never handed to a worker (the broker lost it): the in-process sweep sends
    # it, and "idle" means sent, not merely claimed (`poll --once` and the demo rely on it).
    broker = {"SYNDICATOR_BROKER_URL": "redis://127.0.0.1:6379/14"}
    services = _services(tmp_path, sqlite_db, wecom, **broker)
    runner = EmbeddedRunner(services)
    try:
        (delivery_id,) = services.approve(_draft(services, PARAGRAPH, ["duty-group"]), by="wang")
        assert runner.sweep() == 1
        assert runner.wait_idle(timeout=30)
        with sqlite_db.session() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None and row.state is DeliveryState.SENT
        assert len(wecom.fake.delivered_to(wecom.key)) == 1
    finally:
        runner.shutdown()
        services.close()
