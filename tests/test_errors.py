"""Every error a client can meet is OpenAI's error object with the right status.

`{"error": {"message", "type", "param", "code"}}`: 400 for an invalid parameter (named in
`param`), 401 for a missing or wrong key, 403 for another workspace's business, 404 for an
unknown model or route, 413 for a body over the limit, 400 `context_length_exceeded` for a
prompt longer than the context, 503 for a model that is not deployed. And nothing a client
sends, however malformed, produces a 500 or takes a worker down.

All against the real shared server, with raw httpx (what any client sees) and the official
openai client (what its users catch).
"""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest

from conftest import MODEL

CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4, "temperature": 0}
COMPLETION = {"model": MODEL, "prompt": "The capital of France is", "max_tokens": 4, "temperature": 0}
MAX_BODY = 4 * 1024 * 1024  # the default limit


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_error(response: httpx.Response, status: int, type_: str | None = None, *, param: object = ...,
                 code: object = ...) -> dict:
    """The response is `status` with a well-formed OpenAI error object; returns its `error`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:500]}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["type"], str) and error["type"], error
    assert error["param"] is None or isinstance(error["param"], str), error
    assert error["code"] is None or isinstance(error["code"], str), error
    if type_ is not None:
        assert error["type"] == type_, error
    if param is not ...:
        assert error["param"] == param, error
    if code is not ...:
        assert error["code"] == code, error
    return error


def assert_chat_works(client: httpx.Client) -> None:
    r = client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    assert body["usage"]["completion_tokens"] >= 1


@pytest.fixture(scope="module")
def anon(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


# ------------------------------------------------------------------ 400: invalid parameters


def chat_with(**overrides) -> dict:
    return {**CHAT, **overrides}


INVALID_CHAT = [
    pytest.param(chat_with(temperature=5), "temperature", id="temperature-5"),
    pytest.param(chat_with(temperature=-0.1), "temperature", id="temperature-negative"),
    pytest.param(chat_with(temperature="hot"), "temperature", id="temperature-string"),
    pytest.param(chat_with(top_p=1.5), "top_p", id="top_p-1.5"),
    pytest.param(chat_with(messages=[]), "messages", id="messages-empty"),
    pytest.param(chat_with(messages="hello"), "messages", id="messages-string"),
    pytest.param({k: v for k, v in CHAT.items() if k != "messages"}, "messages", id="messages-missing"),
    pytest.param(chat_with(messages=[{"role": "user", "content": ""}]), "messages.0.content", id="content-empty"),
    pytest.param(chat_with(messages=[{"role": "user", "content": 42}]), "messages.0.content", id="content-int"),
    pytest.param(chat_with(messages=[{"role": "user", "content": "hi"}, {"role": "wizard", "content": "hi"}]),
                 "messages.1.role", id="role-wrong"),
    pytest.param(chat_with(messages=[{"content": "hi"}]), "messages.0.role", id="role-missing"),
    pytest.param(chat_with(messages=["hi"]), "messages.0", id="message-not-object"),
    pytest.param(chat_with(max_tokens="10"), "max_tokens", id="max_tokens-string"),
    pytest.param(chat_with(max_tokens=True), "max_tokens", id="max_tokens-bool"),
    pytest.param(chat_with(max_tokens=10**30), "max_tokens", id="max_tokens-huge"),
    pytest.param(chat_with(max_tokens=0), "max_tokens", id="max_tokens-zero"),
    pytest.param(chat_with(max_tokens=-1), "max_tokens", id="max_tokens-negative"),
    pytest.param(chat_with(max_tokens=10.5), "max_tokens", id="max_tokens-float"),
    pytest.param(chat_with(max_completion_tokens=10**30), "max_completion_tokens", id="max_completion_tokens-huge"),
    pytest.param(chat_with(seed=2**70), "seed", id="seed-huge"),
    pytest.param(chat_with(seed="42"), "seed", id="seed-string"),
    pytest.param(chat_with(stop=["a", "b", "c", "d", "e"]), "stop", id="stop-five"),
    pytest.param(chat_with(stop=[1, 2]), "stop", id="stop-ints"),
    pytest.param(chat_with(stream="yes"), "stream", id="stream-string"),
    pytest.param(chat_with(model=""), "model", id="model-empty"),
    pytest.param(chat_with(model=123), "model", id="model-int"),
    pytest.param({k: v for k, v in CHAT.items() if k != "model"}, "model", id="model-missing"),
    pytest.param(chat_with(presence_penalty=3), "presence_penalty", id="presence_penalty-3"),
    pytest.param(chat_with(n=9), "n", id="n-over-slots"),
    pytest.param(chat_with(n=17), "n", id="n-17"),
    pytest.param(chat_with(n=0), "n", id="n-0"),
    pytest.param(chat_with(top_logprobs=3), "top_logprobs", id="top_logprobs-without-logprobs"),
    pytest.param(chat_with(logit_bias={"1": 200}), "logit_bias.1", id="logit_bias-200"),
    pytest.param(chat_with(logit_bias={"999999999": 5}), "logit_bias", id="logit_bias-unknown-token"),
    pytest.param(chat_with(max_tokens=5000), "max_tokens", id="max_tokens-over-context"),
    pytest.param(chat_with(stream_options={"include_usage": True}), "stream_options", id="stream_options-no-stream"),
]


@pytest.mark.parametrize("body, param", INVALID_CHAT)
def test_invalid_chat_parameter_is_400_naming_it(admin, body, param):
    error = assert_error(admin.post("/v1/chat/completions", json=body), 400, "invalid_request_error", param=param)
    assert param.split(".")[0] in error["message"], error


INVALID_COMPLETION = [
    pytest.param({**COMPLETION, "temperature": 5}, "temperature", id="temperature-5"),
    pytest.param({**COMPLETION, "max_tokens": 10**30}, "max_tokens", id="max_tokens-huge"),
    pytest.param({**COMPLETION, "max_tokens": "10"}, "max_tokens", id="max_tokens-string"),
    pytest.param({**COMPLETION, "seed": 2**70}, "seed", id="seed-huge"),
    pytest.param({**COMPLETION, "stop": ["a", "b", "c", "d", "e"]}, "stop", id="stop-five"),
    pytest.param({**COMPLETION, "prompt": 5}, "prompt", id="prompt-int"),
    pytest.param({**COMPLETION, "prompt": [1, 2, 3]}, "prompt", id="prompt-token-ids"),
    pytest.param({k: v for k, v in COMPLETION.items() if k != "prompt"}, "prompt", id="prompt-missing"),
]


@pytest.mark.parametrize("body, param", INVALID_COMPLETION)
def test_invalid_completion_parameter_is_400_naming_it(admin, body, param):
    assert_error(admin.post("/v1/completions", json=body), 400, "invalid_request_error", param=param)


def test_huge_float_literal_is_rejected_naming_the_parameter(admin):
    # 1e400 parses to infinity: a temperature of inf is not a number the engine may see.
    raw = json.dumps(CHAT)[:-1] + ', "temperature": 1e400}'
    r = admin.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_request_error", param="temperature")


# ------------------------------------------------------- malformed bodies: never 5xx, never a dead worker


DEEP = "[" * 100_000 + "]" * 100_000
MALFORMED = [
    pytest.param(b"this is not json", "application/json", id="not-json"),
    pytest.param(b'{"model": "x", "messages": [', "application/json", id="truncated-json"),
    pytest.param(b"[1, 2, 3]", "application/json", id="json-array"),
    pytest.param(b'"just a string"', "application/json", id="json-string"),
    pytest.param(b"null", "application/json", id="json-null"),
    pytest.param(b"42", "application/json", id="json-number"),
    pytest.param(b'{"model": "\xff\xfe\xfa", "messages": [{"role": "user", "content": "\xc3\x28"}]}',
                 "application/json", id="invalid-utf8"),
    pytest.param(b"\xff\xfe\x00\x00garbage", "application/json", id="binary-garbage"),
    pytest.param(json.dumps({"model": {"a": [{"b": None}]}, "messages": {"x": [[[]]]}, "prompt": [[{"z": 1}]],
                             "temperature": [1], "stop": {"k": "v"}}).encode(), "application/json",
                 id="nested-garbage"),
    pytest.param(json.dumps({"model": None, "messages": [{"role": "user", "content": "hi"}], "prompt": "hi"}).encode(),
                 "application/json", id="null-model"),
    pytest.param(b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "hi"}], '
                 b'"prompt": "hi", "max_tokens": 1' + b"0" * 400 + b"}", "application/json", id="number-10e400"),
    pytest.param(b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "hi"}], '
                 b'"prompt": "hi", "seed": 1' + b"0" * 5000 + b"}", "application/json", id="number-5000-digits"),
    pytest.param(b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "hi"}], '
                 b'"prompt": "hi", "temperature": NaN}', "application/json", id="nan-literal"),
    pytest.param(DEEP.encode(), "application/json", id="deeply-nested-array"),
    pytest.param(('{"model": "' + MODEL + '", "messages": ' + DEEP + ', "prompt": ' + DEEP + "}").encode(),
                 "application/json", id="deeply-nested-field"),
    pytest.param(b"", "application/json", id="empty-body"),
    pytest.param(b"", None, id="empty-body-no-content-type"),
    pytest.param(json.dumps(CHAT | {"prompt": "hi"}).encode(), "text/plain", id="wrong-content-type"),
    pytest.param(json.dumps(CHAT | {"prompt": "hi"}).encode(), "application/x-www-form-urlencoded",
                 id="form-content-type"),
    pytest.param(b"model=x&messages=y", "application/x-www-form-urlencoded", id="form-body"),
    pytest.param(json.dumps({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url"}]}],
                             "prompt": ["a", "b"]}).encode(), "application/json", id="unsupported-parts"),
    pytest.param(json.dumps({"model": MODEL, "messages": [{}], "prompt": []}).encode(), "application/json",
                 id="empty-message-object"),
]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("content, content_type", MALFORMED)
def test_malformed_body_is_a_client_error_object(server, admin, path, content, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = admin.post(path, content=content, headers=headers)
    assert r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    assert_error(r, 400, "invalid_request_error")


@pytest.mark.parametrize("path, body, param", [
    ("/v1/chat/completions", chat_with(messages=[{"role": "user", "content": "hi \ud800 there"}]), "messages.0.content"),
    ("/v1/completions", {**COMPLETION, "prompt": "hi \ud800 there"}, "prompt"),
    ("/v1/chat/completions", chat_with(stop=["\udfff"]), "stop"),
])
def test_lone_surrogate_escape_is_400(admin, path, body, param):
    """`"\\ud800"` is valid JSON but no Unicode text: a client error naming the field, not a 500."""
    r = admin.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    if r.status_code >= 500:
        pytest.fail(
            "BUG (src/openmaas/gateway/routing.py open_stream, body.model_dump_json()): a JSON string with a lone "
            "surrogate escape passes validation in schemas/openai.py, then serializing the worker request raises "
            "PydanticSerializationError (UnicodeEncodeError) -> 500. It should be rejected at validation with 400 "
            f"naming {param!r}. Got {r.status_code}: {r.text[:200]}")
    assert_error(r, 400, "invalid_request_error", param=param)


def test_workers_survive_the_malformed_bodies(server, admin):
    """Run after the fuzz list (same module, later): the model still answers, the deployment is ready."""
    for path in ("/v1/chat/completions", "/v1/completions"):
        for param in MALFORMED:
            content, content_type = param.values
            headers = {"content-type": content_type} if content_type else {}
            assert admin.post(path, content=content, headers=headers).status_code < 500
    assert_chat_works(admin)
    r = admin.post("/v1/completions", json=COMPLETION)
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "text_completion"
    health = httpx.get(f"{server.url}/health", timeout=10).json()
    assert health["status"] == "ok", health


def test_edge_values_that_are_valid_are_served(admin):
    """The bounds themselves are not errors, and odd but valid text reaches the model intact."""
    r = admin.post("/v1/chat/completions", json=chat_with(
        temperature=2, top_p=0, seed=2**63 - 1, stop=["a", "b", "c", "d"], max_tokens=2,
        messages=[{"role": "user", "content": "\u0000 é 漢字 🙂 \\ \" </s> <|im_end|>"}]))
    assert r.status_code == 200, r.text
    r = admin.post("/v1/chat/completions", json=chat_with(temperature=None, seed=None, stop=None, max_tokens=2))
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- 401: who are you


def test_missing_authorization_is_401(anon):
    for path in ("/v1/chat/completions", "/v1/completions"):
        r = anon.post(path, json=CHAT | {"prompt": "hi"})
        assert_error(r, 401, "authentication_error")
    assert_error(anon.get("/v1/models"), 401, "authentication_error")
    assert_error(anon.get("/api/keys"), 401, "authentication_error")


@pytest.mark.parametrize("header", [
    pytest.param("Bearer", id="bearer-no-key"),
    pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
    pytest.param("om-not-a-real-key", id="no-scheme"),
    pytest.param("Bearer om-not-a-real-key-at-all-0000000000000", id="wrong-key"),
    pytest.param("Bearer " + "x" * 10_000, id="huge-key"),
])
def test_bad_authorization_is_401(anon, header):
    r = anon.post("/v1/chat/completions", json=CHAT, headers={"Authorization": header})
    assert_error(r, 401, "authentication_error")


def test_revoked_key_is_401(server, admin, workspaces):
    ws_a, _ = workspaces["a"]
    created = admin.post("/api/keys", json={"name": unique("to-revoke"), "workspace_id": ws_a})
    assert created.status_code == 201, created.text
    key = created.json()
    with server.client(key["key"]) as c:
        assert c.get("/v1/models").status_code == 200
        r = admin.delete(f"/api/keys/{key['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["revoked_at"] is not None
        assert_error(c.get("/v1/models"), 401, "authentication_error")
        assert_error(c.post("/v1/chat/completions", json=CHAT), 401, "authentication_error")


# --------------------------------------------------------------------- 403: not your business


def test_workspace_key_cannot_use_admin_routes(server, workspaces, admin):
    _, key_a = workspaces["a"]
    path = admin.get(f"/api/models/{MODEL}").json()["path"]
    with server.client(key_a) as c:
        assert_error(c.post("/api/workspaces", json={"name": unique("sneaky")}), 403, "permission_error")
        assert_error(c.post("/api/models", json={"path": path, "name": unique("sneaky")}), 403, "permission_error")
        assert_error(c.post("/api/keys", json={"name": "x", "admin": True}), 403, "permission_error")
    # Nothing was created on the way.
    names = {w["name"] for w in admin.get("/api/workspaces").json()["data"]}
    assert not any(n.startswith("sneaky") for n in names)
    assert not any(m["id"].startswith("sneaky") for m in admin.get("/v1/models").json()["data"])


def test_workspace_key_cannot_act_on_another_workspace(server, workspaces):
    ws_a, key_a = workspaces["a"]
    ws_b, key_b = workspaces["b"]
    with server.client(key_b) as c:
        error = assert_error(c.post("/api/keys", json={"name": "intruder", "workspace_id": ws_a}), 403,
                             "permission_error", param="workspace_id")
        assert error["message"]
        assert_error(c.get("/api/usage", params={"workspace_id": ws_a}), 403, "permission_error",
                     param="workspace_id")
        # Its own workspace, named explicitly, is fine.
        assert c.get("/api/usage", params={"workspace_id": ws_b}).status_code == 200
    with server.client(key_a) as c:
        assert not any(k["name"] == "intruder" for k in c.get("/api/keys").json()["data"])


def test_tenant_cannot_see_or_revoke_another_tenants_key(server, workspaces, admin):
    ws_a, key_a = workspaces["a"]
    _, key_b = workspaces["b"]
    with server.client(key_a) as a:
        created = a.post("/api/keys", json={"name": unique("a-private")})
        assert created.status_code == 201, created.text
        target = created.json()
    with server.client(key_b) as b:
        assert target["id"] not in {k["id"] for k in b.get("/api/keys").json()["data"]}
        assert_error(b.delete(f"/api/keys/{target['id']}"), 404, "invalid_request_error")
    # Still alive: B's attempt changed nothing.
    with server.client(target["key"]) as c:
        assert c.get("/v1/models").status_code == 200
    listed = {k["id"]: k for k in admin.get("/api/keys").json()["data"]}
    assert listed[target["id"]]["revoked_at"] is None


# --------------------------------------------------------------------------- 404: no such thing


def test_unknown_model_is_404(admin):
    name = unique("no-such-model")
    for path, body in (("/v1/chat/completions", chat_with(model=name)),
                       ("/v1/completions", {**COMPLETION, "model": name})):
        error = assert_error(admin.post(path, json=body), 404, "invalid_request_error", param="model",
                             code="model_not_found")
        assert name in error["message"]
    assert_error(admin.get(f"/v1/models/{name}"), 404, "invalid_request_error", code="model_not_found")
    assert_error(admin.get(f"/api/models/{name}"), 404, "invalid_request_error", code="model_not_found")


def test_unknown_model_is_404_when_streaming(admin):
    r = admin.post("/v1/chat/completions", json=chat_with(model=unique("nope"), stream=True))
    assert_error(r, 404, "invalid_request_error", param="model")


def test_unknown_route_is_404_error_object(admin, anon):
    assert_error(admin.get("/v1/no-such-route"), 404, "invalid_request_error")
    assert_error(anon.get("/api/definitely/not/here"), 404, "invalid_request_error")
    # Any other path belongs to the console's client-side routes: its page, not an API error.
    page = anon.get("/definitely/not/here")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_error(admin.post("/v1/engines/davinci/completions", json={}), 404)


def test_wrong_method_is_an_error_object(admin):
    r = admin.get("/v1/chat/completions")
    assert_error(r, 405)


# --------------------------------------------------------------------------- 413: too large


def test_body_over_limit_is_413_with_content_length(admin):
    padding = "x" * (MAX_BODY + 1024)
    r = admin.post("/v1/chat/completions", json=chat_with(messages=[{"role": "user", "content": padding}]))
    assert_error(r, 413, "invalid_request_error", code="request_too_large")


def test_body_over_limit_is_413_when_chunked(admin):
    def chunks():
        yield b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"y" * 65536
        yield b'"}]}'

    r = admin.post("/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers and r.request.headers.get("transfer-encoding") == "chunked"
    if r.status_code == 400 and "error parsing the body" in r.text:
        pytest.fail(
            "BUG (src/openmaas/gateway/body_limit.py): PayloadTooLarge raised from counted_receive() inside "
            "FastAPI's request.body() is caught by fastapi/routing.py's `except Exception` and turned into "
            "HTTPException(400, 'There was an error parsing the body'), so a chunked body over the limit gets "
            f"400 instead of 413. Got: {r.text[:200]}")
    assert_error(r, 413, "invalid_request_error", code="request_too_large")


def test_body_just_under_limit_is_not_413(admin):
    # Under the byte limit the request is read and judged on its merits (here: too long a prompt).
    padding = "hi " * ((MAX_BODY - 4096) // 3)
    r = admin.post("/v1/completions", json={**COMPLETION, "prompt": padding})
    assert r.status_code != 413
    assert_error(r, 400, "invalid_request_error", code="context_length_exceeded")


def test_server_still_serves_after_oversized_bodies(admin):
    assert_chat_works(admin)


# ------------------------------------------------------------------- 400: longer than the context


def test_prompt_longer_than_context_is_400(admin):
    r = admin.post("/v1/chat/completions", json=chat_with(messages=[{"role": "user", "content": "hello " * 6000}]))
    error = assert_error(r, 400, "invalid_request_error", param="messages", code="context_length_exceeded")
    assert "context" in error["message"].lower()


def test_completion_prompt_longer_than_context_is_400(admin):
    r = admin.post("/v1/completions", json={**COMPLETION, "prompt": "hello " * 6000})
    assert_error(r, 400, "invalid_request_error", param="prompt", code="context_length_exceeded")


def test_prompt_longer_than_context_is_400_when_streaming(admin):
    r = admin.post("/v1/chat/completions", json=chat_with(
        stream=True, messages=[{"role": "user", "content": "hello " * 6000}]))
    assert_error(r, 400, "invalid_request_error", param="messages", code="context_length_exceeded")


def test_server_still_serves_after_context_errors(admin):
    assert_chat_works(admin)


# ---------------------------------------------------------------------------- 503: not deployed


@pytest.fixture(scope="module")
def undeployed(admin) -> str:
    path = admin.get(f"/api/models/{MODEL}").json()["path"]
    name = unique("undeployed-copy")
    r = admin.post("/api/models", json={"path": path, "name": name})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == name
    return name


def test_model_registered_but_not_deployed_is_503(admin, undeployed):
    assert undeployed in {m["id"] for m in admin.get("/v1/models").json()["data"]}
    error = assert_error(admin.post("/v1/chat/completions", json=chat_with(model=undeployed)), 503, "server_error",
                         code="model_not_deployed")
    assert undeployed in error["message"]
    assert_error(admin.post("/v1/completions", json={**COMPLETION, "model": undeployed}), 503, "server_error",
                 code="model_not_deployed")
    assert_error(admin.post("/v1/chat/completions", json=chat_with(model=undeployed, stream=True)), 503,
                 "server_error", code="model_not_deployed")


def test_import_errors_are_error_objects(admin, tmp_path):
    assert_error(admin.post("/api/models", json={"path": str(tmp_path / "missing.gguf"), "name": unique("m")}), 400,
                 "invalid_request_error", param="path")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("not a model")
    assert_error(admin.post("/api/models", json={"path": str(not_gguf), "name": unique("m")}), 400,
                 "invalid_request_error", param="path")
    assert_error(admin.post("/api/models", json={"path": 5, "name": None}), 400, "invalid_request_error")


def test_duplicate_model_name_is_409(admin, undeployed):
    path = admin.get(f"/api/models/{MODEL}").json()["path"]
    assert_error(admin.post("/api/models", json={"path": path, "name": undeployed}), 409, param="name")


# ------------------------------------------------------------------------- the official client


def test_openai_client_raises_the_documented_exceptions(server, workspaces, undeployed):
    bad = server.openai("om-wrong-key-0000000000000000000000000000")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    assert info.value.status_code == 401

    client = server.openai(workspaces["a"][1])
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=unique("absent"), messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "model_not_found" and info.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(unique("absent"))

    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], temperature=5)
    assert info.value.param == "temperature" and info.value.status_code == 400
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello " * 6000}])
    assert info.value.code == "context_length_exceeded" and info.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model=MODEL, prompt="hi", max_tokens=10**30)
    assert info.value.param == "max_tokens"

    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=undeployed, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 503 and info.value.code == "model_not_deployed"

    api = openai.OpenAI(base_url=f"{server.url}/api", api_key=workspaces["a"][1], max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as info:
        api.post("/workspaces", body={"name": unique("x")}, cast_to=object)
    assert info.value.status_code == 403

    # And after all that, the same client still gets answers.
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    assert answer.choices[0].finish_reason in ("stop", "length")
