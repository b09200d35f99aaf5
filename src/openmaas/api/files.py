"""/v1/files: training data, validated on upload, private to the workspace that sent it."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from openmaas.gateway.auth import Caller, require_key
from openmaas.hub.builtin import BUILTIN_MODEL_ID
from openmaas.hub.registry import get_model
from openmaas.tuning.files import delete_file, file_dict, get_file, list_files, preview, store_file

router = APIRouter()


@router.post("/v1/files")
async def upload(request: Request, file: UploadFile = File(...), purpose: str = Form(...),
                 model: str | None = Form(None), caller: Caller = Depends(require_key)) -> dict:
    """`model` (an OpenMaaS extension) names the tokenizer the statistics count with."""
    settings = request.app.state.settings
    data = await file.read(settings.max_file_bytes + 1)

    def store() -> dict:
        with request.app.state.db.session() as session:
            target = get_model(session, model or BUILTIN_MODEL_ID, caller.scope())
            row = store_file(session, settings.home / "files", caller.workspace_id, file.filename or "",
                             purpose, data, target, settings.max_file_bytes)
            return file_dict(row)

    return await anyio.to_thread.run_sync(store)


@router.get("/v1/files")
def list_(request: Request, purpose: str | None = None, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        rows = [r for r in list_files(session, caller.workspace_id) if purpose in (None, r.purpose)]
        return {"object": "list", "data": [file_dict(r) for r in rows], "has_more": False}


@router.get("/v1/files/{file_id}")
def get(file_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return file_dict(get_file(session, file_id, caller.workspace_id))


@router.get("/v1/files/{file_id}/content")
def content(file_id: str, request: Request, caller: Caller = Depends(require_key)) -> FileResponse:
    with request.app.state.db.session() as session:
        row = get_file(session, file_id, caller.workspace_id)
        return FileResponse(row.path, media_type="application/jsonl", filename=row.filename)


@router.delete("/v1/files/{file_id}")
def delete(file_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        delete_file(session, file_id, caller.workspace_id)
    return {"id": file_id, "object": "file", "deleted": True}


@router.get("/api/files/{file_id}/preview")
def preview_(file_id: str, request: Request, limit: int = Query(5, ge=1, le=100),
             caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        row = get_file(session, file_id, caller.workspace_id)
    return preview(row, limit)
