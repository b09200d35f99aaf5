"""Storage on a real SQLite file and a real PostgreSQL database: migrations, keys, tenancy, usage, the hub."""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from openmaas.db.migrate import alembic_config, upgrade
from openmaas.db.models import ApiKey, Base
from openmaas.db.session import Database
from openmaas.errors import AuthenticationError, Conflict, InvalidRequest, ModelNotFound, NotFound
from openmaas.gateway import keys, metering
from openmaas.hub import registry
from openmaas.hub.builtin import BUILTIN_MODEL_ID, builtin_model_path


UTC = timezone.utc


def test_migrations_apply_and_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # a second run finds nothing to do
    db = Database(db_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert compare_metadata(context, Base.metadata) == []
    finally:
        db.dispose()


def test_sqlite_file_is_created_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'openmaas.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"])
def test_postgres_urls_use_psycopg3(url: str) -> None:
    db = Database(url)
    assert db.url.drivername == "postgresql+psycopg"
    db.dispose()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        with database.session() as session:
            metering.record_usage(
                session, workspace_id="ws_missing", key_id=None, model_id=None, endpoint="/v1/models",
                prompt_tokens=0, completion_tokens=0, ttft_ms=None, latency_ms=1.0, status_code=200,
            )  # fmt: skip


def test_session_rolls_back_when_the_block_raises(database: Database) -> None:
    with pytest.raises(RuntimeError):
        with database.session() as session:
            keys.create_workspace(session, "doomed")
            raise RuntimeError("boom")
    with database.session() as session:
        assert [w.name for w in keys.list_workspaces(session)] == []


def test_default_workspace_is_created_once(database: Database) -> None:
    with database.session() as session:
        first = keys.ensure_default_workspace(session)
    with database.session() as session:
        second = keys.ensure_default_workspace(session)
        assert second.id == first.id
        assert [w.name for w in keys.list_workspaces(session)] == ["default"]
        assert keys.get_workspace(session, first.id).name == "default"


def test_workspace_names_are_unique_and_checked(database: Database) -> None:
    with database.session() as session:
        keys.create_workspace(session, "acme")
    with database.session() as session:
        with pytest.raises(Conflict):
            keys.create_workspace(session, "acme")
        for bad in ["", "has space", "x" * 201, "semi;colon"]:
            with pytest.raises(InvalidRequest) as raised:
                keys.create_workspace(session, bad)
            assert raised.value.param == "name"
        with pytest.raises(NotFound):
            keys.get_workspace(session, "ws_nope")


def test_keys_are_created_authenticated_and_revoked(database: Database) -> None:
    with database.session() as session:
        workspace = keys.ensure_default_workspace(session)
        key, plaintext = keys.create_key(session, workspace.id, name="ci", is_admin=True)

    assert re.fullmatch(r"om-[A-Za-z0-9_-]{40}", plaintext)
    with database.session() as session:
        row = session.get(ApiKey, key.id)
        assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext.startswith(row.prefix) and len(row.prefix) == 10
        stored = session.execute(text("SELECT * FROM api_keys")).one()
        assert plaintext not in [str(value) for value in stored]

        used = keys.authenticate(session, plaintext)
        assert used.id == key.id and used.is_admin
        first_use = used.last_used_at
        assert first_use is not None
    with database.session() as session:
        assert keys.authenticate(session, plaintext).last_used_at == first_use  # within the minute: no write

    with database.session() as session:
        for wrong in ["", None, "om-" + "x" * 40, plaintext + "x"]:
            with pytest.raises(AuthenticationError) as raised:
                keys.authenticate(session, wrong)
            assert "x" * 40 not in raised.value.message

        revoked = keys.revoke_key(session, key.id, workspace.id)
        assert revoked.revoked_at is not None
    with database.session() as session:
        with pytest.raises(AuthenticationError):
            keys.authenticate(session, plaintext)
        shown = keys.key_dict(keys.list_keys(session, workspace.id)[0])
    assert shown == {
        "id": key.id,
        "object": "api_key",
        "name": "ci",
        "prefix": plaintext[:10],
        "workspace_id": workspace.id,
        "is_admin": True,
        "created_at": shown["created_at"],
        "last_used_at": int(first_use.timestamp()),
        "revoked_at": shown["revoked_at"],
    }
    assert isinstance(shown["created_at"], int) and isinstance(shown["revoked_at"], int)


def test_a_workspace_sees_only_its_own_keys(database: Database) -> None:
    with database.session() as session:
        a = keys.create_workspace(session, "a")
        b = keys.create_workspace(session, "b")
        key_a, _ = keys.create_key(session, a.id, name="a-key")
        key_b, plaintext_b = keys.create_key(session, b.id, name="b-key")

    with database.session() as session:
        assert [k.id for k in keys.list_keys(session, a.id)] == [key_a.id]
        assert {k.id for k in keys.list_keys(session, None)} == {key_a.id, key_b.id}
        with pytest.raises(NotFound) as raised:
            keys.revoke_key(session, key_b.id, a.id)
        assert raised.value.param == "key_id"
    with database.session() as session:
        assert keys.authenticate(session, plaintext_b).id == key_b.id  # untouched by A's attempt
        keys.revoke_key(session, key_b.id, None)  # an admin may revoke any key
    with database.session() as session:
        with pytest.raises(AuthenticationError):
            keys.authenticate(session, plaintext_b)
        with pytest.raises(NotFound):
            keys.create_key(session, "ws_nope")


def _use(session, workspace_id, key_id, model_id, at, prompt, completion, status=200, ttft=None, latency=10.0):
    record = metering.record_usage(
        session, workspace_id=workspace_id, key_id=key_id, model_id=model_id, endpoint="/v1/chat/completions",
        prompt_tokens=prompt, completion_tokens=completion, ttft_ms=ttft, latency_ms=latency, status_code=status,
    )  # fmt: skip
    record.created_at = at
    session.flush()


def test_usage_is_summed_and_grouped(database: Database) -> None:
    day1 = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
    day2 = datetime(2025, 3, 2, 0, 30, tzinfo=UTC)
    with database.session() as session:
        a = keys.create_workspace(session, "a")
        b = keys.create_workspace(session, "b")
        k1, _ = keys.create_key(session, a.id)
        k2, _ = keys.create_key(session, a.id)
        kb, _ = keys.create_key(session, b.id)
        _use(session, a.id, k1.id, "m1", day1, 10, 5, ttft=20.0, latency=100.0)
        _use(session, a.id, k1.id, "m1", day1 + timedelta(minutes=1), 4, 0, status=500, latency=50.0)
        _use(session, a.id, k2.id, "m2", day2, 7, 3, ttft=40.0, latency=30.0)
        _use(session, a.id, None, None, day2, 0, 0, status=401, latency=1.0)
        _use(session, b.id, kb.id, "m1", day1, 1000, 1000)

    with database.session() as session:
        if database.dialect == "postgresql":
            # Days are UTC days whatever the connection's zone.
            session.execute(text("SET TIME ZONE 'Pacific/Auckland'"))

        [total] = metering.aggregate_usage(session, a.id, None, None, [])
        assert total == {
            "requests": 4,
            "prompt_tokens": 21,
            "completion_tokens": 8,
            "total_tokens": 29,
            "errors": 2,
            "avg_latency_ms": 45.25,
            "avg_ttft_ms": 30.0,
        }

        by_day = metering.aggregate_usage(session, a.id, None, None, ["day"])
        assert [(r["day"], r["requests"], r["total_tokens"], r["errors"]) for r in by_day] == [
            ("2025-03-01", 2, 19, 1),
            ("2025-03-02", 2, 10, 1),
        ]

        by_model_and_key = metering.aggregate_usage(session, a.id, None, None, ["key", "model"])
        assert [(r["model"], r["key_id"], r["requests"]) for r in by_model_and_key] == [
            (None, None, 1),
            ("m1", k1.id, 2),
            ("m2", k2.id, 1),
        ]
        assert set(by_model_and_key[0]) == {
            "model", "key_id", "requests", "prompt_tokens", "completion_tokens", "total_tokens",
            "errors", "avg_latency_ms", "avg_ttft_ms",
        }  # fmt: skip

        # [start, end), with bounds given in another zone.
        plus5 = timezone(timedelta(hours=5))
        window = metering.aggregate_usage(
            session, a.id, day1.astimezone(plus5) + timedelta(seconds=30), day2.astimezone(plus5), ["day"]
        )
        assert [(r["day"], r["requests"]) for r in window] == [("2025-03-01", 1)]

        everyone = metering.aggregate_usage(session, None, None, None, ["model"])
        assert [(r["model"], r["prompt_tokens"]) for r in everyone] == [(None, 0), ("m1", 1014), ("m2", 7)]
        assert metering.aggregate_usage(session, a.id, datetime(2030, 1, 1, tzinfo=UTC), None, ["day"]) == []

        with pytest.raises(InvalidRequest) as raised:
            metering.aggregate_usage(session, a.id, None, None, ["day", "endpoint"])
        assert raised.value.param == "group_by"


def test_concurrent_writers_all_succeed(database: Database) -> None:
    with database.session() as session:
        workspace_id = keys.ensure_default_workspace(session).id

    def write(n: int) -> None:
        for _ in range(n):
            with database.session() as session:
                _use(session, workspace_id, None, "m", datetime.now(UTC), 1, 1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(write, 25) for _ in range(8)]:
            future.result()
    with database.session() as session:
        [total] = metering.aggregate_usage(session, workspace_id, None, None, [])
    assert total["requests"] == 200


def test_builtin_model_is_registered_with_its_card(database: Database) -> None:
    with database.session() as session:
        model = registry.ensure_builtin(session)
    with database.session() as session:
        again = registry.ensure_builtin(session)
        assert again.created_at == model.created_at
        card = registry.card_dict(registry.get_model(session, BUILTIN_MODEL_ID, None))

    assert card["id"] == BUILTIN_MODEL_ID == "smollm2-135m-instruct"
    assert card["object"] == "model" and card["owned_by"] == "openmaas" and card["source"] == "builtin"
    assert card["architecture"] == "llama"
    assert card["family"] == "smollm2"
    assert card["context_length"] == 8192
    assert "{% for message in messages %}" in card["chat_template"]
    assert card["quantization"] == "Q4_1"
    assert 130_000_000 < card["parameters"] < 140_000_000
    assert re.fullmatch(r"[0-9a-f]{64}", card["sha256"])
    assert card["size_bytes"] == builtin_model_path().stat().st_size
    assert card["license"] == "apache-2.0"
    assert card["extra"]["llama.block_count"] == 30
    assert isinstance(card["created"], int)
    assert "tokenizer.ggml.tokens" not in card["extra"]


def test_models_are_imported_into_a_workspace(database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        a = keys.create_workspace(session, "a")
        b = keys.create_workspace(session, "b")
        builtin = registry.ensure_builtin(session)
        imported = registry.import_model(session, builtin_model_path(), "team-smol:v1", a.id)

    assert imported.id == "team-smol:v1"
    assert imported.source == "import" and imported.sha256 == builtin.sha256
    assert registry.card_dict(imported)["owned_by"] == a.id

    with database.session() as session:
        assert [m.id for m in registry.list_models(session, a.id)] == [BUILTIN_MODEL_ID, imported.id]
        assert [m.id for m in registry.list_models(session, b.id)] == [BUILTIN_MODEL_ID]
        assert {m.id for m in registry.list_models(session, None)} == {BUILTIN_MODEL_ID, imported.id}
        assert registry.get_model(session, imported.id, a.id).id == imported.id
        assert registry.get_model(session, BUILTIN_MODEL_ID, b.id).id == BUILTIN_MODEL_ID
        with pytest.raises(ModelNotFound) as raised:
            registry.get_model(session, imported.id, b.id)
        assert raised.value.param == "model"
        assert raised.value.message == "The model `team-smol:v1` does not exist or you do not have access to it."

        with pytest.raises(Conflict):
            registry.import_model(session, builtin_model_path(), imported.id, b.id)
        with pytest.raises(InvalidRequest) as raised:
            registry.import_model(session, builtin_model_path(), "no spaces please")
        assert raised.value.param == "name"
        with pytest.raises(InvalidRequest):
            registry.import_model(session, tmp_path / "missing.gguf", "missing")
        not_gguf = tmp_path / "notes.gguf"
        not_gguf.write_text("this is not a model\n" * 10)
        with pytest.raises(InvalidRequest, match="not a valid GGUF"):
            registry.import_model(session, not_gguf, "notes")
        empty = tmp_path / "empty.gguf"
        empty.touch()
        with pytest.raises(InvalidRequest, match="not a valid GGUF"):
            registry.import_model(session, empty, "empty")
        assert len(registry.list_models(session, None)) == 2
