"""Training files: validated on the way in, stored whole or not at all, read back by their workspace only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import Model, TrainingFile, new_id
from openmaas.errors import InvalidRequest, NotFound
from openmaas.hub.tokenizer import tokenizer_for
from openmaas.tuning.formats import DatasetInvalid, ParsedDataset, parse_dataset

PURPOSES = ("fine-tune",)


def base_gguf_path(session: Session, model: Model) -> str:
    """The GGUF whose vocabulary a model speaks: its own, or its base's for a tuned adapter."""
    if model.source == "fine-tune" and model.base_model_id:
        base = session.get(Model, model.base_model_id)
        if base is not None:
            return base.path
    return model.path


def statistics(parsed: ParsedDataset, model: Model, gguf_path: str) -> dict:
    """Counts with the model's own tokenizer and chat template."""
    tokenizer = tokenizer_for(gguf_path)
    lengths = [len(tokenizer.encode_chat(example.messages).tokens) for example in parsed.examples]
    context = model.context_length or 0
    return {
        "format": parsed.format,
        "examples": len(lengths),
        "tokens": sum(lengths),
        "longest_example_tokens": max(lengths, default=0),
        "over_context": sum(n > context for n in lengths) if context else 0,
        "tokenizer_model": model.id,
        "context_length": context,
    }


def store_file(session: Session, files_dir: Path, workspace_id: str, filename: str, purpose: str, data: bytes,
               model: Model, max_bytes: int) -> TrainingFile:
    """Validate, count, then write the bytes and the row; a bad file leaves nothing behind."""
    if purpose not in PURPOSES:
        raise InvalidRequest(f"purpose must be one of {', '.join(PURPOSES)}.", param="purpose")
    try:
        parsed = parse_dataset(data, max_bytes=max_bytes)
    except DatasetInvalid as exc:
        error = InvalidRequest(str(exc), param="file", code="invalid_file")
        error.details = [{"line": e.line, "field": e.field, "reason": e.reason} for e in exc.errors]
        raise error from None
    stats = statistics(parsed, model, base_gguf_path(session, model))
    row = TrainingFile(id=new_id("file"), workspace_id=workspace_id, filename=filename[:500] or "upload.jsonl",
                       purpose=purpose, bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), statistics=stats,
                       path="")
    files_dir.mkdir(parents=True, exist_ok=True)
    final = files_dir / f"{row.id}.jsonl"
    partial = final.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, final)  # the file appears whole or not at all
    row.path = str(final)
    session.add(row)
    try:
        session.flush()
    except Exception:
        final.unlink(missing_ok=True)
        raise
    return row


def list_files(session: Session, workspace_id: str | None) -> list[TrainingFile]:
    query = select(TrainingFile).order_by(TrainingFile.created_at.desc(), TrainingFile.id)
    if workspace_id is not None:
        query = query.where(TrainingFile.workspace_id == workspace_id)
    return list(session.scalars(query))


def get_file(session: Session, file_id: str, workspace_id: str | None, param: str = "file_id") -> TrainingFile:
    row = session.get(TrainingFile, file_id)
    if row is None or (workspace_id is not None and row.workspace_id != workspace_id):
        raise NotFound(f"No such File object: {file_id}", param=param)
    return row


def delete_file(session: Session, file_id: str, workspace_id: str | None) -> None:
    row = get_file(session, file_id, workspace_id)
    path = Path(row.path)
    session.delete(row)
    session.flush()
    path.unlink(missing_ok=True)


def read_examples(row: TrainingFile) -> ParsedDataset:
    """A stored file, parsed again (it was valid when it came in)."""
    return parse_dataset(Path(row.path).read_bytes(), max_bytes=row.bytes + 1)


def file_dict(row: TrainingFile) -> dict:
    return {
        "id": row.id,
        "object": "file",
        "bytes": row.bytes,
        "created_at": int(row.created_at.timestamp()),
        "filename": row.filename,
        "purpose": row.purpose,
        "status": "processed",
        "status_details": None,
        "statistics": row.statistics,
    }


def preview(row: TrainingFile, limit: int) -> dict:
    parsed = read_examples(row)
    return {"object": "list", "format": parsed.format,
            "data": [{"line": e.line, "messages": e.messages} for e in parsed.examples[:limit]]}
