"""Incidents: opened by the monitor or an admin, updated, resolved; every change notifies in the same transaction.

An incident belongs to the platform (workspace_id None: it affects everyone and is on the
public status page) when it names a platform component or none at all; it belongs to a
workspace when all its components are that workspace's. Each change writes an update
row and, through `notify.outbox`, the inbox messages and the deliveries it owes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import Component, Incident, IncidentComponent, IncidentUpdate, Workspace, utcnow
from openmaas.errors import InvalidRequest, NotFound
from openmaas.monitor.audience import Audience
from openmaas.monitor.notify import outbox
from openmaas.monitor.probes import loopback_url
from openmaas.monitor.states import IMPACTS, INCIDENT_STATUSES, RESOLVED, severity

OPENED, UPDATED, RESOLVED_EVENT = "incident.opened", "incident.updated", "incident.resolved"


def status_page_url(settings) -> str:
    """The public status page's address, for notifications: `public_url` + /status, else the address we listen on."""
    base = settings.public_url or loopback_url(settings.host, settings.port)
    return base.rstrip("/") + "/status"


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _check(status: str | None, impact: str | None, message: str | None) -> None:
    if status is not None and status not in INCIDENT_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(INCIDENT_STATUSES)}.", param="status")
    if impact is not None and impact not in IMPACTS:
        raise InvalidRequest(f"impact must be one of {', '.join(IMPACTS)}.", param="impact")
    if message is not None and not message.strip():
        raise InvalidRequest("message must not be empty.", param="message")


def owner_of(session: Session, component_ids: list[str]) -> str | None:
    """The workspace an incident over these components belongs to; None for the platform."""
    owners = set()
    for component_id in component_ids:
        component = session.get(Component, component_id)
        if component is None:
            raise NotFound(f"No component with id `{component_id}`.", param="components")
        owners.add(component.workspace_id)
    if not owners or None in owners:
        return None
    if len(owners) > 1:
        raise InvalidRequest("An incident covers platform components or the components of one workspace, "
                             "not several workspaces' own.", param="components")
    return owners.pop()


def open_incident(session: Session, *, title: str, status: str, impact: str, message: str,
                  component_ids: list[str], author: str, status_url: str, auto: bool = False,
                  now: datetime | None = None) -> Incident:
    _check(status, impact, message)
    if status == RESOLVED:
        raise InvalidRequest("A new incident cannot start resolved.", param="status")
    if not title or not title.strip() or len(title) > 300:
        raise InvalidRequest("title must be 1 to 300 characters.", param="title")
    now = now or utcnow()
    component_ids = list(dict.fromkeys(component_ids))
    incident = Incident(workspace_id=owner_of(session, component_ids), title=title.strip(), status=status,
                        impact=impact, auto=auto, created_by=author, created_at=now, updated_at=now)
    session.add(incident)
    session.flush()
    session.add_all(IncidentComponent(incident_id=incident.id, component_id=c) for c in component_ids)
    session.add(IncidentUpdate(incident_id=incident.id, status=status, impact=impact, message=message.strip(),
                               author=author, created_at=now))
    session.flush()
    notify(session, incident, OPENED, status_url, now)
    return incident


def update_incident(session: Session, incident: Incident, *, status: str | None, message: str, author: str,
                    status_url: str, impact: str | None = None, now: datetime | None = None) -> Incident:
    """Append an update. `resolved` resolves it; any other status on a resolved incident reopens it."""
    _check(status, impact, message)
    now = now or utcnow()
    status = status or incident.status
    impact = impact or incident.impact
    reopened = incident.resolved_at is not None and status != RESOLVED
    if incident.resolved_at is not None and status == RESOLVED:
        raise InvalidRequest("This incident is already resolved.", param="status")
    incident.status, incident.updated_at = status, now
    if severity(impact) > severity(incident.impact):
        incident.impact = impact
    incident.resolved_at = now if status == RESOLVED else None
    session.add(IncidentUpdate(incident_id=incident.id, status=status, impact=impact, message=message.strip(),
                               author=author, created_at=now))
    session.flush()
    event = RESOLVED_EVENT if status == RESOLVED else (OPENED if reopened else UPDATED)
    notify(session, incident, event, status_url, now)
    return incident


