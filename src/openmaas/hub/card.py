"""A model's card, read from the metadata of its GGUF file."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gguf import GGUFReader, GGUFValueType, LlamaFileType

from openmaas.errors import InvalidRequest

_CHUNK = 1024 * 1024
_MAX_EXTRA_STRING = 256
# Keys the card has its own fields for; the rest of the scalar metadata goes into `extra`.
_CARD_KEYS = {
    "general.architecture",
    "general.basename",
    "general.name",
    "general.license",
    "general.file_type",
    "tokenizer.chat_template",
}


@dataclass(frozen=True)
class ModelCard:
    path: Path
    architecture: str | None
    family: str | None
    parameters: int
    quantization: str | None
    context_length: int | None
    chat_template: str | None
    license: str | None
    size_bytes: int
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)


def read_card(path: str | Path) -> ModelCard:
    """The card of the GGUF file at `path`; InvalidRequest if it is missing or not a GGUF file."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise InvalidRequest(f"No model file at `{path}`.", param="path")
    stat = path.stat()
    return _read_card(path, stat.st_size, stat.st_mtime_ns)


# Parsing a GGUF reads its whole vocabulary (seconds); a file that has not changed is read once.
@lru_cache(maxsize=32)
def _read_card(path: Path, size_bytes: int, _mtime_ns: int) -> ModelCard:
    try:
        reader = GGUFReader(path)
    except Exception as exc:  # the reader fails in many ways (bad magic, truncation, empty file)
        raise InvalidRequest(f"`{path.name}` is not a valid GGUF model file: {exc}", param="path") from exc
    metadata = _scalar_metadata(reader)
    architecture = metadata.get("general.architecture")
    return ModelCard(
        path=path,
        architecture=architecture,
        family=metadata.get("general.basename") or metadata.get("general.name") or architecture,
        parameters=sum(int(tensor.n_elements) for tensor in reader.tensors),
        quantization=_quantization(reader, metadata.get("general.file_type")),
        context_length=metadata.get(f"{architecture}.context_length"),
        chat_template=metadata.get("tokenizer.chat_template"),
        license=metadata.get("general.license"),
        size_bytes=size_bytes,
        sha256=sha256_file(path),
        extra={
            key: value
            for key, value in metadata.items()
            if key not in _CARD_KEYS
            and not key.startswith("GGUF.")
            and not (isinstance(value, str) and len(value) > _MAX_EXTRA_STRING)
        },
    )


def _scalar_metadata(reader: GGUFReader) -> dict[str, Any]:
    return {
        key: reader_field.contents()
        for key, reader_field in reader.fields.items()
        if reader_field.types and reader_field.types[0] != GGUFValueType.ARRAY
    }


def _quantization(reader: GGUFReader, file_type: int | None) -> str | None:
    """llama.cpp's name for the file type (Q4_1, Q8_0, F16...), else the commonest tensor type."""
    if file_type is not None:
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    counts: Counter[str] = Counter()
    for tensor in reader.tensors:
        counts[tensor.tensor_type.name] += int(tensor.n_elements)
    return counts.most_common(1)[0][0] if counts else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
