"""The OpenAI-compatible API against the real server and the real built-in model."""

from __future__ import annotations

import httpx

from conftest import MODEL

HELLO = [{"role": "user", "content": "Name three colours."}]


def test_health_reports_the_default_deployment_ready(server):
    body = httpx.get(f"{server.url}/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert [d["model"] for d in body["deployments"]] == [MODEL]
    assert body["deployments"][0]["replicas_ready"] == 1


def test_models_list_and_get(server):
    client = server.openai()
    assert MODEL in [m.id for m in client.models.list().data]
    model = client.models.retrieve(MODEL)
    assert model.id == MODEL and model.owned_by == "openmaas"


def test_model_card(admin):
    card = admin.get(f"/api/models/{MODEL}").json()
    assert card["architecture"] == "llama" and card["context_length"] == 8192
    assert card["quantization"] and card["chat_template"] and len(card["sha256"]) == 64
    assert card["source"] == "builtin" and card["parameters"] > 100_000_000


def test_chat_completion(server):
    reply = server.openai().chat.completions.create(model=MODEL, messages=HELLO, max_tokens=24, temperature=0)
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 24
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_length_is_reported_truthfully(server):
    reply = server.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_completion_tokens=5, temperature=0)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 5


def test_stream_matches_non_stream_and_reports_usage(server):
    client = server.openai()
    whole = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=20, temperature=0)
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=20, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens


def test_raw_sse_ends_with_done(server, admin):
    with admin.stream("POST", "/v1/chat/completions", json={
            "model": MODEL, "messages": HELLO, "max_tokens": 4, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


def test_stop_string_cuts_the_answer_and_is_not_leaked(server):
    client = server.openai()
    prompt = [{"role": "user", "content": "Count from one to ten in words, separated by commas."}]
    full = client.chat.completions.create(model=MODEL, messages=prompt, max_tokens=40, temperature=0)
    text = full.choices[0].message.content
    # A 3-character stop string from the middle of the answer, first seen there.
    middle = len(text) // 2
    nearest_middle = sorted(range(1, len(text) - 3), key=lambda i: abs(i - middle))
    stop = next(text[i:i + 3] for i in nearest_middle if text.index(text[i:i + 3]) == i)
    cut = client.chat.completions.create(model=MODEL, messages=prompt, max_tokens=40, temperature=0, stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[: text.index(stop)]
    streamed = client.chat.completions.create(model=MODEL, messages=prompt, max_tokens=40, temperature=0,
                                              stop=stop, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text[: text.index(stop)]


def test_same_seed_same_text(server):
    client = server.openai()

    def sample(seed: int) -> str:
        reply = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=16, temperature=1.0,
                                               top_p=0.95, seed=seed)
        return reply.choices[0].message.content

    assert sample(1234) == sample(1234)
    assert len({sample(s) for s in (1, 2, 3, 4)}) > 1  # and seeds do matter


def test_penalties_and_user_are_accepted(server):
    reply = server.openai().chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=8, presence_penalty=1.0, frequency_penalty=0.5, user="alice")
    assert reply.usage.completion_tokens > 0


def test_completions(server):
    client = server.openai()
    reply = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=6, temperature=0)
    assert reply.object == "text_completion" and reply.choices[0].text
    assert reply.usage.completion_tokens <= 6
    streamed = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=6,
                                         temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == reply.choices[0].text
    echoed = client.completions.create(model=MODEL, prompt="Once upon", max_tokens=3, temperature=0, echo=True)
    assert echoed.choices[0].text.startswith("Once upon")