def get_incident(session: Session, incident_id: str, audience: Audience) -> Incident:
    incident = session.scalar(select(Incident).where(Incident.id == incident_id,
                                                     audience.where(Incident.workspace_id)))
    if incident is None:
        raise NotFound(f"No incident with id `{incident_id}`.", param="incident_id")
    return incident


def list_incidents(session: Session, audience: Audience, *, open_only: bool = False, since: datetime | None = None,
                   limit: int = 50) -> list[Incident]:
    query = select(Incident).where(audience.where(Incident.workspace_id))
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    if since is not None:
        query = query.where((Incident.resolved_at.is_(None)) | (Incident.resolved_at >= since))
    return list(session.scalars(query.order_by(Incident.created_at.desc(), Incident.id).limit(limit)))


def details(session: Session, incident_ids: list[str]) -> tuple[dict, dict]:
    """Each incident's components and updates (newest first)."""
    components: dict[str, list[Component]] = defaultdict(list)
    updates: dict[str, list[IncidentUpdate]] = defaultdict(list)
    if incident_ids:
        rows = session.execute(select(IncidentComponent.incident_id, Component)
                               .join(Component, Component.id == IncidentComponent.component_id)
                               .where(IncidentComponent.incident_id.in_(incident_ids)).order_by(Component.name))
        for incident_id, component in rows:
            components[incident_id].append(component)
        for update in session.scalars(select(IncidentUpdate).where(IncidentUpdate.incident_id.in_(incident_ids))
                                      .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())):
            updates[update.incident_id].append(update)
    return components, updates


def incident_dict(incident: Incident, components: list[Component], updates: list[IncidentUpdate],
                  audience: Audience, status_url: str | None = None) -> dict:
    out = {
        "id": incident.id,
        "object": "incident",
        "title": incident.title,
        "status": incident.status,
        "impact": incident.impact,
        "automatic": incident.auto,
        "workspace_id": incident.workspace_id,
        "created_at": _unix(incident.created_at),
        "updated_at": _unix(incident.updated_at),
        "resolved_at": _unix(incident.resolved_at),
        "components": [{"id": c.id, "name": c.name, "kind": c.kind, "workspace_id": c.workspace_id,
                        "state": c.state} for c in components if audience.sees(c.workspace_id)],
        "updates": [{"status": u.status, "impact": u.impact, "message": u.message, "created_at": _unix(u.created_at)}
                    for u in updates],
    }
    if status_url and incident.workspace_id is None:
        out["url"] = f"{status_url}#{incident.id}"
    return out


def incident_dicts(session: Session, incidents: list[Incident], audience: Audience,
                   status_url: str | None = None) -> list[dict]:
    components, updates = details(session, [i.id for i in incidents])
    return [incident_dict(i, components[i.id], updates[i.id], audience, status_url) for i in incidents]


def notify(session: Session, incident: Incident, event: str, status_url: str, now: datetime) -> None:
    """Write the inbox messages and outbox deliveries this change owes, in the caller's transaction."""
    components, updates = details(session, [incident.id])
    if incident.workspace_id is not None:
        workspaces = [incident.workspace_id]
    else:
        workspaces = list(session.scalars(select(Workspace.id)))
    for workspace_id in workspaces:
        audience = Audience(workspace_id)
        view = incident_dict(incident, components[incident.id], updates[incident.id], audience, status_url)
        outbox.enqueue(session, workspace_id, incident.id, event, {
            "incident": view,
            "components": view["components"],
            "status_page_url": status_url,
        }, now)
