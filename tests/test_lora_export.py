"""A LoRA adapter trained in transformers changes llama.cpp's output the way it changed HF's.

The built-in GGUF is loaded into transformers, wrapped with a PEFT LoRA whose A and B are
seeded random (a fresh LoRA has B = 0 and changes nothing), saved, exported, and loaded
into llama.cpp. The logit change the adapter makes must match on both sides.

The built-in GGUF is Q4_1, and llama.cpp quantizes activations to 8 bits for its
quantized matmuls while transformers computes with the dequantized weights in float32:
that noise (about 0.2 logits) is there in both the base and tuned runs and does not
cancel. So the exact check runs llama.cpp on a float32 copy of the same dequantized
weights, and the built-in quantized model gets a looser check of the same thing.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.numpy import load_file, save_file
from transformers import AutoModelForCausalLM

from openmaas.engines.base import EngineEvent, EngineRequest, SamplingParams
from openmaas.engines.llamacpp.batching import LlamaCppBatchingEngine
from openmaas.engines.llamacpp.runner import ModelRunner
from openmaas.hub.builtin import builtin_model_path
from openmaas.tuning.export import AdapterExportError, export_lora_gguf

MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
# Random A and B of this spread move the logits by about 5 (std) and change the top token.
LORA_STD = 0.1


@dataclass
class Tuned:
    adapter_dir: Path
    gguf: Path
    tokens: list[int]
    base_hf: np.ndarray  # last-position logits
    tuned_hf: np.ndarray
    n_head: int
    n_head_kv: int


def rewrite_gguf(src: Path, dst: Path, tensor: Callable[[str, np.ndarray, gguf.GGMLQuantizationType], np.ndarray]) -> None:
    """Copy a GGUF's metadata and write each tensor as `tensor(name, data, type)` returns it."""
    reader = gguf.GGUFReader(src)
    writer = gguf.GGUFWriter(dst, reader.get_field(gguf.Keys.General.ARCHITECTURE).contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE):
            continue  # written by the writer itself, or no longer true
        sub_type = field.types[1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.ascontiguousarray(tensor(t.name, t.data, t.tensor_type)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def cpp_logits(model_path: Path, tokens: list[int], lora_path: Path | None = None) -> np.ndarray:
    runner = ModelRunner(str(model_path), 256, 1, 64, 2, str(lora_path) if lora_path else None)
    try:
        ids = (llama_cpp.llama_token * len(tokens))(*tokens)  # kept alive through the decode
        assert llama_cpp.llama_decode(runner.ctx, llama_cpp.llama_batch_get_one(ids, len(tokens))) == 0
        row = llama_cpp.llama_get_logits_ith(runner.ctx, -1)
        return np.ctypeslib.as_array(row, shape=(runner.n_vocab,)).copy()
    finally:
        runner.close()


def delta_agreement(tuned: Tuned, base_cpp: np.ndarray, tuned_cpp: np.ndarray, label: str) -> tuple[float, float]:
    delta_hf, delta_cpp = tuned.tuned_hf - tuned.base_hf, tuned_cpp - base_cpp
    corr = float(np.corrcoef(delta_hf, delta_cpp)[0, 1])
    rel = float(np.abs(delta_hf - delta_cpp).max() / np.abs(delta_hf).max())
    print(f"\n{label}: corr {corr:.6f}, max |delta_hf - delta_cpp| {np.abs(delta_hf - delta_cpp).max():.4f}, "
          f"delta std {delta_hf.std():.3f} max {np.abs(delta_hf).max():.3f} (relative {rel:.4f}), "
          f"base logits differ by up to {np.abs(tuned.base_hf - base_cpp).max():.4f}")
    return corr, rel


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Tuned:
    base = builtin_model_path()
    tmp = tmp_path_factory.mktemp("lora")
    model = AutoModelForCausalLM.from_pretrained(base.parent, gguf_file=base.name, dtype=torch.float32)
    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=MODULES, lora_dropout=0.0))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if ".lora_A." in name or ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=generator) * LORA_STD)
    peft_model.save_pretrained(tmp / "adapter", save_embedding_layers=False)
    report = export_lora_gguf(tmp / "adapter", base, tmp / "adapter.gguf")
    assert (report.tensors, report.rank, report.alpha) == (2 * 7 * model.config.num_hidden_layers, 8, 16.0)
    assert report.size_bytes == (tmp / "adapter.gguf").stat().st_size

    # llama.cpp tokenizes, so both sides see the same ids
    runner = ModelRunner(str(base), 256, 1, 64, 2)
    tokens = runner.tokenize(PROMPT.encode(), add_bos=bool(llama_cpp.llama_vocab_get_add_bos(runner.vocab)))
    runner.close()
    with torch.no_grad():
        ids = torch.tensor([tokens])
        tuned_hf = peft_model(ids).logits[0, -1].numpy()
        with peft_model.disable_adapter():
            base_hf = peft_model(ids).logits[0, -1].numpy()
    return Tuned(tmp / "adapter", tmp / "adapter.gguf", tokens, base_hf, tuned_hf,
                 model.config.num_attention_heads, model.config.num_key_value_heads)


@pytest.fixture(scope="module")
def base_f32(tmp_path_factory):
    """The built-in model's weights, dequantized as transformers sees them, in a float32 GGUF."""
    path = tmp_path_factory.mktemp("f32") / "base-f32.gguf"
    rewrite_gguf(builtin_model_path(), path, lambda name, data, qtype: gguf.quants.dequantize(data, qtype).astype(np.float32))
    yield path
    path.unlink()  # half a gigabyte


