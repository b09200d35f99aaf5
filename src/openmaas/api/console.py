"""The web console: the single-page app built from console/ into openmaas/web, served at `/`.

Hashed assets under /assets are cached for good; any other GET that no API route answers gets
index.html, so the app's own paths (/playground, /fine-tuning/ftjob-…) load on a reload or a
shared link. The API's paths are never the console's: an unknown /v1/… or /api/… path stays a
404 error object, and a method other than GET or HEAD never reaches the console.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# First path segments that belong to the API and the public pages, whatever routes exist now.
RESERVED = frozenset({"v1", "api", "health", "metrics", "status", "status.json", "docs", "redoc", "openapi.json"})

INDEX_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                            "img-src 'self' data: blob:; frame-ancestors 'none'",
                 "Referrer-Policy": "no-referrer"}
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}

MISSING = """<!doctype html><meta charset="utf-8"><title>OpenMaaS</title>
<h1>The console is not built</h1>
<p>Build it with <code>make console</code> (or <code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code>)
and restart the server. The API is up at <a href="/v1/models">/v1</a>; the status page is at <a href="/status">/status</a>.</p>
"""


class _Assets(StaticFiles):
    """Content-hashed build output: safe to cache for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers.update(ASSET_HEADERS)
        return response


class ConsoleRoute(Route):
    """A catch-all GET route that steps aside (no match at all) for reserved paths and other methods.

    Matching nothing, rather than partially, keeps the router's own 404 and 405 answers for them.
    """

    def __init__(self, path: str, endpoint, reserved: frozenset[str]):
        super().__init__(path, endpoint, methods=["GET", "HEAD"], include_in_schema=False)
        self.reserved = reserved

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        first = scope["path"].lstrip("/").split("/", 1)[0]
        if first in self.reserved:
            return Match.NONE, {}
        return super().matches(scope)


def _existing_prefixes(app: FastAPI) -> set[str]:
    """The first segments of the routes the app already has (so a later API router is not shadowed either)."""
    prefixes = set()
    for route in app.router.routes:
        path = getattr(route, "path", "")
        first = path.lstrip("/").split("/", 1)[0]
        if first and "{" not in first:
            prefixes.add(first)
    return prefixes


def install_console(app: FastAPI, web_dir: Path | None = None) -> None:
    """Serve the built console at `/`. Call it after every other router is included."""
    root = (web_dir or WEB_DIR).resolve()
    index = root / "index.html"
    reserved = RESERVED | _existing_prefixes(app)
    if (root / "assets").is_dir():
        app.mount("/assets", _Assets(directory=root / "assets"), name="console-assets")

    async def console(request: Request) -> Response:
        if not index.is_file():
            return HTMLResponse(MISSING, status_code=503, headers={"Cache-Control": "no-cache"})
        relative = request.path_params.get("path", "")
        if relative:
            candidate = (root / relative).resolve()
            # Top-level files of the build (favicon, robots.txt); nothing outside the build directory.
            if candidate.is_file() and candidate.is_relative_to(root) and candidate != index:
                return FileResponse(candidate, headers={"Cache-Control": "no-cache"})
        return FileResponse(index, media_type="text/html", headers=INDEX_HEADERS)

    app.router.routes.append(ConsoleRoute("/{path:path}", console, frozenset(reserved)))
