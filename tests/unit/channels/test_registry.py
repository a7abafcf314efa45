"""Adapters come from the built-in list and from any package's ``syndicator.channels`` entry
points; a plugin is proved here by a real distribution on ``sys.path`` (its ``.dist-info`` with
``entry_points.txt``), found by ``importlib.metadata`` exactly as an installed one is."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.base import Channel, ChannelConfigError, Message, Receipt
from channels.registry import BUILTIN, load_registry
from syndicator.delivery import ChannelInstanceError, build_channel
from syndicator.settings import ChannelSettings, Secret, SettingsError, load_settings
from tests.unit.channels._support import mock_client

PLUGIN = """
from channels.base import Capability, Channel, Limit, LengthUnit, Message, Receipt


class MatrixChannel(Channel):
    name = "matrix"
    title = "Matrix 房间"
    capabilities = frozenset({Capability.TEXT, Capability.MARKDOWN})
    formats = ("markdown", "plain")
    limit = Limit(65536, LengthUnit.UTF8_BYTES)
    required_fields = ("room", "token")
    secret_fields = ("token",)

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        return Receipt(status="published", external_id=idempotency_key)


class NotAChannel:
    name = "broken"
"""


def _distribution(root: Path, name: str, points: dict[str, str]) -> None:
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8"
    )
    lines = "".join(f"{k} = {v}\n" for k, v in points.items())
    (info / "entry_points.txt").write_text(f"[syndicator.channels]\n{lines}", encoding="utf-8")


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "syndicator_matrix.py").write_text(PLUGIN, encoding="utf-8")
    _distribution(
        tmp_path,
        "syndicator_matrix",
        {
            "matrix": "syndicator_matrix:MatrixChannel",
            "broken": "syndicator_matrix:NotAChannel",
            "webhook": "syndicator_matrix:MatrixChannel",
            "missing": "syndicator_matrix_gone:Nothing",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    sys.modules.pop("syndicator_matrix", None)


def test_a_plugin_package_adds_an_adapter_without_touching_this_repo(plugin_path: Path) -> None:
    registry = load_registry()
    adapter = registry.get("matrix")
    assert adapter.title == "Matrix 房间"
    assert registry.origins["matrix"].startswith("plugin syndicator_matrix:MatrixChannel")
    problems = {p.name: p.reason for p in registry.problems}
    assert "not a Channel subclass" in problems["broken"]
    assert "ModuleNotFoundError" in problems["missing"]
    # A plugin cannot replace a built-in adapter.
    assert "built-in adapter has this name" in problems["webhook"]
    assert registry.origins.get("webhook", "built-in") == "built-in"


def test_without_plugins_only_built_ins(plugin_path: Path) -> None:
    registry = load_registry(plugins=False)
    assert "matrix" not in registry
    assert set(registry.adapters) <= set(BUILTIN)
    with pytest.raises(KeyError, match="unknown channel type 'matrix'"):
        registry.get("matrix")


@pytest.fixture
def client() -> httpx.AsyncClient:
    return mock_client(lambda r: httpx.Response(500))


def test_configured_instance_gets_its_secret_from_the_environment(
    plugin_path: Path, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    config = tmp_path / "syndicator.toml"
    config.write_text(
        '[[channels]]\nid = "ops-room"\ntype = "matrix"\nroom = "!abc:example.org"\n'
        'token_env = "MATRIX_TOKEN"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        {"SYNDICATOR_CONFIG": str(config), "MATRIX_TOKEN": "syt_very_secret_value"}
    )
    (spec,) = settings.channels
    assert spec.secret_envs == {"token": "MATRIX_TOKEN"}
    assert "syt_very_secret_value" not in repr(spec) and "syt_very" not in repr(settings)
    channel = build_channel(spec, load_registry(), client=client)
    assert channel.config["token"] == "syt_very_secret_value"
    assert "syt_very_secret_value" not in repr(channel)
    assert channel.safe_config() == {"room": "!abc:example.org", "token": "***"}
    assert channel.redact("GET /send?access_token=syt_very_secret_value") == (
        "GET /send?access_token=***"
    )


def test_a_secret_written_in_the_file_is_refused(
    plugin_path: Path, client: httpx.AsyncClient
) -> None:
    spec = ChannelSettings(id="ops", type="matrix", options={"room": "!r", "token": "plain"})
    with pytest.raises(ChannelInstanceError, match=r"token is a secret .* token_env"):
        build_channel(spec, load_registry(), client=client)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "missing field\\(s\\) room"),
        ({"room": "!r", "colour": "red"}, "unknown field\\(s\\) colour"),
    ],
    ids=["missing", "unknown"],
)
def test_adapter_fields_are_checked(
    plugin_path: Path, client: httpx.AsyncClient, options: dict[str, Any], message: str
) -> None:
    spec = ChannelSettings(
        id="ops", type="matrix", options=options, secrets={"token": Secret("t0ken")}
    )
    with pytest.raises(ChannelInstanceError, match=message):
        build_channel(spec, load_registry(), client=client)


def test_unknown_type_names_the_known_ones(client: httpx.AsyncClient) -> None:
    spec = ChannelSettings(id="x", type="fax")
    with pytest.raises(ChannelInstanceError, match="channel 'x': unknown channel type 'fax'"):
        build_channel(spec, load_registry(plugins=False), client=client)


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ('[[channels]]\nid = "A B"\ntype = "webhook"\n', {}, "not a valid channel id"),
        ('[[channels]]\nid = "a"\n', {}, "type: required"),
        (
            '[[channels]]\nid = "a"\ntype = "webhook"\nsecret_env = "NOPE"\n',
            {},
            "'NOPE' is not set",
        ),
        (
            '[[channels]]\nid = "a"\ntype = "webhook"\nsecret = "x"\nsecret_env = "S"\n',
            {"S": "v"},
            "not both",
        ),
        (
            '[[channels]]\nid = "a"\ntype = "webhook"\n[[channels]]\nid = "a"\ntype = "webhook"\n',
            {},
            "used twice",
        ),
        ('[[channels]]\nid = "a"\ntype = "webhook"\nbase_url = "ftp://x"\n', {}, "base_url"),
    ],
    ids=["id", "type", "env-missing", "both", "duplicate", "base-url"],
)
def test_bad_channel_settings(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    config = tmp_path / "syndicator.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"SYNDICATOR_CONFIG": str(config), **env})
    assert str(config) in str(caught.value)


class _Minimal(Channel):
    name = "minimal"
    title = "最小"
    required_fields = ("token",)
    secret_fields = ("token",)

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        return Receipt(status="published")


def test_redaction_of_nested_data(client: httpx.AsyncClient) -> None:
    channel = _Minimal("m", {"token": "abcd1234"}, client=client)
    data = {"token": "abcd1234", "url": "https://x/?key=abcd1234", "list": ["abcd1234", 3]}
    assert channel.redact_data(data) == {
        "token": "***",
        "url": "https://x/?key=***",
        "list": ["***", 3],
    }


def test_channel_config_errors_are_value_errors(client: httpx.AsyncClient) -> None:
    with pytest.raises(ChannelConfigError, match="channel 'm' \\(minimal\\): missing field"):
        _Minimal("m", {}, client=client)
