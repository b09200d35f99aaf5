"""Hyperparameters: what a job asks for, and what "auto" picks from the data and the model.

Every choice is recorded with its reason, so a person reading the job sees why it trained
the way it did. The rules are simple on purpose:
- batch size: about one eighth of the examples, a power of two from 1 to 8, smaller when
  examples are long (a batch holds at most 8192 tokens of its longest example);
- epochs: enough passes that a small dataset is seen about 100 times in all examples,
  between 3 and 20 (OpenAI's default of 3 is for datasets of hundreds of examples);
- learning rate: LoRA's usual 2e-4 times a multiplier that is larger for small models
  (5 below 500M parameters, 2 below 3B, else 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from openmaas.errors import InvalidRequest

BASE_LEARNING_RATE = 2e-4
TOKENS_PER_BATCH = 8192
DEFAULT_LORA_RANK = 16
LIMITS = {"n_epochs": (1, 50), "batch_size": (1, 256), "learning_rate_multiplier": (1e-3, 100.0),
          "lora_rank": (1, 256), "lora_alpha": (1e-3, 1024.0)}


@dataclass(frozen=True)
class Hyperparameters:
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    learning_rate: float
    lora_rank: int
    lora_alpha: float
    reasons: dict[str, str]

    def as_dict(self) -> dict:
        return asdict(self)


def check_requested(requested: dict) -> dict:
    """Each known key is "auto" or a number in range; raises 400 naming the offending one."""
    clean = {}
    for key, value in requested.items():
        if key not in LIMITS:
            raise InvalidRequest(f"Unknown hyperparameter '{key}'; known: {', '.join(LIMITS)}.",
                                 param=f"hyperparameters.{key}")
        if value == "auto" or value is None:
            continue
        low, high = LIMITS[key]
        integral = key in ("n_epochs", "batch_size", "lora_rank")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
        if not ok or (integral and value != int(value)):
            kind = "an integer" if integral else "a number"
            raise InvalidRequest(f"hyperparameters.{key} must be \"auto\" or {kind} from {low} to {high}.",
                                 param=f"hyperparameters.{key}")
        clean[key] = int(value) if integral else float(value)
    return clean


def resolve(requested: dict, *, examples: int, longest_tokens: int, model_parameters: int | None) -> Hyperparameters:
    reasons: dict[str, str] = {}

    batch_size = requested.get("batch_size")
    if batch_size is None:
        by_count = 2 ** int(math.log2(max(1, examples // 8))) if examples >= 8 else 1
        by_length = 2 ** int(math.log2(max(1, TOKENS_PER_BATCH // max(1, longest_tokens))))
        batch_size = max(1, min(8, by_count, by_length))
        reasons["batch_size"] = (f"auto: {examples} examples, longest {longest_tokens} tokens -> {batch_size} "
                                 f"(about examples/8, a power of two up to 8, at most {TOKENS_PER_BATCH} tokens a batch)")
    else:
        reasons["batch_size"] = "requested"

    n_epochs = requested.get("n_epochs")
    if n_epochs is None:
        n_epochs = max(3, min(20, math.ceil(100 / max(1, examples))))
        reasons["n_epochs"] = f"auto: {examples} examples -> {n_epochs} epochs (about 100 example passes, 3 to 20)"
    else:
        reasons["n_epochs"] = "requested"

    multiplier = requested.get("learning_rate_multiplier")
    if multiplier is None:
        params = model_parameters or 0
        multiplier = 5.0 if params < 500e6 else 2.0 if params < 3e9 else 1.0
        size = f"{params / 1e6:.0f}M" if params else "unknown size"
        reasons["learning_rate_multiplier"] = f"auto: a {size}-parameter model -> {multiplier:g}x of {BASE_LEARNING_RATE:g}"
    else:
        reasons["learning_rate_multiplier"] = "requested"

    rank = requested.get("lora_rank", DEFAULT_LORA_RANK)
    alpha = requested.get("lora_alpha", 2.0 * rank)
    reasons["lora"] = "requested" if "lora_rank" in requested or "lora_alpha" in requested else \
        f"default: rank {rank}, alpha twice the rank"
    return Hyperparameters(n_epochs=int(n_epochs), batch_size=int(batch_size),
                           learning_rate_multiplier=float(multiplier),
                           learning_rate=BASE_LEARNING_RATE * float(multiplier),
                           lora_rank=int(rank), lora_alpha=float(alpha), reasons=reasons)


def steps_per_epoch(examples: int, batch_size: int) -> int:
    return max(1, math.ceil(examples / batch_size))
