"""Export a PEFT LoRA adapter as a llama.cpp LoRA adapter GGUF for a llama-architecture base.

The adapter is trained on the base GGUF loaded into transformers, which un-permutes the Q
and K projections that llama.cpp's converter permuted for its rotary embedding layout. Q
and K's LoRA B matrices (the output rows) therefore get that permutation back here; the
A matrices act on the input side and stay as they are.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

SUPPORTED_ARCHITECTURES = {"llama"}
SUPPORTED_MODULES = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
_PEFT_PREFIX = "base_model.model."


class AdapterExportError(ValueError):
    pass


@dataclass
class ExportReport:
    path: Path
    tensors: int  # lora_a and lora_b each count as one
    rank: int
    alpha: float  # as written to the GGUF: llama.cpp scales each delta by alpha / rank
    size_bytes: int


def export_lora_gguf(adapter_dir: str | Path, base_gguf: str | Path, out_path: str | Path) -> ExportReport:
    adapter_dir, out_path = Path(adapter_dir), Path(out_path)
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    rank, alpha = _check_config(config)
    arch, n_blocks, n_head, n_head_kv = _base_hparams(Path(base_gguf))

    names = gguf.get_tensor_name_map(_model_arch(arch), n_blocks)
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        stem, _, part = key.rpartition(".lora_")
        if part not in ("A.weight", "B.weight") or not stem.startswith(_PEFT_PREFIX):
            raise AdapterExportError(f"unexpected tensor {key!r} in the adapter (only LoRA A/B weights are exported)")
        if stem.rpartition(".")[2] not in SUPPORTED_MODULES:
            raise AdapterExportError(f"{stem} is not among the modules llama.cpp can adapt: {sorted(SUPPORTED_MODULES)}")
        pairs.setdefault(stem.removeprefix(_PEFT_PREFIX), {})[part[0]] = value.astype(np.float32)

    writer = gguf.GGUFWriter(out_path, arch)  # writes general.architecture
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for module, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            raise AdapterExportError(f"{module} has only lora_{''.join(pair)}")
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise AdapterExportError(f"{module} has no counterpart in a {arch} GGUF")
        # Shapes as llama.cpp wants them: A is (rank, in), B is (out, rank) in numpy order,
        # which is PEFT's own layout, so only Q/K's B rows move.
        a, b = pair["A"], pair["B"]
        if module.endswith("q_proj"):
            b = _permute_rows(b, n_head)
        elif module.endswith("k_proj"):
            b = _permute_rows(b, n_head_kv)
        writer.add_tensor(target + ".lora_a", np.ascontiguousarray(a))
        writer.add_tensor(target + ".lora_b", np.ascontiguousarray(b))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return ExportReport(path=out_path, tensors=2 * len(pairs), rank=rank, alpha=alpha,
                        size_bytes=out_path.stat().st_size)


def _check_config(config: dict) -> tuple[int, float]:
    """The rank and the alpha to write, or an error naming what cannot be exported."""
    if config.get("peft_type") != "LORA":
        raise AdapterExportError(f"only LoRA adapters can be exported, not {config.get('peft_type')}")
    unsupported = {
        "use_dora": "DoRA", "rank_pattern": "per-module ranks", "alpha_pattern": "per-module alphas",
        "modules_to_save": "fully trained modules", "fan_in_fan_out": "fan_in_fan_out layers",
        "lora_bias": "LoRA biases",
    }
    for key, what in unsupported.items():
        if config.get(key):
            raise AdapterExportError(f"adapters with {what} ({key}) cannot be exported to llama.cpp")
    if config.get("bias", "none") != "none":
        raise AdapterExportError("adapters that train biases cannot be exported to llama.cpp")
    rank, alpha = int(config["r"]), float(config["lora_alpha"])
    # PEFT scales by alpha / rank, or alpha / sqrt(rank) with rsLoRA; llama.cpp always
    # divides by rank, so rsLoRA's alpha is rescaled to give the same product.
    if config.get("use_rslora"):
        alpha *= math.sqrt(rank)
    return rank, alpha


def _base_hparams(path: Path) -> tuple[str, int, int, int]:
    reader = gguf.GGUFReader(path)

    def value(key: str):
        field = reader.get_field(key)
        if field is None:
            raise AdapterExportError(f"the base model {path.name} has no {key}")
        return field.contents()

    arch = value(gguf.Keys.General.ARCHITECTURE)
    if arch not in SUPPORTED_ARCHITECTURES:
        raise AdapterExportError(f"LoRA export supports {sorted(SUPPORTED_ARCHITECTURES)} base models, not {arch}")
    n_head = int(value(gguf.Keys.Attention.HEAD_COUNT.format(arch=arch)))
    head_count_kv = reader.get_field(gguf.Keys.Attention.HEAD_COUNT_KV.format(arch=arch))
    n_head_kv = int(head_count_kv.contents()) if head_count_kv is not None else n_head
    return arch, int(value(gguf.Keys.LLM.BLOCK_COUNT.format(arch=arch))), n_head, n_head_kv


def _model_arch(name: str) -> gguf.MODEL_ARCH:
    return next(arch for arch, arch_name in gguf.MODEL_ARCH_NAMES.items() if arch_name == name)


def _permute_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    # llama.cpp's converter regroups each head's rows from two halves (HF's rotate_half
    # layout) into interleaved pairs (GGML's rope); the same reshuffle, on B's rows.
    return w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
