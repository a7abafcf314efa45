"""The command line as staff use it: real processes, any working directory, only
``SYNDICATOR_DATA_DIR`` set, the portal simulator on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicator.clock import SystemClock
from syndicator.simulator import DemoWorld, SimulatorServer, build_demo_world

pytestmark = pytest.mark.integration


def cli_env(data: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any SYNDICATOR_ setting but the data directory."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")},
        "SYNDICATOR_DATA_DIR": str(data),
        "COLUMNS": "200",
        **(extra or {}),
    }


def syndicator(
    data: Path, *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicator", *args],
        cwd=cwd,
        env=cli_env(data, extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def world() -> DemoWorld:
    return build_demo_world(SystemClock().now(), slow_delay=0.0)


@pytest.fixture
def served(world: DemoWorld) -> Iterator[str]:
    with SimulatorServer(world.portal) as server:
        yield server.base_urls[0]


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is neither the repository nor the data directory."""
    path = tmp_path / "somewhere" / "else"
    path.mkdir(parents=True)
    return path


def test_sources_check_names_file_line_and_field(tmp_path: Path, elsewhere: Path) -> None:
    bad = elsewhere / "sources.toml"
    bad.write_text(
        '[[site]]\nid = "ganzhou"\nname = "赣州市人民政府"\nlevel = "city"\n\n'
        '[[source]]\nid = "ganzhou-zwgk"\nsite = "ganzhou"\nrole = "downstream"\n'
        'kind = "html_list"\nurl = "https://www.ganzhou.gov.cn/zwgk/"\ncolumn = "policy"\n'
        'interval = "5s"\nhtml = { item = "" }\n',
        encoding="utf-8",
    )
    result = syndicator(tmp_path / "data", "sources", "check", "sources.toml", cwd=elsewhere)
    assert result.returncode == 1
    assert 'sources.toml:13 source "ganzhou-zwgk": field "interval"' in result.stdout
    assert 'sources.toml:14 source "ganzhou-zwgk": selector "item" is empty' in result.stdout
    assert "2 个问题" in result.stderr or "2 problem" in result.stderr


def test_example_file_checks_clean() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "sources.jiangxi.toml"
    result = syndicator(
        example.parent / "var-unused", "sources", "check", str(example), cwd=example.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "没有问题" in result.stdout


def test_init_poll_items_and_audit_from_any_directory(
    tmp_path: Path, elsewhere: Path, world: DemoWorld, served: str
) -> None:
    data = tmp_path / "data"
    sources = tmp_path / "sources.toml"
    sources.write_text(world.sources_toml(served), encoding="utf-8")

    init = syndicator(data, "init", "--sources", str(sources), cwd=elsewhere)
    assert init.returncode == 0, init.stderr
    assert (data / "syndicator.db").is_file()
    assert "新增 7" in init.stdout

    env = {"SYNDICATOR_FETCH__PER_HOST_DELAY": "0", "SYNDICATOR_FETCH__READ_TIMEOUT": "2"}
    poll = syndicator(data, "poll", "--once", cwd=elsewhere, extra_env=env)
    assert poll.returncode == 0, poll.stderr
    assert "govcn-zuixin: 已更新 · 15 条，新增 15" in poll.stdout
    assert "wy-zwdt: 列表为空" in poll.stdout

    only = syndicator(data, "poll", "--once", "--source", "xs-tzgg", cwd=elsewhere, extra_env=env)
    assert only.returncode == 0 and "xs-tzgg" in only.stdout and "govcn" not in only.stdout

    items = syndicator(data, "items", "list", "--source", "govcn-zuixin", "-n", "3", cwd=elsewhere)
    assert items.returncode == 0
    assert "共 3 条" in items.stdout and "国务院" in items.stdout

    entries = syndicator(
        data, "items", "list", "--downstream", "--source", "xs-tzgg", cwd=elsewhere
    )
    assert "修水县" in entries.stdout  # GBK site, decoded

    with sqlite3.connect(data / "syndicator.db") as conn:
        item_id, is_key, reason = conn.execute(
            "SELECT id, is_key, key_reason FROM item WHERE source_id = 'govcn-zuixin' LIMIT 1"
        ).fetchone()
    assert is_key == 1 and "信息源设为重点" in reason  # the demo's gov.cn source is key = true
    override = syndicator(
        data,
        "items",
        "not-key",
        str(item_id),
        "--reason",
        "已由省政府统一转载",
        "--by",
        "张三",
        cwd=elsewhere,
    )
    assert override.returncode == 0, override.stderr
    assert "设为非重点（张三：已由省政府统一转载）" in override.stdout
    with sqlite3.connect(data / "syndicator.db") as conn:
        row = conn.execute("SELECT is_key, key_by FROM item WHERE id = ?", (item_id,)).fetchone()
        assert row == (0, "staff:张三")
        actions = [a for (a,) in conn.execute("SELECT action FROM audit_entry")]
        assert "item.key_overridden" in actions
    missing = syndicator(data, "items", "key", "999999", "--reason", "x", cwd=elsewhere)
    assert missing.returncode == 1 and "没有编号为 999999" in missing.stderr

    listing = syndicator(data, "sources", "list", cwd=elsewhere)
    assert "wy-zwdt" in listing.stdout and "异常" in listing.stdout

    verified = syndicator(data, "audit", "verify", cwd=elsewhere)
    assert verified.returncode == 0 and "审计链完好" in verified.stdout

    with sqlite3.connect(data / "syndicator.db") as conn:
        conn.execute("UPDATE audit_entry SET actor = 'someone else' WHERE id = 2")
    tampered = syndicator(data, "audit", "verify", cwd=elsewhere)
    assert tampered.returncode == 1
    assert "第 2 条断开" in tampered.stderr


def test_bad_sources_file_changes_nothing(tmp_path: Path, elsewhere: Path) -> None:
    data = tmp_path / "data"
    good = tmp_path / "good.toml"
    good.write_text(
        '[[site]]\nid = "nc"\nname = "南昌市"\nlevel = "city"\n\n[[source]]\nid = "nc-rss"\n'
        'site = "nc"\nrole = "upstream"\nkind = "rss"\nurl = "https://www.nc.gov.cn/rss.xml"\n',
        encoding="utf-8",
    )
    assert syndicator(data, "sources", "load", str(good), cwd=elsewhere).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace('kind = "rss"', 'kind = "rdf"'))
    result = syndicator(data, "sources", "load", str(bad), cwd=elsewhere)
    assert result.returncode == 1
    assert 'bad.toml:10 source "nc-rss": field "kind": "rdf" is not one of' in result.stderr
    assert "未作任何更改" in result.stderr
    with sqlite3.connect(data / "syndicator.db") as conn:
        assert conn.execute("SELECT kind, active FROM source").fetchall() == [("rss", 1)]


