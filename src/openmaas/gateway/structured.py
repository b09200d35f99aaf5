"""Structured output: a response_format becomes a llama.cpp grammar that decoding must follow."""

from __future__ import annotations

import json

from openmaas.errors import InvalidRequest

# Keywords the schema-to-grammar converter understands; anything else would be silently
# ignored by it, so the output could break the schema: refuse those instead.
SUPPORTED_KEYWORDS = {
    "type", "properties", "required", "items", "enum", "const", "additionalProperties", "minItems",
    "maxItems", "minLength", "maxLength", "pattern", "anyOf", "oneOf", "allOf", "$ref", "$defs",
    "definitions", "title", "description", "default", "examples", "prefixItems", "$schema", "$id",
}


def _unsupported_keywords(node, path: str = "schema") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs", "definitions"):
                if isinstance(value, dict):
                    for name, sub in value.items():
                        found += _unsupported_keywords(sub, f"{path}.{key}.{name}")
                continue
            if key not in SUPPORTED_KEYWORDS:
                found.append(f"{path}.{key}")
            elif isinstance(value, (dict, list)) and key not in ("enum", "const", "default", "examples", "required"):
                found += _unsupported_keywords(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _unsupported_keywords(item, f"{path}[{i}]")
    return found


def grammar_for(response_format) -> str | None:
    """GBNF for a ResponseFormat (None for plain text); InvalidRequest for schemas we cannot enforce."""
    if response_format is None or response_format.type == "text":
        return None
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    if response_format.type == "json_object":
        return JSON_GBNF
    schema = response_format.json_schema.schema_
    if schema is None:
        return JSON_GBNF
    unsupported = _unsupported_keywords(schema)
    if unsupported:
        raise InvalidRequest(f"Unsupported JSON schema keyword(s): {', '.join(unsupported[:5])}.",
                             param="response_format.json_schema.schema", code="unsupported_schema")
    try:
        return json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:
        raise InvalidRequest(f"Unsupported JSON schema: {exc}", param="response_format.json_schema.schema",
                             code="unsupported_schema") from exc
