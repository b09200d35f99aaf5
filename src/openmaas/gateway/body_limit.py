"""Refuse request bodies over the configured size with 413, before they are read whole."""

from __future__ import annotations

import json

from openmaas.errors import PayloadTooLarge


class BodyLimitMiddleware:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        error = PayloadTooLarge(f"Request body too large: the limit is {self.max_bytes} bytes.")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _reply(send, error)

        received = 0
        too_large = False

        async def counted_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise error
            return message

        try:
            await self.app(scope, counted_receive, send)
        except PayloadTooLarge:
            if not too_large:
                raise
            await _reply(send, error)


async def _reply(send, error: PayloadTooLarge) -> None:
    body = json.dumps(error.to_dict()).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
