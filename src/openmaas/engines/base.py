"""The engine interface that workers host.

A worker hands an engine a `GenerationRequest` and reads `GenerationEvent`s back; the
engine never sees HTTP. Engines run generation off the event loop (their own thread).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int | None = None  # None: until the context is full
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    min_p: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0


@dataclass
class GenerationRequest:
    prompt_tokens: list[int]
    params: SamplingParams = field(default_factory=SamplingParams)


@dataclass
class GenerationEvent:
    """A piece of output: new text and how many tokens produced it, or the end."""

    text: str = ""
    tokens: int = 0
    finish_reason: str | None = None  # "stop" | "length" on the last event


class Engine(ABC):
    model_id: str
    n_ctx: int

    @abstractmethod
    def tokenize(self, text: str) -> list[int]: ...

    @abstractmethod
    def render_chat(self, messages: list[dict]) -> str:
        """Apply the model's own chat template, ending with the assistant's turn opened."""

    @abstractmethod
    def generate(self, request: GenerationRequest, cancelled: Callable[[], bool]) -> Iterator[GenerationEvent]:
        """Blocking generator; call it from a worker thread. Stops early when `cancelled()`."""

    def close(self) -> None:
        pass
