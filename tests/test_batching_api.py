"""Continuous batching through the whole HTTP stack: concurrency, sampling, structured
output, prefix cache, backpressure, cancellation and metrics, on the real model."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import openai
import pytest

from conftest import MODEL, start_server

PROMPTS = ["Name three colours.", "What is 2+2?", "Say hello in French.", "Write a haiku about rain.",
           "List two planets.", "What is the capital of Italy?", "Describe a cat in one sentence.",
           "Give me a random fruit."]


def greedy(client, prompt: str, max_tokens: int = 16) -> str:
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                           max_tokens=max_tokens, temperature=0)
    return reply.choices[0].message.content


# The built-in model's end-of-generation tokens; banned with logit_bias, an answer runs to max_tokens.
END_OF_GENERATION = ("<|endoftext|>", "<|im_end|>", "<reponame>")


def greedy_tokens(client, prompt: str) -> list:
    """The first 16 greedy tokens with their two best alternatives. Always 16, end of generation
    being banned: two answers that part are compared where they part, not cut short there."""
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                           max_tokens=16, temperature=0, logprobs=True, top_logprobs=2,
                                           logit_bias={str(vocab_id(token)): -100 for token in END_OF_GENERATION})
    return reply.choices[0].logprobs.content


def test_concurrent_streams_agree_with_the_same_requests_alone(server):
    """Batched decoding takes other kernels than a batch of one, so logits differ in their last
    bits; greedy choices may then part only where the two best tokens are all but tied."""
    client = server.openai()
    alone = [greedy_tokens(client, p) for p in PROMPTS]
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = list(pool.map(lambda p: greedy_tokens(client, p), PROMPTS))
    for solo, batched in zip(alone, together):
        assert len(solo) == len(batched) == 16
        for a, b in zip(solo, batched):
            if a.token != b.token:
                best, second = a.top_logprobs[:2]
                assert best.logprob - second.logprob < 0.25, (a, b)
                break


def test_n_choices_are_siblings_that_sample_independently(server):
    client = server.openai()
    messages = [{"role": "user", "content": "Invent a name for a boat."}]
    reply = client.chat.completions.create(model=MODEL, messages=messages, n=3, max_tokens=12, temperature=1.0,
                                           seed=7)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    texts = [c.message.content for c in reply.choices]
    assert all(texts) and len(set(texts)) > 1  # siblings use seed+i
    assert reply.usage.completion_tokens >= 3  # every choice's tokens are counted, the prompt once
    alone = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=1, temperature=0)
    assert reply.usage.prompt_tokens == alone.usage.prompt_tokens


def test_n_choices_stream(server):
    chunks = list(server.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], n=2, max_tokens=6, stream=True, seed=3))
    texts = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert set(finishes) == {0, 1} and all(texts.values())


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"},
                   "pets": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
    "required": ["name", "age", "pets"],
    "additionalProperties": False,
}


def test_json_schema_output_parses_and_validates(server):
    client = server.openai()
    for prompt in ("Describe a person as JSON.", "Who is Alice?"):
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": prompt}], max_tokens=120, temperature=0,
            response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}})
        assert reply.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(reply.choices[0].message.content), PERSON)


def test_json_object_output_parses(server):
    reply = server.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content":
                                              "Give a JSON object with the key \"city\" set to the capital of France."}],
        max_tokens=200,
        temperature=0, response_format={"type": "json_object"})
    assert reply.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


def test_unsupported_schema_is_a_400_naming_the_problem(admin):
    response = admin.post("/v1/chat/completions", json={
        "model": MODEL, "messages": [{"role": "user", "content": "Hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
            "type": "object", "patternProperties": {"^a": {"type": "string"}}}}}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "response_format.json_schema.schema" and "patternProperties" in error["message"]


def test_logprobs_and_logit_bias(server):
    client = server.openai()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4, temperature=0,
                                           logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens
    first = content[0]
    assert first.logprob <= 0 and len(first.top_logprobs) == 3
    assert [t.logprob for t in first.top_logprobs] == sorted((t.logprob for t in first.top_logprobs), reverse=True)
    assert first.top_logprobs[0].token == first.token  # greedy picks the best
    # Ban the token the greedy answer starts with: the answer must start differently.
    plain = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=1,
                                      temperature=0, logprobs=1)
    first_token = plain.choices[0].logprobs.tokens[0]
    banned = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=1,
                                       temperature=0, logit_bias={str(vocab_id(first_token)): -100})
    assert banned.choices[0].text != first_token
    # And force one: +100 makes a token all but certain.
    forced = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=1,
                                       temperature=0, logit_bias={str(vocab_id(" banana")): 100})
    assert forced.choices[0].text == " banana"


@functools.cache
def vocabulary() -> dict[str, int]:
    """The built-in model's byte-level BPE vocabulary, read from its GGUF (spaces are written 'Ġ')."""
    from gguf import GGUFReader

    from openmaas.hub.builtin import builtin_model_path

    field = GGUFReader(builtin_model_path()).fields["tokenizer.ggml.tokens"]
    return {bytes(field.parts[i]).decode(): n for n, i in enumerate(field.data)}


