"""The job runner: a process (started and restarted by `serve`) that trains one job at a time.

It looks for work in the database: first a job left `running` by a runner that died (it is
resumed from its last checkpoint), then the oldest job `validating_files`, then the oldest
`queued`. SIGTERM makes it checkpoint the running job and exit; the job stays `running` and
the next runner resumes it. Run as `python -m openmaas.tuning.runner` with the settings as JSON
in the environment variable OPENMAAS_RUNNER_SETTINGS.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import threading
import traceback
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from openmaas.config import Settings
from openmaas.db.models import FineTuningCheckpoint, FineTuningJob, Model, utcnow
from openmaas.db.session import Database
from openmaas.hub.registry import register_adapter
from openmaas.hub.tokenizer import EncodedChat, ModelTokenizer, tokenizer_for
from openmaas.tuning.files import get_file, read_examples
from openmaas.tuning.formats import TrainingExample
from openmaas.tuning.hyperparameters import Hyperparameters, resolve, steps_per_epoch
from openmaas.tuning.jobs import add_event, transition, tuned_model_id

log = logging.getLogger("openmaas.runner")

SETTINGS_ENV = "OPENMAAS_RUNNER_SETTINGS"
HOLDOUT_FRACTION = 0.1
MAX_HOLDOUT = 100


class JobFailed(Exception):
    def __init__(self, message: str, code: str = "invalid_training_data", param: str | None = None):
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


class _Cancelled(Exception):
    """The job was cancelled while the runner was finishing it."""


class DatabaseReporter:
    """The trainer's reports, written where the API reads them."""

    def __init__(self, db: Database, job_id: str, shutdown: threading.Event):
        self.db, self.job_id, self.shutdown = db, job_id, shutdown

    def event(self, message: str, *, level: str = "info", kind: str = "message", data: dict | None = None) -> None:
        with self.db.session() as session:
            add_event(session, self.job_id, message, level=level, kind=kind, data=data)

    def progress(self, step: int, total_steps: int, eta_s: float | None) -> None:
        finish = None if eta_s is None else utcnow() + timedelta(seconds=eta_s)
        with self.db.session() as session:
            transition(session, self.job_id, "running", step=step, total_steps=total_steps, estimated_finish=finish)

    def checkpoint(self, step: int, path: str, metrics: dict) -> None:
        with self.db.session() as session:
            session.add(FineTuningCheckpoint(job_id=self.job_id, step=step, path=path, metrics=metrics))
            add_event(session, self.job_id, f"Checkpoint saved at step {step}.")

    def should_stop(self) -> str | None:
        if self.shutdown.is_set():
            return "shutdown"
        with self.db.session() as session:
            status = session.get(FineTuningJob, self.job_id).status
        return None if status == "running" else "cancelled"


