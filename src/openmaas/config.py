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
    slots: int = 8  # sequences a replica decodes together, for deployments that name none
    max_waiting: int = 64  # queued requests per replica before 429
    max_queue_wait_s: float = 30.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_file_bytes: int = 64 * 1024 * 1024  # a training file upload
    # Supervisor: how often replicas are health-checked and how restarts back off.
    health_interval_s: float = 1.0
    restart_backoff_s: float = 0.5
    restart_backoff_max_s: float = 30.0
    worker_start_timeout_s: float = 120.0

    # Fine-tuning: the runner process that trains one job at a time.
    runner_enabled: bool = True
    runner_poll_s: float = 1.0  # how often the runner looks for work and for cancel requests
    runner_threads: int | None = None  # torch threads; None: all cores

    # Monitor: probes, incidents, uptime (see openmaas/monitor/).
    monitor_interval_s: float = 10.0  # every component is probed this often
    synthetic_interval_s: float = 60.0  # a one-token completion per ready replica this often
    degraded_latency_ms: float = 4000.0  # a probe slower than this is degraded performance
    incident_open_after_s: float = 30.0  # failing this long opens an incident
    incident_resolve_after_s: float = 60.0  # operational this long resolves it
    incident_reopen_window_s: float = 900.0  # failing again this soon after a resolution reopens it
    # Notifications: webhook and email retries, the status page's address, the SMTP server.
    notify_retry_base_s: float = 5.0  # first retry after this, doubling
    notify_retry_max_s: float = 3600.0
    notify_max_attempts: int = 12
    public_url: str | None = None  # the status page is public_url + "/status"; default http://host:port
    smtp_host: str | None = None  # no email notifications without it
    smtp_port: int = 25
    smtp_from: str = "openmaas@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False  # implicit TLS (port 465)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'openmaas.db'}"

    @property
    def admin_key_path(self) -> Path:
        return self.home / "admin.key"
