"""Claim checks: is a sentence supported by the passages it cites? Offline, no judge model.

Used on every sentence an LLM writes (unsupported ones are removed and listed)
and by the eval suite's faithfulness and citation-correctness metrics.

The support score of a sentence against a passage is the best, over the
passage's sentences, of a lexical score (share of the sentence's content words,
stemmed, found in the passage sentence) blended with the embedding cosine of the
two. A sentence that states a number the passage does not contain is never
supported: invented figures are the most harmful error for applicants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import normalize, split_sentences, tokenize
from assistant.tuning import SUPPORT_THRESHOLD

_CITE = re.compile(r"\s*\[(\d{1,2})\]")
_NUM = re.compile(r"\d+(?:[.,]\d+)?")


def citations_in(sentence: str) -> list[int]:
    return [int(n) for n in _CITE.findall(sentence)]


def strip_citations(sentence: str) -> str:
    return _CITE.sub("", sentence).strip()


def numbers_in(text: str) -> set[str]:
    return set(_NUM.findall(normalize(text)))


def lexical_support(sentence: str, passage_sentence: str) -> float:
    a = set(tokenize(sentence))
    if not a:
        return 1.0
    b = set(tokenize(passage_sentence))
    return len(a & b) / len(a)


@dataclass
class Support:
    score: float
    best: str  # the passage sentence that supports it best
    numbers_ok: bool


def support(sentence: str, passages: list[str], embed=None, own_numbers: frozenset[str] | set[str] = frozenset()) -> Support:
    """Best support of ``sentence`` over ``passages``; ``embed(texts) -> vectors`` adds the embedding half.

    ``own_numbers``: numbers the applicant gave (``numbers_in(question)``); an answer may say them
    back ("Your 238 is in the guide's 235–245 band: ...") without a passage stating them.
    """
    sent = strip_citations(sentence)
    units = [u for p in passages for u in split_sentences(p)] or [""]
    lex = [lexical_support(sent, u) for u in units]
    scores = lex
    if embed is not None and sent:

        vecs = embed([sent, *units])
        cos = (vecs[1:] @ vecs[0]).tolist()
        scores = [0.6 * lx + 0.4 * max(0.0, c) for lx, c in zip(lex, cos)]
    i = max(range(len(units)), key=lambda j: scores[j])
    score, best = scores[i], units[i]
    head, colon, tail = sent.partition(": ")
    if colon and tail.strip() and _lead_in_key(head) in {_lead_in_key(u) for u in units if u.rstrip().endswith(":")}:
        # "Create a private document listing: gaps > 3 months": a passage's lead-in joined to what follows it (the
        # composer's join of a lead-in and one of its items: two passage sentences, so no one sentence holds it all).
        # The lead-in is the passage's own words; what follows is the claim, judged alone ("...: salary advice" is not
        # supported by the lead-in's words)
        item = support(tail, passages, embed, own_numbers)
        score, best = item.score, item.best
    nums = numbers_in(sent) - {str(n) for n in citations_in(sentence)}
    passage_nums = set().union(*(numbers_in(p) for p in passages)) if passages else set()
    numbers_ok = nums <= passage_nums | set(own_numbers)
    return Support(score=score if numbers_ok else 0.0, best=best, numbers_ok=numbers_ok)


def _lead_in_key(text: str) -> str:
    """A lead-in compared as said in an answer and as written in a passage: case, dashes, quotes and its ":" aside."""
    return normalize(text).lower().strip().rstrip(":").strip()


def is_supported(sentence: str, passages: list[str], embed=None, threshold: float = SUPPORT_THRESHOLD) -> bool:
    return support(sentence, passages, embed).score >= threshold
