"""The ``syndicator`` command line (Typer). Help is zh-CN first with English after it."""

from __future__ import annotations

import csv
import getpass
import io
import json
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from syndicator import __version__, audit
from syndicator.clock import format_local
from syndicator.compliance.actions import ActionError, set_item_key, waive_obligation
from syndicator.compliance.offline import MatchInputError, match_files, write_rows
from syndicator.compliance.reports import (
    REPORT_COLUMNS,
    ObligationDetail,
    OpenObligation,
    ReportError,
    SiteReport,
    compliance_report,
    obligation_detail,
    open_obligations,
)
from syndicator.db import Database, current_revision, upgrade
from syndicator.db.models import (
    OPEN_STATES,
    AuditEntry,
    Entry,
    Item,
    Notice,
    NoticeKind,
    NoticeStatus,
    ObligationState,
    Precision,
    Site,
    Source,
    SourceHealth,
    WindowBasis,
)
from syndicator.delivery import ChannelInstanceError
from syndicator.delivery.render import Preview
from syndicator.labels import (
    BASIS_ZH,
    DELIVERY_STATE_ZH,
    HEALTH_ZH,
    NOTICE_KIND_ZH,
    NOTICE_STATUS_ZH,
    OBLIGATION_STATE_ZH,
    PRECISION_ZH,
    STATUS_ZH,
)
from syndicator.rules import DEFAULT_PROFILE, ProfileError, load_profile
from syndicator.services import Services, install_services, settle_heap
from syndicator.settings import Settings, SettingsError, load_settings, mask_url
from syndicator.sources.config import SourcesConfigError, check_sources, load_sources
from syndicator.sources.dates import SHANGHAI
from syndicator.sources.poller import PollOutcome
from syndicator.sources.registry import SyncReport, sync_sources

__all__ = ["app", "main"]

# Tables and progress bars only; plain lines go through say(). Markup off: user text such as
# "[[source]]" or "[01-05]" must print as written.
console = Console(highlight=False, markup=False, soft_wrap=True)

app = typer.Typer(
    help="syndicator：政务网站转载合规、解读辟谣推送与舆情回应时限。"
    " / Repost compliance, interpretation pushes and response clocks for government sites.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
sources_app = typer.Typer(help="信息源配置 / Sources file and polled lists.", no_args_is_help=True)
items_app = typer.Typer(help="采集到的条目 / Items and entries found.", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / The hash-chained audit log.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(items_app, name="items")
app.add_typer(audit_app, name="audit")


def say(text: str, *, error: bool = False) -> None:
    """Print one plain line as written: no markup, no wrapping, no cropping."""
    typer.echo(text, err=error)


def _fail(message: str, code: int = 1) -> typer.Exit:
    say(f"错误 / error: {message}", error=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc), 2) from None


def _ensure_schema(settings: Settings, db: Database) -> None:
    """SQLite (embedded) is migrated on demand; PostgreSQL only by an explicit ``init``."""
    if db.dialect == "sqlite":
        upgrade(db)
    elif current_revision(db) is None:
        raise _fail("数据库尚未初始化，请先运行 `syndicator init` / database not initialised")


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    try:
        services = Services(settings)
    except ProfileError as exc:
        raise _fail(f"{exc}（设置 profile / SYNDICATOR_PROFILE）", 2) from None
    if settings.distributed:
        from workers.tasks import deliver_task

        services.enqueue = deliver_task.delay
    try:
        _ensure_schema(settings, services.db)
        install_services(services)
        yield services
    except ChannelInstanceError as exc:  # a [[channels]] table the adapter refuses
        raise _fail(f"{exc}（检查 [[channels]] 配置）", 2) from None
    finally:
        services.close()


def _load_and_sync(services: Services, path: Path) -> SyncReport:
    try:
        config = load_sources(path, default_interval=services.settings.scheduler.default_interval)
    except SourcesConfigError as exc:
        for problem in exc.problems:
            say(str(problem), error=True)
        raise _fail(f"{path}: {len(exc.problems)} 个问题，未作任何更改 / nothing changed") from None
    return sync_sources(services.db, config, clock=services.clock)


def _print_sync(report: SyncReport) -> None:
    say(
        f"信息源已同步：新增 {len(report.added)}，变更 {len(report.changed)}，"
        f"停用 {len(report.deactivated)}（站点 {report.sites}）"
    )


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="详细日志 / verbose logs")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def version() -> None:
    """显示版本 / Show the version."""
    say(f"syndicator {__version__}")


@app.command()
def init(
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="同时载入信息源文件 / also load this sources file"),
    ] = None,
) -> None:
    """创建或升级数据库 / Create or upgrade the database."""
    settings = _settings()
    db = Database(settings.database_url)
    try:
        revision = upgrade(db)
    finally:
        db.dispose()
    mode = "分布式 distributed" if settings.distributed else "嵌入式 embedded"
    say(f"数据库已就绪 / database ready: {mask_url(settings.database_url)}")
    say(f"版本 revision {revision}，模式 mode: {mode}")
    path = sources or settings.sources_file
    if path is not None:
        with _services(settings) as services:
            _print_sync(_load_and_sync(services, path))


@sources_app.command("check")
def sources_check(
    file: Annotated[Path, typer.Argument(help="信息源文件 (TOML) / sources file")],
) -> None:
    """校验信息源文件，逐条列出问题 / Validate a sources file and list every problem."""
    default_interval = _settings().scheduler.default_interval
    problems = check_sources(file, default_interval=default_interval)
    if problems:
        for problem in problems:
            say(str(problem))
        raise _fail(f"{file}: 共 {len(problems)} 个问题 / {len(problems)} problem(s)")
    config = load_sources(file, default_interval=default_interval)
    upstream = sum(1 for s in config.sources if s.role.value == "upstream")
    say(
        f"{file}: 没有问题 / no problems — {len(config.sites)} 个站点，"
        f"{upstream} 个上级信息源，{len(config.sources) - upstream} 个下级栏目"
    )


@sources_app.command("load")
def sources_load(
    file: Annotated[Path, typer.Argument(help="信息源文件 (TOML) / sources file")],
) -> None:
    """校验并载入信息源文件到数据库 / Validate and load a sources file into the database."""
    with _services(_settings()) as services:
        _print_sync(_load_and_sync(services, file))


