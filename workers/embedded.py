"""Embedded mode: the beat ticks and the tasks in one process, no broker.

The runner leases due sources exactly as the beat task does and runs the very same
:func:`workers.tasks.poll_source_task` function in a thread pool; the polls themselves share the
process's one event loop and HTTP client pool (see :mod:`syndicator.services`). Every
``scheduler.evaluate_seconds`` it runs :func:`workers.tasks.evaluate_compliance` the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from syndicator.services import DRAIN_SECONDS, Services, install_services
from workers.tasks import (
    check_delivery_task,
    deliver_task,
    evaluate_compliance,
    poll_source_task,
)

__all__ = ["EmbeddedRunner"]

log = logging.getLogger(__name__)


class EmbeddedRunner:
    """Runs the schedule in process until told to stop.

    Args:
        services: the process's services (installed as the tasks' services).
        threads: how many polls may wait at once; the fetcher's own limits still apply.
        only: poll only these source ids (``syndicator poll --source``).
        on_result: called with each poll task's summary.
        on_evaluation: called with each compliance tick's summary.
    """

    def __init__(
        self,
        services: Services,
        *,
        threads: int = 16,
        only: Sequence[str] | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None,
        on_evaluation: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        install_services(services)
        self._services = services
        self._only = set(only) if only else None
        self._on_result = on_result
        self._on_evaluation = on_evaluation
        self._evaluation: Future[dict[str, Any]] | None = None
        self._last_evaluation = float("-inf")
        self._last_sweep = float("-inf")
        self._sending: dict[int, Future[dict[str, Any]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="syndicator-task")
        self._inflight: set[Future[dict[str, Any]]] = set()
        self._lock = threading.Lock()

    def tick(self) -> int:
        """Lease due sources and start a poll task for each; return how many were started."""
        ids = self._services.claim_due()
        if self._only is not None:
            ids = [i for i in ids if i in self._only]
        for source_id in ids:
            # ``.run`` is the task's own function: no broker, no request context needed.
            future = self._pool.submit(poll_source_task.run, source_id)
            with self._lock:
                self._inflight.add(future)
            future.add_done_callback(self._done)
        return len(ids)

    def evaluate(self) -> bool:
        """Start a compliance tick unless one is still running; return whether it started."""
        with self._lock:
            if self._evaluation is not None and not self._evaluation.done():
                return False
            future = self._pool.submit(evaluate_compliance.run)
            self._evaluation = future
            self._inflight.add(future)
        self._last_evaluation = time.monotonic()
        future.add_done_callback(self._evaluated)
        return True

    def sweep(self) -> int:
        """Hand due deliveries and status checks to the pool (the beat's sweep, in process);
        return how many were started."""
        self._last_sweep = time.monotonic()
        engine = self._services.delivery
        started = 0
        jobs = [(i, deliver_task) for i in engine.sweep()]
        jobs += [(i, check_delivery_task) for i in engine.to_check()]
        for delivery_id, task in jobs:
            with self._lock:
                running = self._sending.get(delivery_id)
                if running is not None and not running.done():
                    continue
                future = self._pool.submit(task.run, delivery_id)
                self._sending[delivery_id] = future
                self._inflight.add(future)
            future.add_done_callback(self._delivered)
            started += 1
        return started

    def _delivered(self, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._sending = {k: f for k, f in self._sending.items() if not f.done()}
        self._finished(future, "delivery task", None)

    def _done(self, future: Future[dict[str, Any]]) -> None:
        self._finished(future, "poll task", self._on_result)

    def _evaluated(self, future: Future[dict[str, Any]]) -> None:
        self._finished(future, "compliance tick", self._on_evaluation)

    def _finished(
        self,
        future: Future[dict[str, Any]],
        what: str,
        callback: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        with self._lock:
            self._inflight.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("%s failed: %s", what, exc, exc_info=exc)
        elif callback is not None:
            callback(future.result())

    def run(self, stop: threading.Event) -> None:
        """Tick every ``scheduler.tick_seconds`` until *stop* is set, then drain cleanly."""
        interval = self._services.settings.scheduler.tick_seconds
        evaluate_every = self._services.settings.scheduler.evaluate_seconds
        sweep_every = self._services.settings.scheduler.sweep_seconds
        try:
            while not stop.is_set():
                try:
                    self.tick()
                    if time.monotonic() - self._last_evaluation >= evaluate_every:
                        self.evaluate()
                    if time.monotonic() - self._last_sweep >= sweep_every:
                        self.sweep()
                except Exception:
                    log.exception("scheduler tick failed; trying again next tick")
                stop.wait(min(interval, evaluate_every, sweep_every))
        finally:
            self.shutdown()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no task is running and no delivery handed off is still sending (tests
        and ``poll --once``)."""
        with self._lock:
            pending = list(self._inflight)
        for future in pending:
            try:
                future.result(timeout=timeout)
            except Exception:
                return False
        return self._services.drain(DRAIN_SECONDS if timeout is None else timeout)

    def shutdown(self) -> None:
        # Queued polls are dropped: their leases run out and the next start picks them up.
        self._pool.shutdown(wait=True, cancel_futures=True)
