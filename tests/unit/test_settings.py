from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.db.models import NoticeKind
from syndicator.settings import Secret, Settings, SettingsError, load_settings, mask_url


def test_defaults_are_embedded_mode_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)}, cwd=Path("/"))
    assert settings.database_url == f"sqlite:///{tmp_path / 'syndicator.db'}"
    assert settings.broker_url is None and not settings.distributed
    assert settings.fetch.max_body_bytes == 15 * 1024 * 1024


def test_relative_data_dir_is_resolved_against_cwd(tmp_path: Path) -> None:
    settings = load_settings({"SYNDICATOR_DATA_DIR": "var"}, cwd=tmp_path)
    assert settings.data_dir == tmp_path / "var"


def test_default_data_dir_is_var_in_cwd(tmp_path: Path) -> None:
    assert load_settings({}, cwd=tmp_path).data_dir == tmp_path / "var"


def test_env_switches_to_distributed_mode_and_masks_passwords(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "SYNDICATOR_DATA_DIR": str(tmp_path),
            "SYNDICATOR_DATABASE_URL": "postgresql+psycopg://app:s3cret@db:5432/prod",
            "SYNDICATOR_BROKER_URL": "redis://:hunter2@redis:6379/0",
        }
    )
    assert settings.distributed
    assert "s3cret" not in repr(settings) and "hunter2" not in repr(settings)
    assert "postgresql+psycopg://app:***@db:5432/prod" in repr(settings)


def test_toml_file_in_data_dir_then_env_override(tmp_path: Path) -> None:
    (tmp_path / "syndicator.toml").write_text(
        'sources_file = "sources.toml"\n[fetch]\nper_host_delay = 1.5\nclients = 3\n',
        encoding="utf-8",
    )
    settings = load_settings(
        {"SYNDICATOR_DATA_DIR": str(tmp_path), "SYNDICATOR_FETCH__CLIENTS": "7"}, cwd=Path("/")
    )
    assert settings.fetch.per_host_delay == 1.5
    assert settings.fetch.clients == 7
    assert settings.sources_file == tmp_path / "sources.toml"
    assert settings.config_file == tmp_path / "syndicator.toml"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[fetch]\nread_timeout = 'soon'\n", "[fetch].read_timeout: 'soon' is not a valid float"),
        ("[fetch]\nreadtimeout = 3\n", "unknown setting 'readtimeout'"),
        ("databse_url = 'x'\n", "unknown setting 'databse_url'"),
        ("[fetch\n", "invalid TOML"),
    ],
    ids=["wrong-type", "unknown-nested-key", "unknown-top-key", "syntax"],
)
def test_bad_config_file_names_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "syndicator.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings({"SYNDICATOR_CONFIG": str(path), "SYNDICATOR_DATA_DIR": str(tmp_path)})
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings({"SYNDICATOR_CONFIG": str(tmp_path / "nope.toml")})


def test_mask_url_leaves_passwordless_urls_alone() -> None:
    assert mask_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# -- [notify] ----------------------------------------------------------------------------------

WEBHOOK = """
[[notify.targets]]
id = "supervisor"
kind = "webhook"
url = "https://hooks.example.gov.cn/syndicator"
secret_env = "SUPERVISOR_WEBHOOK_SECRET"
kinds = ["breach", "digest", "unknown", "unchecked"]
sites = ["jiangxi"]
timeout = 5
"""


def _load_notify(tmp_path: Path, content: str, **env: str) -> Settings:
    path = tmp_path / "syndicator.toml"
    path.write_text(content, encoding="utf-8")
    return load_settings(
        {"SYNDICATOR_CONFIG": str(path), "SYNDICATOR_DATA_DIR": str(tmp_path), **env}
    )


def test_notify_defaults_to_one_log_target(tmp_path: Path) -> None:
    notify = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)}).notify
    assert [(t.id, t.kind, t.kinds, t.sites) for t in notify.targets] == [
        ("log", "log", None, None)
    ]
    assert notify.max_attempts == 8


