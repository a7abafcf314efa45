"""Thin tasks: take ids, call a service, return a small JSON-able summary."""

from __future__ import annotations

from typing import Any

from syndicator.services import get_services
from workers.app import app

__all__ = ["enqueue_due_sources", "evaluate_compliance", "poll_source_task"]


@app.task(name="workers.tasks.poll_source_task", queue="poll", acks_late=True)
def poll_source_task(source_id: str) -> dict[str, Any]:
    """Poll one source. Failures of the source are recorded, not raised."""
    outcomes = get_services().poll([source_id])
    if not outcomes:
        return {"source_id": source_id, "status": "unknown_source"}
    outcome = outcomes[0]
    return {
        "source_id": source_id,
        "status": outcome.status.value,
        "new_entries": outcome.new_entries,
        "health": outcome.health.value,
    }


@app.task(name="workers.tasks.enqueue_due_sources")
def enqueue_due_sources() -> int:
    """Beat tick: lease the due sources and enqueue one poll each."""
    services = get_services()
    ids = services.claim_due()
    lease = services.settings.scheduler.claim_lease_seconds
    for source_id in ids:
        # A poll still queued when its lease ends is dropped; the next tick re-leases it.
        poll_source_task.apply_async((source_id,), expires=lease)
    return len(ids)


@app.task(name="workers.tasks.evaluate_compliance")
def evaluate_compliance() -> dict[str, Any]:
    """Beat tick: obligations, deadlines and notices (one tick runs at a time), then deliver
    the notices that are due: new ones and retries."""
    services = get_services()
    summary = services.evaluate().as_dict()
    dispatched = services.dispatch_notices()
    summary["delivered"] = dispatched.delivered
    summary["delivery_errors"] = dispatched.errors
    return summary
