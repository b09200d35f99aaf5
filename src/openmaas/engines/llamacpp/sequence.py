"""A request and the sequences it decodes: what the scheduler moves between its queues.

A `Request` is one `EngineRequest` as submitted: its emit callback, when it arrived and
whether its caller cancelled it. Its events wait in the engine's outbox until the step
that made them is over, so a caller receives a whole step's events at once. It owns `n`
sibling `Sequence`s (choices 0..n-1), each bound to one KV slot (a llama.cpp seq_id) once
admitted. Sequence 0 prefills the prompt; its siblings wait for it and then share its
prompt cells.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import TYPE_CHECKING, Callable

from openmaas.engines.base import EngineEvent, EngineRequest
from openmaas.engines.llamacpp.detokenizer import TextStream

if TYPE_CHECKING:
    from openmaas.engines.llamacpp.sampling import SequenceSampler

log = logging.getLogger(__name__)

_request_ids = itertools.count()


class SequenceStatus(Enum):
    WAITING = auto()  # queued, or admitted as a sibling waiting for sequence 0's prompt
    PREFILLING = auto()  # its prompt is going through the model chunk by chunk
    RUNNING = auto()  # decoding one token per step
    FINISHED = auto()


@dataclass(eq=False)
class Request:
    spec: EngineRequest
    emit: Callable[[EngineEvent], None]
    outbox: list[tuple[Request, EngineEvent]]  # the engine's, emptied by `deliver` after each step
    arrived: float = field(default_factory=time.monotonic)
    cancelled: bool = False  # set by the caller's thread; read by the engine's
    failed: bool = False
    sequences: list[Sequence] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_request_ids))

    def send(self, event: EngineEvent) -> None:
        self.outbox.append((self, event))

    def deliver(self, event: EngineEvent) -> None:
        """Hand an event to the caller; a failing callback must not take the engine down."""
        try:
            self.emit(event)
        except Exception:  # noqa: BLE001 - the caller's bug, not the engine's
            log.exception("emit callback of request %d failed", self.id)

    @property
    def done(self) -> bool:
        return all(seq.status is SequenceStatus.FINISHED for seq in self.sequences)


@dataclass(eq=False)
class Sequence:
    request: Request
    index: int  # the choice number
    tokens: list[int]  # the prompt, then each generated token as it is sampled
    num_prompt: int
    stream: TextStream
    sampler: SequenceSampler | None = None
    seq_id: int = -1  # the KV slot, once admitted
    status: SequenceStatus = SequenceStatus.WAITING
    num_computed: int = 0  # tokens whose KV cells are filled: the next position to decode
    num_cached: int = 0  # prompt tokens reused from the prefix cache
    finish_reason: str | None = None

    @property
    def num_generated(self) -> int:
        return len(self.tokens) - self.num_prompt

    @property
    def params(self):
        return self.request.spec.params

    def computed_tokens(self) -> list[int]:
        """The tokens whose KV cells this sequence's slot holds, position by position."""
        return self.tokens[: self.num_computed]

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.close()
            self.sampler = None
