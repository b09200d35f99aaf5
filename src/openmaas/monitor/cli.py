"""`openmaas incidents ...` and `openmaas maintenance ...`: the admin's side of the status page, on the database.

Like the other commands they work on the home's database whether or not the server runs;
notifications a change owes are written to the outbox, and a running server sends them
within a second (a stopped one when it starts).
"""

from __future__ import annotations

from datetime import datetime, timezone

import typer
from rich.table import Table

from openmaas.errors import OpenMaaSError

incidents_app = typer.Typer(help="Incidents on the status page.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Scheduled maintenance windows.", no_args_is_help=True)
AUTHOR = "cli"


def _context():
    """The settings, console and database of the `openmaas` command (imported late: it imports us)."""
    from openmaas import cli
    from openmaas.bootstrap import open_database

    config = cli.settings()
    return config, cli.console, open_database(config)


def _fail(console, exc: OpenMaaSError) -> None:
    console.print(f"[red]error:[/red] {exc.message}")
    raise typer.Exit(1)


def _when(unix: int | None) -> str:
    return "-" if unix is None else datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _time(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time", param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _print_incident(console, data: dict) -> None:
    console.print(f"[bold]{data['id']}[/bold]  {data['title']}  [{data['status']}, {data['impact']}]")
    if data["components"]:
        console.print("affects: " + ", ".join(f"{c['name']} ({c['id']})" for c in data["components"]))
    for update in data["updates"]:
        console.print(f"  {_when(update['created_at'])}  {update['status']:<13} {update['message']}")


@incidents_app.command("components")
def components_list():
    """List the components the monitor knows, with their state (ids to name in --component)."""
    from sqlalchemy import select

    from openmaas.db.models import Component

    _, console, db = _context()
    table = Table("id", "name", "kind", "owner", "state", "since", "detail")
    with db.session() as session:
        for c in session.scalars(select(Component).where(Component.active).order_by(Component.kind, Component.id)):
            table.add_row(c.id, c.name, c.kind, c.workspace_id or "platform", c.state,
                          _when(int(c.state_since.timestamp())), c.detail[:80])
    console.print(table)


@incidents_app.command("list")
def incidents_list(open_only: bool = typer.Option(False, "--open", help="Only unresolved incidents.")):
    """List incidents, newest first."""
    from openmaas.monitor import incidents
    from openmaas.monitor.audience import ADMIN

    _, console, db = _context()
    table = Table("id", "title", "status", "impact", "owner", "opened", "resolved")
    with db.session() as session:
        rows = incidents.list_incidents(session, ADMIN, open_only=open_only, limit=200)
        for i in rows:
            table.add_row(i.id, i.title, i.status, i.impact, i.workspace_id or "platform",
                          _when(int(i.created_at.timestamp())),
                          _when(None if i.resolved_at is None else int(i.resolved_at.timestamp())))
    console.print(table)


@incidents_app.command("show")
def incidents_show(incident_id: str):
    """Show an incident and its updates."""
    from openmaas.monitor import incidents
    from openmaas.monitor.audience import ADMIN

    _, console, db = _context()
    try:
        with db.session() as session:
            data = incidents.incident_dicts(session, [incidents.get_incident(session, incident_id, ADMIN)], ADMIN)[0]
    except OpenMaaSError as exc:
        _fail(console, exc)
    _print_incident(console, data)


@incidents_app.command("create")
def incidents_create(
    title: str = typer.Option(..., "--title"),
    message: str = typer.Option(..., "--message", help="The first update, as users will read it."),
    status: str = typer.Option("investigating", "--status", help="investigating | identified | monitoring"),
    impact: str = typer.Option("major_outage", "--impact",
                               help="degraded_performance | partial_outage | major_outage | under_maintenance | none"),
    component: list[str] = typer.Option([], "--component", help="An affected component id (repeatable)."),
):
    """Open an incident; subscribers of the affected workspaces are notified."""
    from openmaas.monitor import incidents
    from openmaas.monitor.audience import ADMIN

    config, console, db = _context()
    try:
        with db.session() as session:
            incident = incidents.open_incident(session, title=title, status=status, impact=impact, message=message,
                                               component_ids=component, author=AUTHOR,
                                               status_url=incidents.status_page_url(config))
            data = incidents.incident_dicts(session, [incident], ADMIN)[0]
    except OpenMaaSError as exc:
        _fail(console, exc)
    _print_incident(console, data)


@incidents_app.command("update")
def incidents_update(
    incident_id: str,
    message: str = typer.Option(..., "--message"),
    status: str = typer.Option(None, "--status", help="investigating | identified | monitoring | resolved"),
    impact: str = typer.Option(None, "--impact"),
):
    """Post an update to an incident."""
    _change(incident_id, status, message, impact)


@incidents_app.command("resolve")
def incidents_resolve(incident_id: str,
                      message: str = typer.Option("This incident has been resolved.", "--message")):
    """Resolve an incident."""
    _change(incident_id, "resolved", message, None)


def _change(incident_id: str, status: str | None, message: str, impact: str | None) -> None:
    from openmaas.monitor import incidents
    from openmaas.monitor.audience import ADMIN

    config, console, db = _context()
    try:
        with db.session() as session:
            incident = incidents.get_incident(session, incident_id, ADMIN)
            incidents.update_incident(session, incident, status=status, message=message, impact=impact, author=AUTHOR,
                                      status_url=incidents.status_page_url(config))
            data = incidents.incident_dicts(session, [incident], ADMIN)[0]
    except OpenMaaSError as exc:
        _fail(console, exc)
    _print_incident(console, data)


@maintenance_app.command("list")
def maintenance_list(all_: bool = typer.Option(False, "--all", help="Include windows already over.")):
    """List maintenance windows, soonest first."""
    from openmaas.db.models import utcnow
    from openmaas.monitor import maintenance
    from openmaas.monitor.audience import ADMIN

    _, console, db = _context()
    now = utcnow()
    table = Table("id", "title", "status", "starts", "ends", "components")
    with db.session() as session:
        windows = maintenance.list_windows(session, ADMIN, ending_after=None if all_ else now)
        components = maintenance.components_of(session, [w.id for w in windows])
        for w in windows:
            d = maintenance.window_dict(w, components[w.id], ADMIN, now)
            table.add_row(d["id"], d["title"], d["status"], _when(d["starts_at"]), _when(d["ends_at"]),
                          ", ".join(c["id"] for c in d["components"]))
    console.print(table)


@maintenance_app.command("schedule")
def maintenance_schedule(
    title: str = typer.Option(..., "--title"),
    start: str = typer.Option(..., "--start", help="ISO date-time (UTC unless it names a zone)."),
    end: str = typer.Option(..., "--end", help="ISO date-time."),
    component: list[str] = typer.Option(..., "--component", help="A component id (repeatable)."),
    description: str = typer.Option("", "--description"),
):
    """Schedule a maintenance window: its components show `under maintenance` and its time is left out of uptime."""
    from openmaas.db.models import utcnow
    from openmaas.monitor import maintenance
    from openmaas.monitor.audience import ADMIN

    _, console, db = _context()
    try:
        with db.session() as session:
            window = maintenance.schedule(session, title=title, description=description,
                                          starts_at=_time(start, "--start"), ends_at=_time(end, "--end"),
                                          component_ids=component, author=AUTHOR)
            d = maintenance.window_dict(window, maintenance.components_of(session, [window.id])[window.id], ADMIN,
                                        utcnow())
    except OpenMaaSError as exc:
        _fail(console, exc)
    console.print(f"Scheduled {d['id']}: {d['title']} ({_when(d['starts_at'])} to {_when(d['ends_at'])} UTC)")


@maintenance_app.command("cancel")
def maintenance_cancel(maintenance_id: str):
    """Cancel a maintenance window (one in progress ends now)."""
    from openmaas.monitor import maintenance
    from openmaas.monitor.audience import ADMIN

    _, console, db = _context()
    try:
        with db.session() as session:
            maintenance.cancel(session, maintenance_id, ADMIN)
    except OpenMaaSError as exc:
        _fail(console, exc)
    console.print(f"Cancelled {maintenance_id}.")