class Runner:
    def __init__(self, settings: Settings, db: Database):
        self.settings, self.db = settings, db
        self.shutdown = threading.Event()

    def job_dir(self, job_id: str) -> Path:
        return self.settings.home / "jobs" / job_id

    def run_forever(self) -> None:
        while not self.shutdown.is_set():
            job_id = self.next_job()
            if job_id is None:
                self.shutdown.wait(self.settings.runner_poll_s)
                continue
            try:
                self.advance(job_id)
            except _Cancelled:
                pass
            except JobFailed as exc:
                self.fail(job_id, exc.message, exc.code, exc.param)
            except Exception as exc:  # a bug or a broken model file: the job fails, the runner lives on
                log.error("job %s failed:\n%s", job_id, traceback.format_exc())
                self.fail(job_id, f"{type(exc).__name__}: {exc}", "training_error")

    def next_job(self) -> str | None:
        with self.db.session() as session:
            for status in ("running", "validating_files", "queued"):
                job_id = session.scalar(select(FineTuningJob.id).where(FineTuningJob.status == status)
                                        .order_by(FineTuningJob.created_at).limit(1))
                if job_id is not None:
                    return job_id
        return None

    def advance(self, job_id: str) -> None:
        """Take a job one status further: validate it, start it, or resume it."""
        with self.db.session() as session:
            status = session.get(FineTuningJob, job_id).status
        if status == "validating_files":
            self.validate(job_id)
        elif status == "queued":
            with self.db.session() as session:
                started = transition(session, job_id, "queued", status="running", started_at=utcnow(), attempts=1)
                if started:
                    add_event(session, job_id, "Fine-tuning job started.")
            if started:
                self.train(job_id)
        elif status == "running":
            with self.db.session() as session:
                job = session.get(FineTuningJob, job_id)
                job.attempts += 1
                add_event(session, job_id, f"Runner restarted; resuming the job (attempt {job.attempts}).")
            self.train(job_id)

    # ---- validating_files -> queued ----

    def validate(self, job_id: str) -> None:
        with self.db.session() as session:
            job = session.get(FineTuningJob, job_id)
            base = session.get(Model, job.model)
            train = read_examples(get_file(session, job.training_file, job.workspace_id, "training_file")).examples
            valid_source = "validation_file"
            if job.validation_file:
                valid = read_examples(get_file(session, job.validation_file, job.workspace_id,
                                               "validation_file")).examples
            else:
                train, valid, valid_source = holdout(train, job.seed)
            tokenizer = tokenizer_for(base.path)
            longest = max(len(tokenizer.encode_chat(e.messages).tokens) for e in train)
            hyper = resolve(job.requested, examples=len(train), longest_tokens=longest,
                            model_parameters=base.parameters)
            directory = self.job_dir(job_id)
            directory.mkdir(parents=True, exist_ok=True)
            # The data the job trains on, frozen: deleting the uploaded file later cannot break a resume.
            dataset = {"train": [e.messages for e in train], "valid": [e.messages for e in valid],
                       "valid_source": valid_source}
            (directory / "dataset.json").write_text(json.dumps(dataset))
            total = steps_per_epoch(len(train), hyper.batch_size) * hyper.n_epochs
            if transition(session, job_id, "validating_files", status="queued", hyperparameters=hyper.as_dict(),
                          total_steps=total):
                add_event(session, job_id, f"Files validated: {len(train)} training and {len(valid)} validation "
                                           f"examples ({valid_source.replace('_', ' ')}).")
                for name, reason in hyper.reasons.items():
                    add_event(session, job_id, f"Hyperparameter {name}: {reason}.")
                add_event(session, job_id, "Job enqueued.")

    # ---- running -> succeeded ----

    def train(self, job_id: str) -> None:
        from openmaas.tuning.trainer import TrainingPlan, train  # torch: imported only when there is work

        with self.db.session() as session:
            job = session.get(FineTuningJob, job_id)
            base = session.get(Model, job.model)
            base_path, seed = Path(base.path), job.seed
            hyper = Hyperparameters(**job.hyperparameters)
        tokenizer = tokenizer_for(str(base_path))
        directory = self.job_dir(job_id)
        dataset = json.loads((directory / "dataset.json").read_text())
        reporter = DatabaseReporter(self.db, job_id, self.shutdown)
        train_set = self.encode(tokenizer, dataset["train"], base.context_length, reporter)
        valid_set = self.encode(tokenizer, dataset["valid"], base.context_length, None)
        plan = TrainingPlan(base_gguf=base_path, job_dir=directory, train=train_set, valid=valid_set, hyper=hyper,
                            seed=seed)
        outcome_file = directory / "outcome.json"
        if not outcome_file.exists():
            outcome = train(plan, reporter, poll_s=self.settings.runner_poll_s, threads=self.settings.runner_threads)
            if outcome.stopped == "cancelled":
                reporter.event(f"Training stopped at step {outcome.step}.")
                return
            if outcome.stopped == "shutdown":
                reporter.event(f"Runner stopping: training paused at step {outcome.step}; it resumes on restart.")
                return
            outcome_file.write_text(json.dumps({"trained_tokens": outcome.trained_tokens, "step": outcome.step,
                                                "train_loss": outcome.train_loss, "valid_loss": outcome.valid_loss,
                                                "tokens_per_second": outcome.tokens_per_second}))
        self.publish(job_id, plan, tokenizer, json.loads(outcome_file.read_text()),
                     [TrainingExample(messages=m, line=0) for m in dataset["valid"]], reporter)

    def encode(self, tokenizer: ModelTokenizer, conversations: list[list[dict]], context: int | None,
               reporter: DatabaseReporter | None) -> list[EncodedChat]:
        encoded, truncated = [], 0
        for messages in conversations:
            chat = tokenizer.encode_chat(messages)
            if context and len(chat.tokens) > context:
                truncated += 1
                chat = EncodedChat(chat.tokens[:context], chat.trained[:context])
            if any(chat.trained):
                encoded.append(chat)
        if truncated and reporter is not None:
            reporter.event(f"{truncated} examples are longer than the model's context of {context} tokens "
                           f"and were truncated.", level="warn")
        return encoded

    def publish(self, job_id: str, plan, tokenizer: ModelTokenizer, outcome: dict,
                valid: list[TrainingExample], reporter: DatabaseReporter) -> None:
        """Evaluate, export the adapter for llama.cpp, register it, and mark the job succeeded."""
        from openmaas.tuning.evaluation import evaluate
        from openmaas.tuning.export import export_lora_gguf
        from openmaas.tuning.trainer import load_tuned

        reporter.event("Evaluating the tuned model against its base on the validation split.")
        model = load_tuned(plan.base_gguf, plan.adapter_dir)
        evaluation = evaluate(model, tokenizer, valid, plan.valid)
        models_dir = self.settings.home / "models"
        models_dir.mkdir(parents=True, exist_ok=True)
        gguf_path = models_dir / f"{job_id}.gguf"
        export_lora_gguf(plan.adapter_dir, plan.base_gguf, gguf_path)
        with self.db.session() as session:
            job = session.get(FineTuningJob, job_id)
            base = session.get(Model, job.model)
            model_id = tuned_model_id(job)
            extra = {"base_model": base.id, "training_file": job.training_file,
                     "validation_file": job.validation_file, "fine_tuning_job": job.id,
                     "hyperparameters": {k: v for k, v in job.hyperparameters.items() if k != "reasons"},
                     "metrics": {**outcome, "evaluation": evaluation["validation"]}}
            register_adapter(session, gguf_path, model_id, base, job.workspace_id, extra)
            done = transition(session, job_id, "running", status="succeeded", fine_tuned_model=model_id,
                              trained_tokens=outcome["trained_tokens"], evaluation=evaluation, finished_at=utcnow(),
                              step=outcome["step"], estimated_finish=None)
            if not done:  # cancelled while evaluating: roll the registration back with the session
                raise _Cancelled()
            add_event(session, job_id, f"New fine-tuned model created: {model_id}")
            add_event(session, job_id, "The job has successfully completed.")

    def fail(self, job_id: str, message: str, code: str, param: str | None = None) -> None:
        with self.db.session() as session:
            if transition(session, job_id, ("validating_files", "queued", "running"), status="failed",
                          finished_at=utcnow(), error={"code": code, "message": message, "param": param}):
                add_event(session, job_id, f"The job failed: {message}", level="error")


def holdout(examples: list[TrainingExample], seed: int) -> tuple[list, list, str]:
    """A seeded tenth of the examples (1 to 100) for validation; all of them when there are too few to spare."""
    if len(examples) < 5:
        return examples, examples, "training examples (too few to hold any out)"
    k = max(1, min(MAX_HOLDOUT, round(len(examples) * HOLDOUT_FRACTION)))
    picked = set(random.Random(seed).sample(range(len(examples)), k))
    train = [e for i, e in enumerate(examples) if i not in picked]
    valid = [e for i, e in enumerate(examples) if i in picked]
    return train, valid, "held-out split"


def main() -> None:
    from openmaas.workers.worker import exit_with_parent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s runner %(levelname)s %(message)s")
    exit_with_parent()
    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    db = Database(settings.resolved_database_url())
    runner = Runner(settings, db)
    signal.signal(signal.SIGTERM, lambda *_: runner.shutdown.set())
    signal.signal(signal.SIGINT, lambda *_: runner.shutdown.set())
    runner.run_forever()


if __name__ == "__main__":
    main()
