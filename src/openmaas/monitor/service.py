"""Wiring the monitor into the app: its routers, and its background tasks for the app's lifespan.

    install(app, settings)                 # in create_app: the status page and the monitoring APIs
    async with monitor_lifespan(app):      # in the lifespan, once the supervisor runs its deployments
        yield

On shutdown the monitor stops before the supervisor stops the workers, so a clean stop is
never reported as an outage; deliveries still owed stay in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from openmaas.monitor.loop import Monitor
from openmaas.monitor.metrics import MonitorCollector
from openmaas.monitor.notify.outbox import Dispatcher

log = logging.getLogger("openmaas.monitor")


def install(app: FastAPI, settings) -> None:
    """Add the routers: /status, /status.json, /status/feed.atom, /api/status, /api/incidents, /api/maintenance,
    /api/notifications/*, /api/inbox."""
    from openmaas.api import incidents, notifications, status

    for module in (status, incidents, notifications):
        app.include_router(module.router)


@asynccontextmanager
async def monitor_lifespan(app: FastAPI) -> AsyncIterator[Monitor]:
    """Run the monitor, the uptime roll-up and the notification dispatcher while the block runs."""
    state = app.state
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    dispatcher = Dispatcher(state.db, state.settings, client)
    monitor = Monitor(state.settings, state.db, state.supervisor, client, on_notify=dispatcher.wake)
    state.monitor, state.dispatcher = monitor, dispatcher
    metrics = getattr(state, "metrics", None)
    collector = MonitorCollector(monitor)
    if metrics is not None:
        metrics.registry.register(collector)
    tasks = [asyncio.create_task(coro, name=name) for name, coro in
             (("monitor", monitor.run()), ("uptime-rollup", monitor.run_rollups()), ("notify", dispatcher.run()))]
    try:
        yield monitor
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if metrics is not None:
            metrics.registry.unregister(collector)
        await client.aclose()