def test_notify_targets_from_the_file_secret_from_the_environment(tmp_path: Path) -> None:
    settings = _load_notify(
        tmp_path,
        '[notify]\nmax_attempts = 5\n[[notify.targets]]\nid = "console"\nkind = "console"\n'
        + WEBHOOK,
        SUPERVISOR_WEBHOOK_SECRET="k3y-value",
        SYNDICATOR_NOTIFY__MAX_ATTEMPTS="3",
    )
    console, hook = settings.notify.targets
    assert (console.id, console.kind, console.url, console.secret) == (
        "console",
        "console",
        None,
        None,
    )
    assert hook.url == "https://hooks.example.gov.cn/syndicator"
    assert hook.secret is not None and hook.secret.reveal() == "k3y-value"
    assert hook.kinds == (
        NoticeKind.BREACH,
        NoticeKind.DIGEST,
        NoticeKind.UNKNOWN,
        NoticeKind.UNCHECKED,
    )
    assert hook.sites == ("jiangxi",)
    assert hook.timeout == 5.0
    assert settings.notify.max_attempts == 3  # the environment still wins for scalars
    for shown in (repr(settings), repr(settings.notify), repr(hook), str(hook), f"{hook.secret}"):
        assert "k3y-value" not in shown


def test_secret_compares_without_showing_itself() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert repr(Secret("a")) == "Secret('***')" and str(Secret("a")) == "***"


def _target(**over: str) -> str:
    lines = {"id": '"supervisor"', "kind": '"webhook"', "url": '"https://h.example/hook"'}
    lines["secret_env"] = '"HOOK_SECRET"'
    lines.update(over)
    return "[[notify.targets]]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items() if v)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_target(id='"Supervisor!"'), "[notify].targets[0].id: 'Supervisor!' is not a valid"),
        (_target() + _target(), "[notify].targets[1].id: 'supervisor' is used twice"),
        (_target(kind='"email"'), "kind: 'email' is not a target kind; allowed: console, log"),
        (
            _target(kinds='["breech"]'),
            "(id 'supervisor').kinds: unknown notice kind 'breech'; allowed: remind, warn, "
            "breach, unknown, unchecked, digest, stale_warn, stale",
        ),
        (_target(kinds="[]"), ".kinds: is empty"),
        (_target(sites='"jiangxi"'), ".sites: 'jiangxi' is not a list"),
        (_target(url=""), "(id 'supervisor').url: required for a webhook target"),
        (_target(url='"/hook"'), ".url: '/hook' is not an absolute http:// or https:// URL"),
        (_target(url='"ftp://u:pw@h/x"'), "'ftp://u:***@h/x' is not an absolute http"),
        (_target(secret_env=""), "(id 'supervisor').secret_env: required for a webhook target"),
        (
            _target(secret_env='"NOT_SET_ANYWHERE"'),
            "secret_env: environment variable 'NOT_SET_ANYWHERE' for webhook target "
            "'supervisor' is not set",
        ),
        (_target(secret='"inline"'), ".secret: secrets do not belong in the file"),
        (_target(sitez='["a"]'), "unknown setting 'sitez'"),
        (_target(timeout='"soon"'), ".timeout: 'soon' is not a valid float"),
        (_target(timeout="0"), ".timeout: must be more than 0 seconds"),
        ('[[notify.targets]]\nid = "log"\nkind = "log"\nurl = "https://x/"\n', "only webhook"),
        ("[notify]\ntargets = []\n", "[notify].targets: is empty"),
        ('[notify]\ntargets = "log"\n', "[notify].targets: must be an array of tables"),
        ("[notify]\nmax_attempts = 0\n", "[notify].max_attempts: must be at least 1"),
        ("[notify]\nmaxattempts = 3\n", "[notify]: unknown setting 'maxattempts'"),
        ("[notify]\nbackoff_cap = 1\n", "[notify].backoff_cap: must not be less than"),
    ],
    ids=[
        "bad-id",
        "duplicate-id",
        "unknown-target-kind",
        "unknown-notice-kind",
        "empty-kinds",
        "sites-not-a-list",
        "webhook-without-url",
        "relative-url",
        "ftp-url-masked",
        "webhook-without-secret-env",
        "secret-env-unset",
        "inline-secret",
        "unknown-target-key",
        "timeout-type",
        "timeout-zero",
        "url-on-log-target",
        "empty-targets",
        "targets-not-tables",
        "max-attempts-zero",
        "unknown-notify-key",
        "cap-below-base",
    ],
)
def test_bad_notify_settings_name_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        _load_notify(tmp_path, content, HOOK_SECRET="hook-secret-value")
    text = str(caught.value)
    assert str(tmp_path / "syndicator.toml") in text
    assert message in text
    assert "hook-secret-value" not in text and "pw@" not in text


