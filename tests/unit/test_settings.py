from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.settings import SettingsError, load_settings, mask_url


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
