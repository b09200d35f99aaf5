"""Keys belong to workspaces, workspaces see only their own, and usage is metered exactly."""

from __future__ import annotations

import time

import httpx

from conftest import MODEL

HELLO = [{"role": "user", "content": "Say hello."}]


def new_key(admin: httpx.Client, workspace_id: str, name: str) -> dict:
    response = admin.post("/api/keys", json={"name": name, "workspace_id": workspace_id})
    assert response.status_code == 201
    return response.json()


def usage_of_key(client: httpx.Client, key_id: str) -> dict:
    rows = client.get("/api/usage", params={"group_by": "key,model"}).json()["data"]
    mine = [r for r in rows if r["key_id"] == key_id and r["model"] == MODEL]
    assert len(mine) == 1, rows
    return mine[0]


def test_key_is_shown_once_and_stored_as_a_prefix(admin, workspaces):
    ws, _ = workspaces["a"]
    created = new_key(admin, ws, "shown-once")
    assert created["key"].startswith(created["prefix"]) and len(created["key"]) > len(created["prefix"]) + 20
    listed = [k for k in admin.get("/api/keys").json()["data"] if k["id"] == created["id"]]
    assert listed and "key" not in listed[0] and created["key"] not in str(listed[0])


def test_workspaces_see_only_their_own_keys(server, workspaces):
    (ws_a, key_a), (ws_b, key_b) = workspaces["a"], workspaces["b"]
    with server.client(key_a) as a, server.client(key_b) as b:
        keys_a = a.get("/api/keys").json()["data"]
        keys_b = b.get("/api/keys").json()["data"]
        assert keys_a and {k["workspace_id"] for k in keys_a} == {ws_a}
        assert keys_b and {k["workspace_id"] for k in keys_b} == {ws_b}
        # B cannot revoke A's key: to B it does not exist.
        response = b.delete(f"/api/keys/{keys_a[0]['id']}")
        assert response.status_code == 404
        assert a.get("/v1/models").status_code == 200
        assert [w["id"] for w in a.get("/api/workspaces").json()["data"]] == [ws_a]


def test_admin_sees_every_workspace(admin, workspaces):
    ids = {w["id"] for w in admin.get("/api/workspaces").json()["data"]}
    assert {workspaces["a"][0], workspaces["b"][0]} <= ids


def test_usage_records_exactly_what_the_client_was_told(server, admin, workspaces):
    ws, _ = workspaces["a"]
    key = new_key(admin, ws, "metered")
    client = server.openai(key["key"])
    told_prompt = told_completion = 0
    for max_tokens in (3, 7):
        reply = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=max_tokens)
        told_prompt += reply.usage.prompt_tokens
        told_completion += reply.usage.completion_tokens
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=5, stream=True,
                                                 stream_options={"include_usage": True}))
    told_prompt += chunks[-1].usage.prompt_tokens
    told_completion += chunks[-1].usage.completion_tokens
    done = client.completions.create(model=MODEL, prompt="One, two,", max_tokens=4)
    told_prompt += done.usage.prompt_tokens
    told_completion += done.usage.completion_tokens

    with server.client(key["key"]) as own:
        row = usage_of_key(own, key["id"])
    assert row["requests"] == 4 and row["errors"] == 0
    assert (row["prompt_tokens"], row["completion_tokens"]) == (told_prompt, told_completion)
    assert row["avg_ttft_ms"] > 0 and row["avg_latency_ms"] >= row["avg_ttft_ms"]


def test_a_stream_cut_short_records_what_was_generated(server, admin, workspaces):
    ws, _ = workspaces["b"]
    key = new_key(admin, ws, "hangs-up")
    with server.client(key["key"]) as client:
        with client.stream("POST", "/v1/chat/completions", json={
                "model": MODEL, "messages": [{"role": "user", "content": "Tell me a very long story."}],
                "max_tokens": 400, "stream": True}) as response:
            lines = response.iter_lines()
            received = [next(lines) for _ in range(6)]  # a few events, then hang up
        assert all(line.startswith("data: ") or line == "" for line in received)
        row = wait_for_usage_row(client, key["id"])  # the server notices the hang-up at its next write
    assert row is not None
    assert row["requests"] == 1 and row["errors"] == 1  # recorded as 499, client closed request
    assert 0 < row["completion_tokens"] < 400


def wait_for_usage_row(client: httpx.Client, key_id: str, attempts: int = 100) -> dict | None:
    for _ in range(attempts):
        rows = client.get("/api/usage", params={"group_by": "key,model"}).json()["data"]
        mine = [r for r in rows if r["key_id"] == key_id and r["model"] == MODEL]
        if mine:
            return mine[0]
        time.sleep(0.1)
    return None


def test_usage_is_scoped_to_the_workspace(server, workspaces):
    (ws_a, key_a), (ws_b, key_b) = workspaces["a"], workspaces["b"]
    with server.client(key_a) as a, server.client(key_b) as b:
        a.post("/v1/chat/completions", json={"model": MODEL, "messages": HELLO, "max_tokens": 2})
        b.post("/v1/chat/completions", json={"model": MODEL, "messages": HELLO, "max_tokens": 2})
        a_keys = {k["id"] for k in a.get("/api/keys").json()["data"]}
        rows = a.get("/api/usage", params={"group_by": "key"}).json()["data"]
        assert rows and {r["key_id"] for r in rows} <= a_keys
        assert b.get("/api/usage", params={"workspace_id": ws_a}).status_code == 403


def test_usage_grouping_and_range(admin):
    by_day = admin.get("/api/usage", params={"group_by": "day"}).json()["data"]
    assert by_day and all(len(r["day"]) == 10 for r in by_day)
    nothing = admin.get("/api/usage", params={"start": "2001-01-01", "end": "2001-01-02"}).json()["data"]
    assert nothing == []
    bad = admin.get("/api/usage", params={"group_by": "planet"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
    bad = admin.get("/api/usage", params={"start": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "start"
