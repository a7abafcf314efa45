"""``syndicator demo``: the whole loop, for real, against local sample portals.

It starts the portal simulator on 127.0.0.1 (中国政府网-like list with detail pages, the provincial
RSS feeds, four county/city sites: one UTF-8, one GBK, one redesigned so its selector finds
nothing, one too slow to answer), writes a sources file for it into ``<data dir>/demo/``, and runs
the same services as production: three polling rounds, between which the portals publish and
repost new documents, each followed by the compliance tick (obligations, reposts found, deadlines,
notices). Notices are delivered to the console, and breach notices also to the supervisors'
WeCom group through the delivery engine. Then a push round (:mod:`syndicator.demo_channels`):
a rebuttal and an interpretation drafted, previewed, approved and delivered to the WeChat,
Weibo, WeCom, DingTalk and Feishu fakes. Nothing is mocked: every request crosses a real socket,
and the deadlines are the jiangxi profile's 12 hours on the real clock.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from syndicator import audit
from syndicator.clock import format_local
from syndicator.compliance.engine import TickReport, format_span
from syndicator.compliance.reports import compliance_report
from syndicator.db import Database, upgrade
from syndicator.db.models import (
    Delivery,
    DeliveryState,
    Entry,
    Item,
    Notice,
    NoticeKind,
    Obligation,
    ObligationState,
    Precision,
    Site,
)
from syndicator.demo_channels import ALERTS_GROUP, DemoPlatforms, push_round
from syndicator.labels import (
    HEALTH_ZH,
    NOTICE_KIND_ZH,
    OBLIGATION_STATE_ZH,
    PRECISION_ZH,
    STATUS_ZH,
)
from syndicator.notify import ChannelTarget, ConsoleTarget, Notifier, Outbox, Route
from syndicator.services import Services, install_services
from syndicator.settings import Settings
from syndicator.simulator import SimulatorServer, build_demo_world
from syndicator.sources.config import load_sources
from syndicator.sources.poller import PollOutcome
from syndicator.sources.registry import sync_sources

__all__ = ["run_demo"]


def _demo_settings(settings: Settings) -> Settings:
    data = settings.data_dir / "demo"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    fetch = replace(
        settings.fetch,
        # The slow sample site answers after a few seconds; a short read timeout shows what a
        # site that cannot be checked looks like without a long wait.
        read_timeout=min(settings.fetch.read_timeout, 1.5),
        # All sample sites share one local port, so per-host pacing would serialise them.
        per_host_concurrency=8,
        per_host_delay=0.0,
    )
    return replace(
        settings,
        data_dir=data,
        database_url=f"sqlite:///{data / 'syndicator.db'}",
        broker_url=None,
        sources_file=data / "sources.toml",
        fetch=fetch,
    )


def _outcomes_table(outcomes: list[PollOutcome], names: dict[str, str]) -> Table:
    table = Table("信息源", "名称", "结果", "条目", "新增", "状态", "说明")
    for outcome in sorted(outcomes, key=lambda o: o.source_id):
        note = outcome.health_reason or outcome.error or ""
        if outcome.encoding and outcome.encoding != "utf-8":
            note = f"识别编码 {outcome.encoding} {note}"
        table.add_row(
            outcome.source_id,
            names.get(outcome.source_id, ""),
            STATUS_ZH[outcome.status],
            "—" if outcome.entries is None else str(outcome.entries),
            str(outcome.new_entries),
            HEALTH_ZH[outcome.health],
            note,
        )
    return table


def _recent(services: Services, model: type[Item] | type[Entry], limit: int) -> Table:
    table = Table("发布时间(北京)", "精度", "标题", "信息源")
    with services.db.session() as session:
        rows = session.execute(
            select(model.published_at, model.published_precision, model.title, model.source_id)
            .order_by(model.first_seen_at.desc(), model.published_at.desc().nulls_last())
            .limit(limit)
        ).all()
    for published_at, precision, title, source_id in rows:
        table.add_row(
            format_local(published_at, date_only=precision is Precision.DATE),
            PRECISION_ZH[precision],
            title,
            source_id,
        )
    return table


def _tick_line(report: TickReport) -> str:
    states = "，".join(
        f"{OBLIGATION_STATE_ZH[k]} {v}" for k, v in sorted(report.transitions.items())
    )
    return (
        f"合规检查：新增转载义务 {report.opened}，发现转载 {report.reposts}"
        + (f"，判定 {states}" if states else "")
        + f"，新通知 {report.notices}"
    )


def _evaluate(services: Services, console: Console, shown: list[str]) -> None:
    console.print(_tick_line(services.evaluate()))
    start = len(shown)
    services.dispatch_notices(limit=1000)
    lines = shown[start:]
    headlines = [line for line in lines if not line.startswith("  ")]
    for line in headlines[:_NOTICE_LINES]:
        console.print(f"  {line}")
    if len(headlines) > _NOTICE_LINES:
        console.print(
            f"  …另有 {len(headlines) - _NOTICE_LINES} 条通知（syndicator notices list 查看全部）"
        )


_NOTICE_LINES = 8


def _compliance_table(services: Services, since: datetime) -> Table:
    table = Table("站点", "义务", "按时", "超时转载", "逾期未转载", "无法判定", "待转载", "按时率")
    with services.db.session() as session:
        rows = compliance_report(session, since=since)
    for row in rows:
        rate = "—" if row.on_time_rate is None else f"{row.on_time_rate:.0%}"
        table.add_row(
            row.site_name,
            str(row.total),
            str(row.reposted),
            str(row.reposted_late),
            str(row.overdue),
            str(row.unknown),
            str(row.pending),
            rate,
        )
    return table


def _examples(services: Services) -> Table:
    """One obligation of each state, with its evidence: what staff check first."""
    table = Table("编号", "站点", "条目", "状态", "截止(北京)", "证据 / 说明")
    with services.db.session() as session:
        for state in ObligationState:
            row = session.execute(
                select(Obligation, Item.title, Site.name)
                .join(Item, Item.id == Obligation.item_id)
                .join(Site, Site.id == Obligation.site_id)
                .where(Obligation.state == state)
                .order_by(Obligation.due_at)
                .limit(1)
            ).first()
            if row is None:
                continue
            obligation, title, site = row
            evidence = obligation.note or ""
            if obligation.entry_id is not None:
                entry = session.get(Entry, obligation.entry_id)
                assert entry is not None
                evidence = f"「{entry.title}」"
                if obligation.latency_seconds is not None:
                    evidence += (
                        f"，用时 {format_span(timedelta(seconds=obligation.latency_seconds))}"
                    )
            table.add_row(
                str(obligation.id),
                site,
                title,
                OBLIGATION_STATE_ZH[state],
                format_local(obligation.due_at),
                evidence,
            )
    return table


def _notice_counts(services: Services) -> str:
    with services.db.session() as session:
        rows = session.execute(select(Notice.kind, func.count()).group_by(Notice.kind))
        counts = {kind: count for kind, count in rows}
    return "，".join(f"{NOTICE_KIND_ZH[k]} {counts[k]}" for k in NoticeKind if counts.get(k))


def _alerts_line(services: Services, received: int) -> str:
    with services.db.session() as session:
        states = Counter(
            session.scalars(select(Delivery.state).where(Delivery.channel_id == ALERTS_GROUP)).all()
        )
    waiting = states.get(DeliveryState.RETRY_WAIT, 0)
    line = f"超时通知经投递引擎发往督查企业微信群（{ALERTS_GROUP}）：群内已收到 {received} 条"
    if waiting:
        line += f"，{waiting} 条因机器人频率上限（20 条/分钟）排队，稍后自动发送"
    return line


def run_demo(settings: Settings, *, console: Console, slow_delay: float = 3.0) -> None:
    """Run three polling rounds against the simulator and show what was found."""
    settings = _demo_settings(settings)
    world = build_demo_world(datetime.now(UTC), slow_delay=slow_delay, broken="working")
    with SimulatorServer(world.portal) as server, DemoPlatforms() as platforms:
        settings = replace(settings, channels=platforms.channels)
        base = server.base_urls[0]
        assert settings.sources_file is not None
        settings.sources_file.write_text(world.sources_toml(base), encoding="utf-8")
        console.print(f"模拟门户已启动 / sample portals at {base}")
        console.print(f"演示数据目录 / demo data: {settings.data_dir}")

        db = Database(settings.database_url)
        upgrade(db)
        db.dispose()
        services = Services(settings)
        install_services(services)
        shown: list[str] = []
        supervisors = ChannelTarget(
            "supervisors",
            channel=ALERTS_GROUP,
            outbox=Outbox(services.db, services.clock.now, services.enqueue_delivery),
            route=Route.of(kinds=["breach"]),
        )
        services.use_notifier(Notifier([ConsoleTarget(out=shown.append), supervisors]))
        try:
            config = load_sources(settings.sources_file)
            report = sync_sources(services.db, config, clock=services.clock)
            console.print(
                f"已载入 {len(report.added)} 个信息源、{report.sites} 个站点"
                f"（{settings.sources_file.name}）"
            )
            ids = [s.id for s in config.sources]
            names = {s.id: s.name or "" for s in config.sources}

            console.rule("第 1 轮采集 / round 1")
            console.print(_outcomes_table(services.poll(ids), names))
            console.print("上级门户最新条目 / newest upstream items:")
            console.print(_recent(services, Item, 6))
            console.print("下级站点栏目条目（含 GBK 站点）/ downstream entries:")
            console.print(_recent(services, Entry, 6))
            _evaluate(services, console, shown)

            changes = world.advance(datetime.now(UTC))
            world.broken = "redesign"
            world.render_all()
            console.rule("第 2 轮采集 / round 2")
            for document in changes.published:
                console.print(f"模拟：中国政府网发布《{document.title}》 {document.doc_no or ''}")
            for source_id, entry in changes.reposted:
                console.print(f"模拟：{source_id} 转载「{entry.title}」")
            console.print("模拟：婺源县网站改版，原列表选择器不再匹配")
            console.print(_outcomes_table(services.poll(ids), names))
            _evaluate(services, console, shown)

            console.rule("第 3 轮采集 / round 3")
            console.print(_outcomes_table(services.poll(ids), names))
            _evaluate(services, console, shown)

            console.rule("转载合规 / repost compliance")
            console.print(
                f"规则：{services.profile.title}，重点政策须在 "
                f"{services.profile.repost_deadline.total_seconds() / 3600:g} 小时内转载"
            )
            console.print(_compliance_table(services, datetime.now(UTC) - timedelta(days=3)))
            console.print("各状态示例 / one obligation of each state:")
            console.print(_examples(services))
            console.print(f"已产生的通知 / notices raised: {_notice_counts(services)}")
            console.print(
                _alerts_line(services, len(platforms.wecom.delivered_to(platforms.alerts_key)))
            )

            console.rule("解读与辟谣推送 / pushes to channels")
            push_round(services, platforms, console)

            with services.db.session() as session:
                items = session.scalar(select(func.count()).select_from(Item))
                entries = session.scalar(select(func.count()).select_from(Entry))
                checked, broken = audit.verify(session)
            console.rule("小结 / summary")
            console.print(f"上级条目 {items} 条，下级栏目条目 {entries} 条")
            console.print(
                "审计链完好" if broken is None else f"审计链断开于第 {broken.entry_id} 条",
                f"（{checked} 条记录）",
            )
            console.print(
                "提示：异常与无法访问的信息源不会被自动停用；“无法检查”不等于“未转载”。"
                f" 可用 SYNDICATOR_DATA_DIR={settings.data_dir} 加 syndicator sources list、"
                "compliance status、compliance report --since 日期、notices list、"
                "deliveries list 查看。"
            )
        finally:
            services.close()
