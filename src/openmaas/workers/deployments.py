"""Deployment rows: what should be running. The supervisor makes it so."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import Deployment, Model
from openmaas.errors import InvalidRequest, NotFound
from openmaas.workers.supervisor import DeploymentSpec, RunningDeployment

MAX_REPLICAS = 8


def create_deployment(session: Session, model: Model, workspace_id: str | None, replicas: int, n_ctx: int) -> Deployment:
    if not 1 <= replicas <= MAX_REPLICAS:
        raise InvalidRequest(f"replicas must be between 1 and {MAX_REPLICAS}.", param="replicas")
    if model.context_length and n_ctx > model.context_length:
        raise InvalidRequest(f"n_ctx {n_ctx} is larger than the model's context length {model.context_length}.",
                             param="n_ctx")
    deployment = Deployment(model_id=model.id, workspace_id=workspace_id, replicas=replicas, n_ctx=n_ctx)
    session.add(deployment)
    session.flush()
    return deployment


def list_deployments(session: Session, workspace_id: str | None, active_only: bool = True) -> list[Deployment]:
    """Platform deployments and the caller's own; every one when `workspace_id` is None."""
    query = select(Deployment).order_by(Deployment.created_at)
    if active_only:
        query = query.where(Deployment.status == "active")
    if workspace_id is not None:
        query = query.where((Deployment.workspace_id.is_(None)) | (Deployment.workspace_id == workspace_id))
    return list(session.scalars(query))


def get_deployment(session: Session, deployment_id: str, workspace_id: str | None) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None or (workspace_id is not None and deployment.workspace_id not in (None, workspace_id)):
        raise NotFound(f"No deployment with id '{deployment_id}'.", param="deployment_id")
    return deployment


def spec_of(session: Session, deployment: Deployment) -> DeploymentSpec:
    model = session.get(Model, deployment.model_id)
    return DeploymentSpec(id=deployment.id, model_id=model.id, model_path=model.path, replicas=deployment.replicas,
                          n_ctx=deployment.n_ctx, workspace_id=deployment.workspace_id)


def deployment_dict(deployment: Deployment, running: RunningDeployment | None) -> dict:
    replicas = running.replicas if running else []
    return {
        "id": deployment.id,
        "object": "deployment",
        "model": deployment.model_id,
        "workspace_id": deployment.workspace_id,
        "engine": "llama.cpp",
        "n_ctx": deployment.n_ctx,
        "status": deployment.status,
        "state": running.state if running else "stopped",
        "replicas": deployment.replicas,
        "replicas_ready": sum(r.state == "ready" for r in replicas),
        "replica_states": [{"index": r.index, "state": r.state, "pid": r.pid, "restarts": r.restarts,
                            "last_error": r.last_error or None} for r in replicas],
        "created_at": int(deployment.created_at.timestamp()),
    }
