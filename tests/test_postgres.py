"""The whole server on PostgreSQL: the same code, only the URL changes."""

from __future__ import annotations

from conftest import MODEL, start_server
from db_urls import postgres_url


def test_serve_on_postgresql(tmp_path):
    with postgres_url() as url:
        server = start_server(tmp_path / "home", env={"OPENMAAS_DATABASE_URL": url})
        try:
            reply = server.openai().chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=3)
            with server.client() as admin:
                rows = admin.get("/api/usage", params={"group_by": "model"}).json()["data"]
            [row] = [r for r in rows if r["model"] == MODEL]
            assert row["completion_tokens"] == reply.usage.completion_tokens
            assert not (tmp_path / "home" / "openmaas.db").exists()  # nothing went to SQLite
        finally:
            server.stop()
