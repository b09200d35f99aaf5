"""The first llama.cpp engine: one sequence at a time through llama-cpp-python's `Llama`.

The worker serializes requests, so this engine never runs two generations at once.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from openmaas.engines.base import Engine, GenerationEvent, GenerationRequest
from openmaas.engines.llamacpp.detokenizer import TextStream

# A minimal ChatML template for GGUFs that carry none of their own.
FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class LlamaCppEngine(Engine):
    def __init__(self, model_id: str, model_path: str, n_ctx: int = 4096, n_threads: int | None = None):
        self.model_id = model_id
        self._llm = llama_cpp.Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_batch=512,
            n_threads=n_threads or os.cpu_count(),
            verbose=False,
        )
        self.n_ctx = self._llm.n_ctx()
        template = self._llm.metadata.get("tokenizer.chat_template") or FALLBACK_CHAT_TEMPLATE
        vocab = self._llm._model.vocab
        self._formatter = Jinja2ChatFormatter(
            template,
            eos_token=self._token_text(llama_cpp.llama_vocab_eos(vocab)),
            bos_token=self._token_text(llama_cpp.llama_vocab_bos(vocab)),
        )
        self._vocab = vocab

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def render_chat(self, messages: list[dict]) -> str:
        return self._formatter(messages=messages).prompt

    def generate(self, request: GenerationRequest, cancelled: Callable[[], bool]) -> Iterator[GenerationEvent]:
        p = request.params
        room = self.n_ctx - len(request.prompt_tokens)
        limit = room if p.max_tokens is None else min(p.max_tokens, room)
        # llama.cpp seeds are 32-bit; no seed means a fresh random one, not a fixed default.
        self._llm.set_seed(p.seed % 2**32 if p.seed is not None else random.getrandbits(32))
        text = TextStream(p.stop)
        produced = 0
        tokens = self._llm.generate(
            request.prompt_tokens,
            temp=p.temperature,
            top_p=p.top_p,
            top_k=p.top_k,
            min_p=p.min_p,
            repeat_penalty=p.repetition_penalty,
            presence_penalty=p.presence_penalty,
            frequency_penalty=p.frequency_penalty,
        )
        for token in tokens:
            if cancelled():
                return
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                break
            produced += 1
            out = text.feed(self._llm.detokenize([token]))
            if text.stopped:
                yield GenerationEvent(text=out, tokens=1, finish_reason="stop")
                return
            if produced >= limit:
                yield GenerationEvent(text=out + text.finish(), tokens=1, finish_reason="length")
                return
            yield GenerationEvent(text=out, tokens=1)
        yield GenerationEvent(text=text.finish(), finish_reason="stop")
