"""The app factory: the gateway's routes over the database and the supervisor of workers."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from openmaas import __version__
from openmaas.api import chat, completions, deployments, files, fine_tuning, health, keys, metrics, models, usage
from openmaas.api.console import install_console
from openmaas.api.errors import install_error_handlers
from openmaas.bootstrap import Bootstrap
from openmaas.config import Settings
from openmaas.gateway.body_limit import BodyLimitMiddleware
from openmaas.gateway.meter import MeteringMiddleware
from openmaas.gateway.metrics import Metrics
from openmaas.monitor.components import Component
from openmaas.monitor.service import install as install_monitor
from openmaas.monitor.service import monitor_lifespan
from openmaas.tuning.service import RunnerService
from openmaas.workers.supervisor import Supervisor


def create_app(settings: Settings, boot: Bootstrap) -> FastAPI:
    """`boot` is the result of `bootstrap()`: an open, migrated database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        supervisor = Supervisor(settings)
        app.state.supervisor = supervisor
        app.state.metrics = Metrics(supervisor)
        # Worker streams can be long; only connecting is bounded.
        app.state.http = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0), limits=httpx.Limits(
            max_connections=None, max_keepalive_connections=64))
        for spec in boot.deployments:
            await supervisor.deploy(spec)
        runner = app.state.runner = RunnerService(settings)
        if settings.runner_enabled:
            runner.start()
        try:
            async with monitor_lifespan(app) as monitor:  # stops before the workers, so shutdown is no outage
                if settings.runner_enabled:
                    monitor.registry.add(Component("runner", "Fine-tuning job runner", "runner", None, runner.probe))
                yield
        finally:
            await runner.stop()  # lets the running job checkpoint
            await supervisor.stop()
            await app.state.http.aclose()
            boot.db.dispose()

    app = FastAPI(title="OpenMaaS", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.db = boot.db
    app.state.default_deployment_id = boot.default_deployment_id
    install_error_handlers(app)
    for module in (health, models, chat, completions, keys, usage, deployments, metrics, files, fine_tuning):
        app.include_router(module.router)
    install_monitor(app, settings)
    install_console(app)  # last: the SPA at / without shadowing /v1, /api, /health, /metrics, /status
    app.add_middleware(MeteringMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, upload_paths=("/v1/files",),
                       max_upload_bytes=settings.max_file_bytes + 64 * 1024)  # room for the multipart framing
    return app
