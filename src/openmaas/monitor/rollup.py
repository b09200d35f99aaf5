"""Heartbeats into minute, hour and day buckets in the database, old rows pruned, uptime read back.

The arithmetic is in uptime.py; this module moves rows. A roll-up recomputes the buckets
of the complete minutes since the last one (then the hours and days those touch) from
the rows beneath, so it can run any number of times and after any stop.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openmaas.db.models import Heartbeat, UptimeBucket
from openmaas.db.session import Database
from openmaas.monitor import uptime
from openmaas.monitor.maintenance import windows_between
from openmaas.monitor.uptime import DAY, HOUR, MINUTE, Beat, Bucket, Tally, floor

# How long each tier is kept (each is aligned to the next coarser one, so no bucket is ever cut).
KEEP = {"raw": timedelta(hours=2), MINUTE: timedelta(hours=48), HOUR: timedelta(days=35), DAY: timedelta(days=400)}
ALIGN = {"raw": MINUTE, MINUTE: HOUR, HOUR: DAY, DAY: DAY}


def _beats(session: Session, start: datetime, end: datetime, component_ids=None) -> list[Beat]:
    query = select(Heartbeat.component_id, Heartbeat.checked_at, Heartbeat.status, Heartbeat.interval_s).where(
        Heartbeat.checked_at >= start, Heartbeat.checked_at < end)
    if component_ids is not None:
        query = query.where(Heartbeat.component_id.in_(component_ids))
    return [Beat(*row) for row in session.execute(query)]


def _buckets(session: Session, resolution: str, start: datetime, end: datetime, component_ids=None) -> list[Bucket]:
    query = select(UptimeBucket).where(UptimeBucket.resolution == resolution, UptimeBucket.start >= start,
                                       UptimeBucket.start < end)
    if component_ids is not None:
        query = query.where(UptimeBucket.component_id.in_(component_ids))
    span = uptime.SPANS[resolution]
    return [Bucket(b.component_id, b.start, b.start + span, Tally(b.up_s, b.degraded_s, b.down_s, b.maintenance_s))
            for b in session.scalars(query.order_by(UptimeBucket.start))]


def _replace(session: Session, resolution: str, start: datetime, end: datetime, buckets: list[Bucket]) -> None:
    session.execute(delete(UptimeBucket).where(UptimeBucket.resolution == resolution, UptimeBucket.start >= start,
                                               UptimeBucket.start < end))
    session.add_all(UptimeBucket(component_id=b.component_id, resolution=resolution, start=b.start,
                                 up_s=b.tally.up_s, degraded_s=b.tally.degraded_s, down_s=b.tally.down_s,
                                 maintenance_s=b.tally.maintenance_s) for b in buckets)
    session.flush()


def roll_up(session: Session, now: datetime, since: datetime | None = None,
            lag: timedelta = timedelta(seconds=30)) -> datetime:
    """Roll up every complete minute from `since` (default: where the last roll-up stopped) to `now - lag`.

    Returns the point reached, to pass as `since` next time. Prunes what is past its keep.
    """
    cutoff = floor(now - lag, MINUTE)
    if since is None:
        last = session.scalar(select(func.max(UptimeBucket.start)).where(UptimeBucket.resolution == MINUTE))
        oldest = session.scalar(select(func.min(Heartbeat.checked_at)))
        since = last if last is not None else (oldest or cutoff)
    start = floor(min(since, cutoff), MINUTE)
    if start < cutoff:
        windows = windows_between(session, start, cutoff)
        _replace(session, MINUTE, start, cutoff, uptime.roll_up_beats(_beats(session, start, cutoff), windows))
    for finer, coarser in ((MINUTE, HOUR), (HOUR, DAY)):
        first, last_complete = floor(start, coarser), floor(cutoff, coarser)
        if first < last_complete:
            _replace(session, coarser, first, last_complete,
                     uptime.roll_up(_buckets(session, finer, first, last_complete), coarser))
    prune(session, now)
    return cutoff


def prune(session: Session, now: datetime) -> None:
    before = floor(now - KEEP["raw"], ALIGN["raw"])
    session.execute(delete(Heartbeat).where(Heartbeat.checked_at < before))
    for resolution in (MINUTE, HOUR, DAY):
        before = floor(now - KEEP[resolution], ALIGN[resolution])
        session.execute(delete(UptimeBucket).where(UptimeBucket.resolution == resolution,
                                                   UptimeBucket.start < before))


def tiers(session: Session, component_ids: list[str], now: datetime,
          span: timedelta = uptime.WINDOWS["90d"]) -> dict[str, list[list[Bucket]]]:
    """Each component's [days, hours, minutes, raw heartbeats] of the last `span`."""
    start = floor(now - span, DAY)
    out: dict[str, list[list[Bucket]]] = {cid: [[], [], [], []] for cid in component_ids}
    for i, resolution in enumerate((DAY, HOUR, MINUTE)):
        for bucket in _buckets(session, resolution, start, now, component_ids):
            out[bucket.component_id][i].append(bucket)
    raw_start = max(start, floor(now - KEEP["raw"], MINUTE))
    windows = windows_between(session, raw_start, now)
    for point in uptime.beat_points(_beats(session, raw_start, now, component_ids), windows):
        out[point.component_id][3].append(point)
    return out


def _round(percent: float | None) -> float | None:
    return None if percent is None else round(percent, 4)


def report(session: Session, component_ids: list[str], now: datetime, days: int = 90) -> dict[str, dict]:
    """{component: {"uptime": {"24h": %, "7d", "30d", "90d"}, "days": [[iso date, % or None], ...]}}."""
    out = {}
    for cid, levels in tiers(session, component_ids, now).items():
        windows = uptime.windows_report(levels, now)
        out[cid] = {"uptime": {k: _round(v) for k, v in windows.items()},
                    "days": [[d.isoformat(), _round(p)] for d, p in uptime.daily(levels, now, days)]}
    return out


class UptimeCache:
    """Uptime reports, recomputed at most every `ttl_s`: the public page must not cost a scan per view."""

    def __init__(self, db: Database, ttl_s: float = 30.0):
        self.db, self.ttl_s = db, ttl_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._ids: frozenset[str] = frozenset()
        self._report: dict[str, dict] = {}

    def get(self, component_ids: list[str], now: datetime) -> dict[str, dict]:
        with self._lock:
            wanted = frozenset(component_ids)
            expired = time.monotonic() - self._at > self.ttl_s
            if expired or not wanted <= self._ids:
                ids = sorted(wanted if expired else wanted | self._ids)
                with self.db.session() as session:
                    self._report = report(session, ids, now)
                self._ids, self._at = frozenset(ids), time.monotonic()
            return {cid: self._report[cid] for cid in component_ids}
