"""Sample portals: a small realistic "demo world" and a large synthetic "bench world".

The demo world mimics what syndicator meets in Jiangxi: 中国政府网's 最新政策 list (UTF-8, detail
pages with the CMS ``<meta>`` tags), the provincial portal's RSS feeds, and four county/city sites
with their own markup and date formats: one plain UTF-8, one GBK, one broken, one slow. Times are
relative to the ``now`` it is built with and shown in Asia/Shanghai, so a demo always looks current.

The bench world is N RSS feeds of ≈30 KB / 50 items spread over several ports, with a
``steady_cycle`` that changes a fraction of them the way real feeds change between two polls.
"""

from __future__ import annotations

import html
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal

from syndicator.clock import SHANGHAI
from syndicator.simulator.app import Page, Portal

__all__ = [
    "DEMO_SITE_IDS",
    "DEMO_SOURCE_IDS",
    "BenchWorld",
    "BrokenMode",
    "DemoChanges",
    "DemoDocument",
    "DemoEntry",
    "DemoWorld",
    "build_bench_world",
    "build_demo_world",
]

BrokenMode = Literal["redesign", "http_500", "working"]

UTF8_HTML = "text/html; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"

# -- the demo world --------------------------------------------------------------------------

# 中国政府网 最新政策: (title, document number); {y} is the current year, {y1} the next.
_GOV_DOCS = [
    ("国务院办公厅关于健全基层应急管理体系的意见", "国办发〔{y}〕29号"),
    ("国务院关于进一步优化政务服务提升行政效能推动“高效办成一件事”的指导意见", "国发〔{y}〕3号"),
    ("国务院办公厅关于加快构建废弃物循环利用体系的意见", "国办发〔{y}〕7号"),
    ("国务院关于印发《推动大规模设备更新和消费品以旧换新行动方案》的通知", "国发〔{y}〕7号"),
    ("国务院关于加强监管防范风险推动资本市场高质量发展的若干意见", "国发〔{y}〕10号"),
    ("国务院办公厅关于进一步优化支付服务提升支付便利性的意见", "国办发〔{y}〕10号"),
    ("国务院办公厅关于印发《政府网站发展指引》的通知", "国办发〔2017〕47号"),
    ("国务院关于印发《{y}—{y1}年节能降碳行动方案》的通知", "国发〔{y}〕12号"),
    ("国务院办公厅关于印发《国务院{y}年度立法工作计划》的通知", "国办发〔{y}〕23号"),
    ("国务院关于促进服务消费高质量发展的意见", "国发〔{y}〕18号"),
    ("国务院关于推动外贸稳规模优结构的意见", "国发〔{y}〕20号"),
    ("国务院办公厅关于加强政务数据共享的意见", "国办发〔{y}〕33号"),
    ("国务院关于加快发展银发经济增进老年人福祉的意见", "国发〔{y}〕21号"),
    ("国务院关于修改和废止部分行政法规的决定", "国务院令第777号"),
    ("国务院办公厅关于进一步加强安全生产工作的通知", "国办明电〔{y}〕2号"),
]
_GOV_HOURS_AGO = [2, 3.5, 5, 6.5, 8, 9.5, 11, 13, 15, 17, 19.5, 22, 24.5, 27, 30]
# What advance() publishes next on 中国政府网.
_GOV_RESERVE = [
    ("国务院办公厅关于进一步加强政务新媒体管理的通知", "国办发〔{y}〕41号"),
    ("国务院关于深化“互联网+政务服务”推进政务服务一网通办的意见", "国发〔{y}〕25号"),
    ("国务院办公厅关于印发《政府网站与政务新媒体检查指标》的通知", "国办函〔{y}〕39号"),
]

_JX_DOCS = [
    ("江西省人民政府办公厅关于印发江西省政府网站集约化建设实施方案的通知", "赣府厅字〔{y}〕12号"),
    ("江西省人民政府关于进一步优化营商环境的若干意见", "赣府发〔{y}〕3号"),
    ("江西省人民政府办公厅关于做好{y}年粮食生产工作的通知", "赣府厅明电〔{y}〕4号"),
    (
        "江西省人民政府关于印发江西省推动大规模设备更新和消费品以旧换新实施方案的通知",
        "赣府发〔{y}〕8号",
    ),
    ("江西省人民政府办公厅关于加强政务新媒体健康有序发展的通知", "赣府厅发〔{y}〕11号"),
    ("江西省人民政府关于促进民营经济发展壮大的若干措施", "赣府发〔{y}〕12号"),
    ("江西省人民政府办公厅关于进一步加强全省防汛抗旱工作的通知", "赣府厅明电〔{y}〕9号"),
    ("江西省人民政府办公厅关于印发江西省数字政府建设三年行动计划的通知", "赣府厅发〔{y}〕15号"),
    ("江西省人民政府关于公布第六批省级非物质文化遗产代表性项目名录的通知", "赣府发〔{y}〕16号"),
    ("江西省人民政府办公厅关于加快发展县域经济的实施意见", "赣府厅发〔{y}〕19号"),
]
_JX_HOURS_AGO = [1.5, 4, 6, 8.5, 10, 12.5, 16, 20, 25, 29]

RepostStyle = Literal["same", "wrapper", "bracket", "forward"]