def vocab_id(text: str) -> int:
    return vocabulary()[text.replace(" ", "Ġ")]


def test_prefix_cache_reports_cached_tokens_on_a_repeated_system_prompt(server):
    client = server.openai()
    system = "You are a meticulous librarian. " * 30  # a long shared prefix
    replies = [client.chat.completions.create(
        model=MODEL, max_tokens=8, temperature=0,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}])
        for question in ("Recommend a book.", "Recommend a film.")]
    cached = replies[1].usage.prompt_tokens_details.cached_tokens
    assert cached > 100 and cached < replies[1].usage.prompt_tokens


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory):
    """One slot, one place in the queue, a short queue wait: easy to fill."""
    server = start_server(tmp_path_factory.mktemp("tiny"), env={
        "OPENMAAS_SLOTS": "1", "OPENMAAS_MAX_WAITING": "1", "OPENMAAS_MAX_QUEUE_WAIT_S": "2"})
    yield server
    server.stop()


def replica(client: httpx.Client) -> dict:
    return client.get("/api/deployments").json()["data"][0]["replica_states"][0]


def long_stream(server, ready: threading.Event, stop: threading.Event):
    """A stream that cannot end by itself (end of generation banned): it holds its slot until the test lets go."""
    with server.client() as client, client.stream("POST", "/v1/chat/completions", json={
            "model": MODEL, "messages": [{"role": "user", "content": "Write a very long story."}],
            "max_tokens": 3000, "stream": True,
            "logit_bias": {str(vocab_id(token)): -100 for token in END_OF_GENERATION}}) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                ready.set()
            if stop.is_set():
                return


def test_full_queue_gets_429_with_retry_after_and_a_disconnect_frees_the_slot(tiny_server):
    server = tiny_server
    ready, stop = threading.Event(), threading.Event()
    holder = threading.Thread(target=long_stream, args=(server, ready, stop))
    holder.start()
    try:
        assert ready.wait(60)
        with server.client() as client:
            waiting = threading.Thread(target=lambda: client.post("/v1/chat/completions", json={
                "model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}))
            waiting.start()
            deadline = time.monotonic() + 30
            while replica(client)["waiting"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            refusals = metric(client.get("/metrics").text, "openmaas_requests_total", 'status="429"')
            refused = client.post("/v1/chat/completions", json={
                "model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2})
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"]["type"] == "rate_limit_exceeded"
            # the refusal is an outcome in the metrics as well
            assert metric(client.get("/metrics").text, "openmaas_requests_total", 'status="429"') == refusals + 1
            waiting.join()
    finally:
        stop.set()
        holder.join()
    with server.client() as client:
        deadline = time.monotonic() + 30
        while replica(client)["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        state = replica(client)
        assert state["running"] == 0
        generated = state["generated_tokens"]
        time.sleep(0.5)
        assert replica(client)["generated_tokens"] == generated  # nothing decodes for the gone client
        reply = client.post("/v1/chat/completions", json={
            "model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})
        assert reply.status_code == 200  # the slot was reused at once


def metric(text: str, name: str, label: str = "") -> float:
    """The sum of a metric's samples, only those carrying `label` (like 'status="429"') if given."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#") and label in line:
            if re.match(rf"{re.escape(name)}(\{{| )", line):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_move_as_requests_run(server, admin):
    before = admin.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    greedy(server.openai(), "Count to five.", 10)
    after = admin.get("/metrics").text
    for name in ("openmaas_generation_tokens_total", "openmaas_prompt_tokens_total",
                 "openmaas_time_to_first_token_seconds_count", "openmaas_request_duration_seconds_count",
                 "openmaas_queue_time_seconds_count", "openmaas_inter_token_latency_seconds_count"):
        assert metric(after, name) > metric(before.text, name), name
    assert metric(after, "openmaas_kv_cells_total") > 0
    assert metric(after, "openmaas_replicas_ready") == 1


def test_metrics_need_an_admin_key(server, workspaces):
    _, key = workspaces["a"]
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 403
