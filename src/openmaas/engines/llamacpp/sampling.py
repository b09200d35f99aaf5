"""Per-sequence sampling: a llama.cpp sampler chain built from `SamplingParams`,
and log-probabilities read from the raw logits when a request asks for them.

The chain works on the context's logits row (`llama_sampler_sample`), so a token costs
no Python work proportional to the vocabulary unless logprobs or a grammar are wanted.
It sees only generated tokens: the prompt is never accepted into it, so penalties and
the grammar judge the answer alone.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Callable

import llama_cpp
import numpy as np

from openmaas.engines.base import SamplingParams, TokenLogprob

PENALTY_LAST_N = 64  # repetition, frequency and presence penalties look this far back
BAN = -100.0  # a logit bias at or below this bans the token outright, as OpenAI documents


def sibling_seed(seed: int | None, index: int) -> int:
    """The seed of choice `index`: seeds are uint32 in llama.cpp; None draws a fresh one.
    Siblings get seed+i so they differ while the whole request stays reproducible."""
    if seed is None:
        return random.getrandbits(32)
    return (seed + index) % 2**32


_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class SequenceSampler:
    """A sampler chain for one sequence: logit bias, penalties, then greedy or
    top-k/top-p/min-p/temperature/dist; and a grammar, when given, that constrains it.

    The grammar is checked the way llama.cpp's own common sampler does it: sample
    without it, and only when the grammar rejects that token, mask the whole vocabulary
    and sample again. Matching every token of the vocabulary against the grammar costs
    milliseconds; checking one costs nothing.
    """

    def __init__(self, vocab, n_vocab: int, params: SamplingParams, seed: int):
        self._n_vocab = n_vocab
        self._grammar = None
        self._chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        try:
            self._build(vocab, n_vocab, params, seed)
        except BaseException:
            self.close()
            raise

    def _add(self, sampler) -> None:
        if not sampler:
            raise ValueError("llama.cpp could not create a sampler")
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def _build(self, vocab, n_vocab: int, p: SamplingParams, seed: int) -> None:
        if p.grammar:
            self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, p.grammar.encode("utf-8"), b"root")
            if not self._grammar:
                raise ValueError("the grammar does not parse as GBNF (with a rule named root)")
            self._cur = np.zeros(n_vocab, dtype=_TOKEN_DATA)
            self._ids = np.arange(n_vocab, dtype=np.int32)
            self._one = np.zeros(1, dtype=_TOKEN_DATA)
        if p.logit_bias:
            biases = (llama_cpp.llama_logit_bias * len(p.logit_bias))()
            for i, (token, bias) in enumerate(p.logit_bias):
                if not 0 <= token < n_vocab:
                    raise ValueError(f"logit_bias names token {token}, outside the vocabulary (0..{n_vocab - 1})")
                biases[i].token = token
                biases[i].bias = float("-inf") if bias <= BAN else bias
            self._add(llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(p.logit_bias), biases))
        if p.repetition_penalty != 1.0 or p.frequency_penalty or p.presence_penalty:
            if p.repetition_penalty <= 0:
                raise ValueError("repetition_penalty must be > 0")
            self._add(llama_cpp.llama_sampler_init_penalties(
                n_vocab, PENALTY_LAST_N, p.repetition_penalty, p.frequency_penalty, p.presence_penalty))
        if p.temperature <= 0:
            self._add(llama_cpp.llama_sampler_init_greedy())
            return
        if p.top_k > 0:
            self._add(llama_cpp.llama_sampler_init_top_k(p.top_k))
        if p.top_p < 1.0:
            self._add(llama_cpp.llama_sampler_init_top_p(p.top_p, 1))
        if p.min_p > 0.0:
            self._add(llama_cpp.llama_sampler_init_min_p(p.min_p, 1))
        self._add(llama_cpp.llama_sampler_init_temp(p.temperature))
        self._add(llama_cpp.llama_sampler_init_dist(seed))

    def sample(self, ctx, idx: int) -> int:
        """Sample from the logits at batch index `idx` and accept the token."""
        if self._grammar is None:
            return llama_cpp.llama_sampler_sample(self._chain, ctx, idx)  # samples and accepts
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, idx), shape=(self._n_vocab,))
        token = self._apply(logits, with_grammar=False)
        if not self._allowed(token):
            token = self._apply(logits, with_grammar=True)
            if not self._allowed(token):  # accepting it would abort inside llama.cpp
                raise ValueError("no token satisfies both the grammar and the logit bias")
        llama_cpp.llama_sampler_accept(self._grammar, token)
        llama_cpp.llama_sampler_accept(self._chain, token)
        return token

    def _apply(self, logits: np.ndarray, with_grammar: bool) -> int:
        cur = self._cur
        cur["id"], cur["logit"], cur["p"] = self._ids, logits, 0.0
        array = _token_array(cur)
        if with_grammar:
            llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(array))
        llama_cpp.llama_sampler_apply(self._chain, ctypes.byref(array))
        return array.data[array.selected].id  # a sampler may have moved the data

    def _allowed(self, token: int) -> bool:
        one = self._one
        one["id"], one["logit"], one["p"] = token, 1.0, 0.0
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(_token_array(one)))
        return bool(np.isfinite(one["logit"][0]))

    def close(self) -> None:
        if self._chain:
            llama_cpp.llama_sampler_free(self._chain)  # frees the samplers it holds too
            self._chain = None
        if self._grammar:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None


def _token_array(data: np.ndarray) -> llama_cpp.llama_token_data_array:
    return llama_cpp.llama_token_data_array(
        data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(data), selected=-1, sorted=False
    )


def token_logprob(
    ctx, idx: int, n_vocab: int, token: int, top_n: int, piece: Callable[[int], bytes]
) -> TokenLogprob:
    """Log-softmax of the raw logits row at `idx`: the chosen token and the `top_n` best."""
    row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, idx), shape=(n_vocab,))
    peak = float(row.max())
    log_z = peak + float(np.log(np.exp(row - peak, dtype=np.float64).sum()))

    def entry(t: int) -> tuple[str, float, list[int]]:
        raw = piece(t)
        return raw.decode("utf-8", errors="replace"), float(row[t]) - log_z, list(raw)

    top: list[tuple[str, float, list[int]]] = []
    if top_n > 0:
        top_n = min(top_n, n_vocab)
        best = np.argpartition(row, n_vocab - top_n)[n_vocab - top_n :]
        best = best[np.argsort(-row[best], kind="stable")]
        top = [entry(int(t)) for t in best]
    text, logprob, raw = entry(token)
    return TokenLogprob(token=text, logprob=min(logprob, 0.0), bytes=raw, top=top)