# (source id, "g" = 中国政府网 / "j" = 江西省政府, index, hours after the original, style).
# Gaps are on purpose: some documents are never reposted, some are reposted late (> 12 h).
_REPOSTS: list[tuple[str, str, int, float, RepostStyle]] = [
    ("jx-gwywj", "g", 1, 1, "same"),
    ("jx-gwywj", "g", 2, 2, "same"),
    ("jx-gwywj", "g", 3, 1.5, "same"),
    ("jx-gwywj", "g", 5, 3, "same"),
    ("jx-gwywj", "g", 6, 2, "same"),
    ("jx-gwywj", "g", 7, 4, "same"),
    ("jx-gwywj", "g", 8, 5, "same"),
    ("jx-gwywj", "g", 9, 16, "same"),
    ("jx-gwywj", "g", 10, 6, "same"),
    ("jx-gwywj", "g", 12, 3, "same"),
    ("jx-gwywj", "g", 13, 20, "same"),
    ("jx-gwywj", "g", 14, 2, "same"),
    ("nc-zcwj", "g", 1, 2, "wrapper"),
    ("nc-zcwj", "g", 3, 3, "bracket"),
    ("nc-zcwj", "g", 9, 15, "wrapper"),
    ("nc-zcwj", "j", 1, 2, "forward"),
    ("nc-zcwj", "j", 3, 5, "wrapper"),
    ("nc-zcwj", "j", 6, 14, "bracket"),
    ("xs-tzgg", "g", 2, 4, "wrapper"),
    ("xs-tzgg", "g", 5, 6, "same"),
    ("xs-tzgg", "j", 0, 1, "forward"),
    ("xs-tzgg", "j", 2, 3, "wrapper"),
    ("xs-tzgg", "j", 4, 8, "bracket"),
    ("wy-zwdt", "g", 2, 3, "wrapper"),
    ("wy-zwdt", "j", 1, 2, "forward"),
    ("jgs-zcwj", "g", 1, 3, "bracket"),
    ("jgs-zcwj", "g", 6, 5, "wrapper"),
    ("jgs-zcwj", "j", 3, 2, "same"),
]

# Items of the county/city sites that are not reposts: (source id, title, hours ago).
_LOCAL_ITEMS = [
    ("nc-zcwj", "南昌市{y}年重点民生实事项目进展情况公示", 7),
    ("nc-zcwj", "南昌市人民政府关于划定禁止燃放烟花爆竹区域的通告", 18),
    ("nc-zcwj", "南昌市人民政府办公室关于印发南昌市城市更新行动实施方案的通知", 26),
    ("nc-zcwj", "市政府召开常务会议 研究部署安全生产等工作", 31),
    ("xs-tzgg", "修水县森林防火工作会议召开", 5),
    ("xs-tzgg", "关于开展{y}年度城乡居民医疗保险集中参保缴费工作的通告", 14),
    ("xs-tzgg", "修水县人民政府关于调整县城区公交线路的公告", 23),
    ("xs-tzgg", "修水县{y}年第一批公开招聘中小学教师资格复审公告", 33),
    ("wy-zwdt", "婺源县人民政府关于做好{y}年度旅游旺季安全工作的通知", 6),
    ("wy-zwdt", "婺源县召开乡村振兴工作推进会", 20),
    ("jgs-zcwj", "井冈山市人民政府关于加强红色培训市场规范管理的通知", 9),
    ("jgs-zcwj", "井冈山市开展{y}年防汛应急演练", 21),
    ("jgs-zcwj", "井冈山市人民政府关于公布第二批市级重点保护名录的通告", 28),
]

DEMO_SITE_IDS = ("gov-cn", "jiangxi", "nanchang", "xiushui", "wuyuan", "jinggangshan")
DEMO_SOURCE_IDS = (
    "govcn-zuixin",
    "jx-szfwj",
    "jx-gwywj",
    "nc-zcwj",
    "xs-tzgg",
    "wy-zwdt",
    "jgs-zcwj",
)


@dataclass(frozen=True, slots=True)
class _Site:
    id: str
    name: str
    level: str
    parent: str | None
    home: str
    office: str  # who signs "关于转发《…》的通知" on this site


@dataclass(frozen=True, slots=True)
class _Source:
    id: str
    site: str
    name: str
    role: Literal["upstream", "downstream"]
    kind: Literal["rss", "html_list"]
    path: str
    column: str | None = None
    key: bool = False
    detail: bool = False
    html: tuple[tuple[str, str], ...] = ()


_SITES = [
    _Site("gov-cn", "中国政府网", "national", None, "/www.gov.cn/", "国务院办公厅"),
    _Site(
        "jiangxi",
        "江西省人民政府",
        "province",
        "gov-cn",
        "/www.jiangxi.gov.cn/",
        "江西省人民政府办公厅",
    ),
    _Site(
        "nanchang", "南昌市人民政府", "city", "jiangxi", "/www.nc.gov.cn/", "南昌市人民政府办公室"
    ),
    _Site(
        "xiushui",
        "修水县人民政府",
        "county",
        "jiangxi",
        "/www.xiushui.gov.cn/",
        "修水县人民政府办公室",
    ),
    _Site(
        "wuyuan", "婺源县人民政府", "county", "jiangxi", "/www.jxwy.gov.cn/", "婺源县人民政府办公室"
    ),
    _Site(
        "jinggangshan",
        "井冈山市人民政府",
        "county",
        "jiangxi",
        "/www.jgs.gov.cn/",
        "井冈山市人民政府办公室",
    ),
]

