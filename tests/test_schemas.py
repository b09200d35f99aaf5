"""The OpenAI schema: requests fail naming the right parameter; responses parse in the official client."""

from __future__ import annotations

import http.server
import json
import threading

import openai
import pydantic
import pytest

from openmaas.schemas.openai import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionRequest,
    Completion,
    CompletionChoice,
    CompletionChunk,
    CompletionRequest,
    DeltaMessage,
    ErrorDetail,
    ErrorResponse,
    ModelList,
    ModelObject,
    Usage,
    new_completion_id,
    validation_error_to_param,
)

CHAT = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hello"}]}


def chat_error(**overrides) -> tuple[str | None, str]:
    with pytest.raises(pydantic.ValidationError) as info:
        ChatCompletionRequest.model_validate({**CHAT, **overrides})
    return validation_error_to_param(info.value)


# ------------------------------------------------------------------------ requests


def test_chat_request_parses_with_defaults_and_ignores_unknown_fields():
    req = ChatCompletionRequest.model_validate({**CHAT, "tools": [], "metadata": {"a": "b"}})
    assert (req.temperature, req.top_p, req.n, req.stream) == (1.0, 1.0, 1, False)
    assert req.stop_list == [] and req.effective_max_tokens is None and not req.include_usage


def test_chat_request_full():
    req = ChatCompletionRequest.model_validate(
        {
            **CHAT,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": None},
                {"role": "tool", "content": "", "tool_call_id": "call_1"},
            ],
            "max_tokens": 9,
            "max_completion_tokens": 5,
            "temperature": 0,  # an int is a fine number
            "top_p": None,  # null means "default"
            "stop": "\n",
            "seed": -(2**63),
            "stream": True,
            "stream_options": {"include_usage": True},
            "logit_bias": {"50256": -100},
            "logprobs": True,
            "top_logprobs": 2,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            "top_k": 40,
            "min_p": 0.05,
            "repetition_penalty": 1.1,
        }
    )
    assert req.messages[1].text() == "a\nb" and req.messages[2].text() == ""
    assert req.effective_max_tokens == 5
    assert req.temperature == 0.0 and req.top_p == 1.0
    assert req.stop_list == ["\n"] and req.include_usage
    assert req.response_format.json_schema.schema_ == {"type": "object"}


