"""Settings, read from the environment (prefix OPENMAAS_) and from flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENMAAS_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".openmaas")
    database_url: str | None = None  # default: SQLite file in the home
    host: str = "127.0.0.1"
    port: int = 8000
    # Engine settings for deployments that do not name their own.
    n_ctx: int = 4096
    n_threads: int | None = None  # None: all cores
    max_body_bytes: int = 4 * 1024 * 1024
    # Supervisor: how often replicas are health-checked and how restarts back off.
    health_interval_s: float = 1.0
    restart_backoff_s: float = 0.5
    restart_backoff_max_s: float = 30.0
    worker_start_timeout_s: float = 120.0

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'openmaas.db'}"

    @property
    def admin_key_path(self) -> Path:
        return self.home / "admin.key"
