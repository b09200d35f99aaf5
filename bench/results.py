"""bench/RESULTS.md: one section per benchmark, each replaced by its own `--write`, the others kept."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(title: str, report: str) -> None:
    section = f"## {title}\n\n{report}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text, count=1) if pattern.search(text) else \
        text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def publish(title: str, report: str, write: bool) -> None:
    """Print a benchmark's report and, with --write, make it the `title` section of RESULTS.md."""
    print(report)
    if write:
        write_section(title, report)
        print(f"[bench] updated the {title} section of {RESULTS}", file=sys.stderr, flush=True)


def run(main: Callable[[], None]) -> None:
    """A benchmark's entry point: Ctrl-C ends it quietly (its servers are stopped by then)."""
    try:
        main()
    except KeyboardInterrupt:
        print("[bench] interrupted", file=sys.stderr, flush=True)
        sys.exit(130)
