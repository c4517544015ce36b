"""Composition of the template draft: the applicant's sentences, joined by the templates, within the length rules.

What: :func:`compose` turns :class:`~assistant.writing.facts.DraftFacts` into the
deterministic template draft (no retrieval, no model). Per kind and format, the
applicant's sentences are used verbatim (light first-person fixes only: capital
first letter, final period, a lowercase first letter when a connecting phrase
such as "Since then," is put in front) and joined by connecting phrases that
state no fact; a missing optional fact becomes a visible placeholder plus a
question. Each format has word bounds; sentences beyond the first of a field are
left out (and reported in ``trimmed``) when a draft runs over.

Why here: this is the one place that decides what a draft says; the phrasing
per kind is data (:mod:`assistant.writing.templates`), the length rules stay
code: they are the guides' numbers, quoted next to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.text import normalize, split_sentences
from assistant.writing.facts import specialty_noun
from assistant.writing.factguard import strip_placeholders
from assistant.writing.lexicon import lexicon
from assistant.writing.templates import KindSpec, kind_specs, template_vocabulary, templates, theme

if TYPE_CHECKING:
    from assistant.writing.facts import DraftFacts


# --------------------------------------------------------------------------- length rules

#: Speaking rate used to turn an interview answer's words into seconds.
WORDS_PER_MINUTE = 150
#: The guides: "60–90 seconds per explanation" (us-img-medical-genetics-red-flags).
INTERVIEW_MIN_SECONDS = 60
INTERVIEW_MAX_SECONDS = 90
INTERVIEW_MIN_WORDS = INTERVIEW_MIN_SECONDS * WORDS_PER_MINUTE // 60  # 150
INTERVIEW_MAX_WORDS = INTERVIEW_MAX_SECONDS * WORDS_PER_MINUTE // 60  # 225
#: "Dedicate at most one short paragraph to the issue" (non-us-img-radiology-red-flags).
PERSONAL_STATEMENT_MIN_WORDS = 50
PERSONAL_STATEMENT_MAX_WORDS = 170
#: "The ERAS 'Additional Information' section for shorter clarifications" (us-img-medical-genetics-red-flags).
ERAS_MIN_WORDS = 25
ERAS_MAX_WORDS = 120
LENGTH_BOUNDS: dict[str, tuple[int, int]] = {
    "personal-statement": (PERSONAL_STATEMENT_MIN_WORDS, PERSONAL_STATEMENT_MAX_WORDS),
    "eras-additional-info": (ERAS_MIN_WORDS, ERAS_MAX_WORDS),
    "interview": (INTERVIEW_MIN_WORDS, INTERVIEW_MAX_WORDS),
}
FORMAT_NAMES = {
    "personal-statement": "personal-statement paragraph",
    "eras-additional-info": "ERAS additional-information entry",
    "interview": "interview answer",
}


# --------------------------------------------------------------------------- sentence handling


_REFLECTIVE_RE = re.compile(
    r"^(?:I (?:have )?(?:learned|learnt|realized|realised|understood|recognized|recognised|saw|came to|discovered|now know|know now)"
    r"|This (?:taught|showed|made|helped)|That (?:taught|showed)|It (?:taught|showed)|Looking back|In hindsight|Reflecting)\b",
    re.IGNORECASE,
)
_REFLECTS_RE = re.compile(
    r"\b(?:I|we) (?:have |had )?(?:learned|learnt|realized|realised|understood|recognized|recognised|discovered|saw|noticed)\b"
    r"|\b(?:taught|showed) me\b",
    re.IGNORECASE,
)
_TIME_OPENER_RE = re.compile(
    r"^(?:Since|After|During|Over|From|Throughout|Between|Before|Following|Later|Then|Today|Now|Currently|Recently|Once|When|While"
    r"|As a result|Afterwards|Subsequently|Ultimately|Eventually|At the time|At that time|Back then|In the|In my|That|This|These|Those|Because)\b",
    re.IGNORECASE,
)


def tidy_applicant_text(text: str) -> str:
    """Light first-person clean-up of the applicant's words: spacing, a lone lowercase ``i``, final period."""
    text = normalize(text).replace("\n", " ")
    text = " ".join(text.split())
    text = re.sub(r"(?<![\w'])i(?=(?:'m|'ve|'d|'ll)?(?![\w']))", "I", text)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?\"”)]":
        text += "."
    return text