_SOURCES = [
    _Source(
        "govcn-zuixin",
        "gov-cn",
        "最新政策",
        "upstream",
        "html_list",
        "/www.gov.cn/zhengce/zuixin/",
        key=True,
        detail=True,
        html=(
            ("item", "ul.list li"),
            ("link", "a"),
            ("title", "a"),
            ("date", "span.date"),
            ("link_pattern", r"content_\d+\.htm"),
        ),
    ),
    _Source(
        "jx-szfwj",
        "jiangxi",
        "省政府文件",
        "upstream",
        "rss",
        "/www.jiangxi.gov.cn/rss/szfwj.xml",
        key=True,
    ),
    _Source(
        "jx-gwywj",
        "jiangxi",
        "国务院文件",
        "downstream",
        "rss",
        "/www.jiangxi.gov.cn/rss/gwywj.xml",
        column="repost",
    ),
    _Source(
        "nc-zcwj",
        "nanchang",
        "政策文件",
        "downstream",
        "html_list",
        "/www.nc.gov.cn/ncszf/zcwj/",
        column="policy",
        html=(("item", "div.news-list li"), ("link", "a"), ("title", "a"), ("date", "span.time")),
    ),
    _Source(
        "xs-tzgg",
        "xiushui",
        "通知公告",
        "downstream",
        "html_list",
        "/www.xiushui.gov.cn/zwgk/tzgg/",
        column="notice",
        html=(
            ("item", "div.zfxxgk_zdgkc li"),
            ("link", "a"),
            ("title", "a"),
            ("date", "span.date"),
        ),
    ),
    _Source(
        "wy-zwdt",
        "wuyuan",
        "政务动态",
        "downstream",
        "html_list",
        "/www.jxwy.gov.cn/zwgk/zwdt/",
        column="dynamic",
        html=(("item", "ul.list-item li"), ("link", "a"), ("title", "a"), ("date", "span")),
    ),
    _Source(
        "jgs-zcwj",
        "jinggangshan",
        "转载上级文件",
        "downstream",
        "html_list",
        "/www.jgs.gov.cn/zwgk/zcwj/",
        column="repost",
        html=(("item", "ul.xxgk-list li"), ("link", "a"), ("title", "a"), ("date", "span.fbsj")),
    ),
]


@dataclass(frozen=True, slots=True)
class DemoDocument:
    """A document published by an upstream portal (中国政府网 or 江西省人民政府)."""

    id: str
    site_id: str
    title: str
    doc_no: str | None
    published: datetime
    path: str


@dataclass(frozen=True, slots=True)
class DemoEntry:
    """One row of a list page or feed; ``reposts`` is the document it reposts, if any."""

    title: str
    path: str
    published: datetime
    reposts: DemoDocument | None = None


@dataclass(frozen=True, slots=True)
class DemoChanges:
    """What :meth:`DemoWorld.advance` changed."""

    published: tuple[DemoDocument, ...]
    reposted: tuple[tuple[str, DemoEntry], ...]


def _local(when: datetime) -> datetime:
    return when.astimezone(SHANGHAI)


def _rfc822(when: datetime) -> str:
    return format_datetime(_local(when))


def _repost_title(document: DemoDocument, style: RepostStyle, office: str) -> str:
    if style == "wrapper":
        inner = document.title.replace("《", "〈").replace("》", "〉")
        return f"{office}关于转发《{inner}》的通知"
    if style == "bracket":
        return f"【转载】{document.title}"
    if style == "forward":
        return f"转发：{document.title}"
    return document.title


