"""Webhooks: a JSON POST signed with the subscription's secret, and the recipe to verify it.

The signature header is `OpenMaaS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the
HMAC taken with the secret over `"<t>.<raw body>"`. A receiver checks it with
`verify_signature(secret, header, raw_body)`, which also refuses a timestamp more than
`tolerance_s` away from now (a replayed old request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

import httpx

from openmaas import __version__

SIGNATURE_HEADER = "OpenMaaS-Signature"
EVENT_HEADER = "OpenMaaS-Event"
DELIVERY_HEADER = "OpenMaaS-Delivery"
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `OpenMaaS-Signature` header value for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(secret: str, header: str | None, body: bytes, tolerance_s: float = 300,
                     now: float | None = None) -> bool:
    """True when `header` signs `body` (the raw bytes received) with `secret`, within `tolerance_s` of now."""
    if not header:
        return False
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def send(client: httpx.AsyncClient, url: str, secret: str, delivery_id: str, payload: dict,
               timeout_s: float = 10.0) -> AttemptResult:
    """One attempt: any 2xx is delivered; anything else (or no answer) is retried later."""
    body = encode(payload)
    headers = {"Content-Type": "application/json", "User-Agent": f"OpenMaaS-Webhooks/{__version__}",
               SIGNATURE_HEADER: sign(secret, body), EVENT_HEADER: payload.get("type", ""),
               DELIVERY_HEADER: delivery_id}
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        return AttemptResult(False, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__,
                             (time.perf_counter() - started) * 1000)
    elapsed = (time.perf_counter() - started) * 1000
    if 200 <= response.status_code < 300:
        return AttemptResult(True, response.status_code, None, elapsed)
    return AttemptResult(False, response.status_code, f"the endpoint answered {response.status_code}", elapsed)