def _first_word(text: str) -> str:
    m = re.match(r"[\"“(]*([A-Za-z][A-Za-z'’\-]*)", text)
    return m.group(1) if m else ""


def _can_lowercase(text: str, facts_text: str) -> bool:
    """True when the first word is an ordinary word, so a connecting phrase may precede it in lowercase."""
    word = _first_word(text)
    if not word or word in ("I", "I'm", "I've", "I'd", "I'll") or not text[:1].isalpha():
        return word in ("I", "I'm", "I've", "I'd", "I'll")
    if not (word[0].isupper() and word[1:] == word[1:].lower()):
        return False  # an acronym or a name like "McDonald"
    lower = word.lower()
    if lower in lexicon().common_words or lower in template_vocabulary():
        return True
    if re.search(rf"[a-z0-9,;]\s+{re.escape(word)}\b", facts_text):  # capitalised mid-sentence elsewhere: a name
        return False
    if re.search(rf"\b{re.escape(lower)}\b", facts_text):  # the applicant writes it in lowercase elsewhere
        return True
    return bool(re.search(r"(?:ing|ed|ly)$", lower))


def _lowercase_first(text: str) -> str:
    word = _first_word(text)
    if word in ("I", "I'm", "I've", "I'd", "I'll"):
        return text
    i = text.find(word)
    return text[:i] + word[0].lower() + text[i + 1:]


def splice(lead: str, text: str, facts_text: str, skip: re.Pattern | None = None) -> str:
    """Put a connecting phrase in front of the applicant's first sentence when it reads naturally; else leave it alone.

    No phrase when the sentence already opens like one (``skip``), when a
    reflective lead ("I learned that") would repeat a verb the sentence already
    has ("... I realized ..."), or when its first word may be a name.
    """
    reflective_lead = bool(_REFLECTS_RE.search(lead))
    if (not lead or (skip is not None and skip.match(text)) or (reflective_lead and _REFLECTS_RE.search(text))
            or not _can_lowercase(text, facts_text)):
        return text
    return lead + _lowercase_first(text)


def count_words(text: str) -> int:
    """Words as spoken: whitespace-separated tokens that contain a letter or digit (placeholders count)."""
    return sum(1 for t in text.split() if re.search(r"[A-Za-z0-9]", t))


def spoken_seconds(words: int) -> float:
    return round(words * 60 / WORDS_PER_MINUTE, 1)


# --------------------------------------------------------------------------- composing


@dataclass
class _Piece:
    slot: str  # what | context | ... | opener | closer | responsibility | link
    text: str
    first: bool  # first sentence of its slot (kept when trimming)


# Trimming order: the first kinds of pieces to go when a draft is too long.
_TRIM_ORDER = ("opener", "closer", "context", "goals", "what", "evidence", "changes", "insight")


