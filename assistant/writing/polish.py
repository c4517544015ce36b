"""Optional LLM polish of a template draft, accepted only when it adds nothing and drops nothing.

What: with an LLM backend (``--llm``), :func:`polish` asks the model to rephrase
the template draft (prompt: ``prompts/draft_polish.txt``) and checks the answer:
the fact guard against the applicant's facts, every number and name of the
template draft kept, enough of its words kept, every placeholder kept verbatim,
first person, the format's word bounds.

Why: a model is exactly the writer that invents a score or a hospital; its text
is only ever used when the same guard that proves the template draft passes.
Otherwise the caller keeps the template draft and reports the reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AdvisorError
from assistant.writing.compose import FORMAT_NAMES, Composition, count_words
from assistant.writing.facts import DraftFacts, specialty_noun
from assistant.writing.factguard import PLACEHOLDER_RE, check, content_recall, lost_facts

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


def load_polish_prompt() -> tuple[str, str]:
    """(system, user template) from prompts/draft_polish.txt, split at the ``### user`` line."""
    path = PROMPTS_DIR / "draft_polish.txt"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdvisorError(f"cannot read the polish prompt {path}: {exc.strerror or exc}") from None
    system, _, user = raw.partition("### user")
    system = system.replace("### system", "").strip()
    return system, user.strip()


def _clean_model_output(text: str, fmt: str) -> str:
    text = (text or "").strip()
    text = re.sub(r"^(?:here(?:'s| is)[^\n:]*:|rewritten[^\n:]*:|paragraph:|answer:)\s*", "", text, flags=re.IGNORECASE)
    text = text.strip().strip('"“”').strip()
    return " ".join(text.split())


@dataclass
class PolishOutcome:
    text: str | None  # the accepted polished text, or None
    raw: str
    violations: list[dict]
    reasons: list[str]


#: A polished draft must still use this share of the template draft's content words (it may not drop your story).
MIN_POLISH_RECALL = 0.6


def polish(comp: Composition, facts: DraftFacts, model: Any) -> PolishOutcome:
    """Ask ``model`` to rephrase the template draft; accept it only if it passes every check.

    Checks: the fact guard (nothing added: against the facts, with this draft's
    connecting words as vocabulary); nothing dropped (every number and name of
    the template draft kept, and :data:`MIN_POLISH_RECALL` of its content
    words); every placeholder kept verbatim, no new bracketed text; first
    person; the format's word bounds. Model/transport failures propagate as
    BackendError.
    """
    from assistant.llm import invoke_chat

    fmt = facts.effective_format
    system, user = load_polish_prompt()
    lo, hi = comp.bounds
    values = {"format_name": FORMAT_NAMES[fmt], "min_words": lo, "max_words": hi, "draft": comp.text,
              "specialty": specialty_noun(facts.specialty)}
    messages = [("system", system.format(**values)), ("human", user.format(**values))]
    raw = invoke_chat(model, messages)
    text = _clean_model_output(raw, fmt)
    reasons: list[str] = []
    violations: list[dict] = []
    if not text:
        reasons.append("the model returned nothing")
    else:
        report = check(text, facts.texts(), comp.vocabulary)
        if not report.ok:
            violations = report.to_json()
            reasons.append(f"the fact guard rejected it: {report.summary()}")
        dropped = lost_facts(text, comp.text)
        if dropped:
            reasons.append(f"it dropped facts: {', '.join(dropped[:5])}")
        recall = content_recall(text, [comp.text])
        if recall < MIN_POLISH_RECALL:
            reasons.append(f"it kept only {recall:.0%} of your words (at least {MIN_POLISH_RECALL:.0%} needed)")
        lost = [p for p in comp.placeholders if p not in text]
        if lost:
            reasons.append(f"it dropped {len(lost)} placeholder(s)")
        other = [p for p in PLACEHOLDER_RE.findall(text) if p not in comp.placeholders]
        if other:
            reasons.append(f"it added bracketed text {other[0]}")
        if not re.search(r"\b(?:I|my|me|I'm|I've)\b", text):
            reasons.append("it is not in the first person")
        n = count_words(text)
        if not lo <= n <= hi:
            reasons.append(f"it is {n} words (bounds {lo}–{hi})")
    return PolishOutcome(text if not reasons else None, raw, violations, reasons)
