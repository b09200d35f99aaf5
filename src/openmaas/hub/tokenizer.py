"""A model's tokenizer and chat template, read from its GGUF without loading the weights.

Training and file statistics use this so that they see exactly the tokens the engine will
serve: the same llama.cpp vocabulary, the same template renderer, special tokens parsed.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import threading
from dataclasses import dataclass

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

# A minimal ChatML template for GGUFs that carry none of their own.
FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class EncodedChat:
    tokens: list[int]
    trained: list[int]  # 1 where the token belongs to an assistant turn that is trained on, else 0


def tokenize(vocab, data: bytes, add_bos: bool) -> list[int]:
    """llama.cpp's tokens for `data`, special tokens parsed (a chat template writes them as text)."""
    size = len(data) + 8
    buf = (llama_cpp.llama_token * size)()
    n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, size, False, True)
    if n < 0:
        size = -n
        buf = (llama_cpp.llama_token * size)()
        n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, size, False, True)
    tokens = list(buf[:n])
    bos = llama_cpp.llama_vocab_bos(vocab)
    if add_bos and bos >= 0 and (not tokens or tokens[0] != bos):
        tokens.insert(0, bos)
    return tokens


def token_piece(vocab, token: int, special: bool = False) -> bytes:
    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    return buf.raw[:n]


class ModelTokenizer:
    def __init__(self, gguf_path: str):
        llama_log = logging.getLogger("llama-cpp-python")
        if llama_log.level == logging.NOTSET:
            llama_log.setLevel(logging.ERROR)
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self._model = llama_cpp.llama_model_load_from_file(os.fsencode(gguf_path), params)
        if not self._model:
            raise ValueError(f"llama.cpp could not read the vocabulary of {gguf_path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self._model)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self.bos_id = llama_cpp.llama_vocab_bos(self.vocab)
        self.eos_id = llama_cpp.llama_vocab_eos(self.vocab)
        template = self._meta("tokenizer.chat_template") or FALLBACK_CHAT_TEMPLATE
        specials = dict(eos_token=self.special_text(self.eos_id), bos_token=self.special_text(self.bos_id))
        self._prompt_formatter = Jinja2ChatFormatter(template, add_generation_prompt=True, **specials)
        self._transcript_formatter = Jinja2ChatFormatter(template, add_generation_prompt=False, **specials)

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        formatter = self._prompt_formatter if add_generation_prompt else self._transcript_formatter
        return formatter(messages=messages).prompt

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """`add_bos` adds the BOS token only where the model asks for one, as the engine does."""
        return tokenize(self.vocab, text.encode("utf-8"), add_bos and self.add_bos)

    def encode_chat(self, messages: list[dict]) -> EncodedChat:
        """The whole conversation as tokens, with the assistant turns marked for the loss.

        The transcript is cut at every assistant answer's start and end (found by rendering
        the conversation up to that point) and each piece is tokenized on its own, so an
        answer's tokens are exactly those the engine would generate after the same prompt.
        """
        clean = [{"role": m["role"], "content": m["content"]} for m in messages]
        full = self.render_chat(clean, add_generation_prompt=False)
        cuts: list[tuple[int, int]] = []  # (start, end) characters of each trained answer
        for k, message in enumerate(messages):
            if message["role"] != "assistant" or message.get("weight", 1) == 0:
                continue
            start = len(self.render_chat(clean[:k], add_generation_prompt=True))
            end = len(self.render_chat(clean[: k + 1], add_generation_prompt=False))
            if not (start <= end <= len(full)):
                raise ValueError("the model's chat template does not render a conversation turn by turn")
            cuts.append((start, end))
        tokens: list[int] = []
        trained: list[int] = []
        position = 0
        for start, end in cuts + [(len(full), len(full))]:
            for text, flag in ((full[position:start], 0), (full[start:end], 1)):
                if text:
                    piece = self.tokenize(text, add_bos=not tokens)
                    tokens += piece
                    trained += [flag] * len(piece)
            position = end
        return EncodedChat(tokens, trained)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of generated tokens; special tokens (end of turn) are left out."""
        return b"".join(token_piece(self.vocab, t) for t in tokens).decode("utf-8", errors="replace")

    def special_text(self, token: int) -> str:
        return "" if token < 0 else token_piece(self.vocab, token, special=True).decode("utf-8", errors="replace")

    def _meta(self, key: str) -> str | None:
        size = 1 << 16
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_model_meta_val_str(self._model, key.encode(), buf, size)
        return None if n < 0 else buf.value.decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._model:
            llama_cpp.llama_model_free(self._model)
            self._model = None


_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> ModelTokenizer:
    return ModelTokenizer(path)


def tokenizer_for(gguf_path: str) -> ModelTokenizer:
    """One tokenizer per model file in this process (a vocabulary load takes a moment)."""
    with _lock:
        return _cached(gguf_path, os.path.getmtime(gguf_path))
