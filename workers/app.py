"""The Celery app.

Distributed mode: ``SYNDICATOR_BROKER_URL=redis://…``; run ``celery -A workers.app worker`` and one
``celery -A workers.app beat``. Embedded mode never starts a broker: the embedded runner calls the
same task functions in process (see :mod:`syndicator.embedded`).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from syndicator.settings import load_settings
from workers.beat import beat_schedule

__all__ = ["app"]

_settings = load_settings()

app = Celery("syndicator", include=["workers.tasks"])
app.conf.update(
    broker_url=_settings.broker_url or "memory://",
    # The database is the source of truth; task results are not needed.
    task_ignore_result=True,
    result_backend=None,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=4,
    task_default_queue="syndicator",
    task_routes={"workers.tasks.poll_source_task": {"queue": "poll"}},
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    beat_schedule=beat_schedule(_settings),
)


@worker_process_init.connect
def _settle(**_kwargs: Any) -> None:
    from syndicator.services import settle_heap

    settle_heap()


@worker_process_shutdown.connect
def _close(**_kwargs: Any) -> None:
    """A pool process ending (warm shutdown, recycling) lets its deliveries in flight land."""
    from syndicator.services import reset_services

    reset_services()
