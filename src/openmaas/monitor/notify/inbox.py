"""The in-console inbox: always on, one message per incident event for each affected workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openmaas.db.models import InboxMessage, utcnow
from openmaas.errors import NotFound


def post(session: Session, workspace_id: str, incident_id: str | None, event: str, title: str, body: str,
         now: datetime) -> InboxMessage:
    message = InboxMessage(workspace_id=workspace_id, incident_id=incident_id, event=event, title=title[:400],
                           body=body, created_at=now)
    session.add(message)
    return message


def list_messages(session: Session, workspace_id: str, *, unread_only: bool = False,
                  limit: int = 100) -> list[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.workspace_id == workspace_id)
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    return list(session.scalars(query.order_by(InboxMessage.created_at.desc(), InboxMessage.id).limit(limit)))


def unread_count(session: Session, workspace_id: str) -> int:
    return session.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.workspace_id == workspace_id, InboxMessage.read_at.is_(None))) or 0


def mark_read(session: Session, workspace_id: str, message_id: str) -> InboxMessage:
    message = session.scalar(select(InboxMessage).where(InboxMessage.id == message_id,
                                                        InboxMessage.workspace_id == workspace_id))
    if message is None:
        raise NotFound(f"No inbox message with id `{message_id}`.", param="message_id")
    if message.read_at is None:
        message.read_at = utcnow()
        session.flush()
    return message


def mark_all_read(session: Session, workspace_id: str) -> int:
    result = session.execute(update(InboxMessage).where(InboxMessage.workspace_id == workspace_id,
                                                        InboxMessage.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0


def message_dict(message: InboxMessage) -> dict:
    return {
        "id": message.id,
        "object": "inbox_message",
        "workspace_id": message.workspace_id,
        "incident_id": message.incident_id,
        "event": message.event,
        "title": message.title,
        "body": message.body,
        "created_at": int(message.created_at.timestamp()),
        "read_at": None if message.read_at is None else int(message.read_at.timestamp()),
    }
