"""`make demo` is the first thing a new user runs: it must show real polling end to end."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from syndicator.demo import run_demo
from syndicator.services import reset_services
from syndicator.settings import load_settings

pytestmark = pytest.mark.integration


def test_demo_polls_the_sample_portals_and_shows_every_case(tmp_path: Path) -> None:
    settings = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)})
    settings = replace(settings, fetch=replace(settings.fetch, read_timeout=0.5))
    out = io.StringIO()
    try:
        run_demo(settings, console=Console(file=out, width=250), slow_delay=1.0)
    finally:
        reset_services()
    text = out.getvalue()

    assert "govcn-zuixin" in text and "已更新" in text
    assert "识别编码 gb18030" in text  # the GBK county site, detected without configuration
    assert "列表曾有 4 条，现在解析为 0 条" in text  # the redesigned site
    assert "无法访问" in text  # the slow site, after three timeouts
    assert "审计链完好" in text
    assert "国务院办公厅关于进一步加强政务新媒体管理的通知" in text  # published between rounds
    assert (tmp_path / "demo" / "syndicator.db").is_file()
    assert (tmp_path / "demo" / "sources.toml").is_file()
