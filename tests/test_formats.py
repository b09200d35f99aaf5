"""Training files: the four accepted shapes normalized to chat, and every way a file is refused."""

from __future__ import annotations

import json

import pytest

from openmaas.tuning.formats import MAX_ERRORS, DatasetInvalid, LineError, parse_dataset

LIMIT = 1_000_000
CHAT_LINE = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
PC_LINE = {"prompt": "2+2?", "completion": "4"}


def jsonl(*lines: object, newline: str = "\n") -> bytes:
    """A file of the given lines: dicts are dumped as JSON, strings are taken as they are."""
    return newline.join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()


def errors_of(data: bytes, max_bytes: int = LIMIT) -> list[tuple[int, str | None, str]]:
    with pytest.raises(DatasetInvalid) as caught:
        parse_dataset(data, max_bytes=max_bytes)
    return [(e.line, e.field, e.reason) for e in caught.value.errors]


def chat(*turns: dict) -> dict:
    return {"messages": list(turns)}


def user(content: object = "Hi") -> dict:
    return {"role": "user", "content": content}


def assistant(content: object = "Hello!", **extra: object) -> dict:
    return {"role": "assistant", "content": content, **extra}


# The four formats


def test_chat_is_kept_with_weights_and_extra_keys_dropped():
    line = {"messages": [{"role": "system", "content": "Be brief."}, user("Hi"),
                         assistant("Hey", weight=0), {**user("Again"), "name": "bob"}, assistant("Hello.", weight=1)],
            "tools": [{"type": "function"}]}
    parsed = parse_dataset(jsonl(line, CHAT_LINE), max_bytes=LIMIT)
    assert parsed.format == "chat"
    assert [e.line for e in parsed.examples] == [1, 2]
    assert parsed.examples[0].messages == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hey", "weight": 0}, {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "Hello.", "weight": 1}]
    assert parsed.examples[1].messages == CHAT_LINE["messages"]


def test_chat_need_not_end_with_the_assistant():
    parsed = parse_dataset(jsonl(chat(user(), assistant(), user("Bye"))), max_bytes=LIMIT)
    assert [m["role"] for m in parsed.examples[0].messages] == ["user", "assistant", "user"]


