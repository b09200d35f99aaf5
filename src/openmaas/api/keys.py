"""Workspaces and API keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openmaas.gateway.auth import Caller, require_key
from openmaas.schemas.openai import Text
from openmaas.gateway.keys import create_key, create_workspace, key_dict, list_keys, list_workspaces, revoke_key

router = APIRouter()


class NewKey(BaseModel):
    name: Text = Field(default="", max_length=200)
    workspace_id: str | None = None  # an admin may create keys in any workspace
    admin: bool = False


@router.post("/api/keys", status_code=201)
def create(body: NewKey, request: Request, caller: Caller = Depends(require_key)) -> dict:
    workspace_id = caller.require_workspace(body.workspace_id)
    if body.admin:
        caller.require_admin()
    with request.app.state.db.session() as session:
        key, plaintext = create_key(session, workspace_id, name=body.name, is_admin=body.admin)
        return {**key_dict(key), "key": plaintext}  # the only time the key is shown


@router.get("/api/keys")
def list_(request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return {"object": "list", "data": [key_dict(k) for k in list_keys(session, caller.scope())]}


@router.delete("/api/keys/{key_id}")
def revoke(key_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return key_dict(revoke_key(session, key_id, caller.scope()))


class NewWorkspace(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _workspace_dict(ws) -> dict:
    return {"id": ws.id, "object": "workspace", "name": ws.name, "created_at": int(ws.created_at.timestamp())}


@router.post("/api/workspaces", status_code=201)
def new_workspace(body: NewWorkspace, request: Request, caller: Caller = Depends(require_key)) -> dict:
    caller.require_admin()
    with request.app.state.db.session() as session:
        return _workspace_dict(create_workspace(session, body.name))


@router.get("/api/workspaces")
def workspaces(request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        visible = [w for w in list_workspaces(session) if caller.is_admin or w.id == caller.workspace_id]
        return {"object": "list", "data": [_workspace_dict(w) for w in visible]}
