"""The scheduler: who leaves, who joins, and what the next `llama_decode` carries.

The KV memory holds `n_seq_max` slots (llama.cpp seq_ids). A slot is owned by a live
sequence, or idle: empty, or keeping the cells of a finished sequence as a prefix cache
(its token list remembered, evicted least recently used first). A new request whose
prompt shares at least `MIN_PREFIX` tokens with what some slot holds starts from those
cells instead of recomputing them.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from openmaas.engines.base import EngineEvent, EngineOverloaded, TokenLogprob
from openmaas.engines.llamacpp.detokenizer import TextStream
from openmaas.engines.llamacpp.runner import BatchItem
from openmaas.engines.llamacpp.sequence import Request, Sequence, SequenceStatus

# Below this a shared prefix is little more than the chat template's opening tokens: not
# worth evicting another cached conversation for, and not what "a cache hit" should mean.
MIN_PREFIX = 16

_clock = itertools.count()


@dataclass(eq=False)
class Slot:
    seq_id: int
    owner: Sequence | None = None
    cached: list[int] = field(default_factory=list)  # tokens whose cells an idle slot keeps
    last_used: int = 0

    def held(self) -> list[int]:
        return self.owner.computed_tokens() if self.owner is not None else self.cached

    def n_cells(self) -> int:
        return self.owner.num_computed if self.owner is not None else len(self.cached)


def common_prefix(a: list[int], b: list[int]) -> int:
    m = min(len(a), len(b))
    if m == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:m]) != np.asarray(b[:m]))
    return int(differ[0]) if differ.size else m


class Scheduler:
    def __init__(self, memory, *, n_seq_max: int, n_ctx: int, n_vocab: int, max_waiting: int,
                 max_queue_wait_s: float, prefill_chunk: int, prefix_cache: bool,
                 make_sampler: Callable[[Request, int], object]):
        self.memory = memory
        self.n_ctx, self.n_vocab = n_ctx, n_vocab
        self.max_waiting, self.max_queue_wait_s = max_waiting, max_queue_wait_s
        self.prefill_chunk, self.prefix_cache = prefill_chunk, prefix_cache
        self.make_sampler = make_sampler
        self.slots = [Slot(i) for i in range(n_seq_max)]
        self.waiting: deque[Request] = deque()
        self.running: list[Sequence] = []  # admitted and not finished, in admission order
        self.prompt_tokens = self.generated_tokens = 0
        self.prefix_cache_hits = self.cached_prompt_tokens = 0
        self._request_s = 1.0  # moving average of how long a request holds its slots

    # ---- the queue ----

    def add(self, request: Request) -> None:
        if len(self.waiting) >= self.max_waiting:
            share = self._request_s * (len(self.waiting) + 1) / len(self.slots)
            raise EngineOverloaded(retry_after_s=max(1.0, share))
        self.waiting.append(request)

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    # ---- one step ----

    def schedule(self) -> list[BatchItem]:
        # 1. Finished and cancelled sequences leave; their cells are freed or kept as cache.
        for seq in [s for s in self.running if s.status is SequenceStatus.FINISHED or s.request.cancelled]:
            self._release(seq, keep=self.prefix_cache and not seq.request.cancelled)
        self.waiting = deque(r for r in self.waiting if not r.cancelled)

        # 2. Requests that waited too long are turned away.
        now = time.monotonic()
        while self.waiting and now - self.waiting[0].arrived > self.max_queue_wait_s:
            request = self.waiting.popleft()
            request.send(EngineEvent(kind="rejected", message=f"waited over {self.max_queue_wait_s:.0f}s in the queue"))

        # 3. Waiting requests join, first come first served, while slots for all n are free.
        while self.waiting:
            request = self.waiting[0]
            problem = self._check(request)
            if problem is None and not self._admit(request):
                break
            self.waiting.popleft()
            if problem is not None:
                request.send(EngineEvent(kind="error", message=problem))

        # 4. The batch: one token for each running sequence, then prompt chunks up to the budget.
        items = [BatchItem(s, len(s.tokens) - 1, len(s.tokens), True)
                 for s in self.running if s.status is SequenceStatus.RUNNING]
        budget = self.prefill_chunk
        for seq in self.running:
            if seq.status is SequenceStatus.PREFILLING and budget > 0:
                end = min(seq.num_prompt, seq.num_computed + budget)
                items.append(BatchItem(seq, seq.num_computed, end, end == seq.num_prompt))
                budget -= end - seq.num_computed
        return items

    def _check(self, request: Request) -> str | None:
        spec, n_slots = request.spec, len(self.slots)
        prompt = spec.prompt_tokens
        if not 1 <= spec.n <= n_slots:
            return f"n must be between 1 and {n_slots}"
        if not prompt:
            return "the prompt is empty"
        if len(prompt) >= self.n_ctx:
            return f"the prompt has {len(prompt)} tokens; the context holds {self.n_ctx}"
        if min(prompt) < 0 or max(prompt) >= self.n_vocab:
            return "the prompt holds token ids outside the vocabulary"
        if spec.params.max_tokens is not None and spec.params.max_tokens < 1:
            return "max_tokens must be at least 1"
        return None

    def _admit(self, request: Request) -> bool:
        n, prompt = request.spec.n, request.spec.prompt_tokens
        idle = [s for s in self.slots if s.owner is None]
        if len(idle) < n:
            return False
        samplers = []
        try:
            for i in range(n):
                samplers.append(self.make_sampler(request, i))
        except ValueError as exc:
            for sampler in samplers:
                sampler.close()
            request.send(EngineEvent(kind="error", message=str(exc)))
            return True  # leaves the queue
        source, reuse = self._best_prefix(prompt)
        empty = [s for s in idle if not s.cached]
        if source is not None and source.owner is None and (reuse == len(source.cached) or not empty):
            first = source  # extend the cached conversation in place
            if not llama_cpp.llama_memory_seq_rm(self.memory, first.seq_id, reuse, -1):
                reuse = 0
                self._clear(first)
        else:
            first = empty[0] if empty else min((s for s in idle if s is not source), key=lambda s: s.last_used)
            self._clear(first)
            if source is not None:
                llama_cpp.llama_memory_seq_cp(self.memory, source.seq_id, first.seq_id, 0, reuse)
        rest = sorted((s for s in idle if s is not first), key=lambda s: (bool(s.cached), s.last_used))[: n - 1]
        for i, slot in enumerate([first, *rest]):
            if i:
                self._clear(slot)
            seq = Sequence(request=request, index=i, tokens=list(prompt), num_prompt=len(prompt),
                           stream=TextStream(request.spec.params.stop), sampler=samplers[i], seq_id=slot.seq_id)
            if i == 0:
                seq.status, seq.num_computed, seq.num_cached = SequenceStatus.PREFILLING, reuse, reuse
            slot.owner, slot.cached, slot.last_used = seq, [], next(_clock)
            request.sequences.append(seq)
            self.running.append(seq)
        self.prompt_tokens += len(prompt)
        if reuse:
            self.prefix_cache_hits += 1
            self.cached_prompt_tokens += reuse
        queue_ms = (time.monotonic() - request.arrived) * 1000
        request.send(EngineEvent(kind="admitted", cached_tokens=reuse, queue_ms=queue_ms))
        return True

    def _best_prefix(self, prompt: list[int]) -> tuple[Slot | None, int]:
        """The slot holding the longest prefix of `prompt`, leaving at least its last token
        to recompute (the step that computes it yields the logits of the first answer token)."""
        if not self.prefix_cache:
            return None, 0
        best, best_len = None, MIN_PREFIX - 1
        for slot in self.slots:
            if slot.n_cells() > best_len:
                k = min(common_prefix(prompt, slot.held()), len(prompt) - 1)
                if k > best_len:
                    best, best_len = slot, k
        return (best, best_len) if best is not None else (None, 0)

    # ---- after a step ----

    def fork(self, first: Sequence) -> list[Sequence]:
        """Sequence 0's prompt is in: its siblings share those cells and start running."""
        siblings = [s for s in first.request.sequences[1:] if s.status is SequenceStatus.WAITING]
        for seq in siblings:
            llama_cpp.llama_memory_seq_cp(self.memory, first.seq_id, seq.seq_id, -1, -1)
            seq.num_computed, seq.status = first.num_computed, SequenceStatus.RUNNING
        return siblings

    def postprocess(self, seq: Sequence, token: int, eog: bool, piece: bytes, logprob: TokenLogprob | None) -> None:
        """Take a sampled token: report its text, and finish the sequence when it is done."""
        if seq.request.cancelled or seq.status is SequenceStatus.FINISHED:
            return
        if eog:
            self._finish(seq, "stop")
            return
        seq.tokens.append(token)
        self.generated_tokens += 1
        text = seq.stream.feed(piece)
        seq.request.send(EngineEvent(kind="delta", index=seq.index, text=text, tokens=1,
                                     logprobs=[logprob] if logprob is not None else None))
        max_tokens = seq.params.max_tokens
        if seq.stream.stopped:
            self._finish(seq, "stop")
        elif (max_tokens is not None and seq.num_generated >= max_tokens) or len(seq.tokens) >= self.n_ctx:
            self._finish(seq, "length")

    def _finish(self, seq: Sequence, reason: str) -> None:
        seq.status, seq.finish_reason = SequenceStatus.FINISHED, reason
        seq.request.send(EngineEvent(kind="finished", index=seq.index, text=seq.stream.finish(), finish_reason=reason))

    def fail(self, request: Request, message: str) -> None:
        """The request cannot go on: report it once and free all its cells."""
        if request.failed:
            return
        request.failed = True
        if request in self.waiting:
            self.waiting.remove(request)
        for seq in request.sequences:
            if seq in self.running:
                self._release(seq, keep=False)
        request.send(EngineEvent(kind="error", message=message))

    def abort_all(self, message: str) -> None:
        while self.waiting:
            self.waiting.popleft().send(EngineEvent(kind="rejected", message=message))
        for request in {id(s.request): s.request for s in self.running}.values():
            if request.cancelled:
                for seq in [s for s in request.sequences if s in self.running]:
                    self._release(seq, keep=False)
            else:
                self.fail(request, message)

    # ---- slots ----

    def _release(self, seq: Sequence, keep: bool) -> None:
        slot = self.slots[seq.seq_id]
        self.running.remove(seq)
        if seq.status is not SequenceStatus.FINISHED:
            seq.status = SequenceStatus.FINISHED
        slot.owner, slot.last_used = None, next(_clock)
        if keep and seq.num_computed:
            slot.cached = seq.computed_tokens()
        else:
            self._clear(slot)
        seq.close()
        request = seq.request
        if request.done and not request.cancelled:
            held = time.monotonic() - request.arrived
            self._request_s = 0.8 * self._request_s + 0.2 * held

    def _clear(self, slot: Slot) -> None:
        llama_cpp.llama_memory_seq_rm(self.memory, slot.seq_id, -1, -1)
        slot.cached = []

    def kv_cells_used(self) -> int:
        return sum(slot.n_cells() for slot in self.slots)

    def n_running(self) -> int:
        return len(self.running)
