"""Routing a request to a ready replica and streaming its answer back.

`open_stream` returns only once the worker has admitted the request (its "start" line
arrived), so refusals such as a prompt longer than the context or a full queue reach
the client as a proper HTTP error rather than a broken stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from openmaas.errors import EngineError, ModelNotReady, OpenMaaSError
from openmaas.workers.protocol import GenerateRequest, StreamLine
from openmaas.workers.supervisor import Replica, Supervisor


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
    """An admitted generation on a worker: its "start" line, then its other lines."""

    def __init__(self, response: httpx.Response, start: StreamLine, lines: AsyncIterator[str]):
        self._response = response
        self._lines = lines
        self.start = start

    async def __aiter__(self) -> AsyncIterator[StreamLine]:
        try:
            async for raw in self._lines:
                if raw.strip():
                    yield StreamLine.model_validate_json(raw)
        except httpx.HTTPError as exc:
            raise EngineError(f"The model's worker failed mid-generation ({type(exc).__name__}).") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


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
        lines = response.aiter_lines()
        first = StreamLine.model_validate_json(await anext(lines))
        if first.kind != "start":
            raise EngineError(f"The model's worker answered unexpectedly: {first.message or first.kind}")
        return WorkerStream(response, first, lines)
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
