"""The internal API between the gateway and a worker, typed on both sides.

POST /generate takes a `GenerateRequest`. A request the worker refuses gets an OpenAI
error object with its status (400 prompt longer than the context, 429 queue full or
waited too long, with Retry-After) before any streaming starts. An accepted one is
answered, once the engine admits it, with newline-delimited JSON: one `StreamLine` per
line, first a "start" (prompt size, cached prompt tokens, time queued), then "delta"
lines for choices 0..n-1, a "done" per choice, or an "error".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator


class GenerateRequest(BaseModel):
    messages: list[dict] | None = None  # chat: rendered with the model's template
    prompt: str | None = None  # raw completion
    n: int = 1
    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    stop: list[str] = []
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: dict[int, float] = {}
    logprobs: bool = False
    top_logprobs: int = 0
    grammar: str | None = None  # GBNF, from a response_format

    @model_validator(mode="after")
    def _one_input(self) -> "GenerateRequest":
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("exactly one of messages and prompt is required")
        return self


class TokenLogprobLine(BaseModel):
    token: str
    logprob: float
    bytes: list[int]
    top: list[tuple[str, float, list[int]]] = []


class StreamLine(BaseModel):
    kind: Literal["start", "delta", "done", "error"]
    index: int = 0  # the choice a delta or done belongs to
    text: str = ""
    tokens: int = 0  # for "delta": tokens behind this text
    logprobs: list[TokenLogprobLine] | None = None
    prompt_tokens: int = 0  # for "start"
    cached_tokens: int = 0  # for "start": prompt tokens reused from the prefix cache
    queue_ms: float = 0.0  # for "start": time spent waiting for a slot
    finish_reason: str | None = None  # for "done"
    message: str = ""  # for "error"


class WorkerHealth(BaseModel):
    status: Literal["loading", "ready", "failed"]
    model: str
    n_ctx: int = 0
    detail: str = ""
    running: int = 0
    waiting: int = 0
    kv_cells_used: int = 0
    kv_cells_total: int = 0
    generated_tokens: int = 0  # since the worker started
