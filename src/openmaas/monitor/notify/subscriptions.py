"""A workspace's subscriptions to incident events: webhooks (with a signing secret shown once) and email."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import NotificationSubscription, utcnow
from openmaas.errors import InvalidRequest, NotFound
from openmaas.monitor.notify.webhook import new_secret

CHANNELS = ("webhook", "email")
MAX_PER_WORKSPACE = 50
_EMAIL_RE = re.compile(r"[^@\s,<>]+@[^@\s,<>]+")


def create_subscription(session: Session, workspace_id: str, channel: str, *, url: str | None = None,
                        email: str | None = None) -> tuple[NotificationSubscription, str | None]:
    """The subscription and, for a webhook, its signing secret (not shown again)."""
    if channel not in CHANNELS:
        raise InvalidRequest(f"channel must be one of {', '.join(CHANNELS)} (the inbox is always on).",
                             param="channel")
    secret = None
    if channel == "webhook":
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
            raise InvalidRequest("A webhook needs an http or https `url`.", param="url")
        email = None
        secret = new_secret()
    else:
        if not email or len(email) > 320 or not _EMAIL_RE.fullmatch(email):
            raise InvalidRequest("An email subscription needs a valid `email` address.", param="email")
        url = None
    active = list_subscriptions(session, workspace_id)
    if len(active) >= MAX_PER_WORKSPACE:
        raise InvalidRequest(f"A workspace can have at most {MAX_PER_WORKSPACE} subscriptions.", param="channel")
    subscription = NotificationSubscription(workspace_id=workspace_id, channel=channel, url=url, email=email,
                                            secret=secret)
    session.add(subscription)
    session.flush()
    return subscription, secret


def list_subscriptions(session: Session, workspace_id: str | None) -> list[NotificationSubscription]:
    """Active subscriptions of a workspace; of every workspace when `workspace_id` is None (admin)."""
    query = select(NotificationSubscription).where(NotificationSubscription.deleted_at.is_(None))
    if workspace_id is not None:
        query = query.where(NotificationSubscription.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(NotificationSubscription.created_at, NotificationSubscription.id)))


def delete_subscription(session: Session, subscription_id: str, workspace_id: str | None) -> NotificationSubscription:
    query = select(NotificationSubscription).where(NotificationSubscription.id == subscription_id,
                                                   NotificationSubscription.deleted_at.is_(None))
    if workspace_id is not None:
        query = query.where(NotificationSubscription.workspace_id == workspace_id)
    subscription = session.scalar(query)
    if subscription is None:
        raise NotFound(f"No subscription with id `{subscription_id}`.", param="subscription_id")
    subscription.deleted_at = utcnow()
    session.flush()
    return subscription


def subscription_dict(subscription: NotificationSubscription, secret: str | None = None) -> dict:
    out = {
        "id": subscription.id,
        "object": "notification_subscription",
        "workspace_id": subscription.workspace_id,
        "channel": subscription.channel,
        "url": subscription.url,
        "email": subscription.email,
        "created_at": int(subscription.created_at.timestamp()),
    }
    if secret is not None:
        out["secret"] = secret
    return out
