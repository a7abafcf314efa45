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
    # The compliance tick after each round, and what it found.
    assert "合规检查：新增转载义务" in text
    for state in ("按时转载", "超时转载", "逾期未转载", "无法判定", "待转载"):
        assert state in text, state
    assert "[超时]" in text and "[无法检查]" in text  # notices delivered to the console
    assert "截止后无法检查栏目：转载上级文件" in text  # the slow site is never called compliant
    # Breach notices reach the supervisors' WeCom group through the delivery engine.
    assert "超时通知经投递引擎发往督查企业微信群（alerts-wecom）：群内已收到 20 条" in text
    assert "因机器人频率上限（20 条/分钟）排队" in text  # the robot's limit is respected
    # The push round: one rebuttal to five platforms, each over real HTTP to its fake.
    assert "✓ jx-wechat：html" in text and "✓ jx-weibo：plain" in text
    assert "查询公众号发布状态" in text and "https://mp.weixin.qq.com/s/" in text
    assert "https://weibo.com/" in text
    assert text.count("已发送") >= 6
    assert "签名校验失败" in text  # the misconfigured Feishu bot fails on its own
    assert "拆为 3 条依次发送" in text and "（3/3）" in text
    assert (tmp_path / "demo" / "syndicator.db").is_file()
    assert (tmp_path / "demo" / "sources.toml").is_file()
