"""The poll service end to end: simulator over real sockets → fetcher → parsers → database.

Runs on SQLite and PostgreSQL. The clock is frozen; only the network is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from syndicator import audit
from syndicator.clock import FrozenClock
from syndicator.db import AuditEntry, Database, Entry, FetchAttempt, Item, Source
from syndicator.db.models import FetchStatus, Precision, SourceHealth
from syndicator.services import Services
from syndicator.settings import Settings, load_settings
from syndicator.simulator import DemoWorld, Page, SimulatorServer, build_demo_world
from syndicator.sources.config import load_sources
from syndicator.sources.poller import PollOutcome
from syndicator.sources.registry import sync_sources

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, **fetch: float) -> Settings:
    settings = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)})
    return replace(
        settings,
        fetch=replace(
            settings.fetch,
            read_timeout=fetch.get("read_timeout", 1.0),
            per_host_concurrency=8,
            per_host_delay=0.0,
            max_body_bytes=int(fetch.get("max_body_bytes", 1024 * 1024)),
        ),
    )


class Rig:
    """A simulator, services on a frozen clock and a loaded sources file."""

    def __init__(self, tmp_path: Path, db: Database, clock: FrozenClock, toml: str) -> None:
        path = tmp_path / "sources.toml"
        path.write_text(toml, encoding="utf-8")
        self.services = Services(_settings(tmp_path), clock=clock, db=db)
        self.config = load_sources(path)
        sync_sources(db, self.config, clock=clock)
        self.ids = [s.id for s in self.config.sources]
        self.db = db

    def poll(self, *ids: str) -> dict[str, PollOutcome]:
        return {o.source_id: o for o in self.services.poll(list(ids) or self.ids)}

    def count(self, model: type[Item] | type[Entry], source_id: str) -> int:
        with self.db.session() as session:
            query = select(func.count()).select_from(model).where(model.source_id == source_id)
            return int(session.scalar(query) or 0)


@pytest.fixture
def world(clock: FrozenClock) -> DemoWorld:
    return build_demo_world(clock.now(), slow_delay=2.5)


@pytest.fixture
def server(world: DemoWorld) -> Iterator[SimulatorServer]:
    with SimulatorServer(world.portal) as running:
        yield running


@pytest.fixture
def rig(
    tmp_path: Path, db: Database, clock: FrozenClock, world: DemoWorld, server: SimulatorServer
) -> Iterator[Rig]:
    built = Rig(tmp_path, db, clock, world.sources_toml(server.base_urls[0]))
    yield built
    built.services.close()


def test_first_poll_reads_every_kind_of_sample_site(rig: Rig) -> None:
    outcomes = rig.poll()

    gov = outcomes["govcn-zuixin"]
    assert gov.status is FetchStatus.OK and gov.new_entries == gov.entries == 15
    with rig.db.session() as session:
        items = session.scalars(select(Item).where(Item.source_id == "govcn-zuixin")).all()
        # The list shows only the day; the detail pages' firstpublishedtime gives the minute.
        assert all(i.published_precision is Precision.DATETIME for i in items)
        assert all(i.meta.get("manuscript_id") for i in items)

        gbk = session.scalars(select(Entry).where(Entry.source_id == "xs-tzgg")).all()
        titles = " ".join(e.title for e in gbk)
        assert "修水县" in titles and "转发" in titles
        assert "\ufffd" not in titles

    assert outcomes["xs-tzgg"].encoding == "gb18030"
    assert outcomes["jx-szfwj"].status is FetchStatus.OK
    broken = outcomes["wy-zwdt"]
    assert broken.status is FetchStatus.EMPTY and broken.health is SourceHealth.BROKEN
    slow = outcomes["jgs-zcwj"]
    assert slow.status is FetchStatus.TIMEOUT

    with rig.db.session() as session:
        attempts = session.scalar(select(func.count()).select_from(FetchAttempt))
        assert attempts == len(rig.ids)


def test_second_poll_is_conditional_and_never_duplicates(rig: Rig, world: DemoWorld) -> None:
    rig.poll()
    before = {sid: rig.count(Item, sid) + rig.count(Entry, sid) for sid in rig.ids}

    again = rig.poll()
    assert again["govcn-zuixin"].status is FetchStatus.NOT_MODIFIED
    assert again["xs-tzgg"].status in (FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)
    assert {sid: rig.count(Item, sid) + rig.count(Entry, sid) for sid in rig.ids} == before

    changes = world.advance(rig.services.clock.now() + timedelta(minutes=30))
    third = rig.poll()
    assert third["govcn-zuixin"].new_entries == len(changes.published) == 1
    assert third["nc-zcwj"].new_entries == 1
    assert rig.count(Item, "govcn-zuixin") == before["govcn-zuixin"] + 1


def test_entries_that_leave_the_list_are_kept(rig: Rig, world: DemoWorld) -> None:
    rig.poll("nc-zcwj")
    kept = rig.count(Entry, "nc-zcwj")
    world.entries["nc-zcwj"] = world.entries["nc-zcwj"][:2]
    world.render_all()
    outcome = rig.poll("nc-zcwj")["nc-zcwj"]
    assert outcome.entries == 2
    assert rig.count(Entry, "nc-zcwj") == kept


def test_list_that_empties_after_a_redesign_is_broken_and_audited(
    rig: Rig, world: DemoWorld, server: SimulatorServer
) -> None:
    assert rig.poll("nc-zcwj")["nc-zcwj"].health is SourceHealth.OK
    path = world.source_path("nc-zcwj")
    world.portal.set(path, Page(body="<html><body><p>网站改版中</p></body></html>".encode()))
    outcome = rig.poll("nc-zcwj")["nc-zcwj"]
    assert outcome.status is FetchStatus.EMPTY
    assert outcome.health is SourceHealth.BROKEN
    assert "曾有" in (outcome.health_reason or "")
    with rig.db.session() as session:
        actions = session.scalars(
            select(AuditEntry).where(AuditEntry.subject == "source:nc-zcwj")
        ).all()
        assert [a.data["to"] for a in actions] == ["ok", "broken"]
        assert audit.verify(session)[1] is None
        row = session.get(Source, "nc-zcwj")
        assert row is not None and row.active  # never disabled


def test_failures_are_recorded_per_source_and_do_not_touch_others(
    tmp_path: Path, db: Database, clock: FrozenClock
) -> None:
    pages = {
        "/good.xml": Page(
            body=(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                "<item><title>国务院关于印发《行动方案》的通知</title><link>https://www.gov.cn/a.htm</link>"
                "<pubDate>Thu, 26 Nov 2026 08:00:00 +0800</pubDate></item></channel></rss>"
            ).encode(),
            content_type="application/rss+xml; charset=utf-8",
        ),
        "/html-instead.xml": Page(body=b"<html><body>not a feed</body></html>"),
        # Bare '&' and an unclosed tag: not well-formed, read by the feedparser fallback.
        "/malformed.xml": Page(
            body=(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                "<item><title>关于政务公开&政务服务工作的通知</title>"
                "<link>https://www.jiangxi.gov.cn/b.htm</link></item></channel>"
            ).encode(),
            content_type="application/rss+xml",
        ),
        # The server and the prolog both say UTF-8; the bytes are GBK (seen on county sites).
        "/mislabelled.xml": Page(
            body=(
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                "<item><title>修水县人民政府办公室关于转发《通知》的通知</title>"
                "<link>https://www.xiushui.gov.cn/c.htm</link></item></channel></rss>"
            ).encode("gbk"),
            content_type="application/rss+xml; charset=utf-8",
        ),
        "/huge.xml": Page(body=b"", behaviour="endless"),
        "/loop.xml": Page(body=b"", behaviour="redirect_loop"),
        "/busy.xml": Page(body=b"busy", status=429, headers={"Retry-After": "3600"}),
        "/down.xml": Page(body=b"oops", status=500),
        "/slow.xml": Page(body=b"<rss/>", delay=3.0),
    }
    with SimulatorServer() as server:
        for path, page in pages.items():
            server.portal.set(path, page)
        lines = ['[[site]]\nid = "s"\nname = "测试站点"\nlevel = "county"\n']
        for path in pages:
            sid = path.strip("/").split(".")[0]
            lines.append(
                f'[[source]]\nid = "{sid}"\nsite = "s"\nrole = "upstream"\nkind = "rss"\n'
                f'url = "{server.url(path)}"\n'
            )
        (tmp_path / "sources.toml").write_text("\n".join(lines), encoding="utf-8")
        services = Services(_settings(tmp_path, max_body_bytes=64 * 1024), clock=clock, db=db)
        try:
            sync_sources(db, load_sources(tmp_path / "sources.toml"), clock=clock)
            ids = [path.strip("/").split(".")[0] for path in pages]
            outcomes = {o.source_id: o for o in services.poll(ids)}
        finally:
            services.close()

    assert outcomes["good"].status is FetchStatus.OK and outcomes["good"].new_entries == 1
    assert outcomes["malformed"].status is FetchStatus.OK
    assert outcomes["mislabelled"].status is FetchStatus.OK
    with db.session() as session:
        titles = dict(session.execute(select(Item.source_id, Item.title)).all())
    assert titles["malformed"] == "关于政务公开&政务服务工作的通知"
    with db.session() as session:
        keys = dict(session.execute(select(Item.source_id, Item.is_key)).all())
    # No source is marked key here: the jiangxi rules decide from the title.
    assert keys["good"] is True  # 国务院 … 的通知
    assert keys["malformed"] is False  # no issuer
    assert titles["mislabelled"] == "修水县人民政府办公室关于转发《通知》的通知"
    expected = {
        "html-instead": FetchStatus.PARSE_ERROR,
        "huge": FetchStatus.TOO_LARGE,
        "loop": FetchStatus.TOO_MANY_REDIRECTS,
        "busy": FetchStatus.HTTP_ERROR,
        "down": FetchStatus.HTTP_ERROR,
        "slow": FetchStatus.TIMEOUT,
    }
    assert {k: outcomes[k].status for k in expected} == expected
    assert "HTML" in (outcomes["html-instead"].error or "")
    # Retry-After: one hour, though the interval is ten minutes.
    assert outcomes["busy"].next_check_at - clock.now() >= timedelta(seconds=3600 * 0.9)
    with db.session() as session:
        statuses = dict(session.execute(select(FetchAttempt.source_id, FetchAttempt.status)).all())
    assert statuses == {k: v.status for k, v in outcomes.items()}


def test_json_api_source_with_field_mapping(
    tmp_path: Path, db: Database, clock: FrozenClock
) -> None:
    body = (
        '{"code": 0, "data": {"list": ['
        '{"id": 901, "bt": "国务院办公厅关于印发《政务服务效能提升行动方案》的通知",'
        ' "lj": "/zhengce/content_901.htm", "fbrq": "2026-11-26 09:30", "wh": "国办发〔2026〕9号"},'
        '{"id": 902, "bt": "国务院关于进一步做好稳就业工作的意见",'
        ' "lj": "/zhengce/content_902.htm", "fbrq": 1795656600000}'
        "]}}"
    ).encode()
    with SimulatorServer() as server:
        server.portal.set("/api/list.json", Page(body=body, content_type="application/json"))
        (tmp_path / "sources.toml").write_text(
            '[[site]]\nid = "gov-cn"\nname = "中国政府网"\nlevel = "national"\n\n'
            '[[source]]\nid = "govcn-json"\nsite = "gov-cn"\nrole = "upstream"\nkind = "json"\n'
            f'url = "{server.url("/api/list.json")}"\n'
            'json = { items = "data.list", title = "bt", url = "lj", published = "fbrq", '
            'guid = "id", doc_no = "wh" }\n',
            encoding="utf-8",
        )
        services = Services(_settings(tmp_path), clock=clock, db=db)
        try:
            sync_sources(db, load_sources(tmp_path / "sources.toml"), clock=clock)
            (outcome,) = services.poll(["govcn-json"])
        finally:
            services.close()
    assert outcome.status is FetchStatus.OK and outcome.new_entries == 2
    with db.session() as session:
        items = {i.guid: i for i in session.scalars(select(Item))}
    first = items["901"]
    assert first.doc_no == "国办发〔2026〕9号"
    assert first.url == server.url("/zhengce/content_901.htm")
    assert first.published_at is not None
    assert first.published_at.isoformat() == "2026-11-26T01:30:00+00:00"  # 09:30 Beijing
    assert items["902"].published_precision is Precision.DATETIME
