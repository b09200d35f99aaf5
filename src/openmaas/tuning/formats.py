"""Training files: JSON Lines in four common shapes, normalized to chat examples.

An uploaded file is either turned whole into `TrainingExample`s or rejected with the list of
what is wrong, line by line, so a user can fix every problem in one pass. The shapes:

- chat (OpenAI):     {"messages": [{"role": "user", "content": "..."}, ...]}
- prompt_completion: {"prompt": "...", "completion": "..."}
- alpaca:            {"instruction": "...", "input": "...", "output": "...", "system": "..."}
- sharegpt:          {"conversations": [{"from": "human", "value": "..."}, ...]}
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass

MAX_ERRORS = 20  # errors collected before parsing stops
SHOWN_ERRORS = 10  # errors spelled out in the exception's message

CHAT, PROMPT_COMPLETION, ALPACA, SHAREGPT = "chat", "prompt_completion", "alpaca", "sharegpt"
UNRECOGNIZED = "unrecognized format: expected messages, prompt/completion, instruction/output or conversations"

# What a converter notes about one line: (field or None, reason).
Problems = list[tuple[str | None, str]]


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based; 0 for the whole file
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        where += [self.field] if self.field else []
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class DatasetInvalid(ValueError):
    def __init__(self, errors: list[LineError]):
        self.errors = errors
        shown = "; ".join(str(error) for error in errors[:SHOWN_ERRORS])
        more = len(errors) - SHOWN_ERRORS
        self.message = f"The training file is not valid: {shown}" + (f" (and {more} more)" if more > 0 else "")
        super().__init__(self.message)


@dataclass(frozen=True)
class TrainingExample:
    messages: list[dict]  # {"role", "content"} and, on assistant turns only, optionally "weight": 0 or 1
    line: int


@dataclass(frozen=True)
class ParsedDataset:
    format: str
    examples: list[TrainingExample]


def parse_dataset(data: bytes, *, max_bytes: int) -> ParsedDataset:
    """The examples of a JSON Lines file, or DatasetInvalid listing up to MAX_ERRORS problems."""
    if len(data) > max_bytes:
        reason = f"the file is {len(data)} bytes, over the limit of {max_bytes} bytes"
        raise DatasetInvalid([LineError(0, None, reason)])
    data = data.removeprefix(codecs.BOM_UTF8)  # editors on Windows like to add one
    errors: list[LineError] = []
    examples: list[TrainingExample] = []
    file_format: str | None = None  # set by the first valid example; every other line must match it
    # Split the bytes, not the text, so one badly encoded line does not hide the others.
    for number, raw in enumerate(data.splitlines(), start=1):
        if len(errors) >= MAX_ERRORS:
            break
        line, reason = _read_line(raw)
        if reason is not None:
            errors.append(LineError(number, None, reason))
            continue
        if line is None:  # blank
            continue
        line_format = _detect(line)
        if line_format is None:
            errors.append(LineError(number, None, UNRECOGNIZED))
            continue
        if file_format is not None and line_format != file_format:
            reason = f"this line is {line_format} but the file's first example is {file_format}"
            errors.append(LineError(number, None, reason))
            continue
        problems: Problems = []
        messages = CONVERTERS[line_format](line, problems)
        if problems:
            errors.extend(LineError(number, field, reason) for field, reason in problems)
            continue
        file_format = file_format or line_format
        examples.append(TrainingExample(messages, number))
    if not errors and not examples:
        errors.append(LineError(0, None, "the file has no examples"))
    if errors:
        raise DatasetInvalid(sorted(errors, key=lambda error: error.line)[:MAX_ERRORS])
    assert file_format is not None
    return ParsedDataset(file_format, examples)


def _read_line(raw: bytes) -> tuple[dict | None, str | None]:
    """(the line's object, None), (None, None) for a blank line, or (None, what is wrong)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
    if not text.strip():
        return None, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"invalid JSON: {error.msg} (column {error.colno})"
    except RecursionError:  # absurdly deep nesting
        return None, "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {_type_name(value)}"
    return value, None


def _detect(line: dict) -> str | None:
    # One telling key is enough, so a line missing its partner key gets "missing 'completion'"
    # rather than "unrecognized format".
    if "messages" in line:
        return CHAT
    if "conversations" in line:
        return SHAREGPT
    if "prompt" in line or "completion" in line:
        return PROMPT_COMPLETION
    if "instruction" in line or "output" in line:
        return ALPACA
    return None


@dataclass(frozen=True)
class _Turns:
    """Where a format keeps its turns, and what it calls their parts."""

    key: str
    role_key: str
    content_key: str
    roles: dict[str, str]  # the format's name for a speaker -> our role
    speaker: str  # what an unknown role is called in errors
    weights: bool  # whether assistant turns may carry "weight"


CHAT_TURNS = _Turns("messages", "role", "content", {"system": "system", "user": "user", "assistant": "assistant"},
                    "role", weights=True)
SHAREGPT_TURNS = _Turns("conversations", "from", "value", {"system": "system", "human": "user", "user": "user",
                                                          "gpt": "assistant", "assistant": "assistant"},
                        "speaker", weights=False)


def _from_chat(line: dict, problems: Problems) -> list[dict]:
    return _conversation(line, CHAT_TURNS, problems)


def _from_sharegpt(line: dict, problems: Problems) -> list[dict]:
    return _conversation(line, SHAREGPT_TURNS, problems)


def _from_prompt_completion(line: dict, problems: Problems) -> list[dict]:
    prompt = _text(line, "prompt", None, problems)
    completion = _text(line, "completion", None, problems)
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]