def _e(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(eq=False)
class DemoWorld:
    """The demo portals, served from one :class:`Portal` under one server.

    Attributes:
        portal: serve it with :class:`~syndicator.simulator.server.SimulatorServer`.
        now: the time the pages are current for.
        slow_delay: seconds the slow site (井冈山市) takes to answer.
        broken: how 婺源县 is broken: ``redesign`` (200, the configured selector matches nothing)
            or ``http_500``; ``working`` until it breaks (set the attribute, then
            :meth:`render_all`).
    """

    portal: Portal
    now: datetime
    slow_delay: float
    broken: BrokenMode
    documents: dict[str, list[DemoDocument]] = field(default_factory=dict)
    entries: dict[str, list[DemoEntry]] = field(default_factory=dict)
    _next_id: int = 6912345
    _reserve: list[tuple[str, str]] = field(default_factory=list)

    # -- the sources file ---------------------------------------------------------------------

    def source_path(self, source_id: str) -> str:
        """The path a source is served at."""
        return _source(source_id).path

    def sources_toml(self, base_url: str) -> str:
        """A syndicator sources file for these portals, served at *base_url*.

        Sites: ``gov-cn`` (national), ``jiangxi`` (province), ``nanchang`` (city), ``xiushui``,
        ``wuyuan``, ``jinggangshan`` (counties). Sources: ``govcn-zuixin`` (upstream, key, detail),
        ``jx-szfwj`` (upstream RSS, key), ``jx-gwywj`` (downstream RSS), ``nc-zcwj`` (UTF-8),
        ``xs-tzgg`` (GBK, no declared encoding), ``wy-zwdt`` (broken), ``jgs-zcwj`` (slow).
        """
        base = base_url.rstrip("/")
        lines = [
            "# syndicator 演示信息源（由 syndicator.simulator 生成）",
            "# demo sources generated by syndicator.simulator; the portals are local simulations",
            "",
        ]
        for site in _SITES:
            lines += ["[[site]]", f"id = {_q(site.id)}", f"name = {_q(site.name)}"]
            lines.append(f"level = {_q(site.level)}")
            if site.parent:
                lines.append(f"parent = {_q(site.parent)}")
            lines += [f"url = {_q(base + site.home)}", ""]
        for source in _SOURCES:
            lines += [
                "[[source]]",
                f"id = {_q(source.id)}",
                f"site = {_q(source.site)}",
                f"name = {_q(source.name)}",
                f"role = {_q(source.role)}",
                f"kind = {_q(source.kind)}",
                f"url = {_q(base + source.path)}",
                'interval = "10m"',
            ]
            if source.column:
                lines.append(f"column = {_q(source.column)}")
            if source.key:
                lines.append("key = true")
            if source.detail:
                lines.append("detail = true")
            if source.html:
                pairs = ", ".join(
                    f"{name} = '{value}'" if name == "link_pattern" else f"{name} = {_q(value)}"
                    for name, value in source.html
                )
                lines.append(f"html = {{ {pairs} }}")
            lines.append("")
        return "\n".join(lines)

    # -- changing the world -------------------------------------------------------------------

    def publish(
        self, site_id: str, title: str, *, doc_no: str | None, at: datetime
    ) -> DemoDocument:
        """Publish a new upstream document on ``gov-cn`` or ``jiangxi`` and re-render."""
        document = self._document(site_id, title, doc_no, at)
        self._render_upstream(site_id)
        return document

    def repost(
        self,
        source_id: str,
        document: DemoDocument,
        *,
        at: datetime,
        style: RepostStyle = "wrapper",
    ) -> DemoEntry:
        """Make a downstream source list a repost of *document* and re-render it."""
        entry = self._repost(source_id, document, at, style)
        self._render(source_id)
        return entry

    def advance(self, now: datetime) -> DemoChanges:
        """Move to *now*: 中国政府网 publishes a new document and 南昌市 reposts the newest one
        it had not reposted yet, so a second poll finds new items on both sides."""
        self.now = now
        published: list[DemoDocument] = []
        reposted: list[tuple[str, DemoEntry]] = []
        already = {e.reposts.id for e in self.entries["nc-zcwj"] if e.reposts is not None}
        pending = [d for d in self.documents["gov-cn"] if d.id not in already]
        if pending:
            newest = max(pending, key=lambda d: d.published)
            at = now - timedelta(minutes=2)
            reposted.append(("nc-zcwj", self.repost("nc-zcwj", newest, at=at, style="wrapper")))
        title, doc_no = self._reserve.pop(0) if self._reserve else self._made_up_document()
        published.append(
            self.publish("gov-cn", title, doc_no=doc_no, at=now - timedelta(minutes=10))
        )
        return DemoChanges(published=tuple(published), reposted=tuple(reposted))

    # -- building -----------------------------------------------------------------------------

    def _made_up_document(self) -> tuple[str, str]:
        number = self._next_id % 100
        year = _local(self.now).year
        return (
            f"国务院办公厅关于做好第{number}批政务服务事项调整工作的通知",
            f"国办函〔{year}〕{number}号",
        )

    def _document(self, site_id: str, title: str, doc_no: str | None, at: datetime) -> DemoDocument:
        number = self._next_id
        self._next_id += 1
        if site_id == "gov-cn":
            path = f"/www.gov.cn/zhengce/zuixin/content_{number}.htm"
        else:
            local = _local(at)
            day = f"{local.year}/{local.month}/{local.day}"
            path = f"/www.jiangxi.gov.cn/art/{day}/art_4975_{number}.html"
        document = DemoDocument(
            id=str(number), site_id=site_id, title=title, doc_no=doc_no, published=at, path=path
        )
        self.documents.setdefault(site_id, []).append(document)
        return document

    def _repost(
        self, source_id: str, document: DemoDocument, at: datetime, style: RepostStyle
    ) -> DemoEntry:
        site = _site(_source(source_id).site)
        entry = DemoEntry(
            title=_repost_title(document, style, site.office),
            path=self._entry_path(source_id, at),
            published=at,
            reposts=document,
        )
        self.entries.setdefault(source_id, []).append(entry)
        return entry

    def _entry_path(self, source_id: str, at: datetime) -> str:
        number = self._next_id
        self._next_id += 1
        local = _local(at)
        source = _source(source_id)
        if source_id == "jx-gwywj":
            day = f"{local.year}/{local.month}/{local.day}"
            return f"/www.jiangxi.gov.cn/art/{day}/art_5862_{number}.html"
        if source_id == "xs-tzgg":
            return f"{source.path}{local:%Y%m}/t{local:%Y%m%d}_{number}.html"
        if source_id == "jgs-zcwj":
            return f"/www.jgs.gov.cn/art/{local.year}/{local.month}/{local.day}/art_{number}.html"
        return f"{source.path}{local:%Y%m}/{number:x}.shtml"

    # -- rendering ----------------------------------------------------------------------------

    def render_all(self) -> None:
        """(Re-)render every page into the portal."""
        self._render_upstream("gov-cn")
        self._render_upstream("jiangxi")
        for source in _SOURCES:
            if source.role == "downstream":
                self._render(source.id)

    def _render_upstream(self, site_id: str) -> None:
        documents = sorted(self.documents.get(site_id, []), key=lambda d: d.published, reverse=True)
        if site_id == "gov-cn":
            self.portal.update({d.path: _govcn_detail(d) for d in documents})
            self.portal.set(_source("govcn-zuixin").path, _govcn_list(documents, self.now))
        else:
            self.portal.update(
                {d.path: _article(d.title, d.published, "江西省人民政府") for d in documents}
            )
            self.portal.set(
                _source("jx-szfwj").path,
                _rss(
                    "江西省人民政府 省政府文件",
                    "/www.jiangxi.gov.cn/col/col4975/",
                    [(d.title, d.path, d.published, d.doc_no) for d in documents],
                    self.now,
                ),
            )

    def _render(self, source_id: str) -> None:
        source = _source(source_id)
        site = _site(source.site)
        entries = sorted(self.entries.get(source_id, []), key=lambda e: e.published, reverse=True)
        encoding = "gbk" if source_id == "xs-tzgg" else "utf-8"
        self.portal.update(
            {e.path: _article(e.title, e.published, site.name, encoding) for e in entries}
        )
        page: Page
        if source_id == "jx-gwywj":
            rows = [(e.title, e.path, e.published, None) for e in entries]
            page = _rss(
                "江西省人民政府 国务院文件", "/www.jiangxi.gov.cn/col/col5862/", rows, self.now
            )
        elif source_id == "nc-zcwj":
            page = _nanchang_list(entries, self.now)
        elif source_id == "xs-tzgg":
            page = _xiushui_list(entries, self.now)
        elif source_id == "wy-zwdt":
            page = _wuyuan_page(entries, self.now, self.broken)
        else:
            page = _jinggangshan_list(entries, self.now, self.slow_delay)
        self.portal.set(source.path, page)


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _source(source_id: str) -> _Source:
    for source in _SOURCES:
        if source.id == source_id:
            return source
    raise KeyError(f"unknown demo source {source_id!r}; known: {', '.join(DEMO_SOURCE_IDS)}")


def _site(site_id: str) -> _Site:
    for site in _SITES:
        if site.id == site_id:
            return site
    raise KeyError(f"unknown demo site {site_id!r}; known: {', '.join(DEMO_SITE_IDS)}")


def _html_page(title: str, body: str, *, charset: str = "utf-8") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n'
        f'<meta charset="{charset}">\n<title>{_e(title)}</title>\n</head>\n<body>\n'
        f"{body}\n</body>\n</html>\n"
    )


