"""The OpenAI API as OpenMaaS serves it: request and response models in one place.

Requests validate strictly enough that bad input fails here with an error naming the
field (`validation_error_to_param` turns it into OpenAI's `param` and message), and
never later inside an engine. Unknown fields are ignored, as OpenAI-compatible servers do.

Responses dump (`model_dump()` / `model_dump_json()`) to exactly what OpenAI sends, so
the official `openai` client parses them.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_STOP_SEQUENCES = 4


def _float(ge: float | None = None, le: float | None = None, gt: float | None = None) -> Any:
    """A JSON number in a range: ints are accepted, strings, booleans, inf and NaN are not."""
    return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=ge, le=le, gt=gt)]


def _int(ge: int, le: int) -> Any:
    """A JSON integer in a range: no "10", no true, no 10.0, and nothing that overflows later."""
    return Annotated[StrictInt, Field(ge=ge, le=le)]


Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]


def _encodable(text: str) -> str:
    """JSON allows lone surrogate escapes ("\\ud800"); no model, database or UTF-8 stream does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the string contains an unpaired surrogate (invalid Unicode)") from None
    return text


Text = Annotated[StrictStr, AfterValidator(_encodable)]
NonEmptyStr = Annotated[Text, Field(min_length=1)]
TokenCount = _int(1, INT32_MAX)
Temperature = _float(ge=0, le=2)
Probability = _float(ge=0, le=1)
Penalty = _float(ge=-2, le=2)
Choices = _int(1, 16)
Seed = _int(INT64_MIN, INT64_MAX)
TopK = _int(-1, INT32_MAX)  # 0 or -1: disabled
TopLogprobs = _int(0, 20)
LegacyLogprobs = _int(0, 5)
RepetitionPenalty = _float(gt=0, le=2)
LogitBias = dict[Annotated[str, Field(pattern=r"^\d+$")], _float(ge=-100, le=100)]  # token id -> bias


# --------------------------------------------------------------------------- requests


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        """`"temperature": null` is what many clients send for "not set": use the default."""
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {
            k: v
            for k, v in data.items()
            if not (v is None and k in fields and not fields[k].is_required() and fields[k].default is not None)
        }


class TextContentPart(BaseModel):
    type: Literal["text"] = "text"
    text: Text


class ChatMessage(_Request):
    role: Role
    content: Text | list[TextContentPart] | None = Field(default=None, validate_default=True)
    name: Text | None = None
    tool_call_id: Text | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _check_parts(cls, content: Any) -> Any:
        if content is None or isinstance(content, str):
            return content
        if not isinstance(content, list):
            raise ValueError("expected a string or a list of content parts")
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise ValueError(f"content part {i} must be an object like {{'type': 'text', 'text': '...'}}")
            if part.get("type") != "text":
                raise ValueError(f"content part {i} has type {part.get('type')!r}; only 'text' parts are supported")
            if not isinstance(part.get("text"), str):
                raise ValueError(f"content part {i} must have a string 'text'")
        return content

    @field_validator("content")
    @classmethod
    def _required_for_prompting_roles(cls, content: Any, info: ValidationInfo) -> Any:
        if info.data.get("role") in ("system", "developer", "user") and not content:
            raise ValueError(f"a {info.data['role']} message must have non-empty content")
        return content

    def text(self) -> str:
        """The message's text: the string itself, or the text parts joined by newlines."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "\n".join(part.text for part in self.content)


class StreamOptions(_Request):
    include_usage: StrictBool = False


class JsonSchemaFormat(_Request):
    model_config = ConfigDict(populate_by_name=True)

    name: NonEmptyStr = Field(max_length=64)
    description: Text | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


class ResponseFormat(_Request):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("'json_schema' is required when type is 'json_schema'")
        return self


class _GenerationRequest(_Request):
    """What /v1/chat/completions and /v1/completions share, in OpenAI's order."""

    model: NonEmptyStr
    temperature: Temperature = 1.0
    top_p: Probability = 1.0
    n: Choices = 1
    stop: str | list[str] | None = None
    seed: Seed | None = None
    presence_penalty: Penalty = 0.0
    frequency_penalty: Penalty = 0.0
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: Annotated[Text, Field(max_length=256)] | None = None
    logit_bias: LogitBias | None = None
    # Extensions beyond OpenAI, as vLLM and llama.cpp accept them.
    top_k: TopK | None = None
    min_p: Probability | None = None
    repetition_penalty: RepetitionPenalty | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _check_stop(cls, stop: Any) -> Any:
        if stop is None:
            return None
        items = [stop] if isinstance(stop, str) else stop
        if not isinstance(items, list):
            raise ValueError("expected a string or a list of strings")
        if len(items) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed, got {len(items)}")
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise ValueError(f"stop sequence {i} must be a non-empty string")
            _encodable(item)
        return stop

    @field_validator("stream_options")
    @classmethod
    def _only_when_streaming(cls, options: Any, info: ValidationInfo) -> Any:
        if options is not None and not info.data.get("stream"):
            raise ValueError("only allowed when 'stream' is true")
        return options

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(_GenerationRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: TokenCount | None = None
    max_completion_tokens: TokenCount | None = None
    logprobs: StrictBool | None = None
    top_logprobs: TopLogprobs | None = None
    response_format: ResponseFormat | None = None

    @field_validator("top_logprobs")
    @classmethod
    def _needs_logprobs(cls, top: Any, info: ValidationInfo) -> Any:
        if top is not None and not info.data.get("logprobs"):
            raise ValueError("'logprobs' must be true when 'top_logprobs' is set")
        return top

    @property
    def effective_max_tokens(self) -> int | None:
        """`max_completion_tokens` (the current name) over `max_tokens` (the deprecated one)."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(_GenerationRequest):
    """Legacy /v1/completions. `prompt` is one string; a one-item list is unwrapped to it.

    Batched prompts and token-id prompts are rejected with a clear error rather than
    half-supported."""

    prompt: Text
    max_tokens: TokenCount = 16
    logprobs: LegacyLogprobs | None = None
    echo: StrictBool = False
    suffix: None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_text_prompt(cls, prompt: Any) -> Any:
        if isinstance(prompt, list):
            if any(isinstance(p, (int, list)) for p in prompt):
                raise ValueError("token-id prompts are not supported; send the prompt as a string")
            if len(prompt) != 1:
                raise ValueError(f"send exactly one prompt per request (got a list of {len(prompt)})")
            return prompt[0]
        return prompt

    @field_validator("suffix", mode="before")
    @classmethod
    def _no_suffix(cls, suffix: Any) -> Any:
        if suffix is not None:
            raise ValueError("'suffix' is not supported")
        return suffix


# -------------------------------------------------------------------------- responses


def new_completion_id(prefix: str = "chatcmpl") -> str:
    """An id like OpenAI's: `chatcmpl-…` for chat, `cmpl-…` for completions."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _now() -> int:
    return int(time.time())


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0


class CompletionTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int, cached_tokens: int | None = None) -> Usage:
        details = None if cached_tokens is None else PromptTokensDetails(cached_tokens=cached_tokens)
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            prompt_tokens_details=details,
        )


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob] = []


