"""The continuous-batching llama.cpp engine: a loop thread that schedules, decodes, samples.

Callers `submit` from any thread; the loop admits requests into free KV slots, runs one
`llama_decode` per step for every live sequence (plus prompt chunks), samples each
sequence's next token with its own chain and reports events through the request's
`emit`, all of a step's events together once the step is over and the lock is released
(a caller relaying them to another thread then wakes it once per step, not per token).
The loop sleeps when idle and survives whatever one request does wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from openmaas.engines.base import Engine, EngineEvent, EngineRequest, EngineStats, RequestHandle
from openmaas.engines.llamacpp.runner import BatchItem, ModelRunner
from openmaas.engines.llamacpp.sampling import SequenceSampler, sibling_seed, token_logprob
from openmaas.engines.llamacpp.scheduler import Scheduler
from openmaas.engines.llamacpp.sequence import Request, Sequence, SequenceStatus

log = logging.getLogger(__name__)

# A minimal ChatML template for GGUFs that carry none of their own.
FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class _Handle(RequestHandle):
    def __init__(self, engine: LlamaCppBatchingEngine, request: Request):
        self._engine, self._request = engine, request

    def cancel(self) -> None:
        self._request.cancelled = True
        self._engine._wake()


class LlamaCppBatchingEngine(Engine):
    def __init__(self, model_id: str, model_path: str, n_ctx: int = 4096, n_seq_max: int = 8,
                 n_threads: int | None = None, n_batch: int = 512, max_waiting: int = 64,
                 max_queue_wait_s: float = 30.0, prefix_cache: bool = True, prefill_chunk: int = 256,
                 lora_path: str | None = None):
        self.model_id = model_id
        self.n_ctx = n_ctx  # per sequence
        prefill_chunk = max(1, min(prefill_chunk, n_batch))
        self.runner = ModelRunner(str(model_path), n_ctx * n_seq_max, n_seq_max,
                                  max(n_batch, prefill_chunk + n_seq_max), n_threads, lora_path)
        vocab = self.runner.vocab
        self.n_vocab = self.runner.n_vocab
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self._pieces: dict[int, bytes] = {}
        self._formatter = Jinja2ChatFormatter(
            self.runner.meta("tokenizer.chat_template") or FALLBACK_CHAT_TEMPLATE,
            eos_token=self._special_text(llama_cpp.llama_vocab_eos(vocab)),
            bos_token=self._special_text(llama_cpp.llama_vocab_bos(vocab)),
        )
        self.scheduler = Scheduler(
            self.runner.memory, n_seq_max=n_seq_max, n_ctx=n_ctx, n_vocab=self.runner.n_vocab,
            max_waiting=max_waiting, max_queue_wait_s=max_queue_wait_s, prefill_chunk=prefill_chunk,
            prefix_cache=prefix_cache, make_sampler=self._make_sampler,
        )
        self._outbox: list[tuple[Request, EngineEvent]] = []  # touched by the loop thread only
        self._lock = threading.RLock()  # guards the scheduler; never held across llama_decode
        self._cond = threading.Condition(self._lock)
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"engine-{model_id}", daemon=True)
        self._thread.start()

    # ---- the interface ----

    def tokenize(self, text: str) -> list[int]:
        return self.runner.tokenize(text.encode("utf-8"), add_bos=self._add_bos)

    def render_chat(self, messages: list[dict]) -> str:
        return self._formatter(messages=messages).prompt

    def submit(self, request: EngineRequest, emit: Callable[[EngineEvent], None]) -> RequestHandle:
        req = Request(spec=request, emit=emit, outbox=self._outbox)
        with self._lock:
            if self._stopping:
                raise RuntimeError("the engine is closed")
            self.scheduler.add(req)  # raises EngineOverloaded when the queue is full
            self._cond.notify()
        return _Handle(self, req)

    def stats(self) -> EngineStats:
        s = self.scheduler
        with self._lock:
            return EngineStats(
                running=s.n_running(), waiting=len(s.waiting), kv_cells_used=s.kv_cells_used(),
                kv_cells_total=self.runner.n_ctx_total, prompt_tokens=s.prompt_tokens,
                generated_tokens=s.generated_tokens, prefix_cache_hits=s.prefix_cache_hits,
                cached_prompt_tokens=s.cached_prompt_tokens,
            )

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # ---- the loop ----

    def _wake(self) -> None:
        with self._lock:
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and not self.scheduler.has_work():
                    self._cond.wait()
                if self._stopping:
                    break
                try:
                    items = self.scheduler.schedule()
                except Exception:  # a bug; keep serving what can be served
                    log.exception("scheduling failed")
                    items = []
                # Work left but nothing to run only follows such a bug: look again shortly rather
                # than spin. (Waiting here, under the lock schedule() ran under, cannot miss a
                # submit's notify; after a normal empty schedule the loop waits above instead.)
                if not items and self.scheduler.has_work():
                    self._cond.wait(timeout=0.05)
            if not items:  # the finished and cancelled left; report what they sent
                self._deliver()
                continue
            try:
                self._step(items)
            except Exception as exc:  # noqa: BLE001 - the requests in this step fail, the loop goes on
                log.exception("engine step failed")
                with self._lock:
                    for request in {id(it.seq.request): it.seq.request for it in items}.values():
                        self.scheduler.fail(request, f"the engine failed: {exc}")
            self._deliver()
        with self._lock:
            self.scheduler.abort_all("the engine is stopping")
            self.runner.close()
        self._deliver()

    def _deliver(self) -> None:
        events = self._outbox[:]
        self._outbox.clear()
        for request, event in events:
            request.deliver(event)

    def _step(self, items: list[BatchItem]) -> None:
        rows = self.runner.decode(items)  # the one llama_decode of this step, outside the lock
        with self._lock:
            for item, row in zip(items, rows):
                seq = item.seq
                if seq.status is SequenceStatus.FINISHED or seq.request.cancelled:
                    continue
                seq.num_computed = item.end
                if row < 0:
                    continue
                group = [seq]
                if seq.status is SequenceStatus.PREFILLING:
                    seq.status = SequenceStatus.RUNNING
                    group += self.scheduler.fork(seq)
                for member in group:  # siblings draw their first tokens from the same row
                    try:
                        self._sample(member, row)
                    except Exception as exc:  # noqa: BLE001
                        log.exception("sampling failed")
                        self.scheduler.fail(member.request, f"the engine failed to sample: {exc}")

    def _sample(self, seq: Sequence, row: int) -> None:
        if seq.status is SequenceStatus.FINISHED:
            return
        ctx, params = self.runner.ctx, seq.params
        token = seq.sampler.sample(ctx, row)
        logprob = None
        if params.logprobs:
            logprob = token_logprob(ctx, row, self.runner.n_vocab, token, params.top_logprobs, self._piece)
        eog = llama_cpp.llama_vocab_is_eog(self.runner.vocab, token)
        self.scheduler.postprocess(seq, token, eog, self._piece(token), logprob)

    # ---- helpers ----

    def _make_sampler(self, request: Request, index: int) -> SequenceSampler:
        params = request.spec.params
        return SequenceSampler(self.runner.vocab, self.runner.n_vocab, params, sibling_seed(params.seed, index))

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.runner.piece(token)
        return piece

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.runner.piece(token, special=True).decode("utf-8", errors="replace")
