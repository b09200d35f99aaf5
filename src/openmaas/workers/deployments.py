"""Deployment rows: what should be running. The supervisor makes it so."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.config import Settings
from openmaas.db.models import Deployment, Model
from openmaas.errors import InvalidRequest, NotFound
from openmaas.workers.protocol import WorkerHealth
from openmaas.workers.supervisor import DeploymentSpec, RunningDeployment

MAX_REPLICAS = 8
MAX_SLOTS = 64


@dataclass(frozen=True)
class EngineSettings:
    n_ctx: int  # tokens per sequence
    slots: int = 8
    max_waiting: int = 64
    max_queue_wait_s: float = 30.0


def engine_settings(settings: Settings, model: Model, n_ctx: int | None = None, slots: int | None = None,
                    max_waiting: int | None = None, max_queue_wait_s: float | None = None) -> EngineSettings:
    """What a deployment request names, else the server's defaults (n_ctx capped at the model's context)."""
    return EngineSettings(
        n_ctx=n_ctx or min(settings.n_ctx, model.context_length or settings.n_ctx),
        slots=settings.slots if slots is None else slots,
        max_waiting=settings.max_waiting if max_waiting is None else max_waiting,
        max_queue_wait_s=settings.max_queue_wait_s if max_queue_wait_s is None else max_queue_wait_s,
    )


def check_replicas(replicas: int) -> None:
    if not 1 <= replicas <= MAX_REPLICAS:
        raise InvalidRequest(f"replicas must be between 1 and {MAX_REPLICAS}.", param="replicas")


def create_deployment(session: Session, model: Model, workspace_id: str | None, replicas: int,
                      engine: EngineSettings) -> Deployment:
    check_replicas(replicas)
    if model.context_length and engine.n_ctx > model.context_length:
        raise InvalidRequest(f"n_ctx {engine.n_ctx} is larger than the model's context length "
                             f"{model.context_length}.", param="n_ctx")
    if not 1 <= engine.slots <= MAX_SLOTS:
        raise InvalidRequest(f"slots must be between 1 and {MAX_SLOTS}.", param="slots")
    if engine.max_waiting < 0 or engine.max_queue_wait_s <= 0:
        raise InvalidRequest("max_waiting must be >= 0 and max_queue_wait_s > 0.", param="max_waiting")
    deployment = Deployment(model_id=model.id, workspace_id=workspace_id, replicas=replicas, n_ctx=engine.n_ctx,
                            slots=engine.slots, max_waiting=engine.max_waiting,
                            max_queue_wait_s=engine.max_queue_wait_s)
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
    model_path, lora_path = model.path, None
    if model.source == "fine-tune":
        # A tuned model is an adapter over its base. The base file is memory-mapped, so every
        # replica of every tuned model of one base shares the base's weights in memory.
        model_path, lora_path = session.get(Model, model.base_model_id).path, model.path
    return DeploymentSpec(id=deployment.id, model_id=model.id, model_path=model_path, replicas=deployment.replicas,
                          n_ctx=deployment.n_ctx, workspace_id=deployment.workspace_id, slots=deployment.slots,
                          max_waiting=deployment.max_waiting, max_queue_wait_s=deployment.max_queue_wait_s,
                          lora_path=lora_path)


def _load(health: WorkerHealth | None) -> dict:
    """A replica's load, from its last health probe."""
    fields = ("running", "waiting", "kv_cells_used", "kv_cells_total", "generated_tokens")
    return {f: getattr(health, f) if health else 0 for f in fields}


def deployment_dict(deployment: Deployment, running: RunningDeployment | None) -> dict:
    replicas = running.replicas if running else []
    return {
        "id": deployment.id,
        "object": "deployment",
        "model": deployment.model_id,
        "workspace_id": deployment.workspace_id,
        "engine": "llama.cpp",
        "n_ctx": deployment.n_ctx,
        "slots": deployment.slots,
        "max_waiting": deployment.max_waiting,
        "max_queue_wait_s": deployment.max_queue_wait_s,
        "status": deployment.status,
        "state": running.state if running else "stopped",
        "replicas": deployment.replicas,
        "replicas_ready": sum(r.state == "ready" for r in replicas),
        "replica_states": [{"index": r.index, "state": r.state, "pid": r.pid, "restarts": r.restarts,
                            "last_error": r.last_error or None,
                            **_load(r.health)} for r in replicas],
        "created_at": int(deployment.created_at.timestamp()),
    }
