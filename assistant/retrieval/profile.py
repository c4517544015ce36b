"""Who is asking and what: the question's checks and the applicant profile (audience, specialty).

An applicant profile multiplies the fused score of guides written for that
profile (``BOOST_MATCH``) and mildly lowers guides written for the *other*
audience or specialty (``PENALTY_MISMATCH``); guides for ``any`` are never
penalised, so general advice is not hidden. ``strict`` search filters instead.
The spellings accepted come from :mod:`assistant.domain`.
"""

from __future__ import annotations

from assistant.config import MAX_QUESTION_CHARS
from assistant.domain import vocabulary
from assistant.errors import InputError
from assistant.tuning import BOOST_MATCH, PENALTY_MISMATCH


def validate_question(question) -> str:
    """Return the question stripped, or raise InputError (empty, too long, not text)."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    q = " ".join(question.replace("\x00", " ").split())
    if not q:
        raise InputError("the question is empty")
    if any("\ud800" <= ch <= "\udfff" for ch in q):  # undecodable bytes from argv/files arrive as lone surrogates
        raise InputError("the question is not valid UTF-8 text")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return q


def normalize_profile(audience: str | None, specialty: str | None) -> tuple[str | None, str | None]:
    """Canonical (audience, specialty); raises InputError for an unknown audience."""
    a = None
    if audience is not None:
        aliases = vocabulary().audience_aliases
        if not isinstance(audience, str) or audience.strip().lower() not in aliases:
            raise InputError(f"unknown audience '{audience}' (use {' or '.join(vocabulary().audiences)})")
        a = aliases[audience.strip().lower()]
    s = None
    if specialty is not None:
        if not isinstance(specialty, str):
            raise InputError("the specialty must be text")
        key = specialty.strip().lower()
        if key in ("", "any"):
            s = None
        else:
            s = vocabulary().specialty_aliases.get(key, key.replace(" ", "-"))
            if len(s) > 60 or not all(ch.isalnum() or ch == "-" for ch in s):
                raise InputError(f"unknown specialty '{specialty}'")
    return a, s


def profile_weight(meta: dict, audience: str | None, specialty: str | None) -> float:
    w = 1.0
    doc_aud = meta.get("audience") or "any"
    doc_spec = meta.get("specialty") or "any"
    if audience:
        if doc_aud == audience:
            w *= BOOST_MATCH
        elif doc_aud != "any":
            w *= PENALTY_MISMATCH
    if specialty:
        if doc_spec == specialty:
            w *= BOOST_MATCH
        elif doc_spec != "any":
            w *= PENALTY_MISMATCH
    return w


def profile_allows(meta: dict, audience: str | None, specialty: str | None) -> bool:
    doc_aud = meta.get("audience") or "any"
    doc_spec = meta.get("specialty") or "any"
    return (not audience or doc_aud in (audience, "any")) and (not specialty or doc_spec in (specialty, "any"))
