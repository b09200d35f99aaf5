"""POST /v1/completions (the legacy text completion API)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from openmaas.api.chat import reject_unsupported, sampling
from openmaas.gateway.auth import Caller, require_key
from openmaas.gateway.generation import Generation
from openmaas.schemas.openai import (
    Completion,
    CompletionChoice,
    CompletionChunk,
    CompletionRequest,
    Usage,
    new_completion_id,
)
from openmaas.workers.protocol import GenerateRequest

router = APIRouter()


@router.post("/v1/completions", response_model=None)
async def completions(body: CompletionRequest, request: Request, caller: Caller = Depends(require_key)):
    reject_unsupported(body)
    generation = Generation(request, caller, body.model, GenerateRequest(
        prompt=body.prompt, max_tokens=body.max_tokens, **sampling(body)))
    await generation.start()
    echo = body.prompt if body.echo else ""

    if not body.stream:
        text = await generation.text()
        return Completion(
            model=body.model,
            choices=[CompletionChoice(text=echo + text, finish_reason=generation.finish_reason)],
            usage=Usage.of(generation.prompt_tokens, generation.completion_tokens),
        )

    completion_id = new_completion_id("cmpl")

    def chunk(text: str, finish_reason: str | None = None) -> dict:
        return CompletionChunk(id=completion_id, model=body.model, choices=[
            CompletionChoice(text=text, finish_reason=finish_reason)]).model_dump(exclude_none=True)

    async def events() -> AsyncIterator[dict]:
        if echo:
            yield chunk(echo)
        async for text in generation.deltas():
            yield chunk(text)
        yield chunk("", generation.finish_reason)
        if body.include_usage:
            yield CompletionChunk(id=completion_id, model=body.model, choices=[], usage=Usage.of(
                generation.prompt_tokens, generation.completion_tokens)).model_dump(exclude_none=True)

    return generation.stream(events)
