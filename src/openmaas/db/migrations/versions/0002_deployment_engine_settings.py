"""Per-deployment engine settings: slots decoded together, queue length and queue wait.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("slots", sa.Integer(), nullable=False, server_default="8"))
        batch.add_column(sa.Column("max_waiting", sa.Integer(), nullable=False, server_default="64"))
        batch.add_column(sa.Column("max_queue_wait_s", sa.Float(), nullable=False, server_default="30"))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("max_queue_wait_s")
        batch.drop_column("max_waiting")
        batch.drop_column("slots")
