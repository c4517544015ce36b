"""Follow-up rewriting: turn "what about radiology?" into a stand-alone question.

A chat question often leans on the one before it. Retrieval needs the whole
question, so :func:`condense` rewrites a follow-up using the last user turn, and
:func:`detect_specialty` / :func:`detect_audience` read a profile change out of
the new turn ("what about radiology?" switches the specialty for that turn).

Deterministic on purpose: a rewrite must not invent content. The words and
patterns that name a specialty come from :func:`assistant.domain.vocabulary`, so a
specialty added to ``assistant/data/domain.json`` needs no change here.
"""

from __future__ import annotations

import re

from assistant.domain import vocabulary
from assistant.errors import InputError

_AUDIENCE_PATTERNS = [
    (re.compile(r"\bnon[-\s‑]?(?:us|u\.s\.)\b|\bforeign national|\bneed (?:a )?visa|\bvisa sponsorship", re.I), "non-us-img"),
    (re.compile(r"\b(?:us|u\.s\.|american) citizen\b|\bamerican studying abroad\b", re.I), "us-img"),
]
_FOLLOWUP = re.compile(
    r"^(?:and|but|also|what about|how about|and if|what if|then|so|ok|okay|same|in that case|and for|what for)\b|\b(?:it|that|this|those|them|there)\b",
    re.I,
)


def detect_specialty(text: str) -> str | None:
    """The specialty the first of its question words in ``text`` names ("radiologist" -> radiology), or None."""
    words = {w.lower(): sid for w, sid in vocabulary().question_words.items()}
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in words:
            return words[w]
    return None


def _initials(field: str) -> str:
    """A field of two words or more as its capitals ("internal-medicine" -> "IM"); "" for a one-word field."""
    parts = [p for p in field.split("-") if p]
    return "".join(p[0] for p in parts).upper() if len(parts) >= 2 else ""


def names_field(question: str, fields) -> str | None:
    """The one of ``fields`` (specialty ids: "internal-medicine") the question names, in words ("internal
    medicine") or by its initials typed in capitals ("IM"), or None; the longest when several."""
    text = " ".join(re.findall(r"[a-z]+", question.lower()))
    named = []
    for f in fields:
        if not f or f == "any":
            continue
        initials = _initials(f)
        if f" {f.replace('-', ' ')} " in f" {text} " or (initials and re.search(rf"\b{initials}\b", question)):
            named.append(f)
    return max(named, key=len) if named else None


def spelled_out(question: str, field: str | None) -> str:
    """``question`` with the field's initials in words ("... ok for IM" -> "... ok for internal medicine"): the
    guides write the name out, so retrieval (BM25 and the vectors) finds it only spelled out."""
    initials = _initials(field or "")
    return re.sub(rf"\b{initials}\b", field.replace("-", " "), question) if initials else question


def named_field(question: str, hits: list) -> str | None:
    """The specialty the question names (:func:`names_field`), among the retrieved passages' specialties, or None."""
    return names_field(question, {h.specialty for h in hits if h.specialty})


def library_fields(retriever) -> set[str]:
    """Every specialty of the live library, a guide the user added included (its id: "internal-medicine")."""
    return retriever.memo("fields", lambda rows: {r.get("specialty") or "any" for r in rows} - {"any"})


def field_of(question: str, hits: list) -> str:
    """The specialty an answer is about: the one the question names among the retrieved passages'
    specialties ("internal-medicine" when it says "internal medicine", so a guide a user added counts),
    else the shipped vocabulary's word for it, else the top passage's; "any" without passages."""
    named = named_field(question, hits)
    if named:
        return named
    fields = {h.specialty for h in hits if h.specialty and h.specialty != "any"}
    detected = detect_specialty(question)
    if detected in fields:
        return detected
    return hits[0].specialty if hits else "any"


def detect_audience(text: str) -> str | None:
    for pat, aud in _AUDIENCE_PATTERNS:
        if pat.search(text):
            return aud
    return None


def _history_questions(history) -> list[str]:
    """Accept [(user, assistant)], [{"role", "content"}] or [str] histories; return the user turns."""
    out: list[str] = []
    if history is not None and not isinstance(history, (list, tuple)):
        raise InputError("the history must be a list of earlier questions")
    for item in history or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if item.get("role") == "user" and isinstance(item.get("content"), str):
                out.append(item["content"])
        elif isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            out.append(item[0])
    return [q for q in out if q and q.strip()]


def condense(question: str, history=None) -> str:
    """Rewrite a follow-up ("what about radiology?") into a stand-alone question using the last user turn.

    Deterministic on purpose (a rewrite must not invent content): a follow-up that
    names another specialty swaps it into the previous question; any other
    follow-up is appended to the previous question as its new focus.
    """
    prev = _history_questions(history)
    if not prev:
        return question
    last = prev[-1]
    q = question.strip()
    words = q.split()
    is_followup = bool(_FOLLOWUP.search(q)) or len(words) <= 4
    if not is_followup:
        return question
    core = re.sub(r"^(?:and|but|also|so|ok|okay|then)\b[\s,]*", "", q, flags=re.I)
    core = re.sub(r"^(?:what|how) about\s+", "", core, flags=re.I).rstrip("?. ")
    new_spec = detect_specialty(q)
    old = detect_specialty(last)
    if new_spec and old and new_spec != old:
        pattern = vocabulary().specialty_pattern(old)
        replaced = pattern.sub(core if len(core.split()) <= 3 else new_spec.replace("-", " "), last)
        return replaced if replaced != last else f"{last} {core}"
    return f"{last.rstrip('?. ')}; {core}?"
