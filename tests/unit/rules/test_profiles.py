from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.rules import LadderStep, ProfileError, load_profile, parse_duration


@pytest.mark.parametrize(
    ("name", "hours"), [("jiangxi", 12), ("national", 24), ("fujian", 8)], ids=str
)
def test_builtin_profiles(name: str, hours: int) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.repost_deadline == timedelta(hours=hours)
    assert profile.repost_ladder == (
        LadderStep(0.5, "remind"),
        LadderStep(0.8, "warn"),
        LadderStep(1.0, "breach"),
    )


def test_default_profile_is_jiangxi_from_the_seed_document() -> None:
    profile = load_profile()
    assert profile.name == "jiangxi"
    assert profile.repost_source is not None and "赣府厅发〔2017〕43号" in profile.repost_source


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12h", 12 * 3600), ("90m", 5400), ("1d", 86400), ("30s", 30), (600, 600), ("1.5h", 5400)],
    ids=str,
)
def test_durations(value: object, expected: int) -> None:
    assert parse_duration(value) == timedelta(seconds=expected)


@pytest.mark.parametrize("value", ["12", "soon", "-1h", "0h", True, 0, None], ids=repr)
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_custom_profile_from_file(tmp_path: Path) -> None:
    path = tmp_path / "ganzhou.toml"
    path.write_text(
        'name = "ganzhou"\n[repost]\ndeadline = "6h"\n'
        '[[repost.ladder]]\nat = 0.75\nlevel = "warn"\n'
        '[[repost.ladder]]\nat = 1.0\nlevel = "breach"\n',
        encoding="utf-8",
    )
    profile = load_profile(path)
    assert profile.repost_deadline == timedelta(hours=6)
    assert [s.level for s in profile.repost_ladder] == ["warn", "breach"]
    assert profile.title == "ganzhou"


HEAD = 'name = "x"\n[repost]\ndeadline = "6h"\n[[repost.ladder]]\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "x"\n', "missing field 'repost'"),
        ('name = "x"\n[repost]\ndeadline = "soon"\n', "[repost]: field 'deadline'"),
        (
            HEAD + 'at = 1.5\nlevel = "breach"\n',
            "#1: field 'at' must be a fraction",
        ),
        (
            HEAD + 'at = 1.0\nlevel = "panic"\n',
            "#1: field 'level' must be one of remind, warn, breach",
        ),
        (
            HEAD + 'at = 0.5\nlevel = "warn"\n',
            "the last step must be at = 1.0, breach",
        ),
        ("name = [", "invalid TOML"),
    ],
    ids=["no-repost", "bad-deadline", "bad-at", "bad-level", "no-breach", "syntax"],
)
def test_bad_custom_profile_names_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_unknown_profile_name_lists_the_builtins() -> None:
    with pytest.raises(ProfileError, match="jiangxi, national, fujian"):
        load_profile("shanghai")


def test_obligation_and_freshness_defaults() -> None:
    profile = load_profile("jiangxi")
    assert "department" in profile.obligations.levels  # 各地、各部门
    assert profile.obligations.lookback == timedelta(days=3)
    assert profile.obligations.digest_at.isoformat() == "09:00:00"
    assert profile.freshness.limit("dynamic") == timedelta(days=14)
    assert profile.freshness.limit("policy") == timedelta(days=180)
    assert profile.freshness.limit("repost") is None


def test_custom_obligations_and_freshness(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        HEAD
        + 'at = 1.0\nlevel = "breach"\n'
        + '[obligations]\nlevels = ["county"]\nlookback = "1d"\ndigest_at = "08:30"\n'
        + '[freshness]\nrepost = "30d"\nveto_stale_columns = 3\n',
        encoding="utf-8",
    )
    profile = load_profile(path)
    assert profile.obligations.levels == ("county",)
    assert profile.obligations.lookback == timedelta(days=1)
    assert profile.obligations.digest_at.isoformat() == "08:30:00"
    assert profile.freshness.limit("repost") == timedelta(days=30)
    assert profile.freshness.limit("home") == timedelta(days=14)
    assert profile.freshness.veto_stale_columns == 3


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[obligations]\nlevels = ["village"]\n', "unknown level 'village'"),
        ('[obligations]\nlookback = "soon"\n', "field 'lookback'"),
        ('[obligations]\ndigest_at = "9am"\n', "field 'digest_at'"),
        ("[obligations]\nwho = 1\n", "unknown field 'who'"),
        ('[freshness]\nhome = "2 weeks"\n', "field 'home'"),
        ("[freshness]\nveto_blank_columns = 0\n", "field 'veto_blank_columns'"),
        ("[freshnes]\n", "unknown field 'freshnes'"),
    ],
    ids=["level", "lookback", "digest", "obligations-field", "limit", "veto", "top-level"],
)
def test_bad_obligations_and_freshness(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(HEAD + 'at = 1.0\nlevel = "breach"\n' + table, encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)
