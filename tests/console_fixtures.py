"""Fixtures for the console's end-to-end tests: a server of their own, Debian's chromium driven by
Playwright, a logged-in page per key, and screenshots saved where a person can look at them."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from conftest import Server, start_server

REPO = Path(__file__).resolve().parent.parent
WEB_DIR = REPO / "src" / "openmaas" / "web"
ARTIFACTS = REPO / "test-artifacts" / "console"  # screenshots of every page, one PNG per step
CHROMIUM = os.environ.get("OPENMAAS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000  # the machine may be busy training; a person would wait this long too


@pytest.fixture(scope="module")
def console_server(tmp_path_factory) -> Server:
    """A server of the tests' own: they deploy, scale, stop and fine-tune, which shared tests should not see."""
    if not (WEB_DIR / "index.html").is_file():
        pytest.fail(f"The console is not built ({WEB_DIR}/index.html is missing): run `make console`.")
    server = start_server(tmp_path_factory.mktemp("console-home"))
    try:
        page = httpx.get(server.url + "/", timeout=10)
        if 'id="root"' not in page.text:
            pytest.fail("The server does not serve the console at / "
                        f"(got {page.status_code}): app.py must call install_console(app) after its routers.")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"No chromium at {CHROMIUM}: `make chromium` installs Debian's.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class Console:
    """One browser context (its own sessionStorage) logged in with one key."""

    def __init__(self, browser, server: Server, artifacts: Path, key: str, name: str):
        self.server, self.artifacts, self.key, self.name = server, artifacts, key, name
        self.context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900},
                                           accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def login(self) -> None:
        from playwright.sync_api import expect

        self.page.get_by_label("API key").fill(self.key)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("navigation", name="Console")).to_be_visible()

    def open(self, path: str, heading: str) -> None:
        """Go to a page of the console, logging in first if this tab has no session yet."""
        from playwright.sync_api import expect

        self.page.goto(path)
        self.page.locator("nav[aria-label=Console], input[name=api-key]").first.wait_for()
        if self.page.locator("input[name=api-key]").count():
            self.login()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(re.compile(heading))

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        self.page.mouse.move(0, 0)  # no hover tooltip left over from the last click
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
