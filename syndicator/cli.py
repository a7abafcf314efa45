"""The ``syndicator`` command line (Typer). Help is zh-CN first with English after it."""

from __future__ import annotations

import getpass
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from syndicator import __version__, audit
from syndicator.clock import format_local
from syndicator.compliance.actions import ActionError, set_item_key
from syndicator.compliance.offline import MatchInputError, match_files, write_rows
from syndicator.db import Database, current_revision, upgrade
from syndicator.db.models import Entry, Item, Precision, Source, SourceHealth
from syndicator.labels import HEALTH_ZH, PRECISION_ZH, STATUS_ZH
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
    try:
        _ensure_schema(settings, services.db)
        install_services(services)
        yield services
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

    def handle(_sig: int, _frame: Any) -> None:
        say("正在停止… / stopping…")
        stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    settle_heap()
    say("嵌入式运行中，按 Ctrl-C 停止 / running embedded; Ctrl-C stops")
    try:
        EmbeddedRunner(services, only=only, on_result=on_result).run(stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    say("已停止 / stopped")


@app.command()
def run() -> None:
    """嵌入式运行：调度与采集在同一进程 / Run scheduler and workers in one process."""
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


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--since {value!r}: 应为日期如 2024-01-05 或 2024-01-05T08:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
