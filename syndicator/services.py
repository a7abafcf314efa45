"""Process-wide services: settings, database, clock and the polling event loop.

Celery workers, the embedded runner and the CLI all build one :class:`Services` and call into it;
they are thin shells. Polling runs on one long-lived event loop in a background thread, so the
fetcher's HTTP connections are reused across tasks instead of being opened per task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import httpx

from syndicator.clock import Clock, SystemClock
from syndicator.compliance.engine import ComplianceEngine, TickReport
from syndicator.db.models import DeliveryState, Push
from syndicator.db.session import Database
from syndicator.delivery.engine import (
    NOT_CLAIMED,
    DeliveryEngine,
    DeliveryError,
    Outcome,
    approve_push,
)
from syndicator.delivery.http import delivery_client
from syndicator.delivery.limits import LocalRateLimiter, RateLimiter, RedisRateLimiter
from syndicator.delivery.render import Preview, PushRenderer
from syndicator.notify import DispatchReport, Notifier, Outbox
from syndicator.rules import load_profile
from syndicator.settings import Settings, load_settings
from syndicator.sources.due import claim_due
from syndicator.sources.fetcher import Fetcher
from syndicator.sources.poller import Poller, PollOutcome

__all__ = ["Services", "get_services", "install_services", "reset_services", "settle_heap"]

_T = TypeVar("_T")

log = logging.getLogger(__name__)

DRAIN_SECONDS = 60.0
"""How long :meth:`Services.close` waits for deliveries still being sent."""


def _new_loop() -> asyncio.AbstractEventLoop:
    # uvloop (installed with uvicorn[standard] on Linux/macOS) roughly halves the event loop's
    # share of a polling cycle; the standard loop is the fallback elsewhere.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Services:
    """Everything a task needs, built once per process from :class:`Settings`."""

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, db: Database | None = None
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.db = db or Database(settings.database_url)
        self.profile = load_profile(settings.profile)
        self.renderer = PushRenderer.from_settings(settings)
        self.enqueue: Callable[[int], object] | None = None
        """Hands a delivery id to a worker in distributed mode (``deliver_task.delay``). The
        shells install it — ``workers.tasks`` and the CLI — so the core imports no tasks."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._poller: Poller | None = None
        self._compliance: ComplianceEngine | None = None
        self._notifier: Notifier | None = None
        self._delivery: DeliveryEngine | None = None
        self._delivery_client: httpx.AsyncClient | None = None
        self._delivery_lock = threading.Lock()
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._lock = threading.Lock()

    # -- the polling loop ----------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = _new_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="syndicator-poll-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                fetcher = self._run_on(loop, self._make_fetcher())
                self._poller = Poller(
                    settings=self.settings,
                    db=self.db,
                    fetcher=fetcher,
                    clock=self.clock,
                    key_rules=self.profile.key_policy,
                )
            return self._loop

    async def _make_fetcher(self) -> Fetcher:
        return Fetcher(self.settings.fetch, now=self.clock.now)

    @staticmethod
    def _run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def poll(
        self,
        source_ids: Sequence[str],
        *,
        on_outcome: Callable[[PollOutcome], None] | None = None,
    ) -> list[PollOutcome]:
        """Poll sources now (blocking); safe to call from several threads at once."""
        loop = self._ensure_loop()
        assert self._poller is not None
        return self._run_on(loop, self._poller.poll(source_ids, on_outcome=on_outcome))

    def claim_due(self, limit: int | None = None) -> list[str]:
        scheduler = self.settings.scheduler
        return claim_due(
            self.db,
            now=self.clock.now(),
            limit=limit or scheduler.batch_size,
            lease_seconds=scheduler.claim_lease_seconds,
        )

    # -- compliance ----------------------------------------------------------------------

    @property
    def compliance(self) -> ComplianceEngine:
        """The compliance engine; it keeps its matcher of open items between ticks."""
        with self._lock:
            if self._compliance is None:
                self._compliance = ComplianceEngine(self.db, self.profile)
            return self._compliance

    def evaluate(self) -> TickReport:
        """Run one compliance tick now (see :mod:`syndicator.compliance.engine`)."""
        return self.compliance.tick(self.clock.now())

    @property
    def notifier(self) -> Notifier:
        """Delivers notices to the targets of ``[notify]`` (see :mod:`syndicator.notify`)."""
        with self._lock:
            if self._notifier is None:
                outbox = Outbox(self.db, self.clock.now, submitted=self.enqueue_delivery)
                self._notifier = Notifier.from_settings(self.settings, outbox=outbox)
            return self._notifier

    def use_notifier(self, notifier: Notifier) -> None:
        """Deliver through *notifier* instead (the demo's console, tests)."""
        with self._lock:
            if self._notifier is not None:
                self._notifier.close()
            self._notifier = notifier

    def dispatch_notices(self, limit: int = 100) -> DispatchReport:
        """Deliver the notices that are due now."""
        return self.notifier.dispatch(self.db, self.clock.now(), limit=limit)

    # -- delivery ------------------------------------------------------------------------

    @property
    def delivery(self) -> DeliveryEngine:
        """The delivery engine over the ``[[channels]]`` of the settings (built once)."""
        loop = self._ensure_loop()
        with self._delivery_lock:
            if self._delivery is None:
                from channels.registry import load_registry
                from syndicator.delivery.instances import build_channels

                client = self._run_on(loop, self._make_client())
                channels = build_channels(self.settings.channels, load_registry(), client=client)
                self._delivery_client = client
                self._delivery = DeliveryEngine(
                    self.db,
                    channels,
                    limiter=self._rate_limiter(),
                    now=self.clock.now,
                    render=self.renderer,
                )
            return self._delivery

    def _rate_limiter(self) -> RateLimiter:
        if self.settings.broker_url and self.settings.broker_url.startswith("redis"):
            import redis

            return RedisRateLimiter(redis.Redis.from_url(self.settings.broker_url))
        return LocalRateLimiter()

    async def _make_client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(
            self.settings.fetch.read_timeout, connect=self.settings.fetch.connect_timeout
        )
        return delivery_client(
            timeout=timeout, headers={"User-Agent": self.settings.fetch.user_agent}
        )

    def preview(self, push_id: int) -> list[Preview]:
        """How push *push_id* comes out on each of its channels (nothing is sent)."""
        with self.db.session() as session:
            push = session.get(Push, push_id)
            if push is None:
                raise DeliveryError(f"没有编号为 {push_id} 的推送 / no push {push_id}")
            session.expunge(push)
        return self.renderer.preview(push, self.delivery.channels)

    def approve(self, push_id: int, *, by: str) -> list[int]:
        """Approve a draft once every channel can take it as it is (see
        :func:`syndicator.delivery.engine.approve_push`); returns the delivery ids."""
        channels = self.delivery.channels
        return approve_push(
            self.db,
            push_id,
            by=by,
            now=self.clock.now(),
            check=lambda push: self.renderer.problems(push, channels),
        )

    def enqueue_delivery(self, delivery_id: int) -> None:
        """Have a delivery sent now: in this process in embedded mode, else through
        :attr:`enqueue`. The row is in the outbox whatever happens here: without a hook, or if
        it fails, the sweeper hands it out within ``scheduler.sweep_seconds``."""
        if not self.settings.distributed:
            self.deliver(delivery_id)
        elif self.enqueue is not None:
            self.enqueue(delivery_id)

    def deliver(self, delivery_id: int) -> Outcome:
        """Send one delivery now (blocking; see :meth:`DeliveryEngine.deliver`)."""
        engine = self.delivery
        return self._run_on(self._ensure_loop(), engine.deliver(delivery_id))

    def hand_off(self, delivery_id: int) -> Outcome:
        """Have the event loop claim a delivery and send it (what a worker's ``deliver_task``
        does); returns once the claim is committed, without waiting for the platform.

        From the claim on, the row's lease holds the delivery, not the queue message: the
        task may end (and its message be acknowledged) while the platform has yet to answer,
        and the worker process takes the next delivery meanwhile, up to
        ``scheduler.deliveries_in_flight`` at once (this waits for a free place first). If
        the process dies now, the lease runs out and the sweeper settles the row as for any
        worker lost after its claim. :meth:`close` waits for the deliveries in flight.
        """
        engine = self.delivery
        loop = self._ensure_loop()
        limit = self.settings.scheduler.deliveries_in_flight
        with self._in_flight_changed:
            self._in_flight_changed.wait_for(lambda: self._in_flight < limit)
            self._in_flight += 1
        claimed: concurrent.futures.Future[bool] = concurrent.futures.Future()

        async def claim_and_send() -> Outcome | None:
            # All of it on the loop's thread: one thread doing the work, none waiting for
            # the other's GIL.
            try:
                claim = engine.claim(delivery_id)
            except BaseException as exc:
                claimed.set_exception(exc)
                return None
            claimed.set_result(claim is not None)
            return None if claim is None else await engine.send(claim)

        sending = asyncio.run_coroutine_threadsafe(claim_and_send(), loop)
        sending.add_done_callback(lambda future: self._landed(delivery_id, future))
        if not claimed.result():
            return Outcome(delivery_id, None, NOT_CLAIMED)
        return Outcome(delivery_id, DeliveryState.SENDING, "claimed; sending")

    def _landed(self, delivery_id: int, future: concurrent.futures.Future[Outcome | None]) -> None:
        with self._in_flight_changed:
            self._in_flight -= 1
            self._in_flight_changed.notify_all()
        if not future.cancelled() and (exc := future.exception()) is not None:
            # Its row stays "sending" under the lease; the sweeper settles it.
            log.error("delivery %s: sending or recording failed", delivery_id, exc_info=exc)

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Wait until no delivery handed off is in flight; False if some still are."""
        with self._in_flight_changed:
            return self._in_flight_changed.wait_for(lambda: self._in_flight == 0, timeout)

    def check_delivery(self, delivery_id: int) -> Outcome:
        engine = self.delivery
        return self._run_on(self._ensure_loop(), engine.check(delivery_id))

    def close(self) -> None:
        """Wait for the deliveries in flight (up to :data:`DRAIN_SECONDS`), then stop the
        event loop and close the clients and the database."""
        if not self.drain():
            log.warning(
                "%d deliveries still sending after %.0f s: closing anyway (the sweeper "
                "settles them when their lease ends)",
                self._in_flight,
                DRAIN_SECONDS,
            )
        with self._lock:
            loop, thread, poller = self._loop, self._thread, self._poller
            self._loop = self._thread = self._poller = None
            notifier, self._notifier = self._notifier, None
        if notifier is not None:
            notifier.close()
        client, engine = self._delivery_client, self._delivery
        self._delivery_client = self._delivery = None
        if loop is not None and thread is not None:
            if poller is not None:
                self._run_on(loop, poller.aclose())
            for channel in engine.channels.values() if engine is not None else ():
                self._run_on(loop, channel.aclose())
            if client is not None:
                self._run_on(loop, client.aclose())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
        self.db.dispose()


def settle_heap() -> None:
    """Tell the garbage collector that what exists now lives as long as the process.

    Call once when a long-running process (``syndicator run``, a Celery worker child) has
    started. Modules, metadata and settings then stay out of every full collection: about 5–8 %
    of a polling cycle's CPU on the benchmark. Not for short-lived processes or tests.
    """
    gc.collect()
    gc.freeze()


_services: Services | None = None
_services_pid: int | None = None
_services_lock = threading.Lock()


def get_services(settings: Settings | None = None) -> Services:
    """The process's :class:`Services`, rebuilt after a fork (Celery prefork children)."""
    global _services, _services_pid
    with _services_lock:
        if _services is None or _services_pid != os.getpid():
            _services = Services(settings or load_settings())
            _services_pid = os.getpid()
        return _services


def install_services(services: Services) -> None:
    """Make *services* the process's services (the CLI and tests build their own)."""
    global _services, _services_pid
    with _services_lock:
        _services, _services_pid = services, os.getpid()


def reset_services() -> None:
    """Close and forget the process's services (tests, shutdown)."""
    global _services, _services_pid
    with _services_lock:
        if _services is not None and _services_pid == os.getpid():
            _services.close()
        _services = _services_pid = None
