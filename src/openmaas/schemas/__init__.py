"""Pydantic models of the public API, one module per surface.

`openai` mirrors OpenAI's schema (chat, completions, models, errors); import from it
directly: `from openmaas.schemas.openai import ChatCompletionRequest`.
"""
