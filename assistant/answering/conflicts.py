"""Conflicts: guides that give incompatible lengths ("4 years" vs "2 years") for what was asked.

Quoting one of two disagreeing guides would hide the disagreement from the
applicant, so for "how long / how many years" questions :func:`find_conflicts`
looks for the most relevant pair of statements from different guides whose
durations (:func:`duration`) do not overlap; the extractive answer then shows both.
"""

from __future__ import annotations

import re

from assistant.answering.scope import focus_terms
from assistant.schemas import Hit
from assistant.text import normalize, tokenize
from assistant.tuning import CONFLICT_MIN_SIM

_DURATION = re.compile(r"(\d{1,3})(?:\s*[–-]\s*(\d{1,3}))?\+?[\s-]*(years?|yrs?|months?|minutes?|mins?|seconds?|secs?)\b", re.I)
_ASKS_NUMBER = re.compile(r"\bhow (?:long|many)\b|\byears?\b|\bduration\b|\blength\b|\bminutes?\b", re.I)
_UNIT = {"y": ("time-long", 12), "m": ("time-long", 1), "mi": ("time-short", 60), "s": ("time-short", 1)}


def duration(text: str):
    """(dimension, low, high) of the first duration in ``text``, in months or seconds; None if none."""
    m = _DURATION.search(normalize(text))
    if not m:
        return None
    unit = m.group(3).lower()
    key = "mi" if unit.startswith("min") else unit[0]
    dim, factor = _UNIT[key]
    lo = int(m.group(1)) * factor
    hi = int(m.group(2) or m.group(1)) * factor
    return dim, lo, hi


def _statements(terms: set[str], hits: list[Hit]) -> list[dict]:
    """The units that state a duration and are about the question (close in meaning, or half its words)."""
    stmts = []
    for i, h in enumerate(hits):
        sims = h.unit_sims or []
        for k, u in enumerate(h.units):
            d = duration(u["text"])
            if not d:
                continue
            # the whole paragraph that introduces a list item is its context
            context = next((l for l in h.text.split("\n") if u["lead_in"] and l.strip().endswith(u["lead_in"])), u["lead_in"])
            toks = set(tokenize(f"{h.section} {context} {u['text']}"))
            share = len(terms & toks) / len(terms) if terms else 0.0
            sim = sims[k] if k < len(sims) else 0.0
            if sim >= CONFLICT_MIN_SIM or share >= 0.5:
                stmts.append({"hit": i, "source": h.source, "dim": d[0], "lo": d[1], "hi": d[2], "text": u["text"], "rel": sim + share})
    return stmts


def find_conflicts(question: str, hits: list[Hit]) -> list[dict]:
    """Statements from different guides that give incompatible lengths for what was asked.

    Only for questions that ask "how long / how many years". A statement counts when
    it is close in meaning to the question (unit cosine) or shares half of its
    distinctive words; two statements conflict when they come from different guides,
    measure the same kind of time (years/months, or minutes/seconds) and their
    ranges do not overlap (e.g. "(4 years)" vs "(2 years)").
    """
    if not _ASKS_NUMBER.search(question):
        return []
    terms = set(focus_terms(question))
    stmts = _statements(terms, hits)
    pairs = [
        (a["rel"] + b["rel"], a, b)
        for a in stmts
        for b in stmts
        if a["source"] < b["source"] and a["dim"] == b["dim"] and (a["hi"] < b["lo"] or b["hi"] < a["lo"])
    ]
    if pairs:  # the most relevant disagreeing pair
        _, a, b = max(pairs, key=lambda x: x[0])
        pair = sorted([a, b], key=lambda x: x["hit"])
        return [{"topic": " ".join(sorted(terms)), "statements": [{k: x[k] for k in ("hit", "source", "text")} for x in pair]}]
    return []
