"""Alembic environment.

`openmaas.db.migrate.upgrade` hands over an open connection in `config.attributes["connection"]`.
Run by the `alembic` command instead, it connects to the `sqlalchemy.url` of the given config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from openmaas.db.models import Base
from openmaas.db.session import Database


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by rebuilding them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    db = Database(context.config.get_main_option("sqlalchemy.url"))
    try:
        with db.engine.connect() as connection:
            run_migrations(connection)
    finally:
        db.dispose()
