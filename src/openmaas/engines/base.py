"""The engine interface that workers host.

A worker tokenizes a request with the engine, `submit`s it, and relays the
`EngineEvent`s the engine reports from its own thread; the engine never sees HTTP and
batches whatever requests are running at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingParams:
    """Everything one request asks of the sampler, per sequence."""

    max_tokens: int | None = None  # None: until the context (the sequence's share) is full
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    top_k: int = 0  # <= 0: off
    min_p: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None  # None: a random seed
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: tuple[tuple[int, float], ...] = ()  # (token id, bias); -100 bans a token
    logprobs: bool = False
    top_logprobs: int = 0  # alternatives per token when logprobs is on
    grammar: str | None = None  # GBNF; constrains every sampled token


@dataclass
class EngineRequest:
    prompt_tokens: list[int]
    params: SamplingParams = field(default_factory=SamplingParams)
    n: int = 1  # sibling sequences sharing the prompt's KV cells (choices 0..n-1)


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: list[int]
    top: list[tuple[str, float, list[int]]]  # (token, logprob, bytes) alternatives, best first


@dataclass
class EngineEvent:
    """What the engine reports about one request, from its own thread, in order.

    kind "admitted": the request left the waiting queue and got its slots
      (`cached_tokens`: prompt tokens reused from the prefix cache; `queue_ms`).
    kind "delta": choice `index` produced `tokens` tokens and `text` (may be "" while a
      stop string or an unfinished UTF-8 character is held back); `logprobs` per token.
    kind "finished": choice `index` ended with `finish_reason` "stop" | "length"
      (`text` carries what was held back until then).
    kind "rejected": the request never ran (`message`: queue wait exceeded, engine stopping).
    kind "error": the engine failed on this request (`message`).
    """

    kind: str
    index: int = 0
    text: str = ""
    tokens: int = 0
    logprobs: list[TokenLogprob] | None = None
    finish_reason: str | None = None
    cached_tokens: int = 0
    queue_ms: float = 0.0
    message: str = ""


class EngineOverloaded(Exception):
    """The waiting queue is full; the caller should answer 429 with Retry-After."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"engine queue is full; retry after {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class EngineStats:
    running: int  # sequences decoding now
    waiting: int  # requests in the queue
    kv_cells_used: int
    kv_cells_total: int
    prompt_tokens: int  # counters since start
    generated_tokens: int
    prefix_cache_hits: int  # requests that reused cached prompt tokens
    cached_prompt_tokens: int


class Engine(ABC):
    model_id: str
    n_ctx: int  # the most tokens (prompt + answer) one sequence may hold
    n_vocab: int

    @abstractmethod
    def tokenize(self, text: str) -> list[int]: ...

    @abstractmethod
    def render_chat(self, messages: list[dict]) -> str: ...

    @abstractmethod
    def submit(self, request: EngineRequest, emit: Callable[[EngineEvent], None]) -> "RequestHandle":
        """Queue a request; raises EngineOverloaded when the queue is full. Never blocks.
        `emit` is called from the engine thread and must not block."""

    @abstractmethod
    def stats(self) -> EngineStats: ...

    @abstractmethod
    def close(self) -> None:
        """Stop the loop thread; requests still queued or running get a "rejected"/"error" event."""


class RequestHandle(ABC):
    @abstractmethod
    def cancel(self) -> None:
        """Stop all the request's sequences at the next step and free their KV cells. Thread-safe."""
