"""/v1/fine_tuning/jobs: OpenAI's fine-tuning API over the platform's own runner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from openmaas.errors import NotFound
from openmaas.gateway.auth import Caller, require_key
from openmaas.tuning.jobs import (
    cancel_job,
    checkpoint_dict,
    create_job,
    event_dict,
    get_job,
    job_dict,
    list_checkpoints,
    list_events,
    list_jobs,
)

router = APIRouter()


class Supervised(BaseModel):
    hyperparameters: dict[str, Any] = Field(default_factory=dict)


class Method(BaseModel):
    type: str = "supervised"
    supervised: Supervised | None = None


class NewJob(BaseModel):
    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = Field(default=None, strict=True, ge=0, le=2**31 - 1)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)  # n_epochs, batch_size, ..., lora_rank, lora_alpha
    method: Method | None = None  # OpenAI's newer spelling of the same hyperparameters


@router.post("/v1/fine_tuning/jobs")
def create(body: NewJob, request: Request, caller: Caller = Depends(require_key)) -> dict:
    hyperparameters = dict(body.hyperparameters)
    if body.method is not None and body.method.supervised is not None:
        hyperparameters.update(body.method.supervised.hyperparameters)
    with request.app.state.db.session() as session:
        job = create_job(session, caller.workspace_id, model=body.model, training_file=body.training_file,
                         validation_file=body.validation_file, suffix=body.suffix, seed=body.seed,
                         hyperparameters=hyperparameters)
        return job_dict(job)


@router.get("/v1/fine_tuning/jobs")
def list_(request: Request, after: str | None = None, limit: int = Query(20, ge=1, le=100),
          caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        jobs, has_more = list_jobs(session, caller.workspace_id, after, limit)
        return {"object": "list", "data": [job_dict(j) for j in jobs], "has_more": has_more}


@router.get("/v1/fine_tuning/jobs/{job_id}")
def get(job_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return job_dict(get_job(session, job_id, caller.workspace_id))


@router.post("/v1/fine_tuning/jobs/{job_id}/cancel")
def cancel(job_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return job_dict(cancel_job(session, job_id, caller.workspace_id))


@router.get("/v1/fine_tuning/jobs/{job_id}/events")
def events(job_id: str, request: Request, after: str | None = None, limit: int = Query(20, ge=1, le=1000),
           caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        job = get_job(session, job_id, caller.workspace_id)
        rows, has_more = list_events(session, job, after, limit)
        return {"object": "list", "data": [event_dict(e) for e in rows], "has_more": has_more}


@router.get("/v1/fine_tuning/jobs/{job_id}/checkpoints")
def checkpoints(job_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        job = get_job(session, job_id, caller.workspace_id)
        rows = [checkpoint_dict(c, job) for c in list_checkpoints(session, job)]
        return {"object": "list", "data": rows, "has_more": False,
                "first_id": rows[0]["id"] if rows else None, "last_id": rows[-1]["id"] if rows else None}


@router.get("/api/fine_tuning/jobs/{job_id}/evaluation")
def evaluation(job_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        job = get_job(session, job_id, caller.workspace_id)
        if job.evaluation is None:
            raise NotFound(f"The job is {job.status}; its evaluation is written when it succeeds.",
                           param="fine_tuning_job_id")
        return {"object": "fine_tuning.job.evaluation", "fine_tuning_job_id": job.id, "model": job.model,
                "fine_tuned_model": job.fine_tuned_model, **job.evaluation}