def _govcn_list(documents: Sequence[DemoDocument], now: datetime) -> Page:
    rows = "\n".join(
        f'<li><h4><a href="./content_{d.id}.htm" target="_blank">{_e(d.title)}</a>'
        f'<span class="date">{_local(d.published):%Y-%m-%d}</span></h4></li>'
        for d in documents
    )
    body = (
        '<div class="header"><a href="/www.gov.cn/">中国政府网</a> &gt; '
        '<a href="/www.gov.cn/zhengce/">政策</a> &gt; 最新政策</div>\n'
        '<div class="channel_tab"><a href="../xxgk/">信息公开</a> '
        '<a href="../jiedu/">政策解读</a></div>\n'
        f'<div class="list list_1 list_2">\n<ul class="list">\n{rows}\n'
        '<li class="more"><a href="../index.htm">更多政策 &gt;&gt;</a></li>\n</ul>\n</div>\n'
        f'<div class="footer">主办单位：国务院办公厅　运行维护单位：中国政府网运行中心 '
        f"更新时间：{_local(now):%Y-%m-%d %H:%M}</div>"
    )
    return Page(body=_html_page("最新政策_中国政府网", body).encode(), content_type=UTF8_HTML)


def _govcn_detail(document: DemoDocument) -> Page:
    local = _local(document.published)
    meta = (
        f'<meta name="firstpublishedtime" content="{local:%Y-%m-%d-%H:%M:%S}">\n'
        f'<meta name="lastmodifiedtime" content="{local:%Y-%m-%d-%H:%M:%S}">\n'
        f'<meta name="manuscriptId" content="{document.id}">\n'
        f'<meta name="ArticleTitle" content="{_e(document.title)}">\n'
        f'<meta name="PubDate" content="{local:%Y-%m-%d %H:%M}">\n'
        '<meta name="ContentSource" content="中国政府网">\n'
        '<meta name="catalogs" content="国务院文件">\n'
    )
    text = (
        '<div class="article oneColumn pub_border">\n'
        f"<h1>{_e(document.title)}</h1>\n"
        f'<div class="pages-date">{local:%Y-%m-%d %H:%M}'
        '<span class="font">来源：中国政府网</span></div>\n'
        '<div class="pages_content" id="UCAP-CONTENT">\n'
        f'<p style="text-align: center;">{_e(document.doc_no or "")}</p>\n'
        "<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：</p>\n"
        "<p>经国务院同意，现将有关事项通知如下，请结合实际认真贯彻落实。</p>\n"
        '<p style="text-align: right;">国务院办公厅<br>'
        f"{local.year}年{local.month}月{local.day}日</p>\n"
        "<p>（此件公开发布）</p>\n</div>\n</div>"
    )
    page = _html_page(f"{document.title}_国务院文件_中国政府网", text)
    page = page.replace("<title>", meta + "<title>", 1)
    return Page(body=page.encode(), content_type=UTF8_HTML, last_modified=document.published)


