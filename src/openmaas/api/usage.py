"""GET /api/usage: tokens and requests aggregated by day, model and key."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from fastapi import APIRouter, Depends, Query, Request

from openmaas.errors import InvalidRequest
from openmaas.gateway.auth import Caller, require_key
from openmaas.gateway.metering import aggregate_usage

router = APIRouter()


def parse_day_or_time(value: str | None, param: str, end: bool = False) -> datetime | None:
    """ISO date (a whole UTC day; as an end it includes that day) or ISO datetime."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.utc)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise InvalidRequest(f"Invalid value for '{param}': expected an ISO date or datetime, got {value!r}.",
                             param=param) from None


@router.get("/api/usage")
def usage(
    request: Request,
    caller: Caller = Depends(require_key),
    start: str | None = Query(None, description="ISO date or datetime (inclusive)"),
    end: str | None = Query(None, description="ISO date (inclusive) or datetime (exclusive)"),
    group_by: str = Query("day,model", description="comma-separated: day, model, key"),
    workspace_id: str | None = Query(None, description="admin only: another workspace; default all for admin"),
) -> dict:
    scope = caller.require_workspace(workspace_id) if workspace_id else caller.scope()
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    with request.app.state.db.session() as session:
        rows = aggregate_usage(session, scope, parse_day_or_time(start, "start"),
                               parse_day_or_time(end, "end", end=True), groups)
    return {"object": "list", "group_by": groups, "data": rows}
