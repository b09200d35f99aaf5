"""The trainer in-process: the same seed gives the same adapter, and a run paused by shutdown
resumes from its checkpoint to exactly the adapter an uninterrupted run makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.numpy import load_file

from openmaas.hub.builtin import builtin_model_path
from openmaas.hub.tokenizer import tokenizer_for
from openmaas.tuning.hyperparameters import resolve
from openmaas.tuning.trainer import TrainingPlan, train

CONVERSATIONS = [[{"role": "user", "content": f"What is {a} plus {b}?"}, {"role": "assistant", "content": str(a + b)}]
                 for a, b in ((2, 3), (7, 5), (10, 4), (6, 6), (9, 1), (8, 3))]


class Recorder:
    """A reporter that keeps what it is told and asks to stop at the end of step `stop_after`
    (with poll_s=0 the trainer asks once a step)."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after, self.steps, self.asked, self.checkpoints, self.events = stop_after, 0, 0, [], []

    def event(self, message, *, level="info", kind="message", data=None):
        self.events.append(message)

    def progress(self, step, total_steps, eta_s):
        self.steps = step

    def checkpoint(self, step, path, metrics):
        self.checkpoints.append(step)

    def should_stop(self):
        self.asked += 1
        return "shutdown" if self.stop_after is not None and self.asked >= self.stop_after else None


@pytest.fixture(scope="module")
def examples():
    tokenizer = tokenizer_for(str(builtin_model_path()))
    return [tokenizer.encode_chat(c) for c in CONVERSATIONS]


def plan_for(job_dir: Path, examples, seed: int) -> TrainingPlan:
    hyper = resolve({"n_epochs": 1, "batch_size": 2, "lora_rank": 4}, examples=len(examples), longest_tokens=40,
                    model_parameters=135_000_000)
    return TrainingPlan(base_gguf=Path(builtin_model_path()), job_dir=job_dir, train=examples, valid=[], hyper=hyper,
                        seed=seed)


def adapter(plan: TrainingPlan) -> dict:
    return load_file(str(plan.adapter_dir / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def whole(tmp_path_factory, examples) -> TrainingPlan:
    """One uninterrupted run, seed 3."""
    plan = plan_for(tmp_path_factory.mktemp("whole"), examples, seed=3)
    outcome = train(plan, Recorder(), poll_s=0.0)
    assert outcome.stopped is None and outcome.step == 3
    assert outcome.trained_tokens == sum(len(e.tokens) for e in examples)
    return plan


def test_the_same_seed_gives_the_same_adapter(tmp_path, examples, whole):
    assert all(0 < sum(e.trained) < len(e.tokens) for e in examples)  # prompts are not trained on
    again = plan_for(tmp_path / "again", examples, seed=3)
    train(again, Recorder(), poll_s=0.0)
    a, b = adapter(whole), adapter(again)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_a_paused_run_resumes_to_the_same_adapter(tmp_path, examples, whole):
    paused = plan_for(tmp_path / "paused", examples, seed=3)
    recorder = Recorder(stop_after=1)
    outcome = train(paused, recorder, poll_s=0.0)
    assert outcome.stopped == "shutdown" and outcome.step == 1 and recorder.checkpoints == [1]
    assert not paused.adapter_dir.exists()
    resumed = Recorder()
    outcome = train(paused, resumed, poll_s=0.0)
    assert outcome.stopped is None and outcome.step == 3
    assert "Resuming from checkpoint checkpoint-1." in resumed.events
    a, b = adapter(whole), adapter(paused)
    assert all((a[k] == b[k]).all() for k in a)