def _article(title: str, published: datetime, site_name: str, encoding: str = "utf-8") -> Page:
    local = _local(published)
    charset = "gb2312" if encoding == "gbk" else "utf-8"
    body = (
        f'<div class="article"><h1>{_e(title)}</h1>\n'
        f'<div class="info">发布时间：{local:%Y-%m-%d %H:%M}　来源：{_e(site_name)}</div>\n'
        '<div class="content"><p>（正文略）</p></div></div>'
    )
    content_type = "text/html; charset=GB2312" if encoding == "gbk" else UTF8_HTML
    text = _html_page(f"{title}_{site_name}", body, charset=charset)
    return Page(body=text.encode(encoding), content_type=content_type, last_modified=published)


def _rss(
    title: str,
    link: str,
    rows: Sequence[tuple[str, str, datetime, str | None]],
    now: datetime,
) -> Page:
    items = "".join(
        "<item>\n"
        f"<title>{_e(row_title)}</title>\n<link>{_e(path)}</link>\n"
        f'<guid isPermaLink="false">{_e(path)}</guid>\n'
        f"<pubDate>{_rfc822(published)}</pubDate>\n"
        + (f"<description>{_e(doc_no)}</description>\n" if doc_no else "")
        + "</item>\n"
        for row_title, path, published, doc_no in rows
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{_e(title)}</title>\n<link>{_e(link)}</link>\n"
        f"<description>{_e(title)}</description>\n<language>zh-cn</language>\n"
        f"<lastBuildDate>{_rfc822(now)}</lastBuildDate>\n<ttl>10</ttl>\n"
        f"{items}</channel>\n</rss>\n"
    )
    return Page(body=text.encode(), content_type=RSS_TYPE)


def _nanchang_list(entries: Sequence[DemoEntry], now: datetime) -> Page:
    rows = "\n".join(
        f'<li><a href="{_e(e.path)}" target="_blank" title="{_e(e.title)}">{_e(e.title)}</a>'
        f'<span class="time">{_local(e.published).year}年{_local(e.published).month}月'
        f"{_local(e.published).day}日</span></li>"
        for e in entries
    )
    body = (
        '<div class="top-nav"><a href="/www.nc.gov.cn/">首页</a> &gt; '
        "政务公开 &gt; 政策文件</div>\n"
        f'<div class="news-list">\n<ul>\n{rows}\n</ul>\n</div>\n'
        '<div class="page">共1页 <a href="#">首页</a> <a href="#">尾页</a></div>'
    )
    return Page(body=_html_page("政策文件-南昌市人民政府", body).encode(), content_type=UTF8_HTML)


def _xiushui_list(entries: Sequence[DemoEntry], now: datetime) -> Page:
    source_path = _source("xs-tzgg").path
    rows = "\n".join(
        f'<li><span class="date">[{_local(e.published):%m-%d}]</span>'
        f'<a href="./{_e(e.path.removeprefix(source_path))}" target="_blank">{_e(e.title)}</a></li>'
        for e in entries
    )
    body = (
        '<div class="dqwz">当前位置：<a href="/www.xiushui.gov.cn/">首页</a> '
        "&gt;&gt; 通知公告</div>\n"
        f'<div class="zfxxgk_zdgkc">\n<ul>\n{rows}\n</ul>\n</div>'
    )
    text = _html_page("通知公告_修水县人民政府", body, charset="gb2312")
    return Page(body=text.encode("gbk"), content_type="text/html; charset=GB2312")


def _wuyuan_page(entries: Sequence[DemoEntry], now: datetime, broken: BrokenMode) -> Page:
    if broken == "http_500":
        text = _html_page("500 Internal Server Error", "<h1>500 Internal Server Error</h1>")
        return Page(body=text.encode(), content_type=UTF8_HTML, status=500)
    if broken == "working":  # before the redesign: the markup the sources file was written for
        rows = "\n".join(
            f'<li><a href="{_e(e.path)}">{_e(e.title)}</a>'
            f"<span>{_local(e.published):%Y-%m-%d}</span></li>"
            for e in entries
        )
        body = f'<ul class="list-item">\n{rows}\n</ul>'
        return Page(
            body=_html_page("政务动态_婺源县人民政府", body).encode(), content_type=UTF8_HTML
        )
    # The site was redesigned: the configured ``ul.list-item li`` matches nothing any more.
    cards = "\n".join(
        f'<div class="news-card"><a class="news-title" href="{_e(e.path)}">{_e(e.title)}</a>'
        f'<em class="news-date">{_local(e.published):%Y/%m/%d}</em></div>'
        for e in entries
    )
    body = f'<main class="v2-layout">\n<section class="news-grid">\n{cards}\n</section>\n</main>'
    return Page(body=_html_page("政务动态_婺源县人民政府", body).encode(), content_type=UTF8_HTML)


