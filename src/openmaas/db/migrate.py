"""Apply the Alembic migrations shipped inside the package, with no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from openmaas.db.session import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`, creating a SQLite file's directory if needed."""
    db = Database(url)
    if db.dialect == "sqlite" and db.url.database not in (None, "", ":memory:"):
        Path(db.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config()
    try:
        with db.engine.connect() as connection:
            if db.dialect == "sqlite":
                # Batch migrations rebuild tables by copy-and-drop, which foreign keys would block.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        db.dispose()
