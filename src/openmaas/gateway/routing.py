"""Routing a request to a ready replica and streaming its answer back.

`open_stream` returns only once the worker has admitted the request (its "start" line
arrived), so refusals such as a prompt longer than the context or a full queue reach
the client as a proper HTTP error rather than a broken stream.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import anyio
import httpx

from openmaas.errors import EngineError, ModelNotReady, OpenMaaSError
from openmaas.workers.protocol import GenerateRequest, StreamLine
from openmaas.workers.supervisor import Replica, Supervisor

DRAIN_TIMEOUT_S = 1.0  # a worker ends its stream right after the last "done" line


def pick_replica(supervisor: Supervisor, model_id: str, workspace_id: str | None) -> Replica:
    """A ready replica of a deployment of this model that the caller may use."""
    usable = [d for d in supervisor.deployments_of(model_id)
              if d.spec.workspace_id is None or d.spec.workspace_id == workspace_id]
    if not usable:
        raise ModelNotReady(f"The model `{model_id}` is not deployed.", param="model", code="model_not_deployed")
    for deployment in usable:
        if (replica := deployment.pick()) is not None:
            return replica
    raise ModelNotReady(f"The model `{model_id}` is deployed but no replica is ready yet; retry shortly.",
                        param="model")


class WorkerStream:
    """An admitted generation on a worker: its "start" line, then its other lines in the
    batches they arrived in (the worker writes whatever its engine produced in one go)."""

    def __init__(self, response: httpx.Response, start: StreamLine, batches: AsyncIterator[list[bytes]],
                 held: list[bytes]):
        self._response = response
        self._batches = batches
        self._held = held  # lines that came in the same read as the start line
        self.start = start

    async def batches(self) -> AsyncIterator[list[StreamLine]]:
        try:
            if self._held:
                yield [StreamLine.model_validate_json(raw) for raw in self._held]
            async for raws in self._batches:
                yield [StreamLine.model_validate_json(raw) for raw in raws]
        except httpx.HTTPError as exc:
            raise EngineError(f"The model's worker failed mid-generation ({type(exc).__name__}).") from exc

    async def drain(self) -> None:
        """Read what is left of an answered stream (its end marker), so that the connection
        goes back to the pool instead of being closed."""
        with contextlib.suppress(httpx.HTTPError), anyio.move_on_after(DRAIN_TIMEOUT_S):
            async for _ in self._batches:
                pass

    async def aclose(self) -> None:
        await self._response.aclose()


async def line_batches(response: httpx.Response) -> AsyncIterator[list[bytes]]:
    """The complete lines of an NDJSON stream, as many as each read brought."""
    pending = b""
    async for data in response.aiter_raw():
        *lines, pending = (pending + data).split(b"\n")
        if lines := [line for line in lines if line.strip()]:
            yield lines


async def open_stream(client: httpx.AsyncClient, replica: Replica, body: GenerateRequest) -> WorkerStream:
    request = client.build_request("POST", f"{replica.url}/generate", content=body.model_dump_json(),
                                   headers={"content-type": "application/json"})
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise EngineError(f"Could not reach the model's worker ({type(exc).__name__}).") from exc
    try:
        if response.status_code != 200:
            raise _worker_error(response, await response.aread())
        batches = line_batches(response)
        first, *held = await anext(batches)
        start = StreamLine.model_validate_json(first)
        if start.kind != "start":
            raise EngineError(f"The model's worker answered unexpectedly: {start.message or start.kind}")
        return WorkerStream(response, start, batches, held)
    except (httpx.HTTPError, StopAsyncIteration) as exc:
        await response.aclose()
        raise EngineError(f"The model's worker failed before answering ({type(exc).__name__}).") from exc
    except BaseException:
        await response.aclose()
        raise


def _worker_error(response: httpx.Response, body: bytes) -> OpenMaaSError:
    """Rebuild the error a worker answered with, keeping its status, fields and Retry-After."""
    try:
        detail = json.loads(body)["error"]
        error = OpenMaaSError(detail["message"], param=detail.get("param"), code=detail.get("code"))
        error.status_code, error.type = response.status_code, detail.get("type", "server_error")
    except (ValueError, KeyError, TypeError):
        return EngineError(f"The model's worker answered with status {response.status_code}.")
    if "retry-after" in response.headers:
        error.headers = {"Retry-After": response.headers["retry-after"]}
    return error
