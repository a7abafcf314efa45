"""Pushes from the command line in embedded mode: draft, approve, delivered to a signed
webhook on 127.0.0.1, every attempt in the delivery log — and the secret nowhere in the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.webhook import SECRET, FakeWebhook
from tests.integration.test_cli import syndicator

pytestmark = pytest.mark.integration


def _configure(data: Path, url: str) -> dict[str, str]:
    data.mkdir(parents=True, exist_ok=True)
    (data / "syndicator.toml").write_text(
        "[[channels]]\n"
        'id = "duty"\ntype = "webhook"\n'
        f'url = "{url}"\nsecret_env = "DUTY_SECRET"\n'
        "[[channels]]\n"
        'id = "down"\ntype = "webhook"\n'
        'url = "http://127.0.0.1:9/hook"\nsecret_env = "DUTY_SECRET"\n',
        encoding="utf-8",
    )
    return {"DUTY_SECRET": SECRET}


def test_draft_approve_deliver_and_read_the_log(webhook: FakeWebhook, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _configure(data, webhook.url)
    body = tmp_path / "辟谣.txt"
    body.write_text("近日网传某地自来水被污染。经核查，该信息不实。", encoding="utf-8")

    listed = syndicator(data, "channels", "list", cwd=tmp_path, extra_env=env)
    assert listed.returncode == 0, listed.stderr
    assert "通用 Webhook" in listed.stdout and "secret=$DUTY_SECRET" in listed.stdout

    created = syndicator(
        data,
        "pushes",
        "create",
        "--kind",
        "rebuttal",
        "--title",
        "关于自来水污染的辟谣",
        "--body-file",
        str(body),
        "-c",
        "duty",
        "-c",
        "down",
        "--by",
        "li",
        cwd=tmp_path,
        extra_env=env,
    )
    assert created.returncode == 0, created.stderr
    assert "已起草推送 1" in created.stdout and webhook.received == []  # nothing sent yet

    approved = syndicator(
        data, "pushes", "approve", "1", "--by", "wang", cwd=tmp_path, extra_env=env
    )
    assert approved.returncode == 0, approved.stderr
    assert "投递 1: 已发送" in approved.stdout
    assert "投递 2: 等待重试" in approved.stdout  # one channel down does not stop the other
    (received,) = webhook.received
    assert received.payload["title"] == "关于自来水污染的辟谣"

    again = syndicator(data, "pushes", "approve", "1", cwd=tmp_path, extra_env=env)
    assert again.returncode == 1 and "不能再次批准" in again.stderr

    log = syndicator(data, "deliveries", "list", "--push", "1", cwd=tmp_path, extra_env=env)
    assert "已发送" in log.stdout and "等待重试" in log.stdout
    shown = syndicator(data, "deliveries", "show", "2", cwd=tmp_path, extra_env=env)
    assert "retry" in shown.stdout and "无法连接" in shown.stdout
    exported = syndicator(data, "deliveries", "export", cwd=tmp_path, extra_env=env)
    lines = exported.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,push_id,channel_id,state") and len(lines) == 3
    for result in (listed, created, approved, log, shown, exported):
        assert SECRET not in result.stdout + result.stderr


def test_a_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "syndicator.toml").write_text(
        '[[channels]]\nid = "duty"\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\n'
        'secret = "plain-text-secret"\n',
        encoding="utf-8",
    )
    result = syndicator(data, "channels", "test", "duty", cwd=tmp_path)
    assert result.returncode == 2
    assert "secret is a secret and must not be written in the file" in result.stderr
    assert "plain-text-secret" not in result.stdout + result.stderr


def test_preview_and_approval_name_the_channel_that_cannot_take_the_push(
    webhook: FakeWebhook, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = _configure(data, webhook.url)
    with (data / "syndicator.toml").open("a", encoding="utf-8") as config:
        config.write(
            '[[channels]]\nid = "group"\ntype = "wecom_bot"\n'
            'base_url = "http://127.0.0.1:9"\nkey_env = "GROUP_KEY"\n'
            'render = { rule = "refuse" }\n'
        )
    env["GROUP_KEY"] = "wecom-robot-key-SECRET"
    body = tmp_path / "解读.txt"
    body.write_text(
        "\n".join(["政策要点：" + "减税降费惠及市场主体。" * 20] * 30), encoding="utf-8"
    )

    created = syndicator(
        data,
        *("pushes", "create", "--title", "一图读懂减税降费", "--body-file", str(body)),
        *("-c", "duty", "-c", "group"),
        cwd=tmp_path,
        extra_env=env,
    )
    assert created.returncode == 0, created.stderr
    assert "✓ duty：plain 格式" in created.stdout
    assert "✗ group：不能发送" in created.stdout and "超过上限 4096 字节(UTF-8)" in created.stdout

    preview = syndicator(data, "pushes", "preview", "1", cwd=tmp_path, extra_env=env)
    assert preview.returncode == 1
    assert "标题：一图读懂减税降费" in preview.stdout and "政策要点：" in preview.stdout

    approved = syndicator(data, "pushes", "approve", "1", cwd=tmp_path, extra_env=env)
    assert approved.returncode == 1
    assert "推送 1 不能批准" in approved.stderr and "group：" in approved.stderr
    assert webhook.received == []  # refused as a whole: not even the channel that could take it
    for result in (created, preview, approved):
        assert "wecom-robot-key-SECRET" not in result.stdout + result.stderr


def test_a_channel_the_adapter_refuses_is_named_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "syndicator.toml").write_text(
        '[[channels]]\nid = "group"\ntype = "wecom_bot"\nkeyy_env = "GROUP_KEY"\n',
        encoding="utf-8",
    )
    result = syndicator(
        data,
        *("pushes", "create", "--title", "标题", "--body", "正文", "-c", "group"),
        cwd=tmp_path,
        extra_env={"GROUP_KEY": "k"},
    )
    assert result.returncode == 2
    assert "channel 'group' (wecom_bot): missing field(s) key" in result.stderr
    assert "Traceback" not in result.stderr
