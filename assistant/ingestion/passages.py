"""How a guide was cut: its passages as the live index stores them, with their sizes.

Read by ``advisor library --passages SOURCE`` and the Library tab's "Show passages",
so a user can check that every passage stands on its own.
"""

from __future__ import annotations

import difflib
import statistics

from assistant.config import Settings, get_settings
from assistant.errors import InputError
from assistant.store import IndexState, expand_copies, load_chunk_table

SHORT_PASSAGE_WORDS = 25  # a passage under this many displayed words is counted as short in the summary


def passages(source: str, settings: Settings | None = None) -> list[dict]:
    """How one guide was cut: the live generation's passages of ``source``, in guide order.

    Each is ``{"n", "id", "section", "words", "chars", "text"}``: ``n`` counts from 1,
    ``section`` is the heading path, ``words`` and ``chars`` measure the displayed
    ``text``. A passage stored once for several guides (its ``copies``) is listed for
    each guide that holds it. An unknown guide id is an InputError naming it.
    """
    settings = settings or get_settings()
    state = IndexState.read(settings)
    if source not in state.docs:
        near = difflib.get_close_matches(str(source), list(state.docs), n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        raise InputError(f"no guide with id '{source}' in the library ({hint}see `advisor library`)")
    rows = sorted((r for r in expand_copies(load_chunk_table(state.gen_dir(settings))) if r["source"] == source), key=lambda r: r["ordinal"])
    return [
        {"n": n, "id": r["id"], "section": r["section"], "words": len(r["text"].split()), "chars": len(r["text"]), "text": r["text"]}
        for n, r in enumerate(rows, 1)
    ]

def passage_summary(items: list[dict]) -> dict:
    """The sizes of a guide's passages (as :func:`passages` lists them): count, min/median/max words, how many are short.

    ``short`` counts the passages under ``short_under_words`` (:data:`SHORT_PASSAGE_WORDS`) words.
    """
    words = [int(p["words"]) for p in items]
    return {
        "count": len(words),
        "min_words": min(words, default=0),
        "median_words": statistics.median(words) if words else 0,
        "max_words": max(words, default=0),
        "short": sum(1 for w in words if w < SHORT_PASSAGE_WORDS),
        "short_under_words": SHORT_PASSAGE_WORDS,
    }


def passage_summary_line(summary: dict) -> str:
    """The closing line of a guide's passage listing (CLI and UI alike)."""
    return (
        f"{summary['count']} passages; words min {summary['min_words']}, median {summary['median_words']:g}, "
        f"max {summary['max_words']}; {summary['short']} under {summary['short_under_words']} words"
    )
