"""Monitoring: components, heartbeats, uptime buckets, incidents, maintenance windows, notifications.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{columns[0]}", table, list(columns))


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        _time("state_since"),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _time("checked_at", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        _fk("components", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_components"),
    )
    _index("components", "workspace_id")

    op.create_table(
        "heartbeats",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("component_id", sa.String(200), nullable=False),
        _time("checked_at"),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _fk("heartbeats", "component_id", "components"),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeats"),
    )
    _index("heartbeats", "checked_at")
    op.create_index("ix_heartbeats_component_checked", "heartbeats", ["component_id", "checked_at"])

    op.create_table(
        "uptime_buckets",
        sa.Column("component_id", sa.String(200), nullable=False),
        sa.Column("resolution", sa.String(10), nullable=False),
        _time("start"),
        sa.Column("up_s", sa.Float(), nullable=False),
        sa.Column("degraded_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("maintenance_s", sa.Float(), nullable=False),
        _fk("uptime_buckets", "component_id", "components"),
        sa.PrimaryKeyConstraint("component_id", "resolution", "start", name="pk_uptime_buckets"),
    )

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("impact", sa.String(30), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("resolved_at", nullable=True),
        _fk("incidents", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    _index("incidents", "created_at")
    _index("incidents", "resolved_at")
    _index("incidents", "workspace_id")

    op.create_table(
        "incident_components",
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("component_id", sa.String(200), nullable=False),
        _fk("incident_components", "component_id", "components"),
        _fk("incident_components", "incident_id", "incidents"),
        sa.PrimaryKeyConstraint("incident_id", "component_id", name="pk_incident_components"),
    )
    _index("incident_components", "component_id")

    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("impact", sa.String(30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        _time("created_at"),
        _fk("incident_updates", "incident_id", "incidents"),
        sa.PrimaryKeyConstraint("id", name="pk_incident_updates"),
    )
    _index("incident_updates", "incident_id")

    op.create_table(
        "maintenances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _time("created_at"),
        _time("cancelled_at", nullable=True),
        _fk("maintenances", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_maintenances"),
    )
    _index("maintenances", "ends_at")
    _index("maintenances", "starts_at")
    _index("maintenances", "workspace_id")

    op.create_table(
        "maintenance_components",
        sa.Column("maintenance_id", sa.String(64), nullable=False),
        sa.Column("component_id", sa.String(200), nullable=False),
        _fk("maintenance_components", "component_id", "components"),
        _fk("maintenance_components", "maintenance_id", "maintenances"),
        sa.PrimaryKeyConstraint("maintenance_id", "component_id", name="pk_maintenance_components"),
    )
    _index("maintenance_components", "component_id")

    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("secret", sa.String(100), nullable=True),
        _time("created_at"),
        _time("deleted_at", nullable=True),
        _fk("notify_subscriptions", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_subscriptions"),
    )
    _index("notify_subscriptions", "workspace_id")

    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("created_at"),
        _time("delivered_at", nullable=True),
        _fk("notify_deliveries", "incident_id", "incidents"),
        _fk("notify_deliveries", "subscription_id", "notify_subscriptions"),
        _fk("notify_deliveries", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_deliveries"),
    )
    for column in ("incident_id", "next_attempt_at", "status", "subscription_id", "workspace_id"):
        _index("notify_deliveries", column)

    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        _time("attempted_at"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        _fk("notify_attempts", "delivery_id", "notify_deliveries"),
        _fk("notify_attempts", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_attempts"),
    )
    _index("notify_attempts", "delivery_id")
    _index("notify_attempts", "workspace_id")

    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _time("created_at"),
        _time("read_at", nullable=True),
        _fk("inbox_messages", "incident_id", "incidents"),
        _fk("inbox_messages", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_messages"),
    )
    _index("inbox_messages", "created_at")
    _index("inbox_messages", "incident_id")
    _index("inbox_messages", "workspace_id")


def downgrade() -> None:
    for table in ("inbox_messages", "notify_attempts", "notify_deliveries", "notify_subscriptions",
                  "maintenance_components", "maintenances", "incident_updates", "incident_components", "incidents",
                  "uptime_buckets", "heartbeats", "components"):
        op.drop_table(table)
