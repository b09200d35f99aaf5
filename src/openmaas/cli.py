"""The `openmaas` command: the platform's front door."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from openmaas.config import Settings
from openmaas.errors import OpenMaaSError
from openmaas.monitor.cli import incidents_app, maintenance_app
from openmaas.tuning.cli import jobs_app

app = typer.Typer(help="OpenMaaS: your own Model-as-a-Service.", no_args_is_help=True)
models_app = typer.Typer(help="The model hub.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(incidents_app, name="incidents")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(jobs_app, name="jobs")
console = Console()

_overrides: dict = {}


@app.callback()
def main(home: Path = typer.Option(None, "--home", help="Data directory (default $OPENMAAS_HOME or ~/.openmaas).")):
    if home is not None:
        _overrides["home"] = home


def settings(**more) -> Settings:
    return Settings(**_overrides, **{k: v for k, v in more.items() if v is not None})


def _fail(exc: OpenMaaSError) -> None:
    console.print(f"[red]error:[/red] {exc.message}")
    raise typer.Exit(1)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default 8000)."),
    home: Path = typer.Option(None, "--home", help="Data directory."),
    no_default_model: bool = typer.Option(False, "--no-default-model", help="Do not deploy the built-in model."),
):
    """Run the platform: the API, its workers and their supervisor, until SIGTERM or Ctrl-C."""
    import uvicorn

    from openmaas.app import create_app
    from openmaas.bootstrap import bootstrap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health check is noise
    config = settings(host=host, port=port, home=home)
    boot = bootstrap(config, deploy_default=not no_default_model)
    if boot.new_admin_key:
        console.print(f"[bold]Admin API key[/bold] (shown once, also saved to {config.admin_key_path}):")
        console.print(boot.new_admin_key, soft_wrap=True)
    console.print(f"OpenMaaS on http://{config.host}:{config.port}/v1  (home {config.home})")
    uvicorn.run(create_app(config, boot), host=config.host, port=config.port, log_level="warning",
                timeout_graceful_shutdown=10)


@models_app.command("list")
def models_list():
    """List the models in the hub."""
    from openmaas.bootstrap import open_database
    from openmaas.hub.registry import ensure_builtin, list_models

    db = open_database(settings())
    with db.session() as session:
        ensure_builtin(session)
        table = Table("id", "family", "params", "quant", "context", "source", "owner")
        for m in list_models(session, None):
            table.add_row(m.id, m.family or "-", f"{(m.parameters or 0) / 1e6:.0f}M", m.quantization or "-",
                          str(m.context_length or "-"), m.source, m.workspace_id or "platform")
    console.print(table)


@models_app.command("show")
def models_show(model_id: str):
    """Show a model's card."""
    from openmaas.bootstrap import open_database
    from openmaas.hub.registry import card_dict, ensure_builtin, get_model

    db = open_database(settings())
    try:
        with db.session() as session:
            ensure_builtin(session)
            card = card_dict(get_model(session, model_id, None))
    except OpenMaaSError as exc:
        _fail(exc)
    table = Table("field", "value", show_header=False)
    for key, value in card.items():
        if key == "chat_template" and value:
            value = value[:200] + ("…" if len(value) > 200 else "")
        table.add_row(key, str(value))
    console.print(table)


@models_app.command("import")
def models_import(
    path: Path,
    name: str = typer.Option(..., "--name", help="The model id clients will use."),
    workspace: str = typer.Option(None, "--workspace", help="Owner workspace id (default: a platform model)."),
):
    """Register a local GGUF file in the hub, reading its card from the file's metadata."""
    from openmaas.bootstrap import open_database
    from openmaas.hub.registry import import_model

    db = open_database(settings())
    try:
        with console.status(f"Reading and hashing {path} ..."), db.session() as session:
            model = import_model(session, str(path.resolve()), name, workspace_id=workspace)
            console.print(f"Imported [bold]{model.id}[/bold] ({model.architecture}, "
                          f"{(model.parameters or 0) / 1e6:.0f}M parameters, {model.quantization})")
    except OpenMaaSError as exc:
        _fail(exc)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option("", "--name"),
    workspace: str = typer.Option(None, "--workspace", help="Workspace id or name; created if a new name."),
    admin: bool = typer.Option(False, "--admin", help="An admin key manages the whole platform."),
):
    """Create an API key; it is printed once and never stored."""
    from openmaas.bootstrap import open_database
    from openmaas.gateway.keys import create_key, create_workspace, ensure_default_workspace, list_workspaces

    db = open_database(settings())
    try:
        with db.session() as session:
            ws = ensure_default_workspace(session)
            if workspace:
                ws = next((w for w in list_workspaces(session) if workspace in (w.id, w.name)), None) \
                    or create_workspace(session, workspace)
            key, plaintext = create_key(session, ws.id, name=name, is_admin=admin)
    except OpenMaaSError as exc:
        _fail(exc)
    console.print(f"Created {key.id} in workspace {ws.name} ({ws.id}). The key, shown once:")
    console.print(plaintext, soft_wrap=True)


@keys_app.command("list")
def keys_list():
    """List API keys (their prefixes only)."""
    from openmaas.bootstrap import open_database
    from openmaas.gateway.keys import list_keys

    db = open_database(settings())
    table = Table("id", "name", "prefix", "workspace", "admin", "created", "last used", "revoked")
    with db.session() as session:
        for k in list_keys(session, None):
            table.add_row(k.id, k.name, k.prefix, k.workspace_id, "yes" if k.is_admin else "",
                          _when(k.created_at), _when(k.last_used_at), _when(k.revoked_at))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str):
    """Revoke an API key; it stops working at once."""
    from openmaas.bootstrap import open_database
    from openmaas.gateway.keys import revoke_key

    db = open_database(settings())
    try:
        with db.session() as session:
            revoke_key(session, key_id, None)
    except OpenMaaSError as exc:
        _fail(exc)
    console.print(f"Revoked {key_id}.")


@app.command()
def usage(
    start: str = typer.Option(None, help="ISO date or datetime."),
    end: str = typer.Option(None, help="ISO date (inclusive) or datetime."),
    group_by: str = typer.Option("day,model", help="Comma-separated: day, model, key."),
    workspace: str = typer.Option(None, help="Only this workspace id."),
):
    """Tokens and requests, aggregated."""
    from openmaas.api.usage import parse_day_or_time
    from openmaas.bootstrap import open_database
    from openmaas.gateway.metering import aggregate_usage

    db = open_database(settings())
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    try:
        with db.session() as session:
            rows = aggregate_usage(session, workspace, parse_day_or_time(start, "start"),
                                   parse_day_or_time(end, "end", end=True), groups)
    except OpenMaaSError as exc:
        _fail(exc)
    columns = [{"key": "key_id"}.get(g, g) for g in groups] + [
        "requests", "prompt_tokens", "completion_tokens", "total_tokens", "errors", "avg_latency_ms"]
    table = Table(*columns)
    for row in rows:
        table.add_row(*[f"{row[c]:.0f}" if isinstance(row[c], float) else str(row[c]) for c in columns])
    console.print(table)
