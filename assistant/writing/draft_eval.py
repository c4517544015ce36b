"""The drafting eval helper: check one facts file the way evals/DRAFTS.md describes (no model, no index).

What: :func:`evaluate_draft_file`, used by ``advisor eval`` (assistant.evaluation)
for the fabrications, placeholder-correctness and length-compliance figures.
Why separate: it is measurement, not drafting; it reads the same template draft
(:func:`~assistant.writing.compose.compose`) a user gets.
"""

from __future__ import annotations

from pathlib import Path

from assistant.text import split_sentences
from assistant.writing.compose import compose, tidy_applicant_text
from assistant.writing.facts import OPTIONAL_FIELDS, TEXT_FIELDS, load_facts
from assistant.writing.factguard import check
from assistant.writing.rules import norm_for_match
from assistant.writing.templates import kind_specs


def evaluate_draft_file(path: str | Path) -> dict:
    """Check one facts file the way evals/DRAFTS.md describes (guard, length, content, placeholders); no model, no index."""
    facts = load_facts(path)
    comp = compose(facts)
    report = check(comp.text, facts.texts(), comp.vocabulary)
    problems: list[str] = [f"guard: {v.message}" for v in report.violations]
    if not comp.length_ok:
        problems.append(f"length: {comp.words} words outside {comp.bounds}")
    if comp.trimmed:
        problems.append(f"trimmed {len(comp.trimmed)} sentence(s)")
    low = norm_for_match(comp.text)
    for name in TEXT_FIELDS:
        value = getattr(facts, name)
        if value is None:
            if name in OPTIONAL_FIELDS and (name != "goals" or facts.kind == "why-specialty"):
                if kind_specs()[facts.kind].placeholder(name) not in comp.text:
                    problems.append(f"no placeholder for missing '{name}'")
            continue
        for sentence in split_sentences(tidy_applicant_text(value)):
            body = norm_for_match(sentence)[1:]  # first letter may be lowercased by a connecting phrase
            if body not in low:
                problems.append(f"'{name}' content missing: {sentence[:60]}")
    return {"file": str(path), "kind": facts.kind, "format": facts.effective_format, "words": comp.words,
            "missing_fields": comp.missing_fields, "ok": not problems, "problems": problems}