@sources_app.command("list")
def sources_list() -> None:
    """列出信息源及其状态 / List sources with their health and schedule."""
    with _services(_settings()) as services, services.db.session() as session:
        rows = session.scalars(select(Source).order_by(Source.site_id, Source.id)).all()
        table = Table(
            "信息源 source", "站点 site", "类型 kind", "状态 health", "上次检查", "下次检查", "说明"
        )
        for row in rows:
            table.add_row(
                row.id + ("" if row.active else " (停用)"),
                row.site_id,
                f"{row.role.value}/{row.kind.value}",
                HEALTH_ZH[row.health],
                format_local(row.last_checked_at),
                format_local(row.next_check_at),
                row.health_reason or "",
            )
        console.print(table)


def _outcome_line(outcome: PollOutcome) -> str:
    status = STATUS_ZH.get(outcome.status.value, outcome.status.value)
    parts = [f"{outcome.source_id}: {status}"]
    if outcome.entries is not None:
        parts.append(f"{outcome.entries} 条，新增 {outcome.new_entries}")
    if outcome.error:
        parts.append(outcome.error)
    if outcome.health in (SourceHealth.BROKEN, SourceHealth.UNREACHABLE):
        parts.append(f"[{HEALTH_ZH[outcome.health]}] {outcome.health_reason or ''}")
    return " · ".join(parts)


def poll_once(services: Services, ids: list[str], *, show: bool = True) -> list[PollOutcome]:
    """Poll *ids* now with a progress bar; used by ``poll --once`` and the demo."""
    with Progress(
        TextColumn("采集 polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    ) as progress:
        task = progress.add_task("poll", total=len(ids))
        outcomes = services.poll(ids, on_outcome=lambda _o: progress.advance(task))
    return outcomes


@app.command()
def poll(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", "-s", metavar="ID", help="只采集这些信息源（可重复）/ only these ids"
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="立即采集一次后退出 / poll once now and exit")
    ] = False,
) -> None:
    """采集信息源 / Poll sources (once, or continuously as they fall due)."""
    settings = _settings()
    with _services(settings) as services:
        if settings.sources_file is not None:
            _print_sync(_load_and_sync(services, settings.sources_file))
        with services.db.session() as session:
            query = select(Source.id).where(Source.active.is_(True)).order_by(Source.id)
            ids = list(session.scalars(query))
        if source:
            unknown = sorted(set(source) - set(ids))
            if unknown:
                raise _fail(
                    f"未知或停用的信息源 / unknown or inactive source(s): {', '.join(unknown)}"
                )
            ids = [i for i in ids if i in set(source)]
        if not ids:
            raise _fail("没有可采集的信息源，请先 `syndicator sources load FILE` / no sources")
        if once:
            outcomes = poll_once(services, ids)
            for outcome in sorted(outcomes, key=lambda o: o.source_id):
                say(_outcome_line(outcome))
            new = sum(o.new_entries for o in outcomes)
            say(f"完成：{len(outcomes)} 个信息源，新增 {new} 条 / done")
            return
        _run_embedded(services, only=ids)


