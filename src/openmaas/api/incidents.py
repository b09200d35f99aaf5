"""/api/incidents and /api/maintenance: read by every key (its own and platform ones), written by admins."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from openmaas.db.models import utcnow
from openmaas.gateway.auth import Caller, require_key
from openmaas.monitor import incidents, maintenance
from openmaas.monitor.audience import audience_of
from openmaas.monitor.states import INVESTIGATING, MAJOR, RESOLVED
from openmaas.schemas.openai import Text

router = APIRouter()


class NewIncident(BaseModel):
    title: Text = Field(min_length=1, max_length=300)
    message: Text = Field(min_length=1, max_length=10_000)
    status: str = INVESTIGATING
    impact: str = MAJOR
    components: list[str] = Field(default_factory=list, max_length=100)


class IncidentChange(BaseModel):
    message: Text = Field(min_length=1, max_length=10_000)
    status: str | None = None
    impact: str | None = None


class Resolution(BaseModel):
    message: Text = Field(default="This incident has been resolved.", min_length=1, max_length=10_000)


class NewMaintenance(BaseModel):
    title: Text = Field(min_length=1, max_length=300)
    description: Text = Field(default="", max_length=10_000)
    starts_at: datetime
    ends_at: datetime
    components: list[str] = Field(min_length=1, max_length=100)


def _wake(request: Request) -> None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def _one(session, incident, caller: Caller, status_url: str) -> dict:
    return incidents.incident_dicts(session, [incident], audience_of(caller), status_url)[0]


@router.get("/api/incidents")
def list_incidents(request: Request, state: Literal["open", "all"] = "all", limit: int = Query(50, ge=1, le=500),
                   caller: Caller = Depends(require_key)) -> dict:
    status_url = incidents.status_page_url(request.app.state.settings)
    audience = audience_of(caller)
    with request.app.state.db.session() as session:
        rows = incidents.list_incidents(session, audience, open_only=state == "open", limit=limit)
        return {"object": "list", "data": incidents.incident_dicts(session, rows, audience, status_url)}


@router.post("/api/incidents", status_code=201)
def create_incident(body: NewIncident, request: Request, caller: Caller = Depends(require_key)) -> dict:
    caller.require_admin()
    status_url = incidents.status_page_url(request.app.state.settings)
    with request.app.state.db.session() as session:
        incident = incidents.open_incident(session, title=body.title, status=body.status, impact=body.impact,
                                           message=body.message, component_ids=body.components,
                                           author=caller.key_id, status_url=status_url)
        out = _one(session, incident, caller, status_url)
    _wake(request)
    return out


@router.get("/api/incidents/{incident_id}")
def get_incident(incident_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    status_url = incidents.status_page_url(request.app.state.settings)
    with request.app.state.db.session() as session:
        return _one(session, incidents.get_incident(session, incident_id, audience_of(caller)), caller, status_url)


def _change(request: Request, caller: Caller, incident_id: str, status: str | None, message: str,
            impact: str | None) -> dict:
    caller.require_admin()
    status_url = incidents.status_page_url(request.app.state.settings)
    with request.app.state.db.session() as session:
        incident = incidents.get_incident(session, incident_id, audience_of(caller))
        incidents.update_incident(session, incident, status=status, message=message, impact=impact,
                                  author=caller.key_id, status_url=status_url)
        out = _one(session, incident, caller, status_url)
    _wake(request)
    return out


@router.post("/api/incidents/{incident_id}/updates")
def update_incident(incident_id: str, body: IncidentChange, request: Request,
                    caller: Caller = Depends(require_key)) -> dict:
    """Post an update: a new status (identified, monitoring, resolved, or investigating to reopen) and a message."""
    return _change(request, caller, incident_id, body.status, body.message, body.impact)


@router.post("/api/incidents/{incident_id}/resolve")
def resolve_incident(incident_id: str, request: Request, body: Resolution | None = None,
                     caller: Caller = Depends(require_key)) -> dict:
    return _change(request, caller, incident_id, RESOLVED, (body or Resolution()).message, None)


@router.get("/api/maintenance")
def list_maintenance(request: Request, include: Literal["upcoming", "all"] = "upcoming",
                     caller: Caller = Depends(require_key)) -> dict:
    audience, now = audience_of(caller), utcnow()
    with request.app.state.db.session() as session:
        windows = maintenance.list_windows(session, audience, ending_after=now if include == "upcoming" else None)
        components = maintenance.components_of(session, [w.id for w in windows])
        return {"object": "list", "data": [maintenance.window_dict(w, components[w.id], audience, now)
                                           for w in windows]}


@router.post("/api/maintenance", status_code=201)
def schedule_maintenance(body: NewMaintenance, request: Request, caller: Caller = Depends(require_key)) -> dict:
    caller.require_admin()
    audience = audience_of(caller)
    with request.app.state.db.session() as session:
        window = maintenance.schedule(session, title=body.title, description=body.description,
                                      starts_at=body.starts_at, ends_at=body.ends_at, component_ids=body.components,
                                      author=caller.key_id)
        return maintenance.window_dict(window, maintenance.components_of(session, [window.id])[window.id], audience,
                                       utcnow())


@router.delete("/api/maintenance/{maintenance_id}")
def cancel_maintenance(maintenance_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    caller.require_admin()
    audience = audience_of(caller)
    with request.app.state.db.session() as session:
        window = maintenance.cancel(session, maintenance_id, audience)
        return maintenance.window_dict(window, maintenance.components_of(session, [window.id])[window.id], audience,
                                       utcnow())