class ChatLogprobs(BaseModel):
    content: list[TokenLogprob] | None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str] = []
    token_logprobs: list[float | None] = []
    top_logprobs: list[dict[str, float] | None] = []
    text_offset: list[int] = []


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None


class ChatCompletionChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason
    logprobs: ChatLogprobs | None = None


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=lambda: new_completion_id("chatcmpl"))
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatCompletionChoice]
    usage: Usage
    system_fingerprint: str | None = None


class DeltaMessage(BaseModel):
    """A streamed piece of the assistant message; unset fields are left out, as OpenAI does."""

    role: Literal["assistant"] | None = None
    content: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class ChatCompletionChunkChoice(BaseModel):
    index: int = 0
    delta: DeltaMessage = Field(default_factory=DeltaMessage)
    finish_reason: FinishReason | None = None
    logprobs: ChatLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    """One SSE event. With include_usage, the last chunk has `choices: []` and the usage."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatCompletionChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: Literal["stop", "length", "content_filter"] | None = None  # None mid-stream
    logprobs: CompletionLogprobs | None = None


class Completion(BaseModel):
    id: str = Field(default_factory=lambda: new_completion_id("cmpl"))
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    system_fingerprint: str | None = None


class CompletionChunk(Completion):
    """Streamed /v1/completions events: the same object ("text_completion") as OpenAI sends."""

    id: str
    usage: Usage | None = None


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=_now)
    owned_by: str = "openmaas"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# ------------------------------------------------------------------- validation errors

_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _is_field_segment(seg: str | int) -> bool:
    """Drop the segments pydantic adds inside unions and dict keys ('str', 'list[str]', '[key]')."""
    if isinstance(seg, int):
        return True
    return seg not in _TYPE_TAGS and not any(c in seg for c in "[-") and not seg[:1].isupper()


def validation_error_to_param(exc: pydantic.ValidationError) -> tuple[str | None, str]:
    """(param, message) for the first error, as OpenAI reports them."""
    return error_to_param(exc.errors(include_url=False)[0])


def error_to_param(err: dict[str, Any]) -> tuple[str | None, str]:
    """(param, message) for one pydantic error dict.

    param is the dotted location ("messages.0.content", "max_tokens"), None when the
    body as a whole is wrong; the message names the parameter."""
    param = ".".join(str(seg) for seg in err["loc"] if _is_field_segment(seg)) or None
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if param is None:
        return None, f"Invalid request body: {msg}"
    if err["type"] == "missing":
        return param, f"Missing required parameter: '{param}'."
    kind = "type" if err["type"].endswith("_type") else "value"
    return param, f"Invalid {kind} for '{param}': {msg}"
