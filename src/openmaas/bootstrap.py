"""First-start setup, idempotent: schema, default workspace, admin key, built-in model, default deployment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select

from openmaas.config import Settings
from openmaas.db.migrate import upgrade
from openmaas.db.models import ApiKey, Deployment
from openmaas.db.session import Database
from openmaas.gateway.keys import create_key, ensure_default_workspace
from openmaas.hub.builtin import BUILTIN_MODEL_ID
from openmaas.hub.registry import ensure_builtin
from openmaas.workers.deployments import create_deployment, engine_settings, list_deployments, spec_of
from openmaas.workers.supervisor import DeploymentSpec


@dataclass
class Bootstrap:
    db: Database
    new_admin_key: str | None  # set only when this start created it
    default_deployment_id: str | None
    deployments: list[DeploymentSpec]  # what to start: the active deployments, less a skipped default


def write_secret(path, text: str) -> None:
    """Write a file readable by its owner alone (0600 from the moment it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


def open_database(settings: Settings) -> Database:
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    upgrade(url)
    return Database(url)


def bootstrap(settings: Settings, deploy_default: bool) -> Bootstrap:
    db = open_database(settings)
    new_key = None
    default_id = None
    with db.session() as session:
        workspace = ensure_default_workspace(session)
        has_admin = session.scalar(select(ApiKey.id).where(ApiKey.is_admin, ApiKey.revoked_at.is_(None)).limit(1))
        if not has_admin:
            _, new_key = create_key(session, workspace.id, name="admin", is_admin=True)
            write_secret(settings.admin_key_path, new_key)
        model = ensure_builtin(session)  # always in the hub; deploying it is what the flag decides
        if deploy_default:
            existing = session.scalar(select(Deployment).where(
                Deployment.model_id == model.id, Deployment.workspace_id.is_(None), Deployment.status == "active"))
            if existing is None:
                existing = create_deployment(session, model, None, replicas=1,
                                             engine=engine_settings(settings, model))
            default_id = existing.id
        specs = [spec_of(session, d) for d in list_deployments(session, None)
                 if deploy_default or d.workspace_id is not None or d.model_id != BUILTIN_MODEL_ID]
    return Bootstrap(db, new_key, default_id, specs)