@dataclass
class Composition:
    """A template draft before guard/polish: text, the placeholders used and what was left out."""

    text: str
    missing_fields: list[str]
    placeholders: list[str]
    questions: list[str]
    trimmed: list[str]
    words: int
    bounds: tuple[int, int]

    @property
    def length_ok(self) -> bool:
        lo, hi = self.bounds
        return lo <= self.words <= hi

    @property
    def vocabulary(self) -> frozenset[str]:
        """Ordinary words this draft uses outside its placeholders: what a polished version may reuse.

        Facts words are allowed by the guard anyway, so this adds exactly the
        connecting phrases of *this* kind and format (not every template's
        words, and never the example words inside placeholders).
        """
        return frozenset(w.casefold() for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", strip_placeholders(self.text)))


@dataclass
class _Pieces:
    """The draft's pieces in order, and the placeholders (with their questions) used for missing facts."""

    facts: DraftFacts
    spec: KindSpec
    facts_text: str
    pieces: list[_Piece] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def add(self, slot: str, text: str | None) -> None:
        if text is None:
            ph = self.spec.placeholder(slot)
            self.missing.append(slot)
            self.placeholders.append(ph)
            self.questions.append(self.spec.question(slot))
            self.pieces.append(_Piece(slot, ph, True))
            return
        sentences = split_sentences(tidy_applicant_text(text))
        skip = _REFLECTIVE_RE if slot == "insight" else _TIME_OPENER_RE
        sentences[0] = splice(self.spec.lead(slot), sentences[0], self.facts_text, skip)
        for i, s in enumerate(sentences):
            self.pieces.append(_Piece(slot, s, i == 0))

    def fixed(self, slot: str, text: str) -> None:
        self.pieces.append(_Piece(slot, text, True))


def _pieces(facts: DraftFacts, fmt: str) -> _Pieces:
    """Every piece of the draft for ``facts`` in ``fmt``, before any trimming."""
    spec = kind_specs()[facts.kind]
    sp = specialty_noun(facts.specialty)
    out = _Pieces(facts, spec, " ".join(facts.texts()))
    if fmt == "interview":
        out.fixed("opener", spec.opener.format(sp=sp))
    out.add("what", facts.what)
    out.add("context", facts.context)
    if spec.responsibility and fmt != "eras-additional-info":
        out.fixed("responsibility", templates().responsibility)
    for slot in ("insight", "changes", "evidence"):
        out.add(slot, getattr(facts, slot))
    if facts.kind == "why-specialty":
        out.add("goals", facts.goals)
    elif facts.goals:
        out.add("goals", facts.goals)
    if fmt != "eras-additional-info":
        out.fixed("link", spec.link.format(sp=sp, theme=theme(facts.specialty)))
    if fmt == "interview":
        out.fixed("closer", spec.closer.format(sp=sp))
    return out


def _trim(pieces: list[_Piece], max_words: int) -> list[str]:
    """Drop whole boilerplate pieces and non-first sentences, in :data:`_TRIM_ORDER`, from the end of each slot; the dropped texts."""
    trimmed: list[str] = []

    def total() -> int:
        return count_words(" ".join(p.text for p in pieces))

    for slot in _TRIM_ORDER:
        while total() > max_words:
            idx = [i for i, p in enumerate(pieces) if p.slot == slot and (slot in ("opener", "closer") or not p.first)]
            if not idx:
                break
            removed = pieces.pop(idx[-1])
            if removed.slot not in ("opener", "closer"):
                trimmed.append(removed.text)
    return trimmed


def _length_question(fmt: str, words: int, bounds: tuple[int, int]) -> str | None:
    """What to ask when the draft is still outside the format's bounds (None when it is within)."""
    if words > bounds[1]:
        return (f"This {FORMAT_NAMES[fmt]} is {words} words even with only the first sentence of each fact; "
                f"the limit is {bounds[1]}: shorten your own sentences.")
    if words < bounds[0]:
        if fmt == "interview":
            need = f"the guides ask for {INTERVIEW_MIN_SECONDS}–{INTERVIEW_MAX_SECONDS} seconds (about {bounds[0]}–{bounds[1]} words)"
            return f"This answer takes about {spoken_seconds(words):.0f} seconds to say; {need}: add more of your own detail."
        return f"This {FORMAT_NAMES[fmt]} is only {words} words (aim for {bounds[0]}–{bounds[1]}): add more of your own detail."
    return None


def compose(facts: DraftFacts) -> Composition:
    """Build the template draft for ``facts`` (no retrieval, no model): the deterministic core of :func:`~assistant.writing.draft.draft`."""
    fmt = facts.effective_format
    built = _pieces(facts, fmt)
    bounds = LENGTH_BOUNDS[fmt]
    trimmed = _trim(built.pieces, bounds[1])
    text = re.sub(r"\s+", " ", " ".join(p.text for p in built.pieces)).strip()
    words = count_words(text)
    comp = Composition(text, built.missing, built.placeholders, built.questions, trimmed, words, bounds)
    question = _length_question(fmt, words, bounds)
    if question:
        comp.questions.append(question)
    return comp
