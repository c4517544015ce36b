"""The scope gate: does the guide library answer this question at all?

An answer quoted from loosely related passages misleads more than no answer, so
before composing, :func:`in_scope` decides, and an out-of-scope question gets
:func:`abstain_text` (which starts with :data:`NO_COVER`) and no citations.
Two tests, calibrated on ``evals/gold.jsonl`` (the numbers live in
:mod:`assistant.tuning`): a topic the guides do not answer (``corpus/scope.json``),
and closeness of meaning discounted by the question's words the library never uses
(:func:`focus_terms`, :func:`library_vocab`).
"""

from __future__ import annotations

import json

from assistant.config import PROJECT_DIR, Settings
from assistant.schemas import Hit
from assistant.text import tokenize
from assistant.tuning import MIN_CLOSENESS, OOV_WEIGHT

NO_COVER = "The guides don't cover this."

# Words that say nothing about *what* is asked in this domain (present in nearly every question).
_DOMAIN = set(
    tokenize(
        "img imgs international medical graduate graduates residency residencies program programs applicant applicants "
        "apply applying application match matching specialty specialties us non citizen foreign national "
        "medical genetics genetic radiology diagnostic usmle step guide guides advice help know tell want need good best "
        "what how which when where why who should would could can do does did i me my mine am is are be "
        "chance chances"
    )
)

_STOP_STEMS: set[str] | None = None
_SCOPE: dict[str, str] | None = None


def _stop_stems() -> set[str]:
    global _STOP_STEMS
    if _STOP_STEMS is None:
        from assistant.text import GENERAL_WORDS as words

        _STOP_STEMS = set(tokenize(" ".join(words))) | set(tokenize("really actually okay ok thing things something nothing get got big little lot lots"))
    return _STOP_STEMS


def focus_terms(question: str) -> list[str]:
    """The question's distinctive words (stemmed): no stop words, no words every question in this domain has."""
    stop = _stop_stems()
    return [t for t in dict.fromkeys(tokenize(question)) if t not in _DOMAIN and t not in stop and (not t.isdigit() or len(t) == 4)]


def _scope_terms() -> dict[str, str]:
    """stem -> topic, from corpus/scope.json (topics no guide covers unless a guide uses the word)."""
    global _SCOPE
    if _SCOPE is None:
        data = json.loads((PROJECT_DIR / "corpus" / "scope.json").read_text(encoding="utf-8"))
        _SCOPE = {}
        for topic, words in data.get("outside_topics", {}).items():
            for w in words:
                key = " ".join(tokenize(w))
                if key:
                    _SCOPE[key] = topic
    return _SCOPE


def library_vocab(retriever) -> set[str]:
    """Every token of the live library (the scope gate's "does the library ever say this?")."""

    def build(rows: list[dict]) -> set[str]:
        vocab: set[str] = set()
        for r in rows:
            vocab.update(tokenize(r["embed"]))
        return vocab

    return retriever.memo("vocab", build)


def _grams(tokens: list[str]) -> set[str]:
    """Tokens and adjacent token pairs (corpus/scope.json lists two-word phrases too)."""
    return set(tokens) | {" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)}


def in_scope(question: str, hits: list[Hit], vocab: set[str] | None = None) -> tuple[bool, dict]:
    """Does the library answer this? Two tests, both calibrated on evals/gold.jsonl.

    1. Topic: the question names a topic the guides do not answer (a salary, a fee, a
       date, another specialty; words and phrases in corpus/scope.json) and none of the
       top passages uses that word or phrase (if a guide did discuss it, it would be retrieved).
    2. Closeness: the best sentence of the top passages is close in meaning to the
       question, discounted by the share of the question's distinctive words that no
       guide uses at all: ``unit_sim - OOV_WEIGHT * oov_share >= MIN_CLOSENESS``.
    """
    if not hits:
        return False, {"closeness": 0.0}
    terms = focus_terms(question)
    vocab = vocab or set()
    oov = [t for t in terms if vocab and t not in vocab]
    qgrams = _grams(tokenize(question))
    pgrams = _grams([t for h in hits[:3] for t in tokenize(f"{h.section} {h.text}")])
    outside = sorted({topic for key, topic in _scope_terms().items() if key in qgrams and key not in pgrams})
    unit = max(h.unit_sim for h in hits[:3])
    share = len(oov) / len(terms) if terms else 0.0
    closeness = unit - OOV_WEIGHT * share
    ok = not outside and closeness >= MIN_CLOSENESS
    return ok, {"closeness": round(closeness, 4), "unit_sim": round(unit, 4), "oov": oov, "outside_topics": outside}


def abstain_text(settings: Settings | None = None) -> str:
    """What an out-of-scope question gets: :data:`NO_COVER` and what the library does cover."""
    topics = "explaining red flags (exam failures, low scores, gaps, professionalism, visas), Step score strategy, and researching programs, for IMGs applying to medical genetics and diagnostic radiology"
    return f"{NO_COVER} I can only answer from the guide library, which covers {topics}. Try asking about one of those."
