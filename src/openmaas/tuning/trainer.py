"""LoRA supervised fine-tuning of one job with transformers + PEFT + TRL's SFTTrainer.

The trainer knows nothing of the database: it reports through a `Reporter` (events,
progress, checkpoints) and asks it whether to stop. Examples arrive already tokenized by
`hub.tokenizer`, with the assistant turns marked, so the loss falls only on answers and the
tokens are those the engine serves. A GGUF base is loaded into transformers dequantized.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
from transformers.trainer_utils import get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from openmaas.hub.tokenizer import EncodedChat
from openmaas.tuning.hyperparameters import Hyperparameters, steps_per_epoch

MIN_INTERVAL = 10
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class Reporter(Protocol):
    def event(self, message: str, *, level: str = "info", kind: str = "message", data: dict | None = None) -> None: ...
    def progress(self, step: int, total_steps: int, eta_s: float | None) -> None: ...
    def checkpoint(self, step: int, path: str, metrics: dict) -> None: ...
    def should_stop(self) -> str | None: ...  # "cancelled", "shutdown" (checkpoint and leave) or None


@dataclass(frozen=True)
class TrainingPlan:
    base_gguf: Path
    job_dir: Path
    train: list[EncodedChat]
    valid: list[EncodedChat]
    hyper: Hyperparameters
    seed: int

    @property
    def total_steps(self) -> int:
        return steps_per_epoch(len(self.train), self.hyper.batch_size) * self.hyper.n_epochs

    @property
    def checkpoints_dir(self) -> Path:
        return self.job_dir / "checkpoints"

    @property
    def adapter_dir(self) -> Path:
        return self.job_dir / "adapter"


@dataclass(frozen=True)
class TrainingOutcome:
    stopped: str | None  # None when training ran to the end
    step: int
    trained_tokens: int
    train_loss: float | None
    valid_loss: float | None
    tokens_per_second: float | None


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_base(gguf: Path):
    """The GGUF's weights in transformers, dequantized."""
    dtype = torch.bfloat16 if device() == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
    # The weights are plain floats now, but transformers still tags the model as GGUF-quantized,
    # and its Trainer refuses to train such a model: drop the tag.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model.to(device())


def load_tuned(gguf: Path, adapter_dir: Path):
    return PeftModel.from_pretrained(load_base(gguf), str(adapter_dir))


def as_dataset(examples: list[EncodedChat]) -> Dataset:
    return Dataset.from_dict({"input_ids": [e.tokens for e in examples],
                              "assistant_masks": [e.trained for e in examples]})


class _Progress(TrainerCallback):
    """Turns the trainer's logs into events, saves into checkpoint rows, and stops when asked."""

    def __init__(self, reporter: Reporter, total_steps: int, poll_s: float):
        self.reporter, self.total_steps, self.poll_s = reporter, total_steps, poll_s
        self.stopped: str | None = None
        self.last: dict = {}
        self._checked = 0.0
        self._t0: float | None = None
        self._tokens0 = 0
        self._step0 = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0, self._tokens0, self._step0 = time.monotonic(), state.num_input_tokens_seen, state.global_step

    def _rates(self, state) -> tuple[float | None, float | None]:
        elapsed = time.monotonic() - (self._t0 or time.monotonic())
        steps = state.global_step - self._step0
        if elapsed <= 0 or steps <= 0:
            return None, None
        tokens_per_s = (state.num_input_tokens_seen - self._tokens0) / elapsed
        return tokens_per_s, (self.total_steps - state.global_step) * elapsed / steps

    def on_step_end(self, args, state, control, **kwargs):
        now = time.monotonic()
        if now - self._checked >= self.poll_s:
            self._checked = now
            reason = self.reporter.should_stop()
            if reason is not None:
                self.stopped = reason
                control.should_training_stop = True
                control.should_save = reason == "shutdown"  # cancelled work is not worth a checkpoint
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        tokens_per_s, eta_s = self._rates(state)
        step = state.global_step
        if "loss" in logs:
            self.last.update(train_loss=logs["loss"], tokens_per_second=tokens_per_s)
            data = {"step": step, "total_steps": self.total_steps, "train_loss": round(logs["loss"], 5),
                    "learning_rate": logs.get("learning_rate"), "epoch": round(logs.get("epoch", 0.0), 3),
                    "tokens_per_second": None if tokens_per_s is None else round(tokens_per_s, 1),
                    "eta_seconds": None if eta_s is None else round(eta_s, 1)}
            self.reporter.event(f"Step {step}/{self.total_steps}: training loss={logs['loss']:.4f}",
                                kind="metrics", data=data)
            self.reporter.progress(step, self.total_steps, eta_s)
        if "eval_loss" in logs:
            self.last["valid_loss"] = logs["eval_loss"]
            self.reporter.event(f"Step {step}/{self.total_steps}: validation loss={logs['eval_loss']:.4f}",
                                kind="metrics", data={"step": step, "total_steps": self.total_steps,
                                                      "valid_loss": round(logs["eval_loss"], 5)})

    def on_save(self, args, state, control, **kwargs):
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        metrics = {"step": state.global_step, **{k: v for k, v in self.last.items() if k != "tokens_per_second"}}
        self.reporter.checkpoint(state.global_step, str(path), metrics)


