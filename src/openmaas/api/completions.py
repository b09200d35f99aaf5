"""POST /v1/completions (the legacy text completion API)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from openmaas.api.chat import sampling, usage_of
from openmaas.gateway.auth import Caller, require_key
from openmaas.gateway.generation import Generation
from openmaas.schemas.openai import (
    Completion,
    CompletionChoice,
    CompletionChunk,
    CompletionLogprobs,
    CompletionRequest,
    new_completion_id,
)
from openmaas.workers.protocol import GenerateRequest, TokenLogprobLine

router = APIRouter()


def completion_logprobs(lines: list[TokenLogprobLine] | None, offset: int) -> CompletionLogprobs | None:
    """The legacy shape: parallel lists, with text offsets counted from `offset`."""
    if lines is None:
        return None
    offsets = []
    for lp in lines:
        offsets.append(offset)
        offset += len(lp.token)
    return CompletionLogprobs(tokens=[lp.token for lp in lines], token_logprobs=[lp.logprob for lp in lines],
                              top_logprobs=[{t: p for t, p, _ in lp.top} for lp in lines], text_offset=offsets)


@router.post("/v1/completions", response_model=None)
async def completions(body: CompletionRequest, request: Request, caller: Caller = Depends(require_key)):
    with_logprobs = body.logprobs is not None
    generation = Generation(request, caller, body.model, GenerateRequest(
        prompt=body.prompt, max_tokens=body.max_tokens, logprobs=with_logprobs, top_logprobs=body.logprobs or 0,
        **sampling(body)))
    await generation.start()
    echo = body.prompt if body.echo else ""

    if not body.stream:
        choices = await generation.choices()
        return Completion(
            model=body.model,
            choices=[CompletionChoice(index=i, text=echo + c.text, finish_reason=c.finish_reason,
                                      logprobs=completion_logprobs(c.logprobs if with_logprobs else None, len(echo)))
                     for i, c in enumerate(choices)],
            usage=usage_of(generation),
        )

    completion_id = new_completion_id("cmpl")
    offsets = [len(echo)] * body.n

    def chunk(index: int, text: str, finish_reason: str | None = None, logprobs=None) -> dict:
        return CompletionChunk(id=completion_id, model=body.model, choices=[
            CompletionChoice(index=index, text=text, finish_reason=finish_reason,
                             logprobs=completion_logprobs(logprobs, offsets[index]))]).model_dump(exclude_none=True)

    async def events() -> AsyncIterator[list[dict]]:
        if echo:
            yield [chunk(index, echo) for index in range(body.n)]
        async for burst in generation.bursts():
            out = []
            for piece in burst.pieces:
                out.append(chunk(piece.index, piece.text, logprobs=piece.logprobs))
                offsets[piece.index] += len(piece.text)
            yield out + [chunk(index, "", reason) for index, reason in sorted(burst.finished.items())]
        if body.include_usage:
            yield [CompletionChunk(id=completion_id, model=body.model, choices=[],
                                   usage=usage_of(generation)).model_dump(exclude_none=True)]

    return generation.stream(events)