def _jinggangshan_list(entries: Sequence[DemoEntry], now: datetime, delay: float) -> Page:
    rows = "\n".join(
        f'<li><a href="{_e(e.path)}" target="_blank">{_e(e.title)}</a>'
        f'<span class="fbsj">发布时间：{_local(e.published):%Y-%m-%d %H:%M}</span></li>'
        for e in entries
    )
    body = f'<div class="xxgk-box">\n<ul class="xxgk-list">\n{rows}\n</ul>\n</div>'
    text = _html_page("转载上级文件_井冈山市人民政府", body)
    return Page(body=text.encode(), content_type=UTF8_HTML, delay=delay)


def build_demo_world(
    now: datetime, *, slow_delay: float = 3.0, broken: BrokenMode = "redesign"
) -> DemoWorld:
    """Fill a new :class:`Portal` with the demo portals, current as of *now* (aware).

    Args:
        now: the time the pages are current for; documents are 1.5–30 hours old.
        slow_delay: seconds the slow site (井冈山市, ``jgs-zcwj``) takes to answer.
        broken: how 婺源县 (``wy-zwdt``) is broken, see :class:`DemoWorld`.
    """
    if now.tzinfo is None:
        raise ValueError("build_demo_world needs a timezone-aware now")
    now = now.astimezone(UTC)
    year = _local(now).year
    world = DemoWorld(portal=Portal(), now=now, slow_delay=slow_delay, broken=broken)
    world._reserve = [(t.format(y=year, y1=year + 1), n.format(y=year)) for t, n in _GOV_RESERVE]

    def when(hours_ago: float) -> datetime:
        # Whole minutes, plus a few seconds, like a CMS stamps them.
        moment = now - timedelta(hours=hours_ago)
        return moment.replace(second=15, microsecond=0)

    upstream: dict[str, list[DemoDocument]] = {"g": [], "j": []}
    for letter, site_id, docs, ages in (
        ("g", "gov-cn", _GOV_DOCS, _GOV_HOURS_AGO),
        ("j", "jiangxi", _JX_DOCS, _JX_HOURS_AGO),
    ):
        for (title, doc_no), age in zip(docs, ages, strict=True):
            upstream[letter].append(
                world._document(
                    site_id, title.format(y=year, y1=year + 1), doc_no.format(y=year), when(age)
                )
            )
    for source_id, letter, index, lag, style in _REPOSTS:
        document = upstream[letter][index]
        at = document.published + timedelta(hours=lag, minutes=7)
        if at <= now - timedelta(minutes=5):
            world._repost(source_id, document, at, style)
    for source_id, title, hours_ago in _LOCAL_ITEMS:
        at = when(hours_ago)
        world.entries.setdefault(source_id, []).append(
            DemoEntry(
                title=title.format(y=year), path=world._entry_path(source_id, at), published=at
            )
        )
    world.render_all()
    return world


# -- the bench world -------------------------------------------------------------------------

_BENCH_ISSUERS = [
    "国务院办公厅",
    "江西省人民政府",
    "江西省人民政府办公厅",
    "南昌市人民政府",
    "九江市人民政府办公室",
    "赣州市人民政府",
    "江西省发展和改革委员会",
    "江西省教育厅",
    "江西省财政厅",
    "江西省生态环境厅",
    "江西省住房和城乡建设厅",
    "江西省农业农村厅",
    "江西省商务厅",
    "江西省卫生健康委员会",
]
_BENCH_TOPICS = [
    "进一步优化营商环境",
    "加快发展新质生产力",
    "做好粮食生产工作",
    "加强安全生产工作",
    "推进数字政府建设",
    "促进民营经济发展壮大",
    "做好高校毕业生就业创业工作",
    "加强耕地保护和改进占补平衡",
    "推动大规模设备更新和消费品以旧换新",
    "深化医药卫生体制改革",
    "加强城市内涝治理",
    "做好防汛抗旱工作",
    "推进乡村全面振兴",
    "支持科技创新",
    "推动外贸稳规模优结构",
    "加快建设全国统一大市场",
    "实施城市更新行动",
    "全面推进政务公开",
    "规范行政执法行为",
    "完善养老服务体系",
]
_BENCH_KINDS = [
    "的通知",
    "的意见",
    "的实施方案",
    "的若干措施",
    "的决定",
    "的工作方案",
    "的指导意见",
]
_BENCH_SENTENCES = [
    "各地区、各部门要充分认识做好此项工作的重要意义，切实加强组织领导。",
    "坚持以人民为中心的发展思想，着力解决群众急难愁盼问题。",
    "建立健全工作机制，明确责任分工，确保各项措施落到实处。",
    "加强统筹协调，强化要素保障，推动形成工作合力。",
    "各县（市、区）人民政府要结合实际，制定具体实施方案。",
    "充分发挥政府网站和政务新媒体作用，及时做好政策解读和舆论引导。",
    "严格落实安全生产责任制，坚决防范遏制重特大事故发生。",
    "加大财政资金支持力度，优化资金使用结构，提高资金使用效益。",
    "深入推进简政放权、放管结合、优化服务改革。",
    "加强督促检查，对工作推进不力的地方和单位予以通报。",
    "本通知自印发之日起施行，此前有关规定与本通知不一致的，以本通知为准。",
    "请各地于每季度末将工作进展情况报送省人民政府办公厅。",
]


@dataclass(slots=True)
class _BenchFeed:
    index: int
    path: str
    head: str
    items: list[str]
    next_seq: int
    validators: bool
    updated: datetime


