"""Training benchmark: an OpenMaaS fine-tuning job against a plain TRL SFTTrainer + PEFT script.

One run on this machine, the same data, LoRA, hyperparameters, seed and thread count on every
side, one side at a time, each in a fresh process:
1. plain: the shortest TRL script that does the same LoRA SFT (no logging, evaluation or checkpoints);
2. trainer: OpenMaaS's trainer (`openmaas.tuning.trainer.train`) called directly, no server, no database;
3. job: a real job through a real `openmaas serve`: upload, POST /v1/fine_tuning/jobs, wait for success.
Prints one table; --write also updates the "Training" section of bench/RESULTS.md.

    .venv/bin/python bench/training.py [--examples 96] [--batch-size 8] [--epochs 1] [--repeats 2] [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

from openmaas.tuning.hyperparameters import BASE_LEARNING_RATE
from results import RESULTS, publish, run  # bench/results.py, beside this script
from serving import cpu_seconds, free_port, log, others_share, running  # the serving benchmark's helpers

MODEL_ID = "smollm2-135m-instruct"
SIDES = ("plain", "trainer", "job")

# --- 1. the data: seeded synthetic chats, 40 to 200 tokens each -------------------------------

SYSTEMS = ["You are a concise assistant.", "You are a friendly tutor who explains things simply.",
           "Answer as a careful technical writer."]
QUESTIONS = [
    "How do I keep basil fresh for longer?", "What is the difference between a list and a tuple in Python?",
    "Why do cats purr?", "Can you explain what compound interest is?", "How should I prepare for a job interview?",
    "What causes thunder?", "How do I fix a squeaky door hinge?", "What is a good way to start running?",
    "Why is the ocean salty?", "How does a vaccine train the immune system?", "What should I pack for a day hike?",
    "How do I write a good commit message?", "What is photosynthesis?", "How can I sleep better at night?",
    "Why do leaves change colour in autumn?", "How do I make a simple tomato sauce?",
]
SENTENCES = [
    "Start with the simplest option and change one thing at a time.",
    "The main reason is that the process repeats slowly over a long period.",
    "Most people find that a short daily routine works better than a long weekly one.",
    "It helps to write down what you tried, so that you can compare the results later.",
    "Temperature matters more than most people expect.",
    "A small amount of preparation the evening before saves a lot of time in the morning.",
    "If it still does not work, look for the part that wears out first and replace it.",
    "The effect is stronger in warm weather and weaker in the cold.",
    "Experts usually recommend checking it again after a week.",
    "Think of it as a habit you build rather than a task you finish.",
    "Water, light and air are the three things to watch.",
    "Avoid doing everything at once, because it is hard to tell what made the difference.",
    "In short, the answer depends on how often you do it and for how long.",
    "Many guides overcomplicate this, but the basic idea is simple.",
    "You will notice the difference within a few days.",
    "Keep it somewhere cool and dry, away from direct sunlight.",
    "The same rule applies to larger projects as well.",
    "A good first step is to ask someone who has done it before.",
]


def conversation(rng: random.Random, tokens: int, encode) -> list[dict]:
    """One chat (sometimes with a system prompt, sometimes two turns) grown sentence by sentence to about `tokens`."""
    messages = [{"role": "system", "content": rng.choice(SYSTEMS)}] if rng.random() < 0.3 else []
    questions = rng.sample(QUESTIONS, 2 if tokens > 120 and rng.random() < 0.4 else 1)
    for turn, question in enumerate(questions):
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        answer, budget = [], tokens * (turn + 1) // len(questions)
        for sentence in rng.sample(SENTENCES, len(SENTENCES)):
            messages[-1]["content"] = " ".join(answer + [sentence])
            if answer and len(encode(messages)) > budget:
                messages[-1]["content"] = " ".join(answer)
                break
            answer.append(sentence)
    return messages


def dataset(n: int, seed: int, gguf: Path) -> list[list[dict]]:
    from openmaas.hub.tokenizer import tokenizer_for

    tokenizer = tokenizer_for(str(gguf))
    rng = random.Random(seed)
    return [conversation(rng, rng.randint(40, 200), lambda m: tokenizer.encode_chat(m).tokens) for _ in range(n)]


def encoded(chats: list[list[dict]], gguf: Path) -> list[dict]:
    """The tokens and assistant mask of each chat, as the platform's runner makes them."""
    from openmaas.hub.tokenizer import tokenizer_for

    tokenizer = tokenizer_for(str(gguf))
    return [{"tokens": c.tokens, "trained": c.trained} for c in map(tokenizer.encode_chat, chats)]


