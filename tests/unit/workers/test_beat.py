from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from syndicator.settings import load_settings
from workers.beat import beat_schedule


def test_every_beat_entry_expires_within_its_period(tmp_path: Path) -> None:
    settings = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)})
    settings = replace(settings, scheduler=replace(settings.scheduler, tick_seconds=7.0))
    schedule = beat_schedule(settings)
    assert schedule, "the beat schedule is empty"
    for name, entry in schedule.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name} has no expires: a backed-up beat would stack it"
        assert 0 < expires <= entry["schedule"], name


def test_tasks_are_registered_under_stable_names() -> None:
    from workers.app import app
    from workers.tasks import enqueue_due_sources, poll_source_task

    assert poll_source_task.name == "workers.tasks.poll_source_task"
    assert enqueue_due_sources.name == "workers.tasks.enqueue_due_sources"
    assert app.conf.task_routes["workers.tasks.poll_source_task"] == {"queue": "poll"}
    assert "enqueue-due-sources" in app.conf.beat_schedule


def test_deliveries_queued_inside_a_worker_go_to_deliver_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syndicator.services import Services, install_services, reset_services
    from workers import tasks

    settings = load_settings(
        {"SYNDICATOR_DATA_DIR": str(tmp_path), "SYNDICATOR_BROKER_URL": "redis://127.0.0.1:1/0"}
    )
    sent: list[int] = []
    monkeypatch.setattr(tasks.deliver_task, "delay", sent.append)
    install_services(Services(settings))
    try:
        tasks._services().enqueue_delivery(5)  # a notice's delivery, queued by the notifier
    finally:
        reset_services()
    assert sent == [5]
