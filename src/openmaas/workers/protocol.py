"""The internal API between the gateway and a worker, typed on both sides.

POST /generate takes a `GenerateRequest` and answers with newline-delimited JSON:
one `StreamLine` per line, the first of kind "start" (with the prompt's token count),
then "delta" lines, then exactly one "done" (or "error" if the engine failed).
A request the engine refuses (prompt longer than the context) gets an OpenAI error
object with status 400 before any streaming starts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator


class GenerateRequest(BaseModel):
    messages: list[dict] | None = None  # chat: rendered with the model's template
    prompt: str | None = None  # raw completion
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

    @model_validator(mode="after")
    def _one_input(self) -> "GenerateRequest":
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("exactly one of messages and prompt is required")
        return self


class StreamLine(BaseModel):
    kind: Literal["start", "delta", "done", "error"]
    text: str = ""
    tokens: int = 0  # for "delta": tokens behind this text
    prompt_tokens: int = 0  # for "start"
    finish_reason: str | None = None  # for "done"
    message: str = ""  # for "error"


class WorkerHealth(BaseModel):
    status: Literal["loading", "ready", "failed"]
    model: str
    n_ctx: int = 0
    detail: str = ""