def jsonl(chats: list[list[dict]]) -> bytes:
    return "".join(json.dumps({"messages": m}) + "\n" for m in chats).encode()


# --- 2. the sides: each returns the marks of its training loop --------------------------------

def warmup_steps(spec: dict) -> int:
    total = math.ceil(len(spec["train"]) / spec["batch_size"]) * spec["epochs"]
    return min(10, total // 10)  # as the platform's trainer


def plain_side(spec: dict) -> dict:
    """The peer: plain transformers + PEFT + TRL on the same tokens, in the platform's precision.

    Timed from the trainer's start of training to the end of each optimizer step: a callback reads
    the clock, nothing else is added.
    """
    import logging

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from openmaas.tuning.trainer import LORA_TARGETS  # the same modules as the platform, nothing else from it

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.marks = [time.perf_counter()]

        def on_step_end(self, args, state, control, **kwargs):
            self.marks.append(time.perf_counter())

    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(spec["threads"])
    gguf = Path(spec["gguf"])
    gpu = torch.cuda.is_available()  # then both sides train on it, in bfloat16 where it has it, as the platform does
    dtype = torch.bfloat16 if gpu and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
    model.hf_quantizer, model.is_quantized = None, False  # dequantized floats, still tagged GGUF: Trainer refuses those
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    data = Dataset.from_dict({"input_ids": [e["tokens"] for e in spec["train"]],
                              "assistant_masks": [e["trained"] for e in spec["train"]]})
    config = SFTConfig(output_dir=spec["out"], num_train_epochs=spec["epochs"],
                       per_device_train_batch_size=spec["batch_size"], learning_rate=spec["learning_rate"],
                       lr_scheduler_type="linear", warmup_steps=warmup_steps(spec), logging_strategy="no",
                       eval_strategy="no", save_strategy="no", seed=spec["seed"], data_seed=spec["seed"],
                       report_to="none", disable_tqdm=True, max_length=None, use_cpu=not gpu,
                       dataloader_pin_memory=False,
                       bf16=dtype == torch.bfloat16)  # TRL's default is bf16 autocast, on a CPU too; not the platform's
    lora = LoraConfig(r=spec["lora_rank"], lora_alpha=spec["lora_alpha"], lora_dropout=0.0, bias="none",
                      target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    clock = Clock()
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer, peft_config=lora,
                         callbacks=[clock])
    trainer.train()
    tokens = sum(len(e["tokens"]) for e in spec["train"]) * spec["epochs"]  # no padding in it
    return {"tokens": tokens, "steps": trainer.state.global_step,
            "step_seconds": [end - start for start, end in zip(clock.marks, clock.marks[1:])]}


class ClockReporter:
    """A `Reporter` for the platform's trainer that writes nothing anywhere: it only reads the clock."""

    def __init__(self):
        self.marks: list[tuple[float, str, int]] = []
        self.tokens_per_second: float | None = None

    def event(self, message: str, *, level: str = "info", kind: str = "message", data: dict | None = None) -> None:
        if kind == "metrics" and data:
            self.marks.append((time.monotonic(), "train" if "train_loss" in data else "valid", data["step"]))
            self.tokens_per_second = data.get("tokens_per_second") or self.tokens_per_second

    def progress(self, step: int, total_steps: int, eta_s: float | None) -> None:
        pass

    def checkpoint(self, step: int, path: str, metrics: dict) -> None:
        self.marks.append((time.monotonic(), "checkpoint", step))

    def should_stop(self) -> str | None:
        return None


def trainer_side(spec: dict) -> dict:
    """OpenMaaS's trainer as the runner calls it, minus the database and the server around it."""
    from openmaas.hub.tokenizer import EncodedChat
    from openmaas.tuning.hyperparameters import Hyperparameters
    from openmaas.tuning.trainer import TrainingPlan, train

    def chats(rows: list[dict]) -> list[EncodedChat]:
        return [EncodedChat(e["tokens"], e["trained"]) for e in rows]

    hyper = Hyperparameters(n_epochs=spec["epochs"], batch_size=spec["batch_size"],
                            learning_rate_multiplier=spec["learning_rate"] / BASE_LEARNING_RATE,
                            learning_rate=spec["learning_rate"], lora_rank=spec["lora_rank"],
                            lora_alpha=spec["lora_alpha"], reasons={})
    plan = TrainingPlan(base_gguf=Path(spec["gguf"]), job_dir=Path(spec["out"]), train=chats(spec["train"]),
                        valid=chats(spec["valid"]), hyper=hyper, seed=spec["seed"])
    reporter = ClockReporter()
    outcome = train(plan, reporter, threads=spec["threads"])
    return {"tokens": outcome.trained_tokens, "steps": outcome.step, "marks": reporter.marks,
            "tokens_per_second": reporter.tokens_per_second}


def child(side: str, spec: dict, tmp: Path, env: dict) -> dict:
    """Run one side in a fresh Python process, so that each starts cold and leaves nothing behind."""
    spec_path, result_path = tmp / "spec.json", tmp / f"{side}.json"
    spec_path.write_text(json.dumps({**spec, "out": str(tmp / f"{side}-out")}))
    subprocess.run([sys.executable, __file__, "--child", side, "--spec", str(spec_path), "--result",
                    str(result_path)], env=env, check=True, stdout=sys.stderr)  # stdout is for the table
    return json.loads(result_path.read_text())


def job_side(spec: dict, chats: tuple[list, list], tmp: Path, env: dict) -> dict:
    """A job through `openmaas serve`; its loop's marks come from its events, read from the database at the end."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from openmaas.db.models import FineTuningCheckpoint, FineTuningEvent

    home, port = tmp / "home", free_port()
    home.mkdir()
    cmd = [sys.executable, "-m", "openmaas", "serve", "--host", "127.0.0.1", "--port", str(port), "--home", str(home),
           "--no-default-model"]
    base_url = f"http://127.0.0.1:{port}"
    # /health answers 503 while no model is deployed; the public status page answers once the API is up.
    with running("OpenMaaS", cmd, {**env, "OPENMAAS_RUNNER_THREADS": str(spec["threads"])},
                 f"{base_url}/status.json", home / "openmaas.log"):
        key = (home / "admin.key").read_text().strip()
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                          trust_env=False) as client:
            def upload(name: str, rows: list) -> str:
                response = client.post("/v1/files", data={"purpose": "fine-tune"},
                                       files={"file": (name, jsonl(rows), "application/jsonl")})
                response.raise_for_status()
                return response.json()["id"]

            hyper = {"n_epochs": spec["epochs"], "batch_size": spec["batch_size"],
                     "learning_rate_multiplier": spec["learning_rate"] / BASE_LEARNING_RATE,
                     "lora_rank": spec["lora_rank"], "lora_alpha": spec["lora_alpha"]}
            body = {"model": MODEL_ID, "training_file": upload("train.jsonl", chats[0]),
                    "validation_file": upload("valid.jsonl", chats[1]), "seed": spec["seed"], "suffix": "bench",
                    "hyperparameters": hyper}
            response = client.post("/v1/fine_tuning/jobs", json=body)
            response.raise_for_status()
            job = response.json()
            while job["status"] not in ("succeeded", "failed", "cancelled"):
                time.sleep(2)  # a user watching the job polls about as often
                job = client.get(f"/v1/fine_tuning/jobs/{job['id']}").json()
            if job["status"] != "succeeded":
                raise RuntimeError(f"the job ended {job['status']}: {job['error']}")
            if not math.isclose(job["learning_rate"], spec["learning_rate"]):
                raise RuntimeError(f"the job trained at learning rate {job['learning_rate']}, "
                                   f"not {spec['learning_rate']}")
    engine = create_engine(f"sqlite:///{home / 'openmaas.db'}")  # the server is stopped: read what it wrote
    with Session(engine) as session:
        events = session.scalars(select(FineTuningEvent).where(FineTuningEvent.job_id == job["id"],
                                                                FineTuningEvent.type == "metrics")).all()
        saves = session.scalars(select(FineTuningCheckpoint).where(FineTuningCheckpoint.job_id == job["id"])).all()
        marks = [(e.created_at.timestamp(), "train" if "train_loss" in e.data else "valid", e.data["step"])
                 for e in events] + [(c.created_at.timestamp(), "checkpoint", c.step) for c in saves]
        last = max((e for e in events if "train_loss" in e.data), key=lambda e: e.data["step"])
    engine.dispose()
    return {"tokens": job["trained_tokens"], "steps": job["progress"]["step"], "marks": marks,
            "tokens_per_second": last.data["tokens_per_second"], "job_s": job["finished_at"] - job["created_at"]}


# --- 3. what is timed -------------------------------------------------------------------------

@dataclass
class Loop:
    whole: float  # seconds from the start of training to the last step's log
    steps_only: float  # the same, less the pauses for validations and checkpoints
    validations: int  # inside the loop
    checkpoints: int
    step_seconds: list[float]


def loop_times(run: dict) -> Loop:
    """The training loop of a platform run, from the trainer's marks.

    The trainer's own tokens_per_second covers its loop from the start of training to the log of
    the last step: trained tokens / that rate is the loop's time. After a step's log come its
    validation and its checkpoint, if any, and the next step starts after them: the time from a
    step's train mark to its last mark is a pause, taken out for "steps only". The last step's
    validation and checkpoint fall after the loop's end and count in neither.
    """
    train_at = dict(sorted((step, t) for t, kind, step in run["marks"] if kind == "train"))
    last = max(train_at)
    pause_end: dict[int, float] = {}
    validations = checkpoints = 0
    for t, kind, step in run["marks"]:
        if kind != "train" and step < last and step in train_at:
            pause_end[step] = max(pause_end.get(step, t), t)
            validations, checkpoints = validations + (kind == "valid"), checkpoints + (kind == "checkpoint")
    whole = run["tokens"] / run["tokens_per_second"]
    resumed, step_seconds = train_at[last] - whole, []
    for step, t in train_at.items():
        step_seconds.append(t - resumed)
        resumed = pause_end.get(step, t)
    return Loop(whole, sum(step_seconds), validations, checkpoints, step_seconds)


def rows_of(side: str, run: dict) -> list[dict]:
    """The table's rows of one run: a key, a label, trained tokens, steps and seconds."""
    row = {"tokens": run["tokens"], "steps": run["steps"]}
    if side == "plain":
        return [{**row, "key": "plain", "side": "plain TRL SFTTrainer + PEFT", "seconds": sum(run["step_seconds"]),
                 "step_seconds": run["step_seconds"]}]
    loop = loop_times(run)
    name = "OpenMaaS trainer, no server" if side == "trainer" else "OpenMaaS job"
    return [{**row, "key": f"{side} steps", "side": f"{name}: steps only", "seconds": loop.steps_only,
             "step_seconds": loop.step_seconds},
            {**row, "key": f"{side} whole {loop.validations} {loop.checkpoints}", "seconds": loop.whole,
             "side": f"{name}: whole loop ({loop.validations} validations, {loop.checkpoints} checkpoints)",
             "job_s": run.get("job_s")}]


# --- 4. the report ----------------------------------------------------------------------------

def table(runs: dict[str, list[dict]], examples: int) -> tuple[str, dict[str, dict]]:
    """Best run of each row (least disturbed by the machine's other work), every run's tok/s beside it."""
    best: dict[str, dict] = {}
    for row in (r for rows in runs.values() for r in rows):
        row["tok_s"] = row["tokens"] / row["seconds"]
        kept = best.setdefault(row["key"], {**row, "all": []})
        kept["all"].append(row["tok_s"])
        if row["tok_s"] > kept["tok_s"]:
            best[row["key"]] = {**row, "all": kept["all"]}
    plain = best.get("plain")
    lines = ["| side | examples | trained tokens | steps | seconds | tokens/s | overhead | every run's tokens/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in best.values():
        overhead = "-" if plain is None or r is plain else f"{plain['tok_s'] / r['tok_s'] - 1:+.1%}"
        lines.append(f"| {r['side']} | {examples} | {r['tokens']} | {r['steps']} | {r['seconds']:.1f} "
                     f"| {r['tok_s']:.1f} | {overhead} | {', '.join(f'{v:.1f}' for v in r['all'])} |")
    return "\n".join(lines), best


def verdict(best: dict[str, dict]) -> str:
    wholes = [r for key, r in best.items() if key.startswith("job whole")]
    if "plain" not in best or not wholes:
        return ""
    job = max(wholes, key=lambda r: r["tok_s"])
    steps = best["plain"]["tok_s"] / best["job steps"]["tok_s"] - 1
    whole = best["plain"]["tok_s"] / job["tok_s"] - 1
    return (f"OpenMaaS job over the plain script, training steps only: {steps:+.1%} "
            f"[target < 10%: {'met' if steps < 0.10 else 'NOT met'}]; its whole training loop, with the "
            f"validations and checkpoints it makes along the way: {whole:+.1%}. That job took {job['job_s']} s "
            f"from creation to success, {job['seconds']:.0f} s of them in its training loop; the rest is the "
            f"runner's model load and tokenization, and after training the last validation and checkpoint, "
            f"the evaluation of base and tuned model and the export.")


NOTES = ("Overhead is the extra time per trained token: plain tokens/s / side tokens/s - 1. Every side trains the "
         "same tokens (non-padding input tokens, counted once per epoch) in the same precision (float32 on a CPU: "
         "the plain script turns off TRL's default bf16 autocast, as the platform does). Timed on every side: from the "
         "trainer's start of training (after model load, data preparation and trainer setup) to the end of the "
         "last optimizer step; the plain side by a callback's clock, the platform by its trainer's own "
         "tokens_per_second (the job's last metrics event), which runs to the last step's log, its database "
         "writes included. \"Steps only\" takes out the pauses for the validations and checkpoints the platform "
         "makes along the way, measured from the trainer's reports (the job's: event timestamps in "
         "its database). Never timed: model load, tokenization, the job's queueing, the evaluation after "
         "training and the export to GGUF.")


def machine(args: argparse.Namespace, gguf: Path, noise: float, spec: dict) -> str:
    import peft
    import torch
    import transformers
    import trl

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "unknown"
    lengths = [len(e["tokens"]) for e in spec["train"]]
    return "\n".join([
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; OpenMaaS at commit {commit} plus any local changes",
        f"- CPU: {cpu}, {os.cpu_count()} cores; torch threads: {args.threads}; CPU used by other processes during "
        f"the run: {noise:.0%}" + (" (noisy numbers)" if noise > 0.10 else ""),
        f"- torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
        f"trl {trl.__version__}; model: {MODEL_ID} ({gguf.name}) dequantized to float32",
        f"- data: {len(lengths)} synthetic chats of {min(lengths)} to {max(lengths)} tokens ({sum(lengths)} in all), "
        f"{len(spec['valid'])} more for the platform's validation, seed {spec['seed']}",
        f"- training: LoRA rank {spec['lora_rank']}, alpha {spec['lora_alpha']:g}, dropout 0, every linear "
        f"projection; {spec['epochs']} epoch(s), batch size {spec['batch_size']}, learning rate "
        f"{spec['learning_rate']:g}; best of {args.repeats} run(s) per side, order alternating",
        f"- command: `python bench/training.py {' '.join(sys.argv[1:])}`"])


# --- the run ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=96, help="training chats (default 96)")
    parser.add_argument("--valid-examples", type=int, default=8, help="validation chats for the platform (default 8)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=BASE_LEARNING_RATE,
                        help="default 2e-4; the job asks for it as a multiplier of that")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=2, help="runs per side, in alternating order (default 2)")
    parser.add_argument("--sides", default=list(SIDES), type=lambda text: text.split(","),
                        help="which of plain,trainer,job to run (default all)")
    parser.add_argument("--write", action="store_true", help=f"also update the Training section of {RESULTS}")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)  # one side, in its own process
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.spec.read_text())
        result = plain_side(spec) if args.child == "plain" else trainer_side(spec)
        args.result.write_text(json.dumps(result))
        return
    if unknown := set(args.sides) - set(SIDES):
        parser.error(f"unknown sides: {', '.join(sorted(unknown))}")

    from openmaas.hub.builtin import builtin_model_path

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the server is stopped on SIGTERM too

    gguf = builtin_model_path()
    chats = dataset(args.examples + args.valid_examples, args.seed, gguf)
    train, valid = chats[:args.examples], chats[args.examples:]
    spec = {"gguf": str(gguf), "train": encoded(train, gguf), "valid": encoded(valid, gguf), "epochs": args.epochs,
            "batch_size": args.batch_size, "learning_rate": args.learning_rate, "lora_rank": args.lora_rank,
            "lora_alpha": 2.0 * args.lora_rank, "seed": args.seed, "threads": args.threads}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAAS_")}  # never the caller's database
    env["TQDM_DISABLE"] = "1"  # no progress bars from the model load

    before = cpu_seconds()
    time.sleep(2)
    if (busy := others_share(before, start := cpu_seconds())) > 0.10:
        log(f"warning: other processes already use {busy:.0%} of the CPU; every number below will be noisy")
    runs: dict[str, list[dict]] = {}
    for repeat in range(args.repeats):
        for side in args.sides if repeat % 2 == 0 else reversed(args.sides):
            log(f"run {repeat + 1}/{args.repeats}: {side}")
            with tempfile.TemporaryDirectory(prefix="openmaas-bench-") as tmp:
                run = job_side(spec, (train, valid), Path(tmp), env) if side == "job" else \
                    child(side, spec, Path(tmp), env)
            rows = rows_of(side, run)
            for r in rows:
                steps = f"; steps {', '.join(f'{s:.1f}' for s in r['step_seconds'])}" if "step_seconds" in r else ""
                log(f"  {r['side']}: {r['tokens'] / r['seconds']:.1f} tok/s, {r['seconds']:.1f} s{steps}")
            runs[f"{side}-{repeat}"] = rows
    expected = sum(len(e["tokens"]) for e in spec["train"]) * args.epochs
    if mismatched := {r["side"]: r["tokens"] for rows in runs.values() for r in rows if r["tokens"] != expected}:
        log(f"warning: sides trained on other token counts than {expected}: {mismatched}")

    rows_table, best = table(runs, args.examples)
    report = "\n\n".join(p for p in [machine(args, gguf, others_share(start, cpu_seconds()), spec), rows_table,
                                      verdict(best), NOTES] if p)
    publish("Training", report, args.write)


if __name__ == "__main__":
    run(main)