def test_prompt_completion_becomes_a_user_and_an_assistant_turn():
    parsed = parse_dataset(jsonl(PC_LINE, {"prompt": "Capital of Italy?", "completion": " Rome"}), max_bytes=LIMIT)
    assert parsed.format == "prompt_completion"
    assert [e.messages for e in parsed.examples] == [
        [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
        [{"role": "user", "content": "Capital of Italy?"}, {"role": "assistant", "content": " Rome"}]]


def test_alpaca_joins_instruction_and_input_and_keeps_a_system_prompt():
    parsed = parse_dataset(jsonl(
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a colour.", "input": "", "output": "Blue"},
        {"instruction": "Name a fruit.", "output": "Apple", "system": "Answer in one word."},
        {"instruction": "Name a planet.", "input": None, "output": "Mars", "system": ""},
    ), max_bytes=LIMIT)
    assert parsed.format == "alpaca"
    assert [e.messages for e in parsed.examples] == [
        [{"role": "user", "content": "Translate to French.\n\nGood morning"}, {"role": "assistant", "content": "Bonjour"}],
        [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue"}],
        [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Name a fruit."},
         {"role": "assistant", "content": "Apple"}],
        [{"role": "user", "content": "Name a planet."}, {"role": "assistant", "content": "Mars"}]]


def test_sharegpt_speakers_map_to_roles():
    line = {"conversations": [{"from": "system", "value": "Be nice."}, {"from": "human", "value": "Hi"},
                              {"from": "gpt", "value": "Hello"}, {"from": "user", "value": "Bye"},
                              {"from": "assistant", "value": "Goodbye"}]}
    parsed = parse_dataset(jsonl(line), max_bytes=LIMIT)
    assert parsed.format == "sharegpt"
    assert parsed.examples[0].messages == [
        {"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Goodbye"}]


def test_crlf_endings_blank_lines_and_a_byte_order_mark():
    data = b"\xef\xbb\xbf" + jsonl(PC_LINE, "", "   \t", PC_LINE, "", newline="\r\n")
    parsed = parse_dataset(data, max_bytes=LIMIT)
    assert [e.line for e in parsed.examples] == [1, 4]
    assert parsed.examples[1].messages[1] == {"role": "assistant", "content": "4"}


# Whole-file problems


def test_a_file_over_the_limit_is_refused_before_anything_else():
    data = jsonl(PC_LINE, "not json")
    assert errors_of(data, max_bytes=len(data) - 1) == [
        (0, None, f"the file is {len(data)} bytes, over the limit of {len(data) - 1} bytes")]
    good = jsonl(PC_LINE)
    assert len(parse_dataset(good, max_bytes=len(good)).examples) == 1


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n"])
def test_a_file_without_examples_is_refused(data):
    assert errors_of(data) == [(0, None, "the file has no examples")]


def test_bad_utf8_names_its_line_and_the_other_lines_are_still_checked():
    data = jsonl(PC_LINE) + b'\n{"prompt": "caf\xe9", "completion": "x"}\n' + jsonl(PC_LINE, "{oops")
    assert errors_of(data) == [
        (2, None, "not valid UTF-8 (byte 0xe9 at column 16)"),
        (4, None, "invalid JSON: Expecting property name enclosed in double quotes (column 2)")]


# Line problems


def test_errors_come_with_their_line_in_order():
    data = jsonl(CHAT_LINE, CHAT_LINE, chat(user(), {"role": "bot", "content": "x"}), CHAT_LINE,
                 '{"messages": [] "x": 1}')
    assert errors_of(data) == [
        (3, "messages[1].role", "unknown role 'bot' (expected system, user or assistant)"),
        (5, None, "invalid JSON: Expecting ',' delimiter (column 17)")]


@pytest.mark.parametrize("line, reason", [
    ("[1, 2]", "expected a JSON object, got list"),
    ('"text"', "expected a JSON object, got string"),
    ('{"text": "hello"}', "unrecognized format: expected messages, prompt/completion, instruction/output or "
                          "conversations"),
])
def test_lines_that_are_no_example(line, reason):
    assert errors_of(jsonl(PC_LINE, line)) == [(2, None, reason)]


def test_mixed_formats_are_judged_against_the_first_valid_example():
    data = jsonl({"prompt": "only a prompt"}, CHAT_LINE, PC_LINE, CHAT_LINE,
                 {"instruction": "i", "output": "o"})
    assert errors_of(data) == [
        (1, None, "missing 'completion'"),
        (3, None, "this line is prompt_completion but the file's first example is chat"),
        (5, None, "this line is alpaca but the file's first example is chat")]


@pytest.mark.parametrize("line, field, reason", [
    ({"messages": "Hi"}, "messages", "expected a list, got string"),
    ({"messages": {"role": "user"}}, "messages", "expected a list, got object"),
    (chat(user(), "Hello"), "messages[1]", "expected an object, got string"),
    (chat(user(42), assistant()), "messages[0].content", "expected a string, got number"),
    (chat(user(), assistant([{"type": "text", "text": "x"}])), "messages[1].content", "expected a string, got list"),
    (chat({"role": None, "content": "Hi"}, assistant()), "messages[0].role", "expected a string, got null"),
    ({"prompt": 1, "completion": "x"}, "prompt", "expected a string, got number"),
    ({"prompt": "x", "completion": True}, "completion", "expected a string, got boolean"),
    ({"instruction": "x", "input": 3, "output": "y"}, "input", "expected a string, got number"),
    ({"instruction": "x", "output": "y", "system": ["s"]}, "system", "expected a string, got list"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": False}]},
     "conversations[1].value", "expected a string, got boolean"),
])
def test_wrong_types(line, field, reason):
    assert errors_of(jsonl(line)) == [(1, field, reason)]


@pytest.mark.parametrize("line, field, reason", [
    (chat(user(), {"role": "assistant"}), "messages[1]", "missing 'content'"),
    (chat({"content": "Hi"}, assistant()), "messages[0]", "missing 'role'"),
    ({"completion": "x"}, None, "missing 'prompt'"),
    ({"instruction": "x"}, None, "missing 'output'"),
    ({"output": "x"}, None, "missing 'instruction'"),
    ({"conversations": [{"value": "q"}, {"from": "gpt", "value": "a"}]}, "conversations[0]", "missing 'from'"),
])
def test_missing_keys(line, field, reason):
    assert errors_of(jsonl(line)) == [(1, field, reason)]


def test_unknown_speakers():
    sharegpt = {"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "a"}]}
    assert errors_of(jsonl(sharegpt)) == [
        (1, "conversations[1].from", "unknown speaker 'bot' (expected system, human, user, gpt or assistant)")]
    assert errors_of(jsonl(chat(user(), {"role": "tool", "content": "x"}, assistant()))) == [
        (1, "messages[1].role", "unknown role 'tool' (expected system, user or assistant)")]


@pytest.mark.parametrize("line, field", [
    (chat(user("   "), assistant()), "messages[0].content"),
    (chat(user(), assistant("")), "messages[1].content"),
    (chat({"role": "system", "content": " \n"}, user(), assistant()), "messages[0].content"),
    ({"prompt": "", "completion": "x"}, "prompt"),
    ({"instruction": "x", "input": "y", "output": "\t"}, "output"),
    ({"conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": "a"}]}, "conversations[0].value"),
])
def test_empty_content(line, field):
    assert errors_of(jsonl(line)) == [(1, field, "empty content")]


@pytest.mark.parametrize("line, field, reason", [
    (chat(user()), "messages", "no assistant turn"),
    (chat({"role": "system", "content": "s"}, user()), "messages", "no assistant turn"),
    ({"conversations": [{"from": "human", "value": "q"}]}, "conversations", "no assistant turn"),
    ({"messages": []}, "messages", "empty list"),
    (chat(user(), assistant(weight=0)), "messages",
     "every assistant turn has weight 0, so there is nothing to train on"),
    (chat(user(), assistant(weight=2)), "messages[1].weight", "weight must be 0 or 1, got 2"),
    (chat(user(), assistant(weight="1")), "messages[1].weight", 'weight must be 0 or 1, got "1"'),
    (chat(user(), assistant(weight=True)), "messages[1].weight", "weight must be 0 or 1, got true"),
    (chat({**user(), "weight": 1}, assistant()), "messages[0].weight", "weight is only allowed on assistant turns"),
    (chat(user(), assistant(), {"role": "system", "content": "s"}), "messages[2].role",
     "a system message must come first"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "system", "value": "s"},
                        {"from": "gpt", "value": "a"}]}, "conversations[1].from", "a system message must come first"),
])
def test_example_rules(line, field, reason):
    assert errors_of(jsonl(line)) == [(1, field, reason)]


