"""The one beat schedule. Every entry carries ``expires`` so a backed-up beat cannot stack
duplicate ticks."""

from __future__ import annotations

from typing import Any

from syndicator.settings import Settings

__all__ = ["beat_schedule"]


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    tick = settings.scheduler.tick_seconds
    evaluate = settings.scheduler.evaluate_seconds
    sweep = settings.scheduler.sweep_seconds
    return {
        "enqueue-due-sources": {
            "task": "workers.tasks.enqueue_due_sources",
            "schedule": tick,
            "options": {"expires": tick},
        },
        "sweep-deliveries": {
            "task": "workers.tasks.sweep_deliveries",
            "schedule": sweep,
            "options": {"expires": sweep},
        },
        "evaluate-compliance": {
            "task": "workers.tasks.evaluate_compliance",
            "schedule": evaluate,
            "options": {"expires": evaluate},
        },
    }
