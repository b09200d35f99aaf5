"""GET /health: is the platform ready to answer, and if not, why."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    deployments = [{"id": d.spec.id, "model": d.spec.model_id, "state": d.state,
                    "replicas_ready": len(d.ready_replicas()), "replicas": len(d.replicas)}
                   for d in state.supervisor.deployments.values()]
    runner = state.runner
    body = {"status": "ok", "reason": None, "database": "ok", "deployments": deployments,
            "runner": {"state": "disabled" if not state.settings.runner_enabled else
                       "running" if runner.pid else "restarting", "restarts": runner.restarts}}

    def ping() -> None:
        with state.db.session() as session:
            session.execute(text("SELECT 1"))

    try:
        await anyio.to_thread.run_sync(ping)
    except Exception as exc:
        body.update(status="unavailable", database="unreachable", reason=f"database unreachable: {exc}")
        return JSONResponse(body, status_code=503)

    default = state.supervisor.deployments.get(state.default_deployment_id) if state.default_deployment_id else None
    if state.default_deployment_id and (default is None or not default.ready_replicas()):
        body.update(status="loading", reason=f"the default deployment ({state.default_deployment_id}) is not ready yet")
    elif not any(d["replicas_ready"] for d in deployments):
        body.update(status="unavailable", reason="no deployment of any model is up")
    if body["status"] != "ok":
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
