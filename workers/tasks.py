"""Thin tasks: take ids, call a service, return a small JSON-able summary."""

from __future__ import annotations

from typing import Any

from syndicator.services import Services, get_services
from workers.app import app

__all__ = [
    "check_delivery_task",
    "deliver_task",
    "enqueue_due_sources",
    "evaluate_compliance",
    "ping",
    "poll_source_task",
    "sweep_deliveries",
]


def _services() -> Services:
    """The process's services, handing deliveries they queue (notices) to ``deliver_task``."""
    services = get_services()
    services.enqueue = deliver_task.delay
    return services


@app.task(name="workers.tasks.poll_source_task", queue="poll", acks_late=True)
def poll_source_task(source_id: str) -> dict[str, Any]:
    """Poll one source. Failures of the source are recorded, not raised."""
    outcomes = _services().poll([source_id])
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
    services = _services()
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
    services = _services()
    summary = services.evaluate().as_dict()
    dispatched = services.dispatch_notices()
    summary["delivered"] = dispatched.delivered
    summary["delivery_errors"] = dispatched.errors
    return summary


@app.task(name="workers.tasks.deliver_task", acks_late=True)
def deliver_task(delivery_id: int) -> dict[str, Any]:
    """Claim one delivery and have this process send it (see :meth:`Services.hand_off`); a
    duplicate message finds it claimed or done and does nothing."""
    outcome = _services().hand_off(delivery_id)
    return {"delivery_id": delivery_id, "state": outcome.state, "detail": outcome.detail}


@app.task(name="workers.tasks.check_delivery_task", acks_late=True)
def check_delivery_task(delivery_id: int) -> dict[str, Any]:
    """Ask the platform how an asynchronous or unconfirmed delivery ended."""
    outcome = _services().check_delivery(delivery_id)
    return {"delivery_id": delivery_id, "state": outcome.state, "detail": outcome.detail}


@app.task(name="workers.tasks.sweep_deliveries")
def sweep_deliveries() -> dict[str, int]:
    """Beat tick: hand out due deliveries again (lost messages, retries), settle dead workers'
    rows, and queue the status checks."""
    engine = _services().delivery
    due = engine.sweep()
    for delivery_id in due:
        deliver_task.apply_async((delivery_id,), expires=_SWEEP_EXPIRES)
    checks = engine.to_check()
    for delivery_id in checks:
        check_delivery_task.apply_async((delivery_id,), expires=_SWEEP_EXPIRES)
    return {"due": len(due), "checks": len(checks)}


_SWEEP_EXPIRES = 60


@app.task(name="workers.tasks.ping")
def ping() -> str:
    """Answers at once: a health check, and the delivery benchmark's no-op ceiling."""
    return "pong"
