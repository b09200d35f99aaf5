"""Fine-tuning jobs in the database: created by the API, advanced by the runner, read by their workspace.

The job row is the truth. The API only creates and cancels; the runner moves a job through
validating_files -> queued -> running -> succeeded | failed, and every write it makes is
conditional on the status it expects, so a cancel that lands mid-step is never overwritten.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openmaas.db.models import FineTuningCheckpoint, FineTuningEvent, FineTuningJob, utcnow
from openmaas.errors import InvalidRequest, NotFound
from openmaas.hub.registry import get_model
from openmaas.tuning.files import get_file
from openmaas.tuning.hyperparameters import check_requested

TERMINAL = ("succeeded", "failed", "cancelled")
_SUFFIX_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def create_job(session: Session, workspace_id: str, *, model: str, training_file: str,
               validation_file: str | None, suffix: str | None, seed: int | None,
               hyperparameters: dict) -> FineTuningJob:
    base = get_model(session, model, workspace_id)
    if base.source == "fine-tune":
        raise InvalidRequest(f"`{model}` is itself a fine-tuned adapter; fine-tune its base model "
                             f"`{base.base_model_id}` instead.", param="model")
    for param, file_id in (("training_file", training_file), ("validation_file", validation_file)):
        if file_id is None:
            continue
        try:
            get_file(session, file_id, workspace_id, param=param)
        except NotFound:
            raise InvalidRequest(f"No such File object: {file_id}", param=param, code="invalid_file_id") from None
    if suffix is not None and not _SUFFIX_RE.fullmatch(suffix):
        raise InvalidRequest("suffix is 1 to 40 letters, digits, '-' or '_'.", param="suffix")
    requested = check_requested(hyperparameters)
    job = FineTuningJob(workspace_id=workspace_id, model=base.id, training_file=training_file,
                        validation_file=validation_file, suffix=suffix,
                        seed=secrets.randbelow(2**31) if seed is None else seed,
                        requested=requested, hyperparameters={}, status="validating_files", cancel_requested=False,
                        step=0, total_steps=0, attempts=0)
    session.add(job)
    session.flush()
    add_event(session, job.id, f"Created fine-tuning job: {job.id}")
    return job


def list_jobs(session: Session, workspace_id: str, after: str | None = None, limit: int = 20) -> tuple[list, bool]:
    query = select(FineTuningJob).where(FineTuningJob.workspace_id == workspace_id)
    if after is not None:
        anchor = get_job(session, after, workspace_id)
        query = query.where(FineTuningJob.created_at <= anchor.created_at, FineTuningJob.id != anchor.id)
    rows = list(session.scalars(query.order_by(FineTuningJob.created_at.desc(), FineTuningJob.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def get_job(session: Session, job_id: str, workspace_id: str | None) -> FineTuningJob:
    job = session.get(FineTuningJob, job_id)
    if job is None or (workspace_id is not None and job.workspace_id != workspace_id):
        raise NotFound(f"No fine-tuning job with id '{job_id}'.", param="fine_tuning_job_id")
    return job


def cancel_job(session: Session, job_id: str, workspace_id: str) -> FineTuningJob:
    job = get_job(session, job_id, workspace_id)
    if job.status in TERMINAL:
        raise InvalidRequest(f"The job has already {job.status}; it cannot be cancelled.", param="fine_tuning_job_id")
    # The runner sees the status at its next poll (about a second) and stops training.
    session.execute(update(FineTuningJob).where(FineTuningJob.id == job.id)
                    .values(status="cancelled", cancel_requested=True, finished_at=utcnow()))
    add_event(session, job.id, "Job cancelled by request.")
    session.refresh(job)
    return job


def transition(session: Session, job_id: str, expect: str | tuple[str, ...], **values) -> bool:
    """Set fields only if the job is still in an expected status; False when it moved on (a cancel)."""
    expected = (expect,) if isinstance(expect, str) else expect
    result = session.execute(update(FineTuningJob).where(FineTuningJob.id == job_id,
                                                         FineTuningJob.status.in_(expected)).values(**values))
    return result.rowcount == 1


def add_event(session: Session, job_id: str, message: str, *, level: str = "info", kind: str = "message",
              data: dict | None = None) -> None:
    session.add(FineTuningEvent(job_id=job_id, level=level, type=kind, message=message, data=data))
    session.flush()


def list_events(session: Session, job: FineTuningJob, after: str | None, limit: int) -> tuple[list, bool]:
    """Newest first, like OpenAI; `after` is an event id, and the page continues with older events."""
    query = select(FineTuningEvent).where(FineTuningEvent.job_id == job.id)
    if after is not None:
        try:
            query = query.where(FineTuningEvent.id < int(after.removeprefix("ftevent-")))
        except ValueError:
            raise InvalidRequest(f"`after` is not an event id: {after}", param="after") from None
    rows = list(session.scalars(query.order_by(FineTuningEvent.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def list_checkpoints(session: Session, job: FineTuningJob) -> list[FineTuningCheckpoint]:
    query = select(FineTuningCheckpoint).where(FineTuningCheckpoint.job_id == job.id)
    return list(session.scalars(query.order_by(FineTuningCheckpoint.step.desc())))


def tuned_model_id(job: FineTuningJob) -> str:
    return f"ft:{job.model}:{job.suffix}:{job.id}" if job.suffix else f"ft:{job.model}:{job.id}"


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def job_dict(job: FineTuningJob) -> dict:
    chosen = job.hyperparameters or {}
    shown = {key: chosen.get(key, job.requested.get(key, "auto"))
             for key in ("n_epochs", "batch_size", "learning_rate_multiplier")}
    hyper = {**shown, "lora_rank": chosen.get("lora_rank", job.requested.get("lora_rank", "auto")),
             "lora_alpha": chosen.get("lora_alpha", job.requested.get("lora_alpha", "auto"))}
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "model": job.model,
        "created_at": _ts(job.created_at),
        "finished_at": _ts(job.finished_at),
        "estimated_finish": _ts(job.estimated_finish) if job.status == "running" else None,
        "fine_tuned_model": job.fine_tuned_model,
        "organization_id": job.workspace_id,
        "result_files": [],
        "status": job.status,
        "training_file": job.training_file,
        "validation_file": job.validation_file,
        "hyperparameters": hyper,
        "method": {"type": "supervised", "supervised": {"hyperparameters": shown}},
        "trained_tokens": job.trained_tokens,
        "error": job.error,
        "seed": job.seed,
        "suffix": job.suffix,
        "integrations": [],
        # OpenMaaS extensions
        "progress": {"step": job.step, "total_steps": job.total_steps},
        "choices": chosen.get("reasons"),
        "learning_rate": chosen.get("learning_rate"),
    }


def event_dict(event: FineTuningEvent) -> dict:
    return {"object": "fine_tuning.job.event", "id": f"ftevent-{event.id}", "created_at": _ts(event.created_at),
            "level": event.level, "message": event.message, "type": event.type, "data": event.data or {}}


def checkpoint_dict(checkpoint: FineTuningCheckpoint, job: FineTuningJob) -> dict:
    return {"object": "fine_tuning.job.checkpoint", "id": checkpoint.id, "created_at": _ts(checkpoint.created_at),
            "fine_tuned_model_checkpoint": f"{tuned_model_id(job)}:ckpt-step-{checkpoint.step}",
            "step_number": checkpoint.step, "metrics": checkpoint.metrics, "fine_tuning_job_id": job.id}

