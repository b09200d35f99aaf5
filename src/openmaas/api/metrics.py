"""GET /metrics: Prometheus text format, for an admin key (it names every deployment)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from openmaas.gateway.auth import Caller, require_key

router = APIRouter()


@router.get("/metrics")
async def metrics(request: Request, caller: Caller = Depends(require_key)) -> Response:
    caller.require_admin()
    await request.app.state.supervisor.refresh()
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
