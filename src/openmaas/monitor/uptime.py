"""Uptime from heartbeats, as pure functions: roll heartbeats up into buckets and measure windows.

Each heartbeat stands for `interval_s` seconds of its status (the time since the probe
before it, capped), counted in the minute it was taken. A heartbeat taken while its
component was under scheduled maintenance counts as maintenance time, which is left out
of uptime: neither up nor down. Degraded time answered requests, so it counts as up.

    uptime % = (up + degraded) / (up + degraded + down)

Minutes roll up into hours and hours into days; a window is measured over the coarsest
buckets that fit in it, finer ones where no coarser bucket exists yet (and at its edges),
and the raw heartbeats of the last minutes. Time with no heartbeat at all (the server was stopped)
is not counted: an in-process monitor cannot see its own absence.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from openmaas.monitor.states import DEGRADED_BEAT, DOWN, UP

MINUTE, HOUR, DAY = "minute", "hour", "day"
SPANS = {MINUTE: timedelta(minutes=1), HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
PARENT = {MINUTE: HOUR, HOUR: DAY}
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def floor(t: datetime, resolution: str) -> datetime:
    if resolution == MINUTE:
        return t.replace(second=0, microsecond=0)
    if resolution == HOUR:
        return t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Beat:
    component_id: str
    at: datetime
    status: str  # up | degraded | down
    interval_s: float


@dataclass(frozen=True)
class Window:
    """Scheduled maintenance of some components, [start, end)."""

    start: datetime
    end: datetime
    component_ids: frozenset[str]

    def covers(self, component_id: str, at: datetime) -> bool:
        return component_id in self.component_ids and self.start <= at < self.end


@dataclass
class Tally:
    up_s: float = 0.0
    degraded_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0

    def add(self, other: Tally, factor: float = 1.0) -> None:
        self.up_s += other.up_s * factor
        self.degraded_s += other.degraded_s * factor
        self.down_s += other.down_s * factor
        self.maintenance_s += other.maintenance_s * factor

    @property
    def counted_s(self) -> float:
        return self.up_s + self.degraded_s + self.down_s

    @property
    def percent(self) -> float | None:
        """Uptime in percent, or None when nothing was measured."""
        counted = self.counted_s
        return None if counted <= 0 else 100.0 * (self.up_s + self.degraded_s) / counted


@dataclass
class Bucket:
    """A tally over [start, end); a raw heartbeat is a bucket with start == end (a point)."""

    component_id: str
    start: datetime
    end: datetime
    tally: Tally = field(default_factory=Tally)

    @property
    def is_point(self) -> bool:
        return self.start == self.end


def classify(beat: Beat, windows: Sequence[Window]) -> Tally:
    """The seconds one heartbeat adds."""
    if any(w.covers(beat.component_id, beat.at) for w in windows):
        return Tally(maintenance_s=beat.interval_s)
    if beat.status == UP:
        return Tally(up_s=beat.interval_s)
    if beat.status == DEGRADED_BEAT:
        return Tally(degraded_s=beat.interval_s)
    if beat.status == DOWN:
        return Tally(down_s=beat.interval_s)
    raise ValueError(f"unknown heartbeat status {beat.status!r}")


def beat_points(beats: Iterable[Beat], windows: Sequence[Window]) -> list[Bucket]:
    return [Bucket(b.component_id, b.at, b.at, classify(b, windows)) for b in beats]


def roll_up_beats(beats: Iterable[Beat], windows: Sequence[Window]) -> list[Bucket]:
    """Minute buckets from heartbeats."""
    return _group(beat_points(beats, windows), MINUTE)


def roll_up(buckets: Iterable[Bucket], resolution: str) -> list[Bucket]:
    """Buckets of `resolution` (hour or day) from finer ones."""
    return _group(buckets, resolution)


def _group(pieces: Iterable[Bucket], resolution: str) -> list[Bucket]:
    groups: dict[tuple[str, datetime], Tally] = defaultdict(Tally)
    for piece in pieces:
        groups[(piece.component_id, floor(piece.start, resolution))].add(piece.tally)
    span = SPANS[resolution]
    return [Bucket(cid, start, start + span, tally) for (cid, start), tally in sorted(groups.items())]


def _overlaps(starts: list[datetime], ends: list[datetime], piece: Bucket) -> bool:
    """Does `piece` fall in or across any of the disjoint intervals (sorted `starts`, matching `ends`)?"""
    i = bisect.bisect_right(starts, piece.start) - 1
    if i >= 0 and piece.start < ends[i]:
        return True
    if piece.is_point:
        return False
    j = bisect.bisect_left(starts, piece.end)  # intervals starting before our end
    return j > 0 and ends[j - 1] > piece.start


def cover(tiers: Sequence[Sequence[Bucket]], taken: Sequence[Bucket] = ()) -> list[Bucket]:
    """Pieces of one component that overlap neither each other nor `taken`, from the first tier first.

    `tiers` is usually [days, hours, minutes, points]: coarse buckets where they exist, finer
    ones where they do not yet (the current hour, the current minute).
    """
    chosen: list[Bucket] = []
    spans = sorted((p.start, p.end) for p in taken if not p.is_point)
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    for tier in tiers:
        added = [piece for piece in tier if not _overlaps(starts, ends, piece)]
        chosen.extend(added)
        for piece in added:
            if not piece.is_point:
                k = bisect.bisect_left(starts, piece.start)
                starts.insert(k, piece.start)
                ends.insert(k, piece.end)
    return sorted(chosen, key=lambda p: p.start)


def measure(tiers: Sequence[Sequence[Bucket]], start: datetime, end: datetime) -> Tally:
    """The tally of [start, end) over one component's tiers ([days, hours, minutes, points]).

    The coarsest pieces wholly inside the window count in full; at its edges the finest
    piece that crosses the boundary counts for the share of it inside (exact when the
    window is aligned to the finest tier there).
    """
    def inside(p: Bucket) -> bool:
        return start <= p.start < end if p.is_point else (start <= p.start and p.end <= end)

    def crossing(p: Bucket) -> bool:
        return not p.is_point and p.start < end and start < p.end and not inside(p)

    whole = cover([[p for p in tier if inside(p)] for tier in tiers])
    edges = cover([[p for p in tier if crossing(p)] for tier in reversed(tiers)], taken=whole)
    total = Tally()
    for piece in whole:
        total.add(piece.tally)
    for piece in edges:
        overlap = (min(end, piece.end) - max(start, piece.start)).total_seconds()
        total.add(piece.tally, overlap / (piece.end - piece.start).total_seconds())
    return total


def windows_report(tiers: Sequence[Sequence[Bucket]], now: datetime) -> dict[str, float | None]:
    """Uptime percent over the last 24h, 7d, 30d and 90d."""
    return {name: measure(tiers, now - span, now).percent for name, span in WINDOWS.items()}


def daily(tiers: Sequence[Sequence[Bucket]], now: datetime, days: int = 90) -> list[tuple[date, float | None]]:
    """Uptime percent of each of the last `days` UTC days, oldest first, today included.

    Buckets never straddle a UTC day (minutes, hours and days are aligned to it), so each
    piece of the cover belongs to the day it starts in.
    """
    per_day: dict[datetime, Tally] = defaultdict(Tally)
    for piece in cover(tiers):
        if piece.start < now:
            per_day[floor(piece.start, DAY)].add(piece.tally)
    today = floor(now, DAY)
    return [(day.date(), per_day[day].percent if day in per_day else None)
            for day in (today - timedelta(days=back) for back in range(days - 1, -1, -1))]