def test_one_line_can_have_several_errors():
    line = chat({"role": "bot", "content": "x"}, user(""), assistant(5))
    assert errors_of(jsonl(CHAT_LINE, line)) == [
        (2, "messages[0].role", "unknown role 'bot' (expected system, user or assistant)"),
        (2, "messages[1].content", "empty content"),
        (2, "messages[2].content", "expected a string, got number")]


# The error report


def test_line_errors_read_as_sentences():
    assert str(LineError(3, "messages[1].content", "empty content")) == "line 3, messages[1].content: empty content"
    assert str(LineError(4, None, "missing 'prompt'")) == "line 4: missing 'prompt'"
    assert str(LineError(0, None, "the file has no examples")) == "the file has no examples"


def test_the_message_lists_the_first_ten_errors_and_counts_the_rest():
    data = jsonl(*[f"bad {n}" for n in range(1, 13)])
    with pytest.raises(DatasetInvalid) as caught:
        parse_dataset(data, max_bytes=LIMIT)
    error = caught.value
    assert isinstance(error, ValueError) and len(error.errors) == 12
    assert error.message == str(error)
    assert error.message.startswith(
        "The training file is not valid: line 1: invalid JSON: Expecting value (column 1); line 2: ")
    assert "line 10: " in error.message and "line 11" not in error.message
    assert error.message.endswith("(and 2 more)")


def test_the_message_has_no_count_when_all_errors_fit():
    with pytest.raises(DatasetInvalid) as caught:
        parse_dataset(jsonl(PC_LINE, "[]"), max_bytes=LIMIT)
    assert caught.value.message == "The training file is not valid: line 2: expected a JSON object, got list"


def test_parsing_stops_after_max_errors():
    assert [line for line, _, _ in errors_of(jsonl(*["[]"] * 100))] == list(range(1, MAX_ERRORS + 1))
    many = chat(*[user("") for _ in range(50)], assistant())  # all on one line
    errors = errors_of(jsonl(many, "[]"))
    assert len(errors) == MAX_ERRORS and {line for line, _, _ in errors} == {1}