@pytest.mark.parametrize(
    "overrides, param, words",
    [
        ({"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role", "'user'"),
        ({"messages": []}, "messages", "at least 1"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages.0.content", "non-empty"),
        ({"messages": [{"role": "system", "content": []}]}, "messages.0.content", "non-empty"),
        ({"messages": [{"role": "user"}]}, "messages.0.content", "non-empty"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages.0.content",
            "only 'text'",
        ),
        ({"model": ""}, "model", "at least 1"),
        ({"temperature": 3}, "temperature", "less than or equal to 2"),
        ({"temperature": "1"}, "temperature", "valid number"),
        ({"temperature": float("nan")}, "temperature", "finite"),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"max_tokens": "10"}, "max_tokens", "valid integer"),
        ({"max_tokens": True}, "max_tokens", "valid integer"),
        ({"max_tokens": 10**30}, "max_tokens", "less than or equal to"),
        ({"max_completion_tokens": 1.5}, "max_completion_tokens", "valid integer"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        ({"stop": ["a", ""]}, "stop", "non-empty"),
        ({"seed": 2**70}, "seed", "less than or equal to"),
        ({"top_p": -1}, "top_p", "greater than or equal to 0"),
        ({"n": 0}, "n", "greater than or equal to 1"),
        ({"presence_penalty": 2.5}, "presence_penalty", "less than or equal to 2"),
        ({"stream": "yes"}, "stream", "valid boolean"),
        ({"stream_options": {"include_usage": True}}, "stream_options", "'stream'"),
        ({"logit_bias": {"50256": 101}}, "logit_bias.50256", "less than or equal to 100"),
        ({"top_logprobs": 2}, "top_logprobs", "'logprobs'"),
        ({"user": "u" * 257}, "user", "at most 256"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "'json_object'"),
    ],
)
def test_invalid_chat_request_names_the_param(overrides, param, words):
    got_param, message = chat_error(**overrides)
    assert got_param == param
    assert f"'{param}'" in message and words in message


def test_missing_model_and_non_object_body():
    with pytest.raises(pydantic.ValidationError) as info:
        ChatCompletionRequest.model_validate({"messages": CHAT["messages"]})
    assert validation_error_to_param(info.value) == ("model", "Missing required parameter: 'model'.")
    with pytest.raises(pydantic.ValidationError) as info:
        ChatCompletionRequest.model_validate_json("[1, 2]")
    assert validation_error_to_param(info.value)[0] is None


def test_huge_json_numbers_fail_cleanly():
    body = json.dumps(CHAT)[:-1]
    for extra, param in [('"max_tokens": 1' + "0" * 40, "max_tokens"), ('"temperature": 1e400', "temperature")]:
        with pytest.raises(pydantic.ValidationError) as info:
            ChatCompletionRequest.model_validate_json(f"{body}, {extra}}}")
        assert validation_error_to_param(info.value)[0] == param


def test_completion_request():
    req = CompletionRequest.model_validate({"model": "m", "prompt": ["Once upon"], "stop": ["."]})
    assert req.prompt == "Once upon" and req.max_tokens == 16 and req.stop_list == ["."] and not req.echo
    for prompt, words in [([1, 2, 3], "token-id"), (["a", "b"], "exactly one"), (5, "valid string")]:
        with pytest.raises(pydantic.ValidationError) as info:
            CompletionRequest.model_validate({"model": "m", "prompt": prompt})
        param, message = validation_error_to_param(info.value)
        assert param == "prompt" and words in message
    with pytest.raises(pydantic.ValidationError) as info:
        CompletionRequest.model_validate({"model": "m", "prompt": "x", "suffix": "y"})
    assert validation_error_to_param(info.value)[0] == "suffix"
    with pytest.raises(pydantic.ValidationError) as info:
        CompletionRequest.model_validate({"model": "m", "prompt": "x", "logprobs": 6})
    assert validation_error_to_param(info.value)[0] == "logprobs"


# ----------------------------------------------------------------------- responses


def test_ids():
    assert new_completion_id("chatcmpl").startswith("chatcmpl-")
    assert new_completion_id("cmpl") != new_completion_id("cmpl")
    assert ChatCompletion(model="m", choices=[], usage=Usage.of(1, 1)).id.startswith("chatcmpl-")
    assert Completion(model="m", choices=[], usage=Usage.of(1, 1)).id.startswith("cmpl-")


def chat_completion() -> ChatCompletion:
    return ChatCompletion(
        model="smollm2-135m",
        choices=[ChatCompletionChoice(message=AssistantMessage(content="Hi there"), finish_reason="length")],
        usage=Usage.of(5, 2, cached_tokens=3),
    )


def chat_chunks() -> list[ChatCompletionChunk]:
    cid = new_completion_id("chatcmpl")
    pieces = [DeltaMessage(role="assistant", content=""), DeltaMessage(content="Hi"), DeltaMessage(content=" there")]
    chunks = [ChatCompletionChunk(id=cid, model="m", choices=[ChatCompletionChunkChoice(delta=d)]) for d in pieces]
    chunks.append(ChatCompletionChunk(id=cid, model="m", choices=[ChatCompletionChunkChoice(finish_reason="stop")]))
    chunks.append(ChatCompletionChunk(id=cid, model="m", choices=[], usage=Usage.of(5, 2)))
    return chunks


@pytest.mark.parametrize("exclude_none", [False, True])
def test_responses_validate_with_openai_types(exclude_none):
    dump = lambda m: m.model_dump(mode="json", exclude_none=exclude_none)  # noqa: E731

    parsed = openai.types.chat.ChatCompletion.model_validate(dump(chat_completion()))
    assert parsed.choices[0].message.content == "Hi there" and parsed.choices[0].finish_reason == "length"
    assert parsed.usage.total_tokens == 7 and parsed.usage.prompt_tokens_details.cached_tokens == 3

    for chunk in chat_chunks():
        openai.types.chat.ChatCompletionChunk.model_validate(dump(chunk))

    completion = Completion(
        model="m", choices=[CompletionChoice(text=" a time", finish_reason="stop")], usage=Usage.of(2, 2)
    )
    assert openai.types.Completion.model_validate(dump(completion)).choices[0].text == " a time"
    last = CompletionChunk(id=completion.id, model="m", choices=[CompletionChoice(text="", finish_reason="length")])
    assert dump(last)["object"] == "text_completion"
    openai.types.Completion.model_validate(dump(last))

    models = ModelList(data=[ModelObject(id="smollm2-135m")])
    assert [openai.types.Model.model_validate(m).id for m in dump(models)["data"]] == ["smollm2-135m"]


def test_chunk_dump_matches_openai_wire_format():
    first, *_, finish, usage = [c.model_dump() for c in chat_chunks()]
    assert first["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "finish_reason": None,
        "logprobs": None,
    }
    assert finish["choices"][0]["delta"] == {} and finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 7


class _FakeServer(http.server.BaseHTTPRequestHandler):
    """Serves our models' bytes on loopback, so the real client parses them over real HTTP."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if body["model"] == "missing":
            detail = ErrorDetail(message="no such model", type="invalid_request_error", param="model", code="model_not_found")
            error = ErrorResponse(error=detail)
            self._send(404, "application/json", error.model_dump_json())
        else:
            events = "".join(f"data: {c.model_dump_json()}\n\n" for c in chat_chunks()) + "data: [DONE]\n\n"
            self._send(200, "text/event-stream", events)

    def _send(self, status: int, content_type: str, text: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(text.encode())))
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):
        pass


def test_official_client_reads_our_stream_and_errors():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = openai.OpenAI(api_key="k", base_url=f"http://127.0.0.1:{server.server_port}/v1", max_retries=0)
        messages = [{"role": "user", "content": "Hello"}]
        chunks = list(client.chat.completions.create(model="m", messages=messages, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi there"
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model="missing", messages=messages)
        assert info.value.code == "model_not_found" and info.value.param == "model"
    finally:
        server.shutdown()
