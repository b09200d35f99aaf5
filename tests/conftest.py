"""A real OpenMaaS server, started as `openmaas serve` in a subprocess with a fresh home.

One server is shared by the tests that only read or add their own objects; tests that
kill processes or need other flags start their own through `start_server`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest_plugins = ["db_urls"]  # the `db_url` and `database` fixtures

MODEL = "smollm2-135m-instruct"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    home: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_key(self) -> str:
        return (self.home / "admin.key").read_text().strip()

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def openai(self, key: str | None = None):
        from openai import OpenAI

        return OpenAI(base_url=f"{self.url}/v1", api_key=key or self.admin_key, max_retries=0, timeout=120)

    def env(self) -> dict:
        return {**os.environ, "OPENMAAS_HOME": str(self.home)}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run the `openmaas` command against this server's home."""
        return subprocess.run([sys.executable, "-m", "openmaas", *args], env={**self.env(), "COLUMNS": "200"},
                              capture_output=True, text=True, timeout=120)

    def wait_healthy(self, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/health", timeout=5)
                last = r.text
                if r.status_code == 200:
                    return r.json()
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"server not healthy after {timeout}s (last: {last})\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def start_server(home: Path, *args: str, env: dict | None = None, wait: bool = True) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "openmaas", "serve", "--port", str(port), "--home", str(home), *args],
        env={**os.environ, **(env or {})},
        stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )
    server = Server(home, port, process, log_path)
    if wait:
        server.wait_healthy()
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    s = start_server(tmp_path_factory.mktemp("home"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def admin(server) -> httpx.Client:
    with server.client() as c:
        yield c


@pytest.fixture(scope="session")
def workspaces(server, admin) -> dict:
    """Two tenant workspaces, each with its own key: {"a": (workspace_id, key), "b": ...}."""
    out = {}
    for name in ("tenant-a", "tenant-b"):
        ws = admin.post("/api/workspaces", json={"name": name}).json()
        key = admin.post("/api/keys", json={"name": f"{name}-key", "workspace_id": ws["id"]}).json()
        out[name[-1]] = (ws["id"], key["key"])
    return out
