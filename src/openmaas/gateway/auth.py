"""Who is calling: the Bearer key resolved to a workspace, checked on every /v1 and /api route."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from openmaas.errors import AuthenticationError, PermissionDenied
from openmaas.gateway.keys import authenticate
from openmaas.gateway.meter import Meter


@dataclass(frozen=True)
class Caller:
    key_id: str
    workspace_id: str
    is_admin: bool

    def scope(self) -> str | None:
        """The workspace filter for reads: None lets an admin see every workspace."""
        return None if self.is_admin else self.workspace_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("This operation needs an admin key.")

    def require_workspace(self, workspace_id: str | None) -> str:
        """The workspace a request acts on: its own, or any for an admin."""
        if workspace_id is None or workspace_id == self.workspace_id:
            return self.workspace_id
        if not self.is_admin:
            raise PermissionDenied("This key cannot act on another workspace.", param="workspace_id")
        return workspace_id


def require_key(request: Request) -> Caller:
    """FastAPI dependency (sync, so FastAPI runs its database lookup off the event loop)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.", code="missing_api_key"
        )
    db = request.app.state.db
    with db.session() as session:
        key = authenticate(session, token.strip())
        caller = Caller(key_id=key.id, workspace_id=key.workspace_id, is_admin=key.is_admin)
    request.state.caller = caller
    request.state.meter = Meter(db, caller.workspace_id, caller.key_id, endpoint=f"{request.method} {getattr(request.scope.get('route'), 'path', request.url.path)}")
    return caller
