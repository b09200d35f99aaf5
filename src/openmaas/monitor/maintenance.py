"""Scheduled maintenance windows: their components show `under_maintenance`, and their time is left out of uptime."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import Component, Maintenance, MaintenanceComponent, utcnow
from openmaas.errors import InvalidRequest, NotFound
from openmaas.monitor.audience import Audience
from openmaas.monitor.incidents import owner_of
from openmaas.monitor.uptime import Window

MAX_WINDOW = timedelta(days=31)


def end_of(window: Maintenance) -> datetime:
    """When the window ends: as scheduled, or when it was cancelled if that came first."""
    if window.cancelled_at is not None and window.cancelled_at < window.ends_at:
        return max(window.starts_at, window.cancelled_at)
    return window.ends_at


def schedule(session: Session, *, title: str, description: str, starts_at: datetime, ends_at: datetime,
             component_ids: list[str], author: str) -> Maintenance:
    if not title or not title.strip() or len(title) > 300:
        raise InvalidRequest("title must be 1 to 300 characters.", param="title")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidRequest("starts_at and ends_at need a timezone (for example 2026-01-01T02:00:00Z).",
                             param="starts_at")
    if ends_at <= starts_at:
        raise InvalidRequest("ends_at must be after starts_at.", param="ends_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise InvalidRequest("A maintenance window lasts at most 31 days.", param="ends_at")
    component_ids = list(dict.fromkeys(component_ids))
    if not component_ids:
        raise InvalidRequest("Name the components under maintenance.", param="components")
    window = Maintenance(workspace_id=owner_of(session, component_ids), title=title.strip(),
                        description=(description or "").strip(), starts_at=starts_at, ends_at=ends_at,
                        created_by=author)
    session.add(window)
    session.flush()
    session.add_all(MaintenanceComponent(maintenance_id=window.id, component_id=c) for c in component_ids)
    session.flush()
    return window


def cancel(session: Session, maintenance_id: str, audience: Audience) -> Maintenance:
    window = get(session, maintenance_id, audience)
    if window.cancelled_at is None:
        window.cancelled_at = utcnow()
        session.flush()
    return window


def get(session: Session, maintenance_id: str, audience: Audience) -> Maintenance:
    window = session.scalar(select(Maintenance).where(Maintenance.id == maintenance_id,
                                                      audience.where(Maintenance.workspace_id)))
    if window is None:
        raise NotFound(f"No maintenance window with id `{maintenance_id}`.", param="maintenance_id")
    return window


def list_windows(session: Session, audience: Audience, *, ending_after: datetime | None = None,
                 limit: int = 100) -> list[Maintenance]:
    """Windows not over yet (or all), soonest first; cancelled ones are left out."""
    query = select(Maintenance).where(audience.where(Maintenance.workspace_id), Maintenance.cancelled_at.is_(None))
    if ending_after is not None:
        query = query.where(Maintenance.ends_at > ending_after)
    return list(session.scalars(query.order_by(Maintenance.starts_at, Maintenance.id).limit(limit)))


def components_of(session: Session, maintenance_ids: list[str]) -> dict[str, list[Component]]:
    out: dict[str, list[Component]] = defaultdict(list)
    if maintenance_ids:
        for maintenance_id, component in session.execute(
                select(MaintenanceComponent.maintenance_id, Component)
                .join(Component, Component.id == MaintenanceComponent.component_id)
                .where(MaintenanceComponent.maintenance_id.in_(maintenance_ids)).order_by(Component.name)):
            out[maintenance_id].append(component)
    return out


def windows_between(session: Session, start: datetime, end: datetime) -> list[Window]:
    """The maintenance windows overlapping [start, end), as the uptime functions take them."""
    rows = list(session.scalars(select(Maintenance).where(Maintenance.starts_at < end, Maintenance.ends_at > start)))
    components = components_of(session, [w.id for w in rows])
    return [Window(w.starts_at, end_of(w), frozenset(c.id for c in components[w.id])) for w in rows
            if end_of(w) > w.starts_at]


def under_maintenance(session: Session, now: datetime) -> set[str]:
    """The ids of the components under maintenance right now."""
    return {cid for w in windows_between(session, now, now + timedelta(microseconds=1)) if w.start <= now < w.end
            for cid in w.component_ids}


def window_dict(window: Maintenance, components: list[Component], audience: Audience, now: datetime) -> dict:
    end = end_of(window)
    return {
        "id": window.id,
        "object": "maintenance",
        "title": window.title,
        "description": window.description,
        "workspace_id": window.workspace_id,
        "starts_at": int(window.starts_at.timestamp()),
        "ends_at": int(end.timestamp()),
        "status": "cancelled" if window.cancelled_at is not None else
                  ("in_progress" if window.starts_at <= now < end else ("completed" if end <= now else "scheduled")),
        "components": [{"id": c.id, "name": c.name, "kind": c.kind} for c in components
                       if audience.sees(c.workspace_id)],
    }
