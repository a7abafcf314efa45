"""`syndicator match`: the offline audit's schema, verdicts and refusal of bad rows."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.compliance.offline import MatchInputError, match_files, write_rows

UP = [
    {
        "id": "u1",
        "title": "国务院办公厅关于印发《政府网站发展指引》的通知",
        "doc_no": "国办发〔2017〕47号",
        "published_at": "2017-06-08T16:00:00+08:00",
    },
    {
        "id": "u2",
        "title": "国务院办公厅关于2024年部分节假日安排的通知",
        "published_at": "2023-10-25T17:00:00+08:00",
    },
]
DOWN = [
    (
        "d1",
        "南昌市人民政府办公室关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知",
        "2017-06-09T04:00:00+08:00",
    ),
    ("d2", "【转载】国务院办公厅关于2024年部分节假日安排的通知", "2023-10-26"),
    ("d3", "国务院办公厅印发《政府网站发展指引》", "2017-06-08T20:00:00+08:00"),
    ("d4", "国务院办公厅关于2025年部分节假日安排的通知", "2024-11-12"),
    ("d5", "转发：国务院办公厅关于印发《政府网站发展指引》的通知", "2017-06-09T04:00:01+08:00"),
    ("d6", "国务院办公厅关于2024年部分节假日安排的通知", "2023-10-25"),
]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    down = [{"id": i, "title": t, "published_at": p, "site": "nanchang"} for i, t, p in DOWN]
    return _write(tmp_path / "up.jsonl", UP), _write(tmp_path / "down.jsonl", down)  # type: ignore[arg-type]


def test_rows_relations_and_on_time_verdicts(files: tuple[Path, Path]) -> None:
    rows = {r["downstream_id"]: r for r in match_files(*files, deadline=timedelta(hours=12))}
    assert set(rows) == {"d1", "d2", "d3", "d5", "d6"}  # d4 is another edition
    assert rows["d1"] == {
        "downstream_id": "d1",
        "upstream_id": "u1",
        "relation": "repost",
        "score": 1.0,
        "latency_hours": 12.0,
        "on_time": True,  # exactly 12 hours: inclusive
    }
    assert rows["d5"]["on_time"] is False  # one second late
    assert rows["d2"]["on_time"] is None and rows["d2"]["latency_hours"] is None  # day straddles
    assert rows["d6"]["on_time"] is True  # the same day as 17:00 publication, before 05:00 next day
    assert rows["d3"]["relation"] == "news" and rows["d3"]["on_time"] is None


def test_the_profile_deadline_decides(files: tuple[Path, Path]) -> None:
    rows = {r["downstream_id"]: r for r in match_files(*files, deadline=timedelta(hours=24))}
    assert rows["d5"]["on_time"] is True  # 12 h + 1 s is within 24 h
    assert rows["d2"]["on_time"] is None  # the day still straddles 17:00 the next day


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "down.jsonl:2: not valid JSON"),
        (
            '{"id": "x", "title": "t", "published_at": "2024-01-05"}',
            'down.jsonl:2: missing field "site"',
        ),
        (
            '{"id": "x", "title": "t", "published_at": "2024-01-05 10:30", "site": "a"}',
            "has a time but no UTC offset",
        ),
        ('{"id": "x", "title": "t", "published_at": "soon", "site": "a"}', "is not ISO 8601"),
        (
            '{"id": "a", "title": "t", "published_at": "2024-01-05", "site": "a"}',
            'duplicate id "a" (first on line 1)',
        ),
        (
            '{"id": "", "title": "t", "published_at": "2024-01-05", "site": "a"}',
            'field "id" must be',
        ),
    ],
    ids=["json", "missing-field", "naive-time", "bad-time", "duplicate-id", "empty-id"],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    up = _write(tmp_path / "up.jsonl", UP)  # type: ignore[arg-type]
    down = tmp_path / "down.jsonl"
    down.write_text(
        '{"id": "a", "title": "t", "published_at": "2024-01-05", "site": "a"}\n' + line + "\n",
        encoding="utf-8",
    )
    with pytest.raises(MatchInputError) as caught:
        match_files(up, down, deadline=timedelta(hours=12))
    assert message in str(caught.value)


def test_output_is_written_whole(tmp_path: Path, files: tuple[Path, Path]) -> None:
    out = tmp_path / "pairs.jsonl"
    write_rows(match_files(*files, deadline=timedelta(hours=12)), out)
    lines = out.read_text("utf-8").splitlines()
    assert len(lines) == 5 and all(json.loads(line)["upstream_id"] for line in lines)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_batch_shared_over_processes_gives_the_same_rows(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = match_files(*files, deadline=timedelta(hours=12), workers=1)
    monkeypatch.setattr("syndicator.text.match.PARALLEL_MIN", 1)  # fork even for six entries
    assert match_files(*files, deadline=timedelta(hours=12), workers=2) == alone
