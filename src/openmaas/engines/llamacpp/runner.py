"""The model on llama.cpp: load it, hold the context and its KV memory, run one batch.

One `llama_decode` per engine step carries every sequence's tokens for that step; each
token names its sequence (KV slot) and position, and only the tokens whose next-token
distribution is needed ask for logits.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass

import llama_cpp
import numpy as np

from openmaas.engines.llamacpp.sequence import Sequence
from openmaas.hub.tokenizer import token_piece, tokenize


@dataclass
class BatchItem:
    """Tokens `seq.tokens[start:end]` at positions start..end-1; logits for the last one?"""

    seq: Sequence
    start: int
    end: int
    logits: bool


# llama.cpp's CPU flash attention picks its kernel by the rows of a micro-batch: from 64
# rows on, a tiled kernel whose rounding depends on where a sequence's cells sit in the
# buffer and differs from the one-row kernel of decoding by up to a logit. Micro-batches
# below 64 rows keep every step on one kernel, so identical requests sharing a step give
# identical answers and a prompt computes the same alone or batched. The price: prompts
# longer than that prefill about a quarter slower.
UBATCH = 63


class DecodeError(RuntimeError):
    pass


class ModelRunner:
    def __init__(self, model_path: str, n_ctx_total: int, n_seq_max: int, n_batch: int, n_threads: int | None,
                 lora_path: str | None = None):
        # llama-cpp-python prints llama.cpp's log through this logger; only errors, unless
        # someone configured it.
        llama_log = logging.getLogger("llama-cpp-python")
        if llama_log.level == logging.NOTSET:
            llama_log.setLevel(logging.ERROR)
        llama_cpp.llama_backend_init()
        mparams = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(os.fsencode(model_path), mparams)
        if not self.model:
            raise ValueError(f"llama.cpp could not load the model at {model_path}")
        self.lora = None
        if lora_path:
            self.lora = llama_cpp.llama_adapter_lora_init(self.model, os.fsencode(lora_path))
            if not self.lora:
                llama_cpp.llama_model_free(self.model)
                raise ValueError(f"llama.cpp could not load the LoRA adapter at {lora_path} for {model_path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)

        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx_total
        cparams.n_seq_max = n_seq_max
        cparams.n_batch = n_batch
        cparams.n_ubatch = min(n_batch, UBATCH)
        cparams.n_threads = cparams.n_threads_batch = n_threads or os.cpu_count() or 1
        # One KV buffer shared by all sequences: copying a prompt to siblings or out of the
        # prefix cache is bookkeeping, not data movement, and a step's tokens go through as
        # one micro-batch whichever slots they belong to (separate buffers would split a
        # step at every gap in the slot numbers). Flash attention is the faster attention
        # on CPU, and in a shared buffer it skips other sequences' cells.
        cparams.kv_unified = True
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        cparams.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
            self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            if self.lora:
                llama_cpp.llama_adapter_lora_free(self.lora)
            llama_cpp.llama_model_free(self.model)
            raise ValueError("llama.cpp could not create a context for the model")
        if self.lora:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self.lora)
            scales = (ctypes.c_float * 1)(1.0)
            if llama_cpp.llama_set_adapters_lora(self.ctx, adapters, 1, scales) != 0:
                llama_cpp.llama_free(self.ctx)
                llama_cpp.llama_adapter_lora_free(self.lora)
                llama_cpp.llama_model_free(self.model)
                raise ValueError(f"llama.cpp could not apply the LoRA adapter at {lora_path}")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx_total = llama_cpp.llama_n_ctx(self.ctx)

        self.capacity = n_batch
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        # numpy views over the batch arrays: filling a 256-token chunk is a few slice copies
        self._token = np.ctypeslib.as_array(self._batch.token, shape=(n_batch,))
        self._pos = np.ctypeslib.as_array(self._batch.pos, shape=(n_batch,))
        self._n_seq_id = np.ctypeslib.as_array(self._batch.n_seq_id, shape=(n_batch,))
        self._logits = np.ctypeslib.as_array(self._batch.logits, shape=(n_batch,))
        self._seq_id_rows = [self._batch.seq_id[i] for i in range(n_batch)]
        self._n_seq_id[:] = 1

    def decode(self, items: list[BatchItem]) -> list[int]:
        """Run one step; return, per item, the batch index holding its logits (or -1)."""
        n = 0
        out: list[int] = []
        for item in items:
            k = item.end - item.start
            if n + k > self.capacity:
                raise DecodeError(f"step of more than {self.capacity} tokens")
            sid = item.seq.seq_id
            self._token[n : n + k] = item.seq.tokens[item.start : item.end]
            self._pos[n : n + k] = np.arange(item.start, item.end, dtype=np.int32)
            self._logits[n : n + k] = 0
            rows = self._seq_id_rows
            for i in range(n, n + k):
                rows[i][0] = sid
            n += k
            if item.logits:
                self._logits[n - 1] = 1
                out.append(n - 1)
            else:
                out.append(-1)
        self._batch.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        if rc != 0:
            reason = {1: "no KV cache slot for the batch", 2: "aborted", -1: "invalid input batch"}
            raise DecodeError(f"llama_decode failed ({rc}: {reason.get(rc, 'fatal error')})")
        return out

    def piece(self, token: int, special: bool = False) -> bytes:
        return token_piece(self.vocab, token, special)

    def tokenize(self, text: bytes, add_bos: bool) -> list[int]:
        return tokenize(self.vocab, text, add_bos)

    def meta(self, key: str) -> str | None:
        size = 4096
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", errors="replace")
            size = n + 1

    def close(self) -> None:
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if self.ctx:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if self.lora:
            llama_cpp.llama_adapter_lora_free(self.lora)
            self.lora = None
        if self.model:
            llama_cpp.llama_model_free(self.model)
            self.model = None
