"""Workspaces and API keys. Only a key's sha256 is stored; the plaintext is shown once, at creation."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openmaas.db.models import ApiKey, Workspace, utcnow
from openmaas.errors import AuthenticationError, Conflict, InvalidRequest, NotFound

DEFAULT_WORKSPACE = "default"
KEY_PREFIX = "om-"
DISPLAY_PREFIX_CHARS = 10
LAST_USED_RESOLUTION = timedelta(minutes=1)  # coarser writes: one per key per minute at most
_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,200}")


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def ensure_default_workspace(session: Session) -> Workspace:
    workspace = session.scalar(select(Workspace).where(Workspace.name == DEFAULT_WORKSPACE))
    return workspace or create_workspace(session, DEFAULT_WORKSPACE)


def create_workspace(session: Session, name: str) -> Workspace:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidRequest(
            "Workspace names are 1 to 200 characters of letters, digits, '.', '_' and '-'.", param="name"
        )
    if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
        raise Conflict(f"A workspace named `{name}` already exists.", param="name")
    workspace = Workspace(name=name)
    session.add(workspace)
    try:
        session.flush()
    except IntegrityError as exc:  # created concurrently by another process
        raise Conflict(f"A workspace named `{name}` already exists.", param="name") from exc
    return workspace


def list_workspaces(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id)))


def get_workspace(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"No workspace with id `{workspace_id}`.", param="workspace_id")
    return workspace


def create_key(session: Session, workspace_id: str, name: str = "", is_admin: bool = False) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is not stored and cannot be shown again."""
    get_workspace(session, workspace_id)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(30)  # 40 characters
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=plaintext[:DISPLAY_PREFIX_CHARS],
        key_hash=hash_key(plaintext),
        is_admin=is_admin,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def authenticate(session: Session, plaintext: str | None) -> ApiKey:
    if not plaintext:
        raise AuthenticationError(
            "You didn't provide an API key. Send it in the Authorization header as `Bearer <key>`."
        )
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if key is None or key.revoked_at is not None:
        raise AuthenticationError("Incorrect API key provided.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


def list_keys(session: Session, workspace_id: str | None) -> list[ApiKey]:
    """The caller's keys; every key when `workspace_id` is None (admin)."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if workspace_id is not None:
        query = query.where(ApiKey.workspace_id == workspace_id)
    return list(session.scalars(query))


def revoke_key(session: Session, key_id: str, workspace_id: str | None) -> ApiKey:
    query = select(ApiKey).where(ApiKey.id == key_id)
    if workspace_id is not None:
        query = query.where(ApiKey.workspace_id == workspace_id)
    key = session.scalar(query)
    if key is None:
        raise NotFound(f"No API key with id `{key_id}`.", param="key_id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def key_dict(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "workspace_id": key.workspace_id,
        "is_admin": key.is_admin,
        "created_at": _unix(key.created_at),
        "last_used_at": _unix(key.last_used_at),
        "revoked_at": _unix(key.revoked_at),
    }
