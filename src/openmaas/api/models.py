"""The hub over HTTP: OpenAI's /v1/models and the fuller cards under /api/models."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openmaas.gateway.auth import Caller, require_key
from openmaas.hub.registry import card_dict, get_model, import_model, list_models
from openmaas.schemas.openai import ModelList, ModelObject

router = APIRouter()


def _model_object(model) -> ModelObject:
    card = card_dict(model)
    return ModelObject(id=card["id"], created=card["created"], owned_by=card["owned_by"])


@router.get("/v1/models")
def openai_list_models(request: Request, caller: Caller = Depends(require_key)) -> ModelList:
    with request.app.state.db.session() as session:
        return ModelList(data=[_model_object(m) for m in list_models(session, caller.scope())])


@router.get("/v1/models/{model_id:path}")
def openai_get_model(model_id: str, request: Request, caller: Caller = Depends(require_key)) -> ModelObject:
    with request.app.state.db.session() as session:
        return _model_object(get_model(session, model_id, caller.scope()))


@router.get("/api/models")
def list_cards(request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return {"object": "list", "data": [card_dict(m) for m in list_models(session, caller.scope())]}


@router.get("/api/models/{model_id:path}")
def get_card(model_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return card_dict(get_model(session, model_id, caller.scope()))


class ImportModel(BaseModel):
    path: str = Field(min_length=1)
    name: str = Field(min_length=1)
    workspace_id: str | None = None  # owner; none for a platform model


@router.post("/api/models", status_code=201)
def import_card(body: ImportModel, request: Request, caller: Caller = Depends(require_key)) -> dict:
    """Register a GGUF file that is already on the server's disk (admin only)."""
    caller.require_admin()
    with request.app.state.db.session() as session:
        return card_dict(import_model(session, body.path, body.name, workspace_id=body.workspace_id))