@dataclass(eq=False)
class BenchWorld:
    """N RSS feeds for the polling benchmark, in one :class:`Portal`.

    Feed *i* is served at ``paths[i]`` on host ``i % hosts``. Even-numbered feeds send ``ETag`` and
    ``Last-Modified`` (so they answer 304 to conditional requests when unchanged); odd-numbered
    ones send neither, so an unchanged one returns the identical body again.
    """

    portal: Portal
    hosts: int
    items: int
    target_bytes: int
    paths: list[str]
    _feeds: list[_BenchFeed]
    _text: str
    _rng: random.Random
    _now: datetime

    def urls(self, base_urls: Sequence[str]) -> list[str]:
        """Absolute feed URLs, feed *i* on ``base_urls[i % len(base_urls)]``."""
        if not base_urls:
            raise ValueError("no base URLs")
        return [
            base_urls[i % len(base_urls)].rstrip("/") + path for i, path in enumerate(self.paths)
        ]

    def feed_size(self, index: int) -> int:
        page = self.portal.get(self.paths[index])
        return 0 if page is None else len(page.body)

    def has_validators(self, index: int) -> bool:
        return self._feeds[index].validators

    def steady_cycle(
        self,
        changed_fraction: float = 0.1,
        rng: random.Random | None = None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Publish one new item at the top of ``round(n * changed_fraction)`` random feeds.

        A changed feed gets a new body (so a new ETag and Last-Modified where it has them).

        Returns:
            How many feeds changed.
        """
        rng = rng or self._rng
        count = min(len(self._feeds), round(len(self._feeds) * changed_fraction))
        moment = now or max(self._now + timedelta(minutes=10), datetime.now(UTC))
        self._now = moment
        pages: list[tuple[str, Page]] = []
        for feed in rng.sample(self._feeds, count):
            feed.items.insert(0, self._item(feed, rng, moment))
            del feed.items[self.items :]
            feed.updated = moment
            pages.append((feed.path, self._page(feed)))
        self.portal.update(pages)
        return count

    def _item(self, feed: _BenchFeed, rng: random.Random, when: datetime) -> str:
        seq = feed.next_seq
        feed.next_seq += 1
        issuer = rng.choice(_BENCH_ISSUERS)
        title = f"{issuer}关于{rng.choice(_BENCH_TOPICS)}{rng.choice(_BENCH_KINDS)}"
        local = _local(when)
        link = (
            f"https://www{feed.index % self.hosts}.bench.gov.cn/art/{local:%Y/%m/%d}/art_{seq}.html"
        )
        head = (
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">bench-{feed.index}-{seq}</guid>'
            f"<pubDate>{format_datetime(local)}</pubDate><description>"
        )
        tail = "</description></item>\n"
        budget = (self.target_bytes - len(feed.head.encode()) - 30) // self.items
        chars = max(8, (budget - len(head.encode()) - len(tail)) // 3)
        start = rng.randrange(len(self._text) - chars)
        return head + self._text[start : start + chars] + tail

    def _page(self, feed: _BenchFeed) -> Page:
        body = (feed.head + "".join(feed.items) + "</channel></rss>\n").encode()
        if feed.validators:
            return Page(body=body, content_type=RSS_TYPE, last_modified=feed.updated)
        return Page(body=body, content_type=RSS_TYPE, auto_etag=False)


def build_bench_world(
    n_sources: int,
    *,
    hosts: int,
    items: int = 50,
    target_bytes: int = 30_000,
    seed: int = 0,
    now: datetime | None = None,
) -> BenchWorld:
    """Generate *n_sources* RSS feeds of ≈``target_bytes`` with *items* items each.

    Args:
        n_sources: how many feeds.
        hosts: how many ports ("hosts") the feeds are spread over.
        items: items per feed.
        target_bytes: approximate size of each feed.
        seed: makes the content reproducible.
        now: the time of the newest items (default: the current time).
    """
    if n_sources < 1 or hosts < 1 or items < 1:
        raise ValueError("n_sources, hosts and items must be at least 1")
    rng = random.Random(seed)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    text = "".join(rng.choice(_BENCH_SENTENCES) for _ in range(4000))
    world = BenchWorld(
        portal=Portal(),
        hosts=hosts,
        items=items,
        target_bytes=target_bytes,
        paths=[],
        _feeds=[],
        _text=text,
        _rng=rng,
        _now=moment,
    )
    pages: list[tuple[str, Page]] = []
    for index in range(n_sources):
        path = f"/feeds/{index:05d}.xml"
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>基准测试信息源 {index:05d}</title>"
            f"<link>https://www{index % hosts}.bench.gov.cn/</link>"
            f"<description>政策文件 第{index}号信息源</description><language>zh-cn</language>\n"
        )
        feed = _BenchFeed(
            index=index,
            path=path,
            head=head,
            items=[],
            next_seq=0,
            validators=index % 2 == 0,
            updated=moment,
        )
        # Oldest first, so sequence numbers grow with time; then newest first, as feeds list.
        for age in range(items, 0, -1):
            feed.items.append(world._item(feed, rng, moment - timedelta(hours=age * 3.7)))
        feed.items.reverse()
        world.paths.append(path)
        world._feeds.append(feed)
        pages.append((path, world._page(feed)))
    world.portal.update(pages)
    return world