def _run_embedded(services: Services, *, only: list[str] | None = None) -> None:
    from workers.embedded import EmbeddedRunner  # the CLI is the outermost shell

    stop = threading.Event()

    def on_result(summary: dict[str, Any]) -> None:
        status = STATUS_ZH.get(summary.get("status", ""), summary.get("status"))
        stamp = format_local(datetime.now(UTC), seconds=True)
        say(f"{stamp} {summary['source_id']}: {status}，新增 {summary.get('new_entries', 0)}")

    def on_evaluation(summary: dict[str, Any]) -> None:
        changes = summary.get("transitions") or {}
        if not (summary.get("opened") or changes or summary.get("notices")):
            return
        stamp = format_local(datetime.now(UTC), seconds=True)
        states = "，".join(f"{OBLIGATION_STATE_ZH.get(k, k)} {v}" for k, v in changes.items())
        say(
            f"{stamp} 合规检查：新增转载义务 {summary.get('opened', 0)}"
            + (f"，{states}" if states else "")
            + f"，新通知 {summary.get('notices', 0)}"
        )

    def handle(_sig: int, _frame: Any) -> None:
        say("正在停止… / stopping…")
        stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    settle_heap()
    say("嵌入式运行中，按 Ctrl-C 停止 / running embedded; Ctrl-C stops")
    try:
        EmbeddedRunner(services, only=only, on_result=on_result, on_evaluation=on_evaluation).run(
            stop
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    say("已停止 / stopped")


@app.command()
def run() -> None:
    """嵌入式运行：调度、采集与合规检查在同一进程 / Run polling and compliance in one process."""
    settings = _settings()
    if settings.distributed:
        say(
            "已配置消息代理：分布式模式请运行 celery worker 与 beat（见 docker-compose.yml）；"
            "此处仍以嵌入式方式运行。 / A broker is configured: in distributed mode run Celery."
        )
    with _services(settings) as services:
        if settings.sources_file is not None:
            _print_sync(_load_and_sync(services, settings.sources_file))
        _run_embedded(services)


def _parse_when(value: str, option: str) -> datetime:
    """A date or time from the command line; Asia/Shanghai when it carries no offset."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r}: 应为日期如 2024-01-05 或 2024-01-05T08:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


def _parse_since(value: str | None) -> datetime | None:
    return None if value is None else _parse_when(value, "--since")


@items_app.command("list")
def items_list(
    source: Annotated[
        str | None, typer.Option("--source", "-s", metavar="ID", help="信息源 / source id")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="首次发现不早于（北京时间）/ first seen since, Asia/Shanghai",
        ),
    ] = None,
    downstream: Annotated[
        bool, typer.Option("--downstream", help="列出下级栏目条目 / list downstream entries")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", help="最多条数 / at most")
    ] = 50,
) -> None:
    """列出采集到的上级条目（或下级栏目条目）/ List upstream items (or downstream entries)."""
    model: type[Item] | type[Entry] = Entry if downstream else Item
    since_at = _parse_since(since)
    with _services(_settings()) as services, services.db.session() as session:
        query = select(model)
        if source:
            query = query.where(model.source_id == source)
        if since_at:
            query = query.where(model.first_seen_at >= since_at)
        rows = cast(
            "Sequence[Item | Entry]",
            session.scalars(
                query.order_by(model.published_at.desc().nulls_last(), model.id.desc()).limit(limit)
            ).all(),
        )
        table = Table("编号", "重点", "发布时间(北京)", "精度", "标题 title", "信息源", "首次发现")
        for row in rows:
            key = ""
            if isinstance(row, Item):
                key = ("是" if row.is_key else "否") + ("（人工）" if row.key_by else "")
            table.add_row(
                str(row.id),
                key,
                format_local(row.published_at, date_only=row.published_precision is Precision.DATE),
                PRECISION_ZH[row.published_precision],
                row.title,
                row.source_id,
                format_local(row.first_seen_at),
            )
        console.print(table)
        say(f"共 {len(rows)} 条 / {len(rows)} row(s)")


def _set_key(item_id: int, *, is_key: bool, reason: str, by: str | None) -> None:
    staff = by or getpass.getuser()
    with _services(_settings()) as services:
        try:
            change = set_item_key(
                services.db,
                item_id,
                is_key=is_key,
                reason=reason,
                by=f"staff:{staff}",
                now=services.clock.now(),
            )
        except ActionError as exc:
            raise _fail(str(exc)) from None
    verdict = "重点政策" if is_key else "非重点"
    say(f"已将条目 {item_id}「{change.title}」设为{verdict}（{staff}：{reason}）")
    if change.waived:
        say(f"其 {change.waived} 项未完成的转载义务已豁免 / open obligations waived")
    elif is_key:
        say("下一次合规检查将为其建立转载义务 / obligations open at the next compliance tick")


_REASON = typer.Option("--reason", "-r", help="理由（必填，记入审计日志）/ reason, audited")
_BY = typer.Option("--by", help="操作人（默认当前系统用户）/ who decides")


@items_app.command("key")
def items_key(
    item_id: Annotated[int, typer.Argument(metavar="ITEM", help="条目编号 / item id")],
    reason: Annotated[str, _REASON],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """人工设为重点政策（覆盖规则判定）/ Mark an item key, overriding the rules."""
    _set_key(item_id, is_key=True, reason=reason, by=by)


@items_app.command("not-key")
def items_not_key(
    item_id: Annotated[int, typer.Argument(metavar="ITEM", help="条目编号 / item id")],
    reason: Annotated[str, _REASON],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """人工设为非重点（覆盖规则判定）/ Mark an item not key, overriding the rules."""
    _set_key(item_id, is_key=False, reason=reason, by=by)


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志哈希链 / Verify the audit hash chain; report the first broken link."""
    with _services(_settings()) as services, services.db.session() as session:
        checked, broken = audit.verify(session)
    if broken is not None:
        raise _fail(
            f"审计链在第 {broken.entry_id} 条断开：{broken.reason}（此前 {checked} 条完好）"
            f" / chain broken at entry {broken.entry_id}"
        )
    say(f"审计链完好 / audit chain intact: {checked} 条记录")


# -- compliance: open obligations, reports, waivers, notices ---------------------------------

compliance_app = typer.Typer(
    help="转载合规：未完成义务与统计报表 / Repost compliance: open obligations and reports.",
    no_args_is_help=True,
)
obligations_app = typer.Typer(
    help="转载义务：查看与豁免 / Repost obligations: show and waive.", no_args_is_help=True
)
notices_app = typer.Typer(
    help="提醒通知 / Notices (alerts) and their delivery.", no_args_is_help=True
)
app.add_typer(compliance_app, name="compliance")
app.add_typer(obligations_app, name="obligations")
app.add_typer(notices_app, name="notices")

_SITE = typer.Option(
    "--site", metavar="ID", help="只看该站点及其全部下级站点 / this site and every site below it"
)
_STALE = timedelta(days=7)
"""``compliance status`` lists obligations past their deadline for this long only with --all."""


def _zh_state(value: object) -> str:
    return OBLIGATION_STATE_ZH.get(str(value), str(value)) if value is not None else "—"


def _span(delta: timedelta) -> str:
    """``1天2小时`` / ``3小时20分`` / ``5分``: two units at most, rounded down to the minute."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分" if mins else "不到1分"


def _countdown(row: OpenObligation) -> str:
    if row.remaining > timedelta(0):
        return f"还剩 {_span(row.remaining)}"
    if row.state is ObligationState.OVERDUE:
        return f"已逾期 {_span(row.remaining)}"
    # pending: closed, the confirming check has not run yet; unknown: never called a breach.
    waiting = "，待核实" if row.state is ObligationState.PENDING else ""
    return f"已过截止 {_span(row.remaining)}{waiting}"


def _basis_note(basis: WindowBasis, note: str | None) -> str:
    parts = [BASIS_ZH[basis]] if basis is not WindowBasis.PUBLISHED else []
    if note:
        parts.append(note)
    return "；".join(parts)


@compliance_app.command("status")
def compliance_status(
    site: Annotated[str | None, _SITE] = None,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help="包括截止已超过 7 天的义务 / also those past their deadline over 7 days"
        ),
    ] = False,
) -> None:
    """未完成的转载义务及倒计时（北京时间）/ Open obligations with their countdowns."""
    with _services(_settings()) as services, services.db.session() as session:
        try:
            rows = open_obligations(session, services.clock.now(), site=site)
        except ReportError as exc:
            raise _fail(str(exc)) from None
    scope = f"（站点 {site} 及其下级）" if site else ""
    if not rows:
        say(f"没有未完成的转载义务{scope} / no open obligations")
        return
    shown = rows if show_all else [r for r in rows if r.remaining >= -_STALE]
    table = Table("编号", "站点", "条目标题", "截止时间(北京)", "剩余/逾期", "状态", "说明")
    for row in shown:
        title = row.item_title
        if row.doc_no and row.doc_no not in title:
            title += f"（{row.doc_no}）"
        table.add_row(
            str(row.id),
            f"{row.site_name}（{row.site_id}）",
            title,
            format_local(row.due_at),
            _countdown(row),
            OBLIGATION_STATE_ZH[row.state],
            _basis_note(row.basis, row.note),
        )
    console.print(table)
    counts = Counter(row.state for row in rows)
    per_state = "，".join(f"{OBLIGATION_STATE_ZH[s]} {counts[s]}" for s in OPEN_STATES if counts[s])
    say(f"共 {len(rows)} 项未完成{scope}：{per_state} / {len(rows)} open")
    hidden = len(rows) - len(shown)
    if hidden:
        say(
            f"另有 {hidden} 项截止已超过 7 天，未列出；加 --all 全部列出 / {hidden} older not shown"
        )


_FORMATS = ("table", "csv", "json")


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _hours(hours: float | None) -> str:
    return "—" if hours is None else f"{hours:.1f}"


def _report_csv(reports: list[SiteReport]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for report in reports:
        writer.writerow(["" if v is None else v for v in report.as_row().values()])
    return buffer.getvalue().encode("utf-8-sig")


def _report_table(reports: list[SiteReport]) -> Table:
    table = Table(
        "站点",
        "义务",
        "按时",
        "超时转载",
        "逾期未转载",
        "无法判定",
        "已豁免",
        "待转载",
        "按时率",
        "时延中位(小时)",
        "时延P90(小时)",
        "时延样本",
        "估算窗口",
    )
    for r in reports:
        table.add_row(
            r.site_name if r.is_total else f"{r.site_name}（{r.site_id}）",
            *(
                str(n)
                for n in (r.total, r.reposted, r.reposted_late, r.overdue, r.unknown, r.waived)
            ),
            str(r.pending),
            _percent(r.on_time_rate),
            _hours(r.latency_median_hours),
            _hours(r.latency_p90_hours),
            str(r.latency_known),
            str(r.estimated),
        )
    return table


@compliance_app.command("check")
def compliance_check(
    send: Annotated[
        bool,
        typer.Option("--send/--no-send", help="同时发送到期的通知 / also deliver due notices"),
    ] = True,
) -> None:
    """立即执行一次合规检查：建立义务、比对转载、判定时限、产生通知 / Run one tick now."""
    with _services(_settings()) as services:
        report = services.evaluate()
        if report.skipped:
            say("另一个合规检查正在进行，本次跳过 / another tick is running; skipped")
            return
        states = "，".join(
            f"{OBLIGATION_STATE_ZH.get(k, k)} {v}" for k, v in sorted(report.transitions.items())
        )
        say(
            f"合规检查完成：新增转载义务 {report.opened}，比对条目 {report.entries_matched}，"
            f"发现转载 {report.reposts}，新通知 {report.notices}"
            + (f"；状态变化：{states}" if states else "")
            + f"（{report.seconds:.1f} 秒）"
        )
        if send:
            sent = services.dispatch_notices(limit=1000)
            say(f"通知发送：成功 {sent.delivered}，失败 {sent.errors}，待重试 {sent.pending}")


@compliance_app.command("report")
def compliance_report_command(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            metavar="DATE",
            help="时间窗开始不早于（北京时间，含）/ windows starting at or after, Asia/Shanghai",
        ),
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="时间窗开始早于（北京时间，不含）；一月份即 --since 2024-01-01 --until"
            " 2024-02-01 / windows starting before (exclusive)",
        ),
    ] = None,
    site: Annotated[str | None, _SITE] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="table|csv|json",
            help="输出格式：table 表格；csv 为带 BOM 的 UTF-8，Excel 可直接打开不乱码；"
            "json 为对象列表 / table, csv (UTF-8 with BOM: Excel opens it correctly)"
            " or json (a list of objects)",
        ),
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="写入文件（csv、json）/ write to FILE (csv, json)"
        ),
    ] = None,
) -> None:
    """各站点转载合规统计：按时率、时延中位数与 P90、逾期、无法判定 / Per-site compliance report.

    按时率 = 按时 /（按时 + 超时转载 + 逾期未转载）；无法判定、已豁免、待转载不计入。

    On-time rate counts decided obligations only: unknown, waived and pending are left out.
    """
    if fmt not in _FORMATS:
        raise _fail(f"--format {fmt!r}: 应为 table、csv 或 json / must be table, csv or json")
    if out is not None and fmt == "table":
        raise _fail("--out 仅用于 csv 或 json，请加 --format csv / --out needs csv or json")
    since_at = _parse_when(since, "--since")
    until_at = None if until is None else _parse_when(until, "--until")
    with _services(_settings()) as services, services.db.session() as session:
        try:
            reports = compliance_report(session, since=since_at, until=until_at, site=site)
        except ReportError as exc:
            raise _fail(str(exc)) from None
    if fmt == "table":
        end = "至今" if until_at is None else f"至 {format_local(until_at)}（不含）"
        scope = f"，站点 {site} 及其下级" if site else ""
        say(f"统计期间：时间窗开始于 {format_local(since_at)} {end}（北京时间{scope}）")
        if reports[-1].total == 0:
            say("期间内没有转载义务 / no obligations in this period")
            return
        console.print(_report_table(reports))
        say("按时率 = 按时 /（按时 + 超时转载 + 逾期未转载）；无法判定、已豁免、待转载不计入")
        return
    if fmt == "csv":
        data = _report_csv(reports)
    else:
        rows = [r.as_row() for r in reports]
        data = (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out.write_bytes(data)
    say(f"{out}: {len(reports) - 1} 个站点及合计行 / {len(reports) - 1} site(s) and a total row")


@obligations_app.command("waive")
def obligations_waive(
    obligation_id: Annotated[
        int, typer.Argument(metavar="ID", help="转载义务编号 / obligation id")
    ],
    reason: Annotated[str, _REASON],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """豁免一项转载义务（不计按时也不计逾期，记入审计日志）/ Waive one obligation (audited)."""
    staff = by or getpass.getuser()
    with _services(_settings()) as services:
        try:
            waived = waive_obligation(
                services.db,
                obligation_id,
                reason=reason,
                by=f"staff:{staff}",
                now=services.clock.now(),
            )
        except ActionError as exc:
            raise _fail(str(exc)) from None
    say(
        f"已豁免转载义务 {obligation_id}（站点 {waived.site_id}，条目「{waived.item_title}」，"
        f"原状态 {OBLIGATION_STATE_ZH[waived.previous]}）— {staff}：{reason}"
    )


def _between(earliest: datetime | None, latest: datetime | None) -> str:
    if earliest is None or latest is None or earliest == latest:
        return format_local(earliest or latest)
    return f"{format_local(earliest)} 至 {format_local(latest)} 之间"


def _history_line(entry: AuditEntry) -> str:
    data = entry.data
    if entry.action == "obligation.waived":
        text = f"豁免（原状态 {_zh_state(data.get('from'))}）：{data.get('reason', '')}"
    elif "to" in data:
        text = f"{_zh_state(data.get('from'))} → {_zh_state(data.get('to'))}"
        if data.get("entry_id") is not None:
            text += f" · 下级条目 {data['entry_id']}"
        extra = data.get("note") or data.get("reason")
        if extra:
            text += f"（{extra}）"
    else:
        text = ", ".join(f"{k}={v}" for k, v in sorted(data.items()))
    return f"  {format_local(entry.at)} {entry.actor}: {text} [{entry.action}]"


def _print_detail(detail: ObligationDetail) -> None:
    ob, item, site = detail.obligation, detail.item, detail.site
    say(
        f"转载义务 {ob.id} / obligation {ob.id}：{OBLIGATION_STATE_ZH[ob.state]}"
        f"（自 {format_local(ob.state_since)}）"
    )
    doc_no = f" {item.doc_no}" if item.doc_no else ""
    say(f"条目 item {item.id}：「{item.title}」{doc_no}")
    say(
        f"  信息源 {item.source_id} · 发布 "
        f"{format_local(item.published_at, date_only=item.published_precision is Precision.DATE)}"
        f"（{PRECISION_ZH[item.published_precision]}）· {item.url or '—'}"
    )
    say(f"站点 site：{site.name}（{site.id}）")
    hours = ob.deadline_seconds / 3600
    say(f"时限 deadline：{hours:g} 小时（规则 {ob.profile}）")
    window = f"时间窗 window：自 {format_local(ob.window_start)} 起（{BASIS_ZH[ob.window_basis]}）"
    if ob.published_latest != ob.window_start:
        window += f"；上级发布时间在 {_between(ob.window_start, ob.published_latest)}"
    say(window)
    say(f"截止 due：{format_local(ob.due_at)}（北京时间）· 建立于 {format_local(ob.opened_at)}")
    if ob.note:
        say(f"说明 note：{ob.note}")
    if ob.state is ObligationState.WAIVED:
        say(f"豁免 waived：{ob.waived_by or '—'}：{ob.waived_reason or ''}")
    if detail.entry is None and ob.reposted_earliest is None:
        say("转载证据 evidence：无 / none")
    else:
        say("转载证据 evidence：")
        if detail.entry is not None:
            entry = detail.entry
            say(f"  下级条目 entry {entry.id}：「{entry.title}」（{entry.source_id}）")
            say(f"  链接 url：{entry.url or '—'}")
            say(f"  首次发现 first seen：{format_local(entry.first_seen_at)}")
        say(f"  转载发布 reposted：{_between(ob.reposted_earliest, ob.reposted_latest)}")
        latency = (
            "无法精确计算（发布时间不精确）"
            if ob.latency_seconds is None
            else f"{ob.latency_seconds / 3600:.1f} 小时"
        )
        say(f"  时延 latency：{latency}")
        on_time = {True: "是", False: "否", None: "无法判定"}[ob.on_time]
        say(f"  按时 on time：{on_time}")
        if ob.match_score is not None or ob.match_reason:
            score = "—" if ob.match_score is None else f"{ob.match_score:.2f}"
            say(f"  匹配 match：{score} {ob.match_reason or ''}".rstrip())
    say(f"状态历史 history（{len(detail.history)}）：")
    for audit_entry in detail.history:
        say(_history_line(audit_entry))
    say(f"提醒 notices（{len(detail.notices)}）：")
    for notice in detail.notices:
        say(
            f"  {format_local(notice.created_at)} {NOTICE_KIND_ZH[notice.kind]} · "
            f"{NOTICE_STATUS_ZH[notice.status]} · {notice.title}"
        )


@obligations_app.command("show")
def obligations_show(
    obligation_id: Annotated[
        int, typer.Argument(metavar="ID", help="转载义务编号 / obligation id")
    ],
) -> None:
    """查看一项转载义务：时间窗、证据、状态历史、提醒 / Everything about one obligation."""
    with _services(_settings()) as services, services.db.session() as session:
        detail = obligation_detail(session, obligation_id)
        if detail is None:
            raise _fail(f"没有编号为 {obligation_id} 的转载义务 / no obligation {obligation_id}")
        _print_detail(detail)


def _choice(value: str | None, option: str, allowed: type[NoticeKind] | type[NoticeStatus]) -> str:
    names = [m.value for m in allowed]
    if value is not None and value not in names:
        raise _fail(f"{option} {value!r}: 应为 {'、'.join(names)} 之一 / must be one of these")
    return value or ""


@notices_app.command("list")
def notices_list(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="产生时间不早于（北京时间）/ raised since, Asia/Shanghai",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", metavar="K", help=f"类型 / kind: {', '.join(k.value for k in NoticeKind)}"
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S",
            help=f"发送状态 / delivery status: {', '.join(s.value for s in NoticeStatus)}",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", help="最多条数 / at most")
    ] = 50,
) -> None:
    """列出提醒通知（最新在前）及发送状态 / List notices, newest first, with delivery status."""
    kind_value = _choice(kind, "--kind", NoticeKind)
    status_value = _choice(status, "--status", NoticeStatus)
    since_at = _parse_since(since)
    with _services(_settings()) as services, services.db.session() as session:
        query = select(Notice, Site.name).outerjoin(Site, Site.id == Notice.site_id)
        if since_at:
            query = query.where(Notice.created_at >= since_at)
        if kind_value:
            query = query.where(Notice.kind == NoticeKind(kind_value))
        if status_value:
            query = query.where(Notice.status == NoticeStatus(status_value))
        rows = session.execute(
            query.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)
        ).all()
        table = Table("编号", "时间(北京)", "类型", "站点", "标题 title", "发送状态")
        for notice, site_name in rows:
            delivery = NOTICE_STATUS_ZH[notice.status]
            if notice.status is NoticeStatus.FAILED:
                delivery += f"（{notice.attempts} 次）"
            table.add_row(
                str(notice.id),
                format_local(notice.created_at),
                NOTICE_KIND_ZH[notice.kind],
                site_name or notice.site_id or "—",
                notice.title,
                delivery,
            )
        console.print(table)
        say(f"共 {len(rows)} 条 / {len(rows)} notice(s)")


@app.command()
def match(
    upstream: Annotated[
        Path, typer.Option("--upstream", metavar="FILE", help="上级条目 JSONL / upstream items")
    ],
    downstream: Annotated[
        Path,
        typer.Option("--downstream", metavar="FILE", help="下级条目 JSONL / downstream entries"),
    ],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="输出 JSONL / output pairs")],
    profile: Annotated[
        str,
        typer.Option(
            "--profile", metavar="NAME|FILE", help="规则：jiangxi、national、fujian 或 TOML 文件"
        ),
    ] = DEFAULT_PROFILE,
) -> None:
    """离线比对：下级条目转载了哪些上级条目、是否按时 / Offline repost audit of two JSONL files."""
    try:
        rules = load_profile(profile)
        rows = match_files(upstream, downstream, deadline=rules.repost_deadline)
    except (ProfileError, MatchInputError) as exc:
        raise _fail(f"{exc}；未写出任何结果 / nothing written") from None
    write_rows(rows, out)
    relations = Counter(row["relation"] for row in rows)
    verdicts = Counter(row["on_time"] for row in rows if row["relation"] == "repost")
    hours = rules.repost_deadline.total_seconds() / 3600
    say(
        f"{out}: {len(rows)} 行 — 转载 {relations['repost']}（按时 {verdicts[True]}，"
        f"超时 {verdicts[False]}，无法判定 {verdicts[None]}；时限 {hours:g} 小时，{rules.title}），"
        f"新闻 {relations['news']}，解读 {relations['interpretation']}"
    )


@app.command()
def demo(
    slow_delay: Annotated[
        float, typer.Option(help="慢站点的延迟秒数 / delay of the slow sample site")
    ] = 3.0,
) -> None:
    """在本机模拟门户上运行演示 / Run the demo against bundled local sample portals."""
    from syndicator.demo import run_demo

    settings = _settings()
    run_demo(settings, console=console, slow_delay=slow_delay)


channels_app = typer.Typer(
    help="推送渠道：适配器与已配置的渠道 / Channel adapters and configured channels.",
    no_args_is_help=True,
)
app.add_typer(channels_app, name="channels")

_CAPABILITY_ZH = {
    "text": "文本",
    "markdown": "Markdown",
    "html": "HTML 图文",
    "link": "链接卡片",
    "image": "图片",
    "status": "异步发布状态查询",
    "mention": "@成员",
}
_ERROR_ZH = {
    "RateLimited": "频率受限（稍后重试）",
    "Retryable": "暂时失败（可重试）",
    "AuthExpired": "凭据过期",
    "BadContent": "内容被拒（需修改）",
    "Misconfigured": "配置错误（请管理员处理）",
    "Unconfirmed": "结果未确认（请人工核实，勿重复发送）",
}


def _rate_text(rate: tuple[tuple[int, float], ...]) -> str:
    return "，".join(f"{n} 条/{s:g} 秒" for n, s in rate) or "—"


@channels_app.command("list")
def channels_list() -> None:
    """列出可用的适配器及已配置的渠道（密钥不显示）/ List adapters and configured channels."""
    from channels.registry import load_registry

    settings = _settings()
    registry = load_registry()
    table = Table("类型 type", "名称", "来源", "能力", "格式", "长度限制", "频率限制", "密钥字段")
    for name in registry:
        adapter = registry.adapters[name]
        table.add_row(
            name,
            adapter.title,
            registry.origins.get(name, ""),
            "、".join(_CAPABILITY_ZH.get(c.value, c.value) for c in sorted(adapter.capabilities)),
            "/".join(adapter.formats),
            str(adapter.limit) if adapter.limit else "—",
            _rate_text(adapter.rate),
            ", ".join(adapter.secret_fields) or "—",
        )
    console.print(table)
    for problem in registry.problems:
        say(f"无法载入适配器 {problem.name}（{problem.origin}）：{problem.reason}", error=True)
    if not settings.channels:
        say("尚未配置渠道：在 syndicator.toml 中添加 [[channels]] / no channels configured")
        return
    configured = Table("渠道 id", "类型", "接口地址", "配置", "密钥（环境变量）")
    for spec in settings.channels:
        configured.add_row(
            spec.id,
            spec.type + ("" if spec.type in registry else "（未知类型）"),
            spec.base_url or "默认",
            ", ".join(f"{k}={v}" for k, v in sorted(spec.options.items())) or "—",
            ", ".join(f"{k}=${v}" for k, v in sorted(spec.secret_envs.items())) or "—",
        )
    console.print(configured)


@channels_app.command("test")
def channels_test(
    channel_id: Annotated[str, typer.Argument(metavar="ID", help="渠道 id / channel id")],
    text: Annotated[
        str | None, typer.Option("--text", help="测试消息内容 / the test message's text")
    ] = None,
) -> None:
    """向一个渠道发送测试消息并显示平台回执 / Send a test message to one channel."""
    import asyncio

    import httpx

    from channels.base import ChannelError, Message
    from channels.registry import load_registry
    from syndicator.delivery import build_channel

    settings = _settings()
    spec = next((c for c in settings.channels if c.id == channel_id), None)
    if spec is None:
        known = ", ".join(c.id for c in settings.channels) or "无 / none"
        raise _fail(f"没有 id 为 {channel_id} 的渠道（已配置：{known}）/ no such channel")
    stamp = format_local(datetime.now(UTC), seconds=True)
    body = text or f"这是 syndicator 发出的测试消息（{stamp}，北京时间）。收到即说明渠道配置正确。"

    async def send() -> str:
        async with httpx.AsyncClient(timeout=settings.fetch.read_timeout) as client:
            try:
                channel = build_channel(spec, load_registry(), client=client)
            except ChannelInstanceError as exc:
                raise _fail(str(exc), 2) from None
            fmt = channel.formats[0]
            message = Message(
                kind="test",
                title="syndicator 测试消息",
                body=f"<p>{body}</p>" if fmt == "html" else body,
                format=fmt,
            )
            try:
                receipt = await channel.publish(message, idempotency_key=f"test-{stamp}")
            except ChannelError as exc:
                label = _ERROR_ZH.get(type(exc).__name__, type(exc).__name__)
                code = f"，平台代码 {exc.platform_code}" if exc.platform_code is not None else ""
                raise _fail(f"{channel_id}: {label}{code}：{channel.redact(str(exc))}") from None
            finally:
                await channel.aclose()
        state = {"published": "已发布", "pending": "已提交，平台处理中", "failed": "失败"}
        parts = [f"{channel_id}: {state[receipt.status]}"]
        if receipt.external_id:
            parts.append(f"编号 {receipt.external_id}")
        if receipt.url:
            parts.append(receipt.url)
        if receipt.detail:
            parts.append(receipt.detail)
        return " · ".join(parts)

    say(asyncio.run(send()))


pushes_app = typer.Typer(
    help="推送：解读、辟谣的起草与批准 / Pushes: drafts and approval.", no_args_is_help=True
)
deliveries_app = typer.Typer(
    help="投递记录：每个渠道的发送状态与每次尝试 / Deliveries and every attempt.",
    no_args_is_help=True,
)
app.add_typer(pushes_app, name="pushes")
app.add_typer(deliveries_app, name="deliveries")

_KINDS = ("interpretation", "rebuttal", "notice", "test")


@pushes_app.command("create")
def pushes_create(
    title: Annotated[str, typer.Option("--title", help="标题 / title")],
    channel: Annotated[
        list[str],
        typer.Option("--channel", "-c", metavar="ID", help="推送渠道（可重复）/ target channel"),
    ],
    kind: Annotated[
        str, typer.Option("--kind", help="interpretation 解读 | rebuttal 辟谣 | test 测试")
    ] = "interpretation",
    body: Annotated[str | None, typer.Option("--body", help="正文 / body text")] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", metavar="FILE", help="正文文件（UTF-8）")
    ] = None,
    summary: Annotated[str | None, typer.Option("--summary", help="摘要 / summary")] = None,
    url: Annotated[str | None, typer.Option("--url", help="全文链接 / full text URL")] = None,
    author: Annotated[str | None, typer.Option("--author", help="作者/发布单位")] = None,
    by: Annotated[str | None, _BY] = None,
) -> None:
    """起草一条推送（尚未发送）/ Draft a push (nothing is sent until it is approved)."""
    from syndicator.delivery.engine import DeliveryError, create_push

    if kind not in _KINDS:
        raise _fail(f"--kind {kind!r}: 应为 {', '.join(_KINDS)} 之一")
    if (body is None) == (body_file is None):
        raise _fail("请给出 --body 或 --body-file 之一 / give --body or --body-file")
    if body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"--body-file {body_file}: 无法读取 / cannot read: {exc}") from None
    assert body is not None
    settings = _settings()
    known = {c.id for c in settings.channels}
    unknown = sorted(set(channel) - known)
    if unknown:
        raise _fail(
            f"未配置的渠道 / unknown channel(s): {', '.join(unknown)}"
            f"（已配置：{', '.join(sorted(known)) or '无'}）"
        )
    with _services(settings) as services:
        try:
            push_id = create_push(
                services.db,
                kind=kind,
                title=title,
                body=body,
                channels=channel,
                by=f"staff:{by or getpass.getuser()}",
                now=services.clock.now(),
                summary=summary,
                url=url,
                author=author,
            )
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
        say(f"已起草推送 {push_id}：「{title}」→ {', '.join(channel)}（批准后发送）")
        _say_previews(services.preview(push_id), full=False)


def _say_previews(previews: Sequence[Preview], *, full: bool) -> None:
    for preview in previews:
        say(f"  {preview.line()}")
        if not (full and preview.ok):
            continue
        parts = preview.messages
        for index, message in enumerate(parts, 1):
            if len(parts) > 1:
                say(f"    ── 第 {index}/{len(parts)} 条 ──")
            say(f"    标题：{message.title}")
            for line in message.body.splitlines():
                say(f"    {line}")


@pushes_app.command("preview")
def pushes_preview(
    push_id: Annotated[int, typer.Argument(metavar="ID", help="推送编号 / push id")],
) -> None:
    """预览推送在各渠道的呈现（不发送）/ Show how a push comes out on each channel."""
    from syndicator.delivery.engine import DeliveryError

    with _services(_settings()) as services:
        try:
            previews = services.preview(push_id)
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
        _say_previews(previews, full=True)
        if not all(p.ok for p in previews):
            raise typer.Exit(1)


@pushes_app.command("approve")
def pushes_approve(
    push_id: Annotated[int, typer.Argument(metavar="ID", help="推送编号 / push id")],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """批准推送并发送到各渠道 / Approve a push: one delivery per channel, sent at once.

    每个渠道都须能按其格式与长度规则发送，否则拒绝批准（推送保持草稿）。
    """
    from syndicator.delivery.engine import DeliveryError

    settings = _settings()
    with _services(settings) as services:
        try:
            ids = services.approve(push_id, by=f"staff:{by or getpass.getuser()}")
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
        say(f"已批准推送 {push_id}，{len(ids)} 个渠道排队发送")
        if settings.distributed:
            for delivery_id in ids:
                services.enqueue_delivery(delivery_id)
            say("已交给 Celery 工作进程；用 syndicator deliveries list 查看结果")
            return
        for delivery_id in ids:
            outcome = services.deliver(delivery_id)
            state = DELIVERY_STATE_ZH.get(outcome.state or "", "未处理")
            say(f"  投递 {delivery_id}: {state} {outcome.detail}")


def _delivery_rows(
    services: Services,
    *,
    push: int | None,
    channel: str | None,
    status: str | None,
    since: datetime | None,
    limit: int | None,
) -> list[Any]:
    from syndicator.db.models import Delivery

    query = select(Delivery).order_by(Delivery.id.desc())
    if push is not None:
        query = query.where(Delivery.push_id == push)
    if channel:
        query = query.where(Delivery.channel_id == channel)
    if status:
        if status not in DELIVERY_STATE_ZH:
            raise _fail(f"--status {status!r}: 应为 {', '.join(DELIVERY_STATE_ZH)} 之一")
        query = query.where(Delivery.state == status)
    if since is not None:
        query = query.where(Delivery.created_at >= since)
    if limit:
        query = query.limit(limit)
    with services.db.session() as session:
        return list(session.scalars(query))


_PUSH_OPT = typer.Option("--push", metavar="ID", help="推送编号 / push id")
_CHANNEL_OPT = typer.Option("--channel", metavar="ID", help="渠道 / channel id")
_STATUS_OPT = typer.Option("--status", metavar="STATE", help="状态，如 sent、failed、unconfirmed")
_SINCE_OPT = typer.Option("--since", metavar="DATE", help="创建不早于（北京时间）/ created since")


@deliveries_app.command("list")
def deliveries_list(
    push: Annotated[int | None, _PUSH_OPT] = None,
    channel: Annotated[str | None, _CHANNEL_OPT] = None,
    status: Annotated[str | None, _STATUS_OPT] = None,
    since: Annotated[str | None, _SINCE_OPT] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", help="最多条数")] = 50,
) -> None:
    """列出投递（各渠道状态）/ List deliveries with their per-channel state."""
    with _services(_settings()) as services:
        rows = _delivery_rows(
            services,
            push=push,
            channel=channel,
            status=status,
            since=_parse_since(since),
            limit=limit,
        )
    table = Table("编号", "推送", "渠道", "状态", "尝试", "平台编号/链接", "更新(北京)", "说明")
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.push_id or ""),
            row.channel_id,
            DELIVERY_STATE_ZH[row.state],
            str(row.attempts),
            row.url or row.external_id or "",
            format_local(row.updated_at, seconds=True),
            row.last_error or "",
        )
    console.print(table)
    say(f"共 {len(rows)} 条 / {len(rows)} row(s)")


@deliveries_app.command("show")
def deliveries_show(
    delivery_id: Annotated[int, typer.Argument(metavar="ID", help="投递编号 / delivery id")],
) -> None:
    """一次投递的全部尝试（时间、耗时、HTTP 状态、平台代码）/ Every attempt of one delivery."""
    from syndicator.db.models import Delivery, DeliveryAttempt

    with _services(_settings()) as services, services.db.session() as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise _fail(f"没有编号为 {delivery_id} 的投递 / no delivery {delivery_id}")
        attempts = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id)
        ).all()
    say(
        f"投递 {row.id}：推送 {row.push_id} → {row.channel_id}，{DELIVERY_STATE_ZH[row.state]}，"
        f"幂等键 {row.idempotency_key}"
    )
    if row.external_id or row.url:
        say(f"平台编号 {row.external_id or '—'} {row.url or ''}")
    table = Table("时间(北京)", "动作", "结果", "耗时ms", "HTTP", "平台代码", "说明")
    for attempt in attempts:
        table.add_row(
            format_local(attempt.started_at, seconds=True),
            attempt.action,
            attempt.outcome,
            f"{attempt.duration_ms:.0f}",
            str(attempt.http_status or ""),
            attempt.platform_code or "",
            attempt.message or "",
        )
    console.print(table)


@deliveries_app.command("export")
def deliveries_export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="FILE", help="输出文件（默认标准输出）")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv（UTF-8 带 BOM）")] = "csv",
    push: Annotated[int | None, _PUSH_OPT] = None,
    channel: Annotated[str | None, _CHANNEL_OPT] = None,
    status: Annotated[str | None, _STATUS_OPT] = None,
    since: Annotated[str | None, _SINCE_OPT] = None,
) -> None:
    """导出投递日志（CSV，Excel 可直接打开）/ Export the delivery log as CSV."""
    import csv
    import io

    if fmt != "csv":
        raise _fail(f"--format {fmt!r}: 目前只支持 csv / only csv")
    with _services(_settings()) as services:
        rows = _delivery_rows(
            services,
            push=push,
            channel=channel,
            status=status,
            since=_parse_since(since),
            limit=None,
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = [
        "id",
        "push_id",
        "channel_id",
        "state",
        "attempts",
        "external_id",
        "url",
        "platform_code",
        "last_error",
        "created_at",
        "sent_at",
        "updated_at",
    ]
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                row.id,
                row.push_id,
                row.channel_id,
                row.state.value,
                row.attempts,
                row.external_id or "",
                row.url or "",
                row.platform_code or "",
                row.last_error or "",
                *(
                    v.isoformat() if v else ""
                    for v in (row.created_at, row.sent_at, row.updated_at)
                ),
            ]
        )
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        say(f"{out}: {len(rows)} 行 / rows")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@deliveries_app.command("confirm")
def deliveries_confirm(
    delivery_id: Annotated[int, typer.Argument(metavar="ID", help="投递编号 / delivery id")],
    sent: Annotated[
        bool,
        typer.Option(
            "--sent/--not-sent",
            help="平台上已发布（--sent）或确认未发布、可以重发（--not-sent）",
        ),
    ],
    note: Annotated[str, typer.Option("--note", help="说明（记入审计日志）")] = "",
    by: Annotated[str | None, _BY] = None,
) -> None:
    """人工确认“结果未确认”的投递 / Settle an unconfirmed delivery by hand."""
    from syndicator.delivery.engine import DeliveryError, confirm_delivery

    with _services(_settings()) as services:
        try:
            state = confirm_delivery(
                services.db,
                delivery_id,
                sent=sent,
                by=f"staff:{by or getpass.getuser()}",
                now=services.clock.now(),
                note=note,
            )
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
    say(f"投递 {delivery_id}：{DELIVERY_STATE_ZH[state]}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
