"""The status page: /status (HTML), /status.json and /status/feed.atom for everyone, /api/status for a workspace.

The public routes take no key and show platform components only; a workspace's own
deployments and their incidents appear only in its authenticated /api/status.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from openmaas.db.models import utcnow
from openmaas.gateway.auth import Caller, require_key
from openmaas.monitor import incidents
from openmaas.monitor.audience import PUBLIC, Audience, audience_of
from openmaas.monitor.feed import render_atom
from openmaas.monitor.status_page import render_html, snapshot

router = APIRouter()
NO_CACHE = {"Cache-Control": "no-cache"}


def _status_url(request: Request) -> str:
    return incidents.status_page_url(request.app.state.settings)


def _snapshot(request: Request, audience: Audience) -> dict:
    state = request.app.state
    monitor = getattr(state, "monitor", None)
    with state.db.session() as session:
        return snapshot(session, audience, monitor.uptime if monitor else None, _status_url(request), utcnow())


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_html(request: Request) -> HTMLResponse:
    return HTMLResponse(render_html(_snapshot(request, PUBLIC), _status_url(request)), headers=NO_CACHE)


@router.get("/status.json")
def status_json(request: Request) -> JSONResponse:
    return JSONResponse(_snapshot(request, PUBLIC), headers=NO_CACHE)


@router.get("/status/feed.atom", include_in_schema=False)
def status_feed(request: Request) -> Response:
    status_url = _status_url(request)
    with request.app.state.db.session() as session:
        entries = incidents.incident_dicts(session, incidents.list_incidents(session, PUBLIC, limit=50), PUBLIC,
                                           status_url)
    return Response(render_atom(entries, status_url, int(utcnow().timestamp())),
                    media_type="application/atom+xml", headers=NO_CACHE)


@router.get("/api/status")
def workspace_status(request: Request, workspace_id: str | None = Query(default=None),
                     caller: Caller = Depends(require_key)) -> dict:
    """The platform's components and the caller's own; an admin sees all, or one workspace's view with ?workspace_id."""
    audience = audience_of(caller)
    if workspace_id is not None:
        audience = Audience(caller.require_workspace(workspace_id))
    return _snapshot(request, audience)
