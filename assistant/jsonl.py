"""Read JSON Lines input (batch questions, eval datasets) with one-line errors that name the line.

Shared by ``advisor retrieve/ask --batch`` and ``advisor eval --dataset``: both
accept a UTF-8 file of JSON objects, one per line, blank lines ignored, and
must reject anything else with the file and line number (exit code 2), never a
traceback. The standard ``json`` module parses; this adds only those checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import InputError


def read_objects(path: Path | str, allowed: set[str], what: str = "file") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; InputError for unreadable text,
    malformed JSON, a non-object line or a field outside ``allowed``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path} ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{path}: line {n}: JSON nested too deeply") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}: line {n}: expected a JSON object")
        unknown = set(obj) - allowed
        if unknown:
            raise InputError(f"{path}: line {n}: unknown field(s) {', '.join(sorted(unknown))}")
        yield n, obj