def _from_alpaca(line: dict, problems: Problems) -> list[dict]:
    instruction = _text(line, "instruction", None, problems)
    extra = _text(line, "input", None, problems, blank_ok=True) if line.get("input") is not None else None
    output = _text(line, "output", None, problems)
    system = _text(line, "system", None, problems, blank_ok=True) if line.get("system") is not None else None
    user = f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    # Alpaca files often carry "system": "" to mean none, so a blank one is dropped, not refused.
    return ([{"role": "system", "content": system}] if system and system.strip() else []) + messages


CONVERTERS = {CHAT: _from_chat, PROMPT_COMPLETION: _from_prompt_completion, ALPACA: _from_alpaca,
              SHAREGPT: _from_sharegpt}


def _conversation(line: dict, shape: _Turns, problems: Problems) -> list[dict]:
    """A list of turns (chat's messages or ShareGPT's conversations) as normalized messages."""
    turns = line[shape.key]
    if not isinstance(turns, list):
        problems.append((shape.key, _expected("a list", turns)))
        return []
    if not turns:
        problems.append((shape.key, "empty list"))
        return []
    messages = []
    for index, turn in enumerate(turns):
        where = f"{shape.key}[{index}]"
        if not isinstance(turn, dict):
            problems.append((where, _expected("an object", turn)))
            continue
        name = _text(turn, shape.role_key, where, problems, blank_ok=True)
        content = _text(turn, shape.content_key, where, problems)
        role = shape.roles.get(name) if name is not None else None
        if name is not None and role is None:
            expected = _one_of(list(shape.roles))
            problems.append((f"{where}.{shape.role_key}", f"unknown {shape.speaker} {name!r} (expected {expected})"))
        if role == "system" and index > 0:
            problems.append((f"{where}.{shape.role_key}", "a system message must come first"))
        message = {"role": role, "content": content}
        if shape.weights and role is not None and "weight" in turn:
            weight = turn["weight"]
            if role != "assistant":
                problems.append((f"{where}.weight", "weight is only allowed on assistant turns"))
            elif isinstance(weight, bool) or weight not in (0, 1):
                problems.append((f"{where}.weight", f"weight must be 0 or 1, got {json.dumps(weight)[:40]}"))
            else:
                message["weight"] = int(weight)  # 1.0 -> 1
        messages.append(message)
    if not problems:  # whole-example checks only make sense once every turn is readable
        if not any(m["role"] == "assistant" for m in messages):
            problems.append((shape.key, "no assistant turn"))
        elif all(m.get("weight") == 0 for m in messages if m["role"] == "assistant"):
            problems.append((shape.key, "every assistant turn has weight 0, so there is nothing to train on"))
    return messages


def _text(obj: dict, key: str, where: str | None, problems: Problems, *, blank_ok: bool = False) -> str | None:
    """obj[key] as a string, or None after noting why it is missing, not a string or blank."""
    field = f"{where}.{key}" if where else key
    if key not in obj:
        problems.append((where, f"missing {key!r}"))
        return None
    value = obj[key]
    if not isinstance(value, str):
        problems.append((field, _expected("a string", value)))
        return None
    if not blank_ok and not value.strip():
        problems.append((field, "empty content"))
        return None
    return value


def _one_of(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _expected(what: str, value: object) -> str:
    return f"expected {what}, got {_type_name(value)}"


def _type_name(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if isinstance(value, bool):  # before int: bool is a subclass of it
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names = {str: "string", list: "list", dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
