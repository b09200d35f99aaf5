"""/api/notifications: a workspace's subscriptions (webhook, email) and its delivery log; /api/inbox: its inbox."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from openmaas.gateway.auth import Caller, require_key
from openmaas.monitor.notify import inbox, outbox, subscriptions

router = APIRouter()


class NewSubscription(BaseModel):
    channel: Literal["webhook", "email"]
    url: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    workspace_id: str | None = None  # an admin may subscribe any workspace


@router.post("/api/notifications/subscriptions", status_code=201)
def subscribe(body: NewSubscription, request: Request, caller: Caller = Depends(require_key)) -> dict:
    """A webhook's signing secret is in this answer only."""
    workspace_id = caller.require_workspace(body.workspace_id)
    with request.app.state.db.session() as session:
        subscription, secret = subscriptions.create_subscription(session, workspace_id, body.channel, url=body.url,
                                                                 email=body.email)
        return subscriptions.subscription_dict(subscription, secret)


@router.get("/api/notifications/subscriptions")
def list_subscriptions(request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        return {"object": "list", "data": [subscriptions.subscription_dict(s)
                                           for s in subscriptions.list_subscriptions(session, caller.scope())]}


@router.delete("/api/notifications/subscriptions/{subscription_id}")
def unsubscribe(subscription_id: str, request: Request, caller: Caller = Depends(require_key)) -> dict:
    with request.app.state.db.session() as session:
        subscription = subscriptions.delete_subscription(session, subscription_id, caller.scope())
        return {**subscriptions.subscription_dict(subscription), "deleted": True}


@router.get("/api/notifications/deliveries")
def deliveries(request: Request, subscription_id: str | None = None, incident_id: str | None = None,
               limit: int = Query(100, ge=1, le=1000), caller: Caller = Depends(require_key)) -> dict:
    """Every delivery and each of its attempts, newest first."""
    with request.app.state.db.session() as session:
        return {"object": "list", "data": outbox.list_deliveries(session, caller.scope(), limit=limit,
                                                                 subscription_id=subscription_id,
                                                                 incident_id=incident_id)}


@router.get("/api/inbox")
def read_inbox(request: Request, unread: bool = False, limit: int = Query(100, ge=1, le=1000),
               workspace_id: str | None = None, caller: Caller = Depends(require_key)) -> dict:
    """The caller's workspace's inbox (an admin may name another workspace)."""
    workspace_id = caller.require_workspace(workspace_id)
    with request.app.state.db.session() as session:
        return {"object": "list", "unread": inbox.unread_count(session, workspace_id),
                "data": [inbox.message_dict(m) for m in inbox.list_messages(session, workspace_id,
                                                                            unread_only=unread, limit=limit)]}


@router.post("/api/inbox/read")
def mark_all_read(request: Request, workspace_id: str | None = None, caller: Caller = Depends(require_key)) -> dict:
    workspace_id = caller.require_workspace(workspace_id)
    with request.app.state.db.session() as session:
        return {"object": "inbox", "marked_read": inbox.mark_all_read(session, workspace_id)}


@router.post("/api/inbox/{message_id}/read")
def mark_read(message_id: str, request: Request, workspace_id: str | None = None,
              caller: Caller = Depends(require_key)) -> dict:
    workspace_id = caller.require_workspace(workspace_id)
    with request.app.state.db.session() as session:
        return inbox.message_dict(inbox.mark_read(session, workspace_id, message_id))