def test_adapter_changes_llamacpp_logits_as_it_changes_transformers(tuned, base_f32):
    base_cpp = cpp_logits(base_f32, tuned.tokens)
    tuned_cpp = cpp_logits(base_f32, tuned.tokens, tuned.gguf)
    corr, rel = delta_agreement(tuned, base_cpp, tuned_cpp, "float32 base")
    # measured: corr 0.99999, relative max difference 0.006
    assert corr > 0.9995 and rel < 0.03
    assert tuned_cpp.argmax() == tuned.tuned_hf.argmax() != tuned.base_hf.argmax()


def test_adapter_on_the_quantized_builtin_model(tuned):
    base = builtin_model_path()
    base_cpp = cpp_logits(base, tuned.tokens)
    tuned_cpp = cpp_logits(base, tuned.tokens, tuned.gguf)
    corr, _ = delta_agreement(tuned, base_cpp, tuned_cpp, "Q4_1 built-in base")
    # measured: 0.98; without the Q/K permutation it is 0.74
    assert corr > 0.95
    assert tuned_cpp.argmax() == tuned.tuned_hf.argmax()


def test_without_the_qk_permutation_the_adapter_would_not_agree(tuned, base_f32, tmp_path):
    # Undo the exporter's permutation of Q and K's B rows (transformers' reverse permutation).
    def unpermute(name: str, data: np.ndarray, qtype) -> np.ndarray:
        heads = tuned.n_head if ".attn_q." in name else tuned.n_head_kv if ".attn_k." in name else 0
        if not heads or not name.endswith(".lora_b"):
            return data
        return data.reshape(heads, data.shape[0] // heads // 2, 2, -1).swapaxes(1, 2).reshape(data.shape)

    rewrite_gguf(tuned.gguf, tmp_path / "unpermuted.gguf", unpermute)
    base_cpp = cpp_logits(base_f32, tuned.tokens)
    tuned_cpp = cpp_logits(base_f32, tuned.tokens, tmp_path / "unpermuted.gguf")
    corr, _ = delta_agreement(tuned, base_cpp, tuned_cpp, "float32 base, no Q/K permutation")
    assert corr < 0.9  # measured: 0.73


def generate(engine: LlamaCppBatchingEngine, prompt: str) -> str:
    events: list[EngineEvent] = []
    done = threading.Event()

    def emit(event: EngineEvent) -> None:
        events.append(event)
        if event.kind in ("finished", "error", "rejected"):
            done.set()

    tokens = engine.tokenize(engine.render_chat([{"role": "user", "content": prompt}]))
    engine.submit(EngineRequest(tokens, SamplingParams(max_tokens=12, temperature=0.0)), emit)
    assert done.wait(60), events
    assert events[-1].kind == "finished", events[-1]
    return "".join(e.text for e in events if e.kind in ("delta", "finished"))


def test_engine_serves_the_adapter(tuned):
    path = str(builtin_model_path())
    plain = LlamaCppBatchingEngine("base", path, n_ctx=256, n_seq_max=1, n_threads=2)
    adapted = LlamaCppBatchingEngine("tuned", path, n_ctx=256, n_seq_max=1, n_threads=2, lora_path=str(tuned.gguf))
    try:
        base_text, tuned_text = generate(plain, "What is the capital of France?"), generate(adapted, "What is the capital of France?")
    finally:
        plain.close()
        adapted.close()
    print(f"\nbase: {base_text!r}\ntuned: {tuned_text!r}")
    assert base_text and tuned_text and base_text != tuned_text


def test_engine_refuses_a_file_that_is_not_an_adapter(tmp_path):
    with pytest.raises(ValueError, match="LoRA adapter"):
        ModelRunner(str(builtin_model_path()), 256, 1, 64, 2, str(builtin_model_path()))


def test_rslora_alpha_is_rescaled_and_unsupported_configs_are_refused(tuned, tmp_path):
    config = json.loads((tuned.adapter_dir / "adapter_config.json").read_text())

    def export(extra_tensors: dict[str, np.ndarray] | None = None, **changes):
        adapter = tmp_path / "adapter"
        shutil.copytree(tuned.adapter_dir, adapter, dirs_exist_ok=True)
        (adapter / "adapter_config.json").write_text(json.dumps({**config, **changes}))
        if extra_tensors:
            weights = adapter / "adapter_model.safetensors"
            save_file({**load_file(weights), **extra_tensors}, weights)
        return export_lora_gguf(adapter, builtin_model_path(), tmp_path / "out.gguf")

    # rsLoRA scales by alpha / sqrt(r); llama.cpp by alpha / r
    assert export(use_rslora=True).alpha == pytest.approx(16 * math.sqrt(8))
    with pytest.raises(AdapterExportError, match="DoRA"):
        export(use_dora=True)
    lm_head = {"base_model.model.lm_head.lora_A.weight": np.zeros((8, 576), np.float32),
               "base_model.model.lm_head.lora_B.weight": np.zeros((49152, 8), np.float32)}
    with pytest.raises(AdapterExportError, match="lm_head is not among the modules"):
        export(extra_tensors=lm_head, target_modules=MODULES + ["lm_head"])
