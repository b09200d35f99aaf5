"""POST /v1/chat/completions."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from openmaas.errors import InvalidRequest
from openmaas.gateway.auth import Caller, require_key
from openmaas.gateway.generation import Generation
from openmaas.schemas.openai import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionRequest,
    DeltaMessage,
    Usage,
    new_completion_id,
)
from openmaas.workers.protocol import GenerateRequest

router = APIRouter()


def reject_unsupported(body) -> None:
    """Options the current engine cannot honour are refused, never silently ignored."""
    if body.n != 1:
        raise InvalidRequest("Only n=1 is supported by this engine.", param="n")
    if body.logit_bias:
        raise InvalidRequest("'logit_bias' is not supported by this engine.", param="logit_bias")
    if body.logprobs:
        raise InvalidRequest("'logprobs' is not supported by this engine.", param="logprobs")
    response_format = getattr(body, "response_format", None)
    if response_format is not None and response_format.type != "text":
        raise InvalidRequest(f"response_format '{response_format.type}' is not supported by this engine.",
                             param="response_format")


def sampling(body) -> dict:
    """The sampling fields chat and completions share, as the worker protocol names them."""
    return dict(
        temperature=body.temperature, top_p=body.top_p, top_k=max(body.top_k or 0, 0), min_p=body.min_p or 0.0,
        stop=body.stop_list, seed=body.seed, presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty, repetition_penalty=body.repetition_penalty or 1.0,
    )


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request, caller: Caller = Depends(require_key)):
    reject_unsupported(body)
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    generation = Generation(request, caller, body.model, GenerateRequest(
        messages=messages, max_tokens=body.effective_max_tokens, **sampling(body)))
    await generation.start()

    if not body.stream:
        text = await generation.text()
        return ChatCompletion(
            model=body.model,
            choices=[ChatCompletionChoice(message=AssistantMessage(content=text),
                                          finish_reason=generation.finish_reason)],
            usage=Usage.of(generation.prompt_tokens, generation.completion_tokens),
        )

    completion_id = new_completion_id("chatcmpl")

    def chunk(delta: DeltaMessage, finish_reason: str | None = None) -> dict:
        return ChatCompletionChunk(id=completion_id, model=body.model, choices=[
            ChatCompletionChunkChoice(delta=delta, finish_reason=finish_reason)]).model_dump(exclude_none=True)

    async def events() -> AsyncIterator[dict]:
        yield chunk(DeltaMessage(role="assistant", content=""))
        async for text in generation.deltas():
            yield chunk(DeltaMessage(content=text))
        yield chunk(DeltaMessage(), generation.finish_reason)
        if body.include_usage:
            yield ChatCompletionChunk(id=completion_id, model=body.model, choices=[], usage=Usage.of(
                generation.prompt_tokens, generation.completion_tokens)).model_dump(exclude_none=True)

    return generation.stream(events)