def test_bad_settings_stop_before_anything_starts(tmp_path: Path, elsewhere: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "syndicator.toml").write_text("[fetch]\nread_timeout = 'soon'\n", encoding="utf-8")
    result = syndicator(data, "init", cwd=elsewhere)
    assert result.returncode == 2
    assert "syndicator.toml [fetch].read_timeout: 'soon' is not a valid float" in result.stderr
    assert not (data / "syndicator.db").exists()


def test_run_stops_cleanly_on_ctrl_c(
    tmp_path: Path, elsewhere: Path, world: DemoWorld, served: str
) -> None:
    data = tmp_path / "data"
    sources = tmp_path / "sources.toml"
    sources.write_text(world.sources_toml(served), encoding="utf-8")
    env = cli_env(
        data,
        {"SYNDICATOR_SOURCES": str(sources), "SYNDICATOR_SCHEDULER__TICK_SECONDS": "0.2"},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "run"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "Ctrl-C" in line:
                break
        else:
            raise AssertionError("syndicator run did not start")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "已停止" in out
    assert "Traceback" not in err


def test_match_command_writes_pairs_or_nothing(tmp_path: Path, elsewhere: Path) -> None:
    up = elsewhere / "up.jsonl"
    up.write_text(
        '{"id": "u1", "title": "国务院办公厅关于2024年部分节假日安排的通知",'
        ' "published_at": "2023-10-25T17:00:00+08:00"}\n',
        encoding="utf-8",
    )
    down = elsewhere / "down.jsonl"
    down.write_text(
        '{"id": "d1", "title": "转发：国务院办公厅关于2024年部分节假日安排的通知",'
        ' "published_at": "2023-10-26T04:00:00+08:00", "site": "xiushui"}\n',
        encoding="utf-8",
    )
    args = ("match", "--upstream", "up.jsonl", "--downstream", "down.jsonl", "--out", "pairs.jsonl")
    done = syndicator(tmp_path / "data", *args, "--profile", "fujian", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert '"on_time": false' in (elsewhere / "pairs.jsonl").read_text("utf-8")  # 11 h > 8 h
    assert "超时 1" in done.stdout

    (elsewhere / "pairs.jsonl").unlink()
    with down.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "d2", "title": "x", "site": "a"}\n')
    failed = syndicator(tmp_path / "data", *args, cwd=elsewhere)
    assert failed.returncode == 1
    assert 'down.jsonl:2: missing field "published_at"' in failed.stderr
    assert not (elsewhere / "pairs.jsonl").exists()
