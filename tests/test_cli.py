"""The `openmaas` command against a running server's home.

The CLI and the server share one SQLite database (WAL), so what the command does is what
the API sees at once: an imported model is listed by /v1/models, a created key answers,
a revoked key is refused.
"""

from __future__ import annotations

import re
import uuid

import httpx

from conftest import MODEL

KEY_RE = re.compile(r"\bom-[A-Za-z0-9_-]{20,}")
CREATED_RE = re.compile(r"Created (key_[0-9a-f]+) in workspace (\S+) \((ws_[0-9a-f]+)\)")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_ok(server, *args: str) -> str:
    result = server.cli(*args)
    assert result.returncode == 0, f"openmaas {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def builtin_path(admin) -> str:
    return admin.get(f"/api/models/{MODEL}").json()["path"]


def create_key(server, workspace: str, name: str) -> tuple[str, str, str]:
    """(key id, plaintext, workspace id) from `openmaas keys create`."""
    out = run_ok(server, "keys", "create", "--workspace", workspace, "--name", name)
    created = CREATED_RE.search(out)
    assert created, out
    assert created.group(2) == workspace, out
    keys = KEY_RE.findall(out)
    assert len(keys) == 1, out
    return created.group(1), keys[0], created.group(3)


# ------------------------------------------------------------------------------ models


def test_models_list_shows_the_builtin_model(server):
    out = run_ok(server, "models", "list")
    assert MODEL in out
    assert "builtin" in out and "platform" in out


def test_models_show_prints_the_card(server):
    out = run_ok(server, "models", "show", MODEL)
    fields = {}
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if len(cells) >= 2:
            fields.setdefault(cells[0], cells[1])
    assert fields["id"] == MODEL
    assert fields["architecture"] == "llama"
    assert fields["context_length"] == "8192"
    assert fields["source"] == "builtin"


def test_models_show_unknown_model_fails_cleanly(server):
    name = unique("no-such-model")
    result = server.cli("models", "show", name)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert name in output and "does not exist" in output


def test_models_import_registers_the_file(server, admin):
    name = unique("cli-import")
    out = run_ok(server, "models", "import", builtin_path(admin), "--name", name)
    assert name in out and "llama" in out

    shown = run_ok(server, "models", "show", name)
    assert name in shown and "import" in shown and "8192" in shown
    assert name in run_ok(server, "models", "list")

    # The running server sees it at once, through the OpenAI API and the card API.
    assert name in {m["id"] for m in admin.get("/v1/models").json()["data"]}
    card = admin.get(f"/api/models/{name}").json()
    assert card["architecture"] == "llama" and card["source"] == "import"
    assert card["sha256"] == admin.get(f"/api/models/{MODEL}").json()["sha256"]


def test_models_import_same_name_twice_fails_cleanly(server, admin):
    name = unique("cli-dup")
    run_ok(server, "models", "import", builtin_path(admin), "--name", name)
    result = server.cli("models", "import", builtin_path(admin), "--name", name)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "already exists" in result.stdout + result.stderr


def test_models_import_rejects_a_file_that_is_not_gguf(server, admin, tmp_path):
    bogus = tmp_path / "weights.gguf"
    bogus.write_text("these are not weights\n" * 100)
    name = unique("cli-bogus")
    result = server.cli("models", "import", str(bogus), "--name", name)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "not a valid GGUF" in output and "weights.gguf" in output
    assert name not in {m["id"] for m in admin.get("/v1/models").json()["data"]}


def test_models_import_rejects_a_missing_path(server, admin, tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    name = unique("cli-missing")
    result = server.cli("models", "import", str(missing), "--name", name)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "No model file" in output and "model.gguf" in output
    assert name not in {m["id"] for m in admin.get("/v1/models").json()["data"]}


def test_models_import_rejects_a_bad_name(server, admin):
    result = server.cli("models", "import", builtin_path(admin), "--name", "bad name/with spaces")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "Model names" in output


# -------------------------------------------------------------------------------- keys


def test_keys_create_prints_a_key_that_works(server):
    key_id, key, _ = create_key(server, "cli-team", unique("x"))
    assert key_id
    r = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert MODEL in {m["id"] for m in r.json()["data"]}


def test_keys_create_in_an_existing_workspace_by_name(server, workspaces, admin):
    ws_a, _ = workspaces["a"]
    key_id, key, ws_id = create_key(server, "tenant-a", unique("cli"))
    assert ws_id == ws_a
    with server.client(key) as c:
        listed = {k["id"] for k in c.get("/api/keys").json()["data"]}
    assert key_id in listed  # a key of tenant A sees tenant A's keys, its own among them


def test_keys_list_shows_the_prefix_never_the_key(server):
    name = unique("listed")
    key_id, key, _ = create_key(server, "cli-team", name)
    out = run_ok(server, "keys", "list")
    assert key_id in out and name in out
    assert key[:10] in out  # the display prefix
    assert key not in out
    assert key[:16] not in out  # nothing past the prefix leaks either


def test_keys_revoke_makes_the_key_fail_with_401(server):
    key_id, key, _ = create_key(server, "cli-team", unique("doomed"))
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{server.url}/v1/models", headers=headers, timeout=30).status_code == 200

    out = run_ok(server, "keys", "revoke", key_id)
    assert key_id in out

    r = httpx.get(f"{server.url}/v1/models", headers=headers, timeout=30)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["type"] == "authentication_error"
    row = next(line for line in run_ok(server, "keys", "list").splitlines() if key_id in line)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s*\S?\s*$", row), row  # the revoked column is filled


def test_keys_revoke_unknown_id_fails_cleanly(server):
    result = server.cli("keys", "revoke", "key_doesnotexist")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "key_doesnotexist" in output


# ------------------------------------------------------------------------------- usage


def test_usage_shows_the_chat_call(server):
    workspace = unique("cli-usage")
    key_id, key, ws_id = create_key(server, workspace, "metered")
    with server.client(key) as c:
        r = c.post("/v1/chat/completions", json={"model": MODEL, "max_tokens": 5, "temperature": 0,
                                                 "messages": [{"role": "user", "content": "Say hi."}]})
        assert r.status_code == 200, r.text
        usage = r.json()["usage"]

    out = run_ok(server, "usage", "--workspace", ws_id, "--group-by", "model,key")
    rows = [line for line in out.splitlines() if "smollm2" in line]
    assert len(rows) == 1, out
    cells = [c.strip() for c in re.split(r"[│|]", rows[0]) if c.strip()]
    # model, key_id, requests, prompt_tokens, completion_tokens, total_tokens, errors, avg_latency_ms
    assert cells[0].startswith("smollm2") and cells[1] == key_id, cells
    assert cells[2:7] == ["1", str(usage["prompt_tokens"]), str(usage["completion_tokens"]),
                          str(usage["total_tokens"]), "0"], cells

    # The default grouping (day, model) across every workspace has the row too.
    out = run_ok(server, "usage")
    assert "smollm2" in out and "requests" in out


def test_usage_rejects_a_bad_date_cleanly(server):
    result = server.cli("usage", "--start", "yesterday-ish")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "start" in output
