"""`openmaas jobs ...`: fine-tuning jobs from the terminal, read from the home's database.

`openmaas jobs list` shows every job with a progress bar; `openmaas jobs show ID --follow`
draws the job's bar until it ends, then prints its evaluation (base against tuned).
"""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from openmaas.errors import OpenMaaSError

jobs_app = typer.Typer(help="Fine-tuning jobs.", no_args_is_help=True)


def _context():
    from openmaas import cli
    from openmaas.bootstrap import open_database

    return cli.console, open_database(cli.settings())


def _bar(step: int, total: int, width: int = 20) -> str:
    done = round(width * step / total) if total else 0
    return "█" * done + "░" * (width - done) + f" {step}/{total or '?'}"


def _read(db, job_id: str) -> dict:
    from openmaas.tuning.jobs import get_job, job_dict

    with db.session() as session:
        job = get_job(session, job_id, None)
        return {**job_dict(job), "evaluation": job.evaluation}


@jobs_app.command("list")
def jobs_list():
    """Every workspace's jobs, newest first, with their progress."""
    from sqlalchemy import select

    from openmaas.db.models import FineTuningJob

    console, db = _context()
    table = Table("id", "workspace", "model", "status", "progress", "fine-tuned model")
    with db.session() as session:
        for job in session.scalars(select(FineTuningJob).order_by(FineTuningJob.created_at.desc())):
            table.add_row(job.id, job.workspace_id, job.model, job.status, _bar(job.step, job.total_steps),
                          job.fine_tuned_model or "-")
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str, follow: bool = typer.Option(False, "--follow", "-f", help="Wait for the job to end.")):
    """A job's status and progress, and its evaluation once it has succeeded."""
    console, db = _context()
    try:
        job = _read(db, job_id)
        if follow and job["status"] not in ("succeeded", "failed", "cancelled"):
            columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console) as progress:
                task = progress.add_task(job["status"], total=job["progress"]["total_steps"] or None)
                while job["status"] not in ("succeeded", "failed", "cancelled"):
                    time.sleep(1.0)
                    job = _read(db, job_id)
                    progress.update(task, description=job["status"], total=job["progress"]["total_steps"] or None,
                                    completed=job["progress"]["step"])
    except OpenMaaSError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"[bold]{job['id']}[/bold]  {job['status']}  {_bar(job['progress']['step'], job['progress']['total_steps'])}")
    console.print(f"model {job['model']} -> {job['fine_tuned_model'] or '-'}; hyperparameters {job['hyperparameters']}")
    if job["error"]:
        console.print(f"[red]error:[/red] {job['error']['message']}")
    evaluation = job["evaluation"]
    if evaluation:
        base, tuned = evaluation["validation"]["base"], evaluation["validation"]["tuned"]
        table = Table("", "base", "tuned", title="validation")
        for key in ("loss", "perplexity"):
            table.add_row(key, f"{base[key]:.4f}", f"{tuned[key]:.4f}")
        console.print(table)
        samples = Table("prompt", "reference", "base", "tuned", title="answers", show_lines=True)
        for sample in evaluation["samples"]:
            samples.add_row(sample["prompt"][-1]["content"], sample["reference"], sample["base"], sample["tuned"])
        console.print(samples)


@jobs_app.command("cancel")
def jobs_cancel(job_id: str):
    """Cancel a job; a running one stops within about a second."""
    from openmaas.tuning.jobs import cancel_job, get_job

    console, db = _context()
    try:
        with db.session() as session:
            job = cancel_job(session, job_id, get_job(session, job_id, None).workspace_id)
            console.print(f"{job.id} {job.status}")
    except OpenMaaSError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
