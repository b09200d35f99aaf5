"""POST /v1/chat/completions."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from openmaas.gateway.auth import Caller, require_key
from openmaas.gateway.generation import Generation
from openmaas.gateway.structured import grammar_for
from openmaas.schemas.openai import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionRequest,
    ChatLogprobs,
    DeltaMessage,
    TokenLogprob,
    TopLogprob,
    Usage,
    new_completion_id,
)
from openmaas.workers.protocol import GenerateRequest, TokenLogprobLine

router = APIRouter()


def sampling(body) -> dict:
    """The sampling fields chat and completions share, as the worker protocol names them."""
    return dict(
        n=body.n, temperature=body.temperature, top_p=body.top_p, top_k=max(body.top_k or 0, 0),
        min_p=body.min_p or 0.0, stop=body.stop_list, seed=body.seed, presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty, repetition_penalty=body.repetition_penalty or 1.0,
        logit_bias={int(token): bias for token, bias in (body.logit_bias or {}).items()},
    )


def usage_of(generation: Generation) -> Usage:
    return Usage.of(generation.prompt_tokens, generation.completion_tokens, cached_tokens=generation.cached_tokens)


def chat_logprobs(lines: list[TokenLogprobLine] | None) -> ChatLogprobs | None:
    if lines is None:
        return None
    return ChatLogprobs(content=[
        TokenLogprob(token=lp.token, logprob=lp.logprob, bytes=lp.bytes,
                     top_logprobs=[TopLogprob(token=t, logprob=p, bytes=b) for t, p, b in lp.top])
        for lp in lines])


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request, caller: Caller = Depends(require_key)):
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    generation = Generation(request, caller, body.model, GenerateRequest(
        messages=messages, max_tokens=body.effective_max_tokens, logprobs=bool(body.logprobs),
        top_logprobs=body.top_logprobs or 0, grammar=grammar_for(body.response_format), **sampling(body)))
    await generation.start()
    with_logprobs = bool(body.logprobs)

    if not body.stream:
        choices = await generation.choices()
        return ChatCompletion(
            model=body.model,
            choices=[ChatCompletionChoice(index=i, message=AssistantMessage(content=c.text),
                                          finish_reason=c.finish_reason,
                                          logprobs=chat_logprobs(c.logprobs if with_logprobs else None))
                     for i, c in enumerate(choices)],
            usage=usage_of(generation),
        )

    completion_id = new_completion_id("chatcmpl")

    def chunk(index: int, delta: DeltaMessage, finish_reason: str | None = None, logprobs=None) -> dict:
        return ChatCompletionChunk(id=completion_id, model=body.model, choices=[
            ChatCompletionChunkChoice(index=index, delta=delta, finish_reason=finish_reason,
                                      logprobs=chat_logprobs(logprobs))]).model_dump(exclude_none=True)

    async def events() -> AsyncIterator[list[dict]]:
        yield [chunk(index, DeltaMessage(role="assistant", content="")) for index in range(body.n)]
        async for burst in generation.bursts():
            yield ([chunk(p.index, DeltaMessage(content=p.text), logprobs=p.logprobs) for p in burst.pieces]
                   + [chunk(index, DeltaMessage(), reason) for index, reason in sorted(burst.finished.items())])
        if body.include_usage:
            yield [ChatCompletionChunk(id=completion_id, model=body.model, choices=[],
                                       usage=usage_of(generation)).model_dump(exclude_none=True)]

    return generation.stream(events)
