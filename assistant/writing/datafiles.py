"""The writing package's data files: guide rules, templates and the fact guard's word lists.

What: the JSON files under ``assistant/data/writing/`` (``draft_rules.json``,
``templates.json``, ``audit_rules.json``, ``lexicon.json``), each read once, at
first use, and validated by the pydantic model of the module that uses it
(:mod:`~assistant.writing.rules`, :mod:`~assistant.writing.compose`,
:mod:`~assistant.writing.lexicon`).

Why data: the rules are quotes from the guides and the templates are phrasing;
both are content that changes with the guides, not with the code, and a new
specialty's rules are an entry keyed by its id (see :func:`for_specialty`).
A missing or malformed file is a one-line :class:`~assistant.errors.InputError`
naming the file, never a traceback.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from assistant.errors import InputError

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "writing"
#: The key of the entry that applies to a specialty without an entry of its own.
GENERAL = "general"

T = TypeVar("T")
_CACHED: list[Any] = []  # the cached loaders, so reset() can drop them


def load(name: str, model: Any, build: Callable[[Any], T]) -> T:
    """Read ``DATA_DIR/name``, validate it with the pydantic ``model``, and turn it into tables with ``build``.

    Every problem (missing, not UTF-8, not JSON, fails validation, a regex that
    does not compile, a reference to an unknown entry) becomes one InputError line.
    """
    path = DATA_DIR / name
    try:
        return build(model.model_validate(json.loads(path.read_text(encoding="utf-8"))))
    except (OSError, ValueError, re.error) as exc:  # JSONDecodeError, UnicodeDecodeError, ValidationError are ValueErrors
        detail = " ".join(str(exc).split())[:200]
        raise InputError(f"the writing data file {path} is unreadable or malformed ({type(exc).__name__}: {detail})") from None


def cached(fn: Callable[[], T]) -> Callable[[], T]:
    """Decorator: a loader that runs once (at first use); :func:`reset` makes it run again."""
    fn = functools.cache(fn)
    _CACHED.append(fn)
    return fn


def reset() -> None:
    """Forget every loaded table (tests that point ``DATA_DIR`` elsewhere)."""
    for fn in _CACHED:
        fn.cache_clear()


def for_specialty(table: Mapping[str, T], specialty: str, default: Any = None) -> Any:
    """The entry for ``specialty``, else the table's ``general`` entry, else ``default``.

    Rules keyed by specialty fall back this way, so a specialty added to the
    vocabulary (assistant/data/domain.json) alone gets the general advice.
    """
    if specialty in table:
        return table[specialty]
    return table.get(GENERAL, default)


def compile_pattern(pattern: str) -> str:
    """Pydantic validator helper: ``pattern`` if it compiles, else a ValueError (so the file error says which)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from None
    return pattern
