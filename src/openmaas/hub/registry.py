"""The model registry: cards in the database, platform-wide or owned by a workspace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openmaas.db.models import Model, Workspace
from openmaas.errors import Conflict, InvalidRequest, ModelNotFound, NotFound
from openmaas.hub.builtin import BUILTIN_MODEL_ID, builtin_model_path
from openmaas.hub.card import ModelCard, read_card

PLATFORM_OWNER = "openmaas"
_NAME_RE = re.compile(r"[A-Za-z0-9._:-]{1,200}")


def _apply_card(model: Model, card: ModelCard) -> None:
    model.family = card.family
    model.architecture = card.architecture
    model.parameters = card.parameters
    model.quantization = card.quantization
    model.context_length = card.context_length
    model.chat_template = card.chat_template
    model.license = card.license
    model.path = str(card.path)
    model.sha256 = card.sha256
    model.size_bytes = card.size_bytes
    model.extra = dict(card.extra)


def ensure_builtin(session: Session) -> Model:
    """The built-in model's row, registered (or re-read, if its file moved or changed) as needed."""
    path = builtin_model_path().resolve()
    model = session.get(Model, BUILTIN_MODEL_ID)
    if model is not None and model.path == str(path) and model.size_bytes == path.stat().st_size:
        return model
    card = read_card(path)
    if model is None:
        model = Model(id=BUILTIN_MODEL_ID, workspace_id=None, source="builtin")
        session.add(model)
    _apply_card(model, card)
    session.flush()
    return model


def register_model(
    session: Session,
    path: str | Path,
    model_id: str,
    *,
    source: str,
    workspace_id: str | None = None,
    base_model_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Model:
    """Add the GGUF file at `path` to the hub as `model_id`; `extra` adds to the card's own metadata."""
    if not isinstance(model_id, str) or not _NAME_RE.fullmatch(model_id):
        raise InvalidRequest(
            "Model names are 1 to 200 characters of letters, digits, '.', '_', ':' and '-'.", param="name"
        )
    if workspace_id is not None and session.get(Workspace, workspace_id) is None:
        raise NotFound(f"No workspace with id `{workspace_id}`.", param="workspace_id")
    if session.get(Model, model_id) is not None:
        raise Conflict(f"A model named `{model_id}` already exists.", param="name")
    card = read_card(path)
    model = Model(id=model_id, workspace_id=workspace_id, source=source, base_model_id=base_model_id)
    _apply_card(model, card)
    model.extra = {**card.extra, **(extra or {})}
    session.add(model)
    try:
        session.flush()
    except IntegrityError as exc:  # registered concurrently by another process
        raise Conflict(f"A model named `{model_id}` already exists.", param="name") from exc
    return model


def register_adapter(session: Session, path: str | Path, model_id: str, base: Model, workspace_id: str,
                     extra: dict[str, Any]) -> Model:
    """A tuned LoRA adapter (a small GGUF) as a model of its own, speaking its base's template and context."""
    model = register_model(session, path, model_id, source="fine-tune", workspace_id=workspace_id,
                           base_model_id=base.id, extra=extra)
    model.family, model.architecture = base.family, base.architecture
    model.context_length, model.chat_template, model.license = base.context_length, base.chat_template, base.license
    model.extra = {**model.extra, "adapter_parameters": model.parameters, "adapter_size_bytes": model.size_bytes}
    model.parameters, model.quantization = base.parameters, f"{base.quantization} + LoRA"
    session.flush()
    return model


def import_model(session: Session, path: str | Path, name: str, workspace_id: str | None = None) -> Model:
    return register_model(session, path, name, source="import", workspace_id=workspace_id)


def _visible_to(workspace_id: str | None) -> Any:
    """Platform models and the workspace's own; everything for None (admin)."""
    if workspace_id is None:
        return true()
    return or_(Model.workspace_id.is_(None), Model.workspace_id == workspace_id)


def list_models(session: Session, workspace_id: str | None) -> list[Model]:
    query = select(Model).where(_visible_to(workspace_id)).order_by(Model.created_at, Model.id)
    return list(session.scalars(query))


def get_model(session: Session, model_id: str, workspace_id: str | None) -> Model:
    model = session.scalar(select(Model).where(Model.id == model_id, _visible_to(workspace_id)))
    if model is None:
        raise ModelNotFound(f"The model `{model_id}` does not exist or you do not have access to it.", param="model")
    return model


def card_dict(model: Model) -> dict:
    return {
        "id": model.id,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": model.workspace_id or PLATFORM_OWNER,
        "family": model.family,
        "architecture": model.architecture,
        "parameters": model.parameters,
        "quantization": model.quantization,
        "context_length": model.context_length,
        "chat_template": model.chat_template,
        "license": model.license,
        "path": model.path,
        "sha256": model.sha256,
        "size_bytes": model.size_bytes,
        "source": model.source,
        "base_model": model.base_model_id,
        "extra": model.extra,
    }