def test_notify_targets_cannot_come_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be set from the environment"):
        load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path), "SYNDICATOR_NOTIFY__TARGETS": "log"})


def test_empty_secret_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="'HOOK_SECRET' for webhook target 'supervisor'"):
        _load_notify(tmp_path, _target(), HOOK_SECRET="")


_ROBOT = '[[channels]]\nid = "ops"\ntype = "wecom_bot"\nkey_env = "OPS_KEY"\n'


def test_render_policies_and_channel_targets_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    settings = _load_notify(
        tmp_path,
        '[render]\ntemplates_dir = "tpl"\n[render.weibo]\nrule = "refuse"\n'
        + _ROBOT
        + 'render = { format = "plain", rule = "truncate" }\n'
        '[[notify.targets]]\nid = "duty"\nkind = "channel"\nchannel = "ops"\n',
        OPS_KEY="k-1",
    )
    assert settings.render.templates_dir == tmp_path / "tpl"
    assert settings.render.policies == {"weibo": {"rule": "refuse"}}
    (ops,) = settings.channels
    assert ops.render == {"format": "plain", "rule": "truncate"}
    assert "render" not in ops.options  # not passed to the adapter as an option
    (duty,) = settings.notify.targets
    assert (duty.kind, duty.channel) == ("channel", "ops")
    assert "channel='ops'" in repr(duty)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[render.weibo]\nrule = "shorten"\n', "渲染策略 weibo.rule：'shorten' 无效"),
        ('[render]\nweibo = "split"\n', "[render].weibo: must be a table of format/rule"),
        ('[render]\ntemplates_dir = "nowhere"\n', "templates_dir: "),
        (_ROBOT + 'render = { rule = "cut" }\n', "(id 'ops').render: 渲染策略 ops.rule"),
        (_ROBOT + 'render = "split"\n', "(id 'ops').render: must be a table"),
        (
            '[[notify.targets]]\nid = "duty"\nkind = "channel"\n',
            "channel: required for a channel target",
        ),
        (
            '[[notify.targets]]\nid = "duty"\nkind = "channel"\nchannel = "nope"\n',
            "(id 'duty').channel: 'nope' is not one of the [[channels]] (none configured)",
        ),
        (
            '[[notify.targets]]\nid = "duty"\nkind = "log"\nchannel = "ops"\n',
            "only channel targets take 'channel'",
        ),
    ],
)
def test_bad_render_and_channel_target_settings_say_where(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        _load_notify(tmp_path, content, OPS_KEY="k-1")
    assert message in str(caught.value)
    assert str(tmp_path / "syndicator.toml") in str(caught.value)


def test_deliveries_in_flight_must_be_at_least_one(tmp_path: Path) -> None:
    env = {"SYNDICATOR_DATA_DIR": str(tmp_path)}
    assert load_settings(env).scheduler.deliveries_in_flight == 4
    with pytest.raises(SettingsError, match=r"\[scheduler\]\.deliveries_in_flight"):
        load_settings({**env, "SYNDICATOR_SCHEDULER__DELIVERIES_IN_FLIGHT": "0"})
