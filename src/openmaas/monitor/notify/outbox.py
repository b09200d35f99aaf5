"""The outbox: deliveries written with the incident change, sent by a dispatcher until they land.

`enqueue` runs inside the transaction that changes the incident, so an event is owed the
moment the change is committed and not before. The dispatcher sends what is due (a
webhook POST or an email), logs every attempt, and on failure schedules the next one
with exponential backoff (base doubling up to a cap) until `notify_max_attempts`. Rows
stay `pending` until an attempt succeeds: a platform stopped between attempts sends them
after it starts again (at least once; receivers de-duplicate on the event `id`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import NotificationAttempt, NotificationDelivery, NotificationSubscription, new_id, utcnow
from openmaas.db.session import Database
from openmaas.monitor.notify import email, inbox, messages, webhook
from openmaas.monitor.notify.subscriptions import list_subscriptions

log = logging.getLogger("openmaas.notify")

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
POLL_S = 1.0
BATCH = 50
CONCURRENCY = 16


def enqueue(session: Session, workspace_id: str, incident_id: str, event: str, payload: dict, now: datetime) -> None:
    """The inbox message and one delivery per active subscription of `workspace_id`, in the caller's transaction."""
    inbox.post(session, workspace_id, incident_id, event, messages.title(event, payload),
               messages.body(event, payload), now)
    for subscription in list_subscriptions(session, workspace_id):
        delivery_id = new_id("evt")
        body = {"id": delivery_id, "type": event, "created_at": int(now.timestamp()), **payload}
        session.add(NotificationDelivery(id=delivery_id, workspace_id=workspace_id, subscription_id=subscription.id,
                                         incident_id=incident_id, event=event, channel=subscription.channel,
                                         payload=body, status=PENDING, attempts=0, next_attempt_at=now,
                                         created_at=now))
    session.flush()


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """The wait after the `attempts`-th failed attempt: base, 2 base, 4 base, ... capped."""
    return min(max_s, base_s * 2 ** max(0, attempts - 1))


def list_deliveries(session: Session, workspace_id: str | None, *, subscription_id: str | None = None,
                    incident_id: str | None = None, limit: int = 100) -> list[dict]:
    """Deliveries with every attempt, newest first; every workspace's when `workspace_id` is None (admin)."""
    query = select(NotificationDelivery)
    if workspace_id is not None:
        query = query.where(NotificationDelivery.workspace_id == workspace_id)
    if subscription_id is not None:
        query = query.where(NotificationDelivery.subscription_id == subscription_id)
    if incident_id is not None:
        query = query.where(NotificationDelivery.incident_id == incident_id)
    deliveries = list(session.scalars(query.order_by(NotificationDelivery.created_at.desc(),
                                                     NotificationDelivery.id).limit(limit)))
    attempts: dict[str, list[NotificationAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in session.scalars(select(NotificationAttempt).where(
                NotificationAttempt.delivery_id.in_(list(attempts))).order_by(NotificationAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
    return [delivery_dict(d, attempts[d.id]) for d in deliveries]


def _unix(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp(), 3)


def delivery_dict(delivery: NotificationDelivery, attempts: list[NotificationAttempt]) -> dict:
    return {
        "id": delivery.id,
        "object": "notification_delivery",
        "workspace_id": delivery.workspace_id,
        "subscription_id": delivery.subscription_id,
        "incident_id": delivery.incident_id,
        "event": delivery.event,
        "channel": delivery.channel,
        "status": delivery.status,
        "attempts": [{"attempted_at": _unix(a.attempted_at), "ok": a.ok, "status_code": a.status_code,
                      "error": a.error, "duration_ms": round(a.duration_ms, 1)} for a in attempts],
        "next_attempt_at": _unix(delivery.next_attempt_at) if delivery.status == PENDING else None,
        "last_error": delivery.last_error,
        "created_at": _unix(delivery.created_at),
        "delivered_at": _unix(delivery.delivered_at),
    }


@dataclass(frozen=True)
class Job:
    delivery_id: str
    event: str
    channel: str
    payload: dict
    url: str | None
    email: str | None
    secret: str | None
    cancelled: bool  # its subscription was deleted


class Dispatcher:
    """Sends due deliveries, several at once, each attempt logged; woken early by `wake()`."""

    def __init__(self, db: Database, settings, client: httpx.AsyncClient):
        self.db, self.settings, self.client = db, settings, client
        self._wake = asyncio.Event()
        self._inflight: set[str] = set()
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Look at the outbox now; callable from the event loop or from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()
                try:
                    jobs = await anyio.to_thread.run_sync(self._due)
                except Exception:
                    log.exception("could not read the notification outbox")
                    jobs = []
                for job in jobs:
                    self._inflight.add(job.delivery_id)
                    task = asyncio.create_task(self._deliver(job), name=f"deliver-{job.delivery_id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                try:
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                except asyncio.TimeoutError:
                    pass
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _due(self) -> list[Job]:
        now = utcnow()
        with self.db.session() as session:
            rows = session.execute(
                select(NotificationDelivery, NotificationSubscription)
                .join(NotificationSubscription, NotificationSubscription.id == NotificationDelivery.subscription_id)
                .where(NotificationDelivery.status == PENDING, NotificationDelivery.next_attempt_at <= now)
                .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.created_at).limit(BATCH))
            return [Job(d.id, d.event, d.channel, d.payload, s.url, s.email, s.secret, s.deleted_at is not None)
                    for d, s in rows if d.id not in self._inflight]

    async def _deliver(self, job: Job) -> None:
        try:
            async with self._limit:
                if job.cancelled:
                    result = None
                elif job.channel == "webhook":
                    result = await webhook.send(self.client, job.url, job.secret, job.delivery_id, job.payload)
                else:
                    result = await email.send(self.settings, job.email, job.event, job.payload)
            await anyio.to_thread.run_sync(self._record, job, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery %s failed unexpectedly", job.delivery_id)
        finally:
            self._inflight.discard(job.delivery_id)

    def _record(self, job: Job, result: webhook.AttemptResult | None) -> None:
        now = utcnow()
        with self.db.session() as session:
            delivery = session.get(NotificationDelivery, job.delivery_id)
            if delivery is None or delivery.status != PENDING:
                return
            if result is None:
                delivery.status, delivery.last_error = CANCELLED, "the subscription was deleted"
                return
            delivery.attempts += 1
            session.add(NotificationAttempt(delivery_id=delivery.id, workspace_id=delivery.workspace_id,
                                            attempted_at=now, ok=result.ok, status_code=result.status_code,
                                            error=result.error, duration_ms=result.duration_ms))
            if result.ok:
                delivery.status, delivery.delivered_at, delivery.last_error = DELIVERED, now, None
                return
            delivery.last_error = result.error
            if delivery.attempts >= self.settings.notify_max_attempts:
                delivery.status = FAILED
                log.warning("giving up on delivery %s after %d attempts: %s", delivery.id, delivery.attempts,
                            result.error)
            else:
                delivery.next_attempt_at = now + timedelta(seconds=backoff_s(
                    delivery.attempts, self.settings.notify_retry_base_s, self.settings.notify_retry_max_s))
