"""From component states to incident actions: when to open, update, reopen and resolve, as pure decisions.

A component failing (degraded, partial or major outage) for `open_after_s` opens an
incident, `identified` when the cause is known (the supervisor saw the worker die),
else `investigating`. A change of state while it is open appends an update. Recovery
moves it to `monitoring`, and `resolve_after_s` of steady operation resolves it. A
component that fails again within `reopen_window_s` of a resolution reopens that
incident instead of opening a new one, so a flapping replica is one incident, not one a
minute. An admin's own open incident over the component means the monitor stays out of
it, and an incident an admin resolved during the current failure is not reopened until
the component has recovered once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openmaas.monitor.states import FAILING, IDENTIFIED, INVESTIGATING, LABELS, MONITORING, OPERATIONAL, RESOLVED


@dataclass(frozen=True)
class Thresholds:
    open_after_s: float = 30.0
    resolve_after_s: float = 60.0
    reopen_window_s: float = 900.0


@dataclass
class Tracker:
    """A component's recent history, kept in memory by the monitor."""

    state: str
    since: datetime
    failing_since: datetime | None = None
    healthy_since: datetime | None = None

    @classmethod
    def start(cls, state: str, now: datetime) -> Tracker:
        tracker = cls(state, now)
        tracker.observe(state, now)
        return tracker

    def observe(self, state: str, now: datetime) -> None:
        if state != self.state:
            self.state, self.since = state, now
        if state in FAILING:
            self.healthy_since = None
            if self.failing_since is None:
                self.failing_since = now
        elif state == OPERATIONAL:
            self.failing_since = None
            if self.healthy_since is None:
                self.healthy_since = now
        else:  # under maintenance: neither failing nor proving itself healthy
            self.failing_since = self.healthy_since = None


@dataclass(frozen=True)
class OpenIncident:
    id: str
    status: str
    impact: str  # the impact of its latest update: what the component was last reported as


@dataclass(frozen=True)
class ResolvedIncident:
    id: str
    resolved_at: datetime


@dataclass(frozen=True)
class Action:
    kind: str  # open | reopen | update | resolve
    status: str
    impact: str
    message: str
    title: str = ""
    incident_id: str | None = None


def _label(state: str) -> str:
    return LABELS.get(state, state).lower()


def decide(name: str, tracker: Tracker, *, detail: str, cause: str, open_incident: OpenIncident | None,
           last_resolved: ResolvedIncident | None, covered: bool, now: datetime,
           thresholds: Thresholds) -> Action | None:
    state = tracker.state
    reason = f": {detail}" if detail else ""
    if state in FAILING:
        if open_incident is not None:
            status = IDENTIFIED if cause else INVESTIGATING
            if open_incident.status == MONITORING:
                return Action("update", status, state, f"{name} is failing again ({_label(state)}){reason}.",
                              incident_id=open_incident.id)
            if state != open_incident.impact:
                status = IDENTIFIED if cause or open_incident.status == IDENTIFIED else open_incident.status
                return Action("update", status, state, f"{name} is now in {_label(state)}{reason}.",
                              incident_id=open_incident.id)
            if open_incident.status == INVESTIGATING and cause:
                return Action("update", IDENTIFIED, state, f"Cause identified: {cause}.", incident_id=open_incident.id)
            return None
        if covered or tracker.failing_since is None:
            return None
        if (now - tracker.failing_since).total_seconds() < thresholds.open_after_s:
            return None
        status = IDENTIFIED if cause else INVESTIGATING
        explained = f" Cause: {cause}." if cause else ""
        if last_resolved is not None:
            if last_resolved.resolved_at >= tracker.failing_since:
                return None  # resolved by hand during this very failure: leave it until it recovers
            if (now - last_resolved.resolved_at).total_seconds() <= thresholds.reopen_window_s:
                return Action("reopen", status, state, f"{name} is failing again ({_label(state)}){reason}; "
                              f"reopening this incident.{explained}", incident_id=last_resolved.id)
        since = tracker.failing_since.strftime("%H:%M:%S UTC")
        return Action("open", status, state, f"{name} has been in {_label(state)} since {since}{reason}.{explained}",
                      title=f"{LABELS[state]} of {name}")
    if state != OPERATIONAL or open_incident is None:
        return None
    if open_incident.status != MONITORING:
        return Action("update", MONITORING, "none", f"{name} is operational again; we are monitoring it.",
                      incident_id=open_incident.id)
    if tracker.healthy_since is not None and \
            (now - tracker.healthy_since).total_seconds() >= thresholds.resolve_after_s:
        return Action("resolve", RESOLVED, "none",
                      f"{name} has been operational for {thresholds.resolve_after_s:g} s; resolved.",
                      incident_id=open_incident.id)
    return None
