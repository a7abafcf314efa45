"""`compliance status|report`, `obligations waive|show`, `notices list` as staff run them.

Real processes with only ``SYNDICATOR_DATA_DIR`` set; the database is seeded with rows written
directly (the compliance engine is not what is tested here). The CLI runs on the system clock,
so the seeded deadlines are relative to now, with slack for process start-up.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator import audit
from syndicator.clock import SHANGHAI, utcnow
from syndicator.compliance.notices import raise_notice
from syndicator.compliance.reports import REPORT_COLUMNS
from syndicator.db import Database, upgrade
from syndicator.db.models import NoticeKind, ObligationState, WindowBasis
from tests.fakes.obligations import add_entry, add_item, add_obligation, add_sites
from tests.integration.test_cli import syndicator

pytestmark = pytest.mark.integration

S = ObligationState


@dataclass(frozen=True)
class Seeded:
    data: Path
    pending: int
    overdue: int
    unknown: int
    reposted: int
    stale: int


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'syndicator.db'}")
    upgrade(db)
    now = utcnow()
    try:
        with db.begin() as session:
            add_sites(session)
            fresh = add_item(
                session,
                "国务院关于印发《2024年政务公开工作要点》的通知",
                now - timedelta(hours=8),
                doc_no="国办发〔2024〕1号",
            )
            older = add_item(
                session, "国务院关于加快建设全国统一大市场的意见", now - timedelta(days=2)
            )
            ancient = add_item(
                session, "国务院办公厅关于节假日安排的通知", now - timedelta(days=20)
            )
            # 40 s of slack: the countdown is rounded down to the minute when the CLI runs.
            pending = add_obligation(
                session,
                fresh,
                "xingguo",
                S.PENDING,
                due_at=now + timedelta(hours=3, minutes=20, seconds=40),
            )
            overdue = add_obligation(
                session,
                older,
                "ganzhou",
                S.OVERDUE,
                due_at=now - timedelta(days=1, hours=2, minutes=5),
            )
            unknown = add_obligation(
                session,
                fresh,
                "nanchang",
                S.UNKNOWN,
                basis=WindowBasis.PUBLISHED_DATE,
                note="栏目无法访问",
            )
            entry = add_entry(session, "ganzhou", "转发：" + fresh.title, now - timedelta(hours=6))
            reposted = add_obligation(
                session, fresh, "ganzhou", S.REPOSTED, latency_hours=2, entry=entry
            )
            stale = add_obligation(session, ancient, "xingguo", S.OVERDUE)
            audit.append(
                session,
                at=now - timedelta(hours=5),
                actor="system:compliance",
                action="obligation.state",
                subject=f"obligation:{reposted.id}",
                data={"from": "pending", "to": "reposted"},
            )
            raise_notice(
                session,
                key=f"obligation:{overdue.id}:breach",
                kind=NoticeKind.BREACH,
                now=now - timedelta(days=1),
                title="赣州市人民政府逾期未转载",
                body="…",
                site_id="ganzhou",
                obligation_id=overdue.id,
            )
            ids = (pending.id, overdue.id, unknown.id, reposted.id, stale.id)
    finally:
        db.dispose()
    return Seeded(data, *ids)


def _since() -> str:
    return (utcnow() - timedelta(days=30)).astimezone(SHANGHAI).date().isoformat()


def test_status_shows_countdowns_flags_and_subtrees(seeded: Seeded, tmp_path: Path) -> None:
    result = syndicator(seeded.data, "compliance", "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "还剩 3小时20分" in out and "已逾期 1天2小时" in out
    assert "按发布日期估算；栏目无法访问" in out
    assert "国办发〔2024〕1号" in out and "兴国县人民政府（xingguo）" in out
    assert "共 4 项未完成：待转载 1，逾期未转载 2，无法判定 1" in out
    assert "另有 1 项截止已超过 7 天" in out and "节假日安排" not in out
    assert out.index("已逾期 1天2小时") < out.index("还剩 3小时20分")  # soonest deadline first

    everything = syndicator(seeded.data, "compliance", "status", "--all", cwd=tmp_path)
    assert "节假日安排" in everything.stdout and "另有" not in everything.stdout

    city = syndicator(
        seeded.data, "compliance", "status", "--site", "ganzhou", "--all", cwd=tmp_path
    )
    assert city.returncode == 0
    assert "兴国县" in city.stdout and "赣州市" in city.stdout and "南昌市" not in city.stdout

    missing = syndicator(seeded.data, "compliance", "status", "--site", "ruijin", cwd=tmp_path)
    assert missing.returncode == 1 and "没有编号为 ruijin 的站点" in missing.stderr


def test_status_says_so_when_nothing_is_open(tmp_path: Path) -> None:
    result = syndicator(tmp_path / "data", "compliance", "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "没有未完成的转载义务" in result.stdout


def test_report_as_csv_json_and_table(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "报表.csv"
    result = syndicator(
        seeded.data,
        "compliance",
        "report",
        "--since",
        _since(),
        "-f",
        "csv",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(REPORT_COLUMNS)
    by_site = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_site) == {"ganzhou", "nanchang", "xingguo", ""}
    gz = by_site["ganzhou"]
    assert (gz["site_name"], gz["total"], gz["reposted"], gz["overdue"]) == (
        "赣州市人民政府",
        "2",
        "1",
        "1",
    )
    assert (gz["on_time_rate"], gz["latency_median_hours"], gz["latency_p90_hours"]) == (
        "0.5",
        "2.0",
        "2.0",
    )
    assert by_site["nanchang"]["on_time_rate"] == ""  # only unknown: no rate, not 0
    assert by_site[""]["site_name"] == "合计 / total" and by_site[""]["total"] == "5"

    as_json = syndicator(
        seeded.data, "compliance", "report", "--since", _since(), "--format", "json", cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr
    parsed = json.loads(as_json.stdout)
    assert [r["site_id"] for r in parsed] == ["ganzhou", "nanchang", "xingguo", ""]
    assert parsed[1]["on_time_rate"] is None and parsed[1]["unknown"] == 1
    assert parsed[-1]["overdue"] == 2 and list(parsed[0]) == list(REPORT_COLUMNS)

    table = syndicator(
        seeded.data, "compliance", "report", "--since", _since(), "--site", "ganzhou", cwd=tmp_path
    )
    assert table.returncode == 0, table.stderr
    assert "按时率" in table.stdout and "50.0%" in table.stdout and "2.0" in table.stdout
    assert "南昌市" not in table.stdout and "合计 / total" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2024-01-05", "--format", "xlsx"), "--format 'xlsx'"),
        (("--since", "yesterday"), "--since 'yesterday'"),
        (("--since", "2024-01-05", "--until", "2024-13-01"), "--until '2024-13-01'"),
        (("--since", "2024-01-05", "--until", "2024-01-01"), "until must be after since"),
        (("--since", "2024-01-05", "--out", "x.txt"), "--out"),
    ],
    ids=["format", "since", "until", "backwards", "table-to-file"],
)
def test_report_option_errors_name_the_option(
    seeded: Seeded, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = syndicator(seeded.data, "compliance", "report", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "错误" in result.stderr


def test_waive_removes_it_from_status_and_keeps_the_audit_chain(
    seeded: Seeded, tmp_path: Path
) -> None:
    waived = syndicator(
        seeded.data,
        "obligations",
        "waive",
        str(seeded.pending),
        "--reason",
        "该县网站改版，本周停更",
        "--by",
        "张三",
        cwd=tmp_path,
    )
    assert waived.returncode == 0, waived.stderr
    assert f"已豁免转载义务 {seeded.pending}" in waived.stdout and "原状态 待转载" in waived.stdout

    status = syndicator(seeded.data, "compliance", "status", cwd=tmp_path)
    assert "还剩 3小时20分" not in status.stdout and "共 3 项未完成" in status.stdout

    again = syndicator(
        seeded.data, "obligations", "waive", str(seeded.pending), "-r", "x", cwd=tmp_path
    )
    assert again.returncode == 1 and "已豁免" in again.stderr
    reposted = syndicator(
        seeded.data, "obligations", "waive", str(seeded.reposted), "-r", "x", cwd=tmp_path
    )
    assert reposted.returncode == 1 and "已有转载记录" in reposted.stderr
    missing = syndicator(seeded.data, "obligations", "waive", "999999", "-r", "x", cwd=tmp_path)
    assert missing.returncode == 1 and "没有编号为 999999 的转载义务" in missing.stderr

    verified = syndicator(seeded.data, "audit", "verify", cwd=tmp_path)
    assert (
        verified.returncode == 0
        and "审计链完好" in verified.stdout
        and "2 条记录" in verified.stdout
    )

    shown = syndicator(seeded.data, "obligations", "show", str(seeded.pending), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "豁免 waived：staff:张三：该县网站改版，本周停更" in shown.stdout
    assert (
        "staff:张三: 豁免（原状态 待转载）：该县网站改版，本周停更 [obligation.waived]"
        in shown.stdout
    )


def test_show_has_window_evidence_history_and_notices(seeded: Seeded, tmp_path: Path) -> None:
    result = syndicator(seeded.data, "obligations", "show", str(seeded.reposted), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"转载义务 {seeded.reposted} / obligation {seeded.reposted}：按时转载" in out
    assert "站点 site：赣州市人民政府（ganzhou）" in out and "时限 deadline：12 小时" in out
    assert "https://ganzhou.example.gov.cn/art/" in out and "「转发：国务院关于印发" in out
    assert "时延 latency：2.0 小时" in out and "按时 on time：是" in out
    assert "待转载 → 按时转载 [obligation.state]" in out

    breach = syndicator(seeded.data, "obligations", "show", str(seeded.overdue), cwd=tmp_path)
    assert "转载证据 evidence：无 / none" in breach.stdout
    assert (
        "提醒 notices（1）" in breach.stdout
        and "超时 · 待发送 · 赣州市人民政府逾期未转载" in breach.stdout
    )

    estimated = syndicator(seeded.data, "obligations", "show", str(seeded.unknown), cwd=tmp_path)
    assert "按发布日期估算" in estimated.stdout and "说明 note：栏目无法访问" in estimated.stdout

    missing = syndicator(seeded.data, "obligations", "show", "999999", cwd=tmp_path)
    assert missing.returncode == 1 and "没有编号为 999999 的转载义务" in missing.stderr


def test_notices_list_filters(seeded: Seeded, tmp_path: Path) -> None:
    listing = syndicator(seeded.data, "notices", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "超时" in listing.stdout and "赣州市人民政府逾期未转载" in listing.stdout
    assert "待发送" in listing.stdout and "共 1 条" in listing.stdout

    sent = syndicator(seeded.data, "notices", "list", "--status", "sent", cwd=tmp_path)
    assert "共 0 条" in sent.stdout
    remind = syndicator(seeded.data, "notices", "list", "--kind", "remind", cwd=tmp_path)
    assert "共 0 条" in remind.stdout
    later = syndicator(seeded.data, "notices", "list", "--since", "2999-01-01", cwd=tmp_path)
    assert "共 0 条" in later.stdout

    bad = syndicator(seeded.data, "notices", "list", "--kind", "urgent", cwd=tmp_path)
    assert bad.returncode == 1 and "--kind 'urgent'" in bad.stderr and "breach" in bad.stderr


def test_check_runs_one_tick_and_delivers_due_notices(seeded: Seeded, tmp_path: Path) -> None:
    result = syndicator(seeded.data, "compliance", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "合规检查完成：新增转载义务 0" in result.stdout
    # The seeded breach notice was pending: the default log target takes it (and the
    # notices this tick raised).
    assert "失败 0，待重试 0" in result.stdout
    assert "WARNING syndicator.notice: [超时]" in result.stderr
    assert "赣州市人民政府逾期未转载" in result.stderr
    listed = syndicator(seeded.data, "notices", "list", cwd=tmp_path)
    assert "已发送" in listed.stdout
