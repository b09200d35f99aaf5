"""/api/deployments: run a model on N worker replicas, list them, scale them, stop them."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openmaas.db.models import Deployment
from openmaas.gateway.auth import Caller, require_key
from openmaas.hub.registry import get_model
from openmaas.errors import InvalidRequest
from openmaas.workers.deployments import (
    EngineSettings,
    check_replicas,
    create_deployment,
    deployment_dict,
    engine_settings,
    get_deployment,
    list_deployments,
    spec_of,
)
from openmaas.workers.supervisor import DeploymentSpec

router = APIRouter()


class NewDeployment(BaseModel):
    model: str = Field(min_length=1)
    replicas: int = Field(default=1, strict=True)
    n_ctx: int | None = Field(default=None, strict=True, ge=128, le=1 << 20)  # tokens per sequence
    slots: int | None = Field(default=None, strict=True)  # sequences decoded together
    max_waiting: int | None = Field(default=None, strict=True)  # queued requests per replica before 429
    max_queue_wait_s: float | None = Field(default=None, gt=0, le=3600)
    workspace_id: str | None = None  # admin only; a platform deployment when an admin names none


@router.post("/api/deployments", status_code=201)
async def create(body: NewDeployment, request: Request, caller: Caller = Depends(require_key)) -> dict:
    """Platform deployments (serving everyone) are an admin's; a workspace deploys for itself."""
    app = request.app
    owner = caller.require_workspace(body.workspace_id) if (body.workspace_id or not caller.is_admin) else None

    def record() -> tuple[Deployment, DeploymentSpec]:
        with app.state.db.session() as session:
            model = get_model(session, body.model, caller.scope())
            # A workspace's own model only ever serves that workspace.
            workspace_id = model.workspace_id if model.workspace_id is not None else owner
            deployment = create_deployment(session, model, workspace_id, body.replicas,
                                           engine_settings(app.state.settings, model, **body.model_dump(
                                               include=set(EngineSettings.__dataclass_fields__))))
            return deployment, spec_of(session, deployment)

    deployment, spec = await anyio.to_thread.run_sync(record)
    running = await app.state.supervisor.deploy(spec)
    return deployment_dict(deployment, running)


@router.get("/api/deployments")
def list_(request: Request, caller: Caller = Depends(require_key)) -> dict:
    supervisor = request.app.state.supervisor
    with request.app.state.db.session() as session:
        return {"object": "list", "data": [deployment_dict(d, supervisor.deployments.get(d.id))
                                           for d in list_deployments(session, caller.scope())]}


@router.get("/api/deployments/{deployment_id}")
def get(deployment_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        deployment = get_deployment(session, deployment_id, caller.scope())
        return deployment_dict(deployment, request.app.state.supervisor.deployments.get(deployment.id))


class Scale(BaseModel):
    replicas: int = Field(strict=True)


@router.patch("/api/deployments/{deployment_id}")
async def scale(deployment_id: str, body: Scale, request: Request, caller: Caller = Depends(require_key)) -> dict:
    """Change the number of replicas; running replicas keep serving while others start or stop."""
    def update() -> tuple[Deployment, DeploymentSpec]:
        with request.app.state.db.session() as session:
            deployment = get_deployment(session, deployment_id, caller.scope())
            if deployment.workspace_id is None:
                caller.require_admin()
            if deployment.status != "active":
                raise InvalidRequest("The deployment is stopped; create a new one.", param="deployment_id")
            check_replicas(body.replicas)
            deployment.replicas = body.replicas
            session.flush()
            return deployment, spec_of(session, deployment)

    deployment, spec = await anyio.to_thread.run_sync(update)
    running = await request.app.state.supervisor.scale(spec)
    return deployment_dict(deployment, running)


@router.delete("/api/deployments/{deployment_id}")
async def stop(deployment_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    def mark_stopped() -> Deployment:
        with request.app.state.db.session() as session:
            deployment = get_deployment(session, deployment_id, caller.scope())
            if deployment.workspace_id is None:
                caller.require_admin()
            deployment.status = "stopped"
            return deployment

    deployment = await anyio.to_thread.run_sync(mark_stopped)
    await request.app.state.supervisor.undeploy(deployment_id)
    return deployment_dict(deployment, None)
