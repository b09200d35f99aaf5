"""The continuous-batching llama.cpp engine, in-process, with the built-in model.

What a caller of the engine would notice: batched answers match solo answers, seeds
reproduce, stop strings never leak, n choices share one prompt, grammars hold, the
prefix cache is invisible except in the counters, cancel frees its slot, a full queue
says so, and a long prompt does not stall the streams already running.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import jsonschema
import pytest
from llama_cpp.llama_grammar import json_schema_to_gbnf

from openmaas.engines.base import EngineEvent, EngineOverloaded, EngineRequest, SamplingParams
from openmaas.engines.llamacpp.batching import LlamaCppBatchingEngine
from openmaas.hub.builtin import builtin_model_path

TIMEOUT = 120


@dataclass
class Result:
    """Everything one request reported, gathered from the engine thread."""

    n: int = 1
    events: list[EngineEvent] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)
        finished = sum(e.kind == "finished" for e in self.events)
        if event.kind in ("error", "rejected") or finished == self.n:
            self.done.set()

    def wait(self) -> Result:
        assert self.done.wait(TIMEOUT), f"no end after {TIMEOUT}s: {self.events[-3:]}"
        return self

    def deltas(self, index: int = 0) -> list[EngineEvent]:
        return [e for e in self.events if e.kind == "delta" and e.index == index]

    def text(self, index: int = 0) -> str:
        return "".join(e.text for e in self.events if e.kind in ("delta", "finished") and e.index == index)

    def finish_reason(self, index: int = 0) -> str | None:
        return next((e.finish_reason for e in self.events if e.kind == "finished" and e.index == index), None)

    def first(self, kind: str) -> EngineEvent:
        return next(e for e in self.events if e.kind == kind)


@pytest.fixture(scope="module")
def engine():
    eng = LlamaCppBatchingEngine("smollm2", builtin_model_path(), n_ctx=2048, n_seq_max=8)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def clean():
    """An engine that frees every cell when a request ends, so each request that runs on
    its own starts from an empty KV buffer: a rerun repeats it bit for bit."""
    eng = LlamaCppBatchingEngine("smollm2", builtin_model_path(), n_ctx=512, n_seq_max=8, prefix_cache=False)
    yield eng
    eng.close()


def chat(engine, user: str, system: str | None = None) -> list[int]:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return engine.tokenize(engine.render_chat(messages))


def submit(engine, tokens: list[int], n: int = 1, **params) -> Result:
    result = Result(n=n)
    result.handle = engine.submit(EngineRequest(tokens, SamplingParams(**params), n=n), result)
    return result


def run(engine, tokens: list[int], n: int = 1, **params) -> Result:
    return submit(engine, tokens, n, **params).wait()


def greedy(**params) -> dict:
    return {"temperature": 0.0, **params}


def wait_until(predicate, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@contextmanager
def busy(engine):
    """Keep the engine decoding, so requests submitted together join the same step."""
    pacer = submit(engine, chat(engine, "Recite the alphabet slowly."), **greedy(max_tokens=1000))
    wait_until(lambda: pacer.deltas())
    try:
        yield
    finally:
        pacer.handle.cancel()


# How far apart (in log-probability) two tokens may be and still count as a tie that
# arithmetic noise can break either way.
NEAR_TIE = 1.0


def assert_same_greedy_answer(one: Result, other: Result, n_tokens: int = 16) -> None:
    """Two greedy runs of one prompt agree token by token.

    Batched or alone, cached or not, the numbers llama.cpp computes differ in their last
    bits (its CPU flash-attention kernel is picked by the shape of each step, and cells
    sit elsewhere in the shared KV buffer), so two runs may part where the model's top two
    candidates are within a hair of each other. They may part there and only there: each
    run's choice must be the other's close runner-up. A scheduling bug (a wrong position,
    another sequence's cells) shows up as tokens the other run did not consider at all.
    """
    for i, (a, b) in enumerate(zip(one.deltas()[:n_tokens], other.deltas()[:n_tokens])):
        (x,), (y,) = a.logprobs, b.logprobs
        if x.bytes == y.bytes:
            continue
        x_alts = {bytes(t[2]): t[1] for t in x.top}
        y_alts = {bytes(t[2]): t[1] for t in y.top}
        assert bytes(y.bytes) in x_alts and bytes(x.bytes) in y_alts, f"token {i}: {x.token!r} vs {y.token!r}"
        assert x.logprob - x_alts[bytes(y.bytes)] < NEAR_TIE and y.logprob - y_alts[bytes(x.bytes)] < NEAR_TIE
        return
    assert min(len(one.deltas()), len(other.deltas())) >= min(n_tokens, len(one.deltas()))


SUBJECTS = ["a dragon", "the sea", "a robot", "winter", "a lighthouse", "chess", "bread", "the moon"]


def test_batched_greedy_answers_match_solo_answers(engine):
    prompts = [chat(engine, f"Write two sentences about {s}.") for s in SUBJECTS]
    ask = greedy(max_tokens=20, logprobs=True, top_logprobs=5)
    solo = [run(engine, p, **ask) for p in prompts]
    batched = [submit(engine, p, **ask) for p in prompts]
    for alone, together in zip(solo, (r.wait() for r in batched)):
        assert_same_greedy_answer(alone, together)
        assert len(together.deltas()) == 20 and together.finish_reason() == "length"


def test_identical_requests_in_one_batch_give_identical_text(clean):
    prompt = chat(clean, "Name three famous painters and say why they matter.")
    with busy(clean):
        results = [submit(clean, prompt, **greedy(max_tokens=24)) for _ in range(4)]
        texts = {r.wait().text() for r in results}
    assert len(texts) == 1 and len(texts.pop()) > 20


def test_same_seed_same_text_and_other_seeds_differ(clean):
    prompt = chat(clean, "Invent a name for a new color and describe it.")
    sample = {"temperature": 1.0, "max_tokens": 16}
    first = run(clean, prompt, seed=1234, **sample).text()
    assert run(clean, prompt, seed=1234, **sample).text() == first
    assert run(clean, prompt, seed=1234 + 2**32, **sample).text() == first  # seeds are uint32: modulo 2**32
    others = [run(clean, prompt, seed=seed, **sample).text() for seed in (1, 2, 3)]
    assert all(text != first for text in others)
    with busy(clean):  # requests sampled side by side in one batch keep their own random streams
        together = [submit(clean, prompt, seed=seed, **sample) for seed in (1234, 1, 1234)]
        assert [r.wait().text() for r in together] == [first, others[0], first]


def test_top_k_top_p_and_min_p_narrow_sampling_down_to_greedy(clean):
    prompt = chat(clean, "Invent a name for a new color and describe it.")
    best = run(clean, prompt, **greedy(max_tokens=12)).text()
    for narrow in ({"top_k": 1}, {"top_p": 0.001}, {"min_p": 1.0}):
        assert run(clean, prompt, temperature=1.5, seed=5, max_tokens=12, **narrow).text() == best, narrow
    assert run(clean, prompt, temperature=1.5, seed=5, max_tokens=12).text() != best


def test_stop_strings_cut_the_text_and_never_leak(clean):
    prompt = chat(clean, "Explain how rain forms.")
    full = run(clean, prompt, **greedy(max_tokens=32))
    pieces = [e.text for e in full.deltas()]
    # a stop string that starts inside one token and ends inside a later one
    i = next(i for i in range(5, len(pieces) - 1) if len(pieces[i]) >= 3 and len(pieces[i + 1]) >= 2)
    stop = pieces[i][-2:] + pieces[i + 1][:2]
    expected = full.text()[: full.text().index(stop)]
    cut = run(clean, prompt, stop=(stop, "never appears"), **greedy(max_tokens=32))
    assert cut.text() == expected and cut.finish_reason() == "stop"
    emitted = ""
    for event in cut.events:  # at no point did the stream show any part of the stop string
        emitted += event.text
        assert expected.startswith(emitted)
    word = full.text().split()[3]
    by_word = run(clean, prompt, stop=(word,), **greedy(max_tokens=32))
    assert by_word.text() == full.text()[: full.text().index(word)] and by_word.finish_reason() == "stop"


def test_n_choices_share_one_prefilled_prompt(clean):
    prompt = chat(clean, "Suggest a name for a cat.", system="You name pets. Answer with one name and a reason.")
    before = clean.stats()
    three = run(clean, prompt, n=3, temperature=1.0, seed=7, max_tokens=12)
    after = clean.stats()
    assert {e.index for e in three.events if e.kind == "finished"} == {0, 1, 2}
    assert all(three.text(i) for i in range(3))
    assert sum(e.kind == "admitted" for e in three.events) == 1
    assert after.prompt_tokens - before.prompt_tokens == len(prompt)  # counted, and prefilled, once
    assert after.generated_tokens - before.generated_tokens == sum(len(three.deltas(i)) for i in range(3))
    pair = [run(clean, prompt, n=2, temperature=1.0, seed=99, max_tokens=12) for _ in range(2)]
    assert [pair[0].text(i) for i in range(2)] == [pair[1].text(i) for i in range(2)]
    assert pair[0].text(0) != pair[0].text(1)  # siblings use seed+i


def test_grammar_constrains_the_answer_to_a_json_schema(engine):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 16},
            "age": {"type": "integer"},
            "color": {"enum": ["red", "green", "blue"]},
        },
        "required": ["name", "age", "color"],
        "additionalProperties": False,
    }
    grammar = json_schema_to_gbnf(json.dumps(schema))
    result = run(engine, chat(engine, "Describe a person."), grammar=grammar, **greedy(max_tokens=60))
    assert result.finish_reason() == "stop"
    jsonschema.validate(json.loads(result.text()), schema)
    bad = run(engine, chat(engine, "hi"), grammar="root ::= undefined-rule", **greedy(max_tokens=4))
    assert bad.events[-1].kind == "error"


def test_logit_bias_bans_the_first_token(clean):
    prompt = chat(clean, "What is the capital of France?")
    plain = run(clean, prompt, **greedy(max_tokens=4))
    (first_token,) = clean.tokenize(plain.deltas()[0].text)
    biased = run(clean, prompt, logit_bias=((first_token, -100.0),), **greedy(max_tokens=4))
    assert biased.deltas()[0].text != plain.deltas()[0].text
    assert run(clean, prompt, logit_bias=((first_token, 5.0),), **greedy(max_tokens=4)).text() == plain.text()


def test_presence_penalty_keeps_tokens_from_repeating(clean):
    prompt = chat(clean, "Repeat the word cat ten times.")
    ask = greedy(max_tokens=24, logprobs=True)
    plain = [bytes(e.logprobs[0].bytes) for e in run(clean, prompt, **ask).deltas()]
    penalized = [bytes(e.logprobs[0].bytes) for e in run(clean, prompt, presence_penalty=100.0, **ask).deltas()]
    assert len(set(plain)) < len(plain)
    assert len(set(penalized)) == len(penalized)  # within the 64-token window, each token once


def test_logprobs_report_the_chosen_token_and_sorted_alternatives(engine):
    result = run(engine, chat(engine, "Say hello."), logprobs=True, top_logprobs=3, **greedy(max_tokens=6))
    for event in result.deltas():
        (lp,) = event.logprobs
        assert lp.logprob <= 0 and len(lp.top) == 3
        assert [t[1] for t in lp.top] == sorted((t[1] for t in lp.top), reverse=True)
        assert lp.top[0][0] == lp.token and lp.top[0][1] == pytest.approx(lp.logprob)  # greedy
        assert bytes(lp.bytes).decode("utf-8", errors="replace") == lp.token
    assert run(engine, chat(engine, "Say hello."), **greedy(max_tokens=2)).deltas()[0].logprobs is None


SYSTEM = (
    "You are the support assistant of the Northwind Lighthouse Museum. The museum opens at nine in the "
    "morning and closes at five in the afternoon, every day except Mondays. Tickets cost twelve euros for "
    "adults and six for children; members enter for free. The tower has 214 steps and the view from the "
    "lantern room reaches the islands on a clear day. Answer briefly and politely."
)


def test_prefix_cache_reuses_a_shared_system_prompt_without_changing_answers(engine):
    first = run(engine, chat(engine, "When do you open?", system=SYSTEM), **greedy(max_tokens=16))
    assert first.first("admitted").cached_tokens < 50
    question = chat(engine, "How many steps does the tower have?", system=SYSTEM)
    ask = greedy(max_tokens=24, logprobs=True, top_logprobs=5)
    before = engine.stats()
    cached = run(engine, question, **ask)
    after = engine.stats()
    hit = cached.first("admitted").cached_tokens
    assert hit > 50 and after.prefix_cache_hits == before.prefix_cache_hits + 1
    assert after.cached_prompt_tokens - before.cached_prompt_tokens == hit

    # a follow-up turn reuses the whole conversation so far
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "How many steps does the tower have?"},
                {"role": "assistant", "content": cached.text()}, {"role": "user", "content": "And the price?"}]
    followup = run(engine, engine.tokenize(engine.render_chat(messages)), **greedy(max_tokens=4))
    assert followup.first("admitted").cached_tokens >= len(question)

    cold = LlamaCppBatchingEngine("smollm2", builtin_model_path(), n_ctx=512, n_seq_max=2, prefix_cache=False)
    try:
        reference = run(cold, question, **ask)
        assert reference.first("admitted").cached_tokens == 0
    finally:
        cold.close()
    assert_same_greedy_answer(cached, reference, n_tokens=24)


def test_cancel_stops_the_sequence_and_frees_its_cells(engine):
    wait_until(lambda: engine.stats().running == 0)
    before = engine.stats()
    long = submit(engine, chat(engine, "Write a very long story about a journey."), **greedy(max_tokens=1000))
    wait_until(lambda: len(long.deltas()) >= 5)
    during = engine.stats()
    long.handle.cancel()
    wait_until(lambda: engine.stats().running == 0)
    stopped = engine.stats()
    # its cells are gone: none of the prompt or answer it computed stays cached
    assert stopped.kv_cells_used <= before.kv_cells_used
    assert during.kv_cells_used - stopped.kv_cells_used >= len(long.deltas())
    seen = len(long.events)
    time.sleep(0.3)
    assert engine.stats().generated_tokens == stopped.generated_tokens and len(long.events) == seen
    assert not any(e.kind == "finished" for e in long.events)
    assert run(engine, chat(engine, "Say yes."), **greedy(max_tokens=3)).finish_reason() == "length"


def test_full_queue_raises_overloaded_and_stale_requests_are_rejected():
    eng = LlamaCppBatchingEngine("smollm2", builtin_model_path(), n_ctx=512, n_seq_max=1, max_waiting=2,
                                 max_queue_wait_s=0.5)
    try:
        prompt = chat(eng, "Count to one hundred.")
        busy = submit(eng, prompt, **greedy(max_tokens=400))
        wait_until(lambda: busy.deltas())
        queued = [submit(eng, prompt, **greedy(max_tokens=2)) for _ in range(2)]
        with pytest.raises(EngineOverloaded) as excinfo:
            submit(eng, prompt, **greedy(max_tokens=2))
        assert excinfo.value.retry_after_s > 0
        for request in queued:
            assert request.wait().events[-1].kind == "rejected"
        busy.handle.cancel()
        assert run(eng, prompt, **greedy(max_tokens=2)).finish_reason() == "length"
        too_long = run(eng, [prompt[0]] * 512, **greedy(max_tokens=2))
        assert too_long.events[-1].kind == "error"
    finally:
        eng.close()


def test_a_long_prompt_does_not_stall_running_streams(engine):
    order: list[str] = []
    lock = threading.Lock()

    def tracked(name: str, n_tokens: int, tokens: list[int]) -> Result:
        result = Result()

        def emit(event: EngineEvent) -> None:
            with lock:
                order.append(f"{name}:{event.kind}")
            result(event)

        result.handle = engine.submit(EngineRequest(tokens, SamplingParams(**greedy(max_tokens=n_tokens))), emit)
        return result

    streams = [tracked(f"s{i}", 60, chat(engine, f"Tell me about {s}.")) for i, s in enumerate(SUBJECTS[:4])]
    wait_until(lambda: all(s.deltas() for s in streams))
    document = " ".join(f"Line {i}: the museum keeps records of every ship that passed." for i in range(150))
    long_prompt = chat(engine, f"Summarize:\n{document}")[:1500]
    assert len(long_prompt) == 1500
    long = tracked("long", 2, long_prompt)
    long.wait()
    for s in streams:
        s.handle.cancel()
    assert long.finish_reason() == "length"
    start, end = order.index("long:admitted"), order.index("long:delta")
    during = [e for e in order[start:end] if e.startswith("s") and e.endswith(":delta")]
    assert len(during) >= 8, order[start:end]  # the prefill took several steps; streams kept going