def train(plan: TrainingPlan, reporter: Reporter, *, poll_s: float = 1.0, threads: int | None = None) -> TrainingOutcome:
    if device() == "cpu":
        torch.set_num_threads(threads or os.cpu_count() or 1)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    total = plan.total_steps
    # A validation and a checkpoint every fifth of the run, but at most every MIN_INTERVAL steps:
    # on a short run they would cost more than the training they punctuate.
    interval = max(MIN_INTERVAL, total // 5)
    model = load_base(plan.base_gguf)
    # TRL pads with it; the examples arrive tokenized by llama.cpp's vocabulary, which it mirrors.
    tokenizer = AutoTokenizer.from_pretrained(str(plan.base_gguf.parent), gguf_file=plan.base_gguf.name)
    hyper = plan.hyper
    config = SFTConfig(
        output_dir=str(plan.checkpoints_dir), num_train_epochs=hyper.n_epochs,
        per_device_train_batch_size=hyper.batch_size, per_device_eval_batch_size=hyper.batch_size,
        learning_rate=hyper.learning_rate, lr_scheduler_type="linear", warmup_steps=min(10, total // 10),
        logging_steps=1, eval_strategy="steps" if plan.valid else "no", eval_steps=interval,
        save_strategy="steps", save_steps=interval, save_total_limit=2, seed=plan.seed, data_seed=plan.seed,
        report_to="none", disable_tqdm=True, max_length=None, use_cpu=device() == "cpu",
        bf16=model.dtype == torch.bfloat16, include_num_input_tokens_seen="non_padding",
        dataloader_pin_memory=False,
    )
    peft_config = LoraConfig(r=hyper.lora_rank, lora_alpha=hyper.lora_alpha, lora_dropout=0.0, bias="none",
                             target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    progress = _Progress(reporter, total, poll_s)
    trainer = SFTTrainer(model=model, args=config, train_dataset=as_dataset(plan.train),
                         eval_dataset=as_dataset(plan.valid) if plan.valid else None, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[progress])
    trainer.remove_callback(PrinterCallback)  # progress goes to the job's events, not stdout
    resume = get_last_checkpoint(str(plan.checkpoints_dir)) if plan.checkpoints_dir.is_dir() else None
    if resume:
        reporter.event(f"Resuming from checkpoint {Path(resume).name}.")
    trainer.train(resume_from_checkpoint=resume)
    state = trainer.state
    if progress.stopped is None:
        trainer.model.save_pretrained(str(plan.adapter_dir))
    return TrainingOutcome(stopped=progress.stopped, step=state.global_step, trained_tokens=state.num_input_tokens_seen,
                           train_loss=progress.last.get("train_loss"), valid_loss=progress.last.get("valid_loss"),
                           tokens_per_second=progress.last.get("tokens_per_second"))
