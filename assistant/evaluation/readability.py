"""What a reader stumbles on in an answer: small pure detectors over its text (issue #15 item 6).

An answer (:class:`assistant.schemas.Answer`, its ``answer`` text) is a lead line,
then ``- `` points, sub-items indented two spaces per level under the point that
introduces them, each line ending in ``[n]`` citation markers; the CLI may append a
``Sources:`` list. :func:`points` reads that layout into :class:`Point` rows (text
without marker or citations, nesting level, cited passages) and each detector
returns the offending snippets, citation markers removed:

``lead_in_without_items``
    A line ending ":" ("Concerns arise when:", "What to ask:") with no list items
    right after it. Its items are the lines nested right under it that cite the same
    passage ("Use this structure ...: [1]" then "  - “I failed ...” [2]" is flagged:
    those are not its items). A point at the same level right after it counts only
    when it reads as an item, a quotation or :func:`item_shaped` ("consider:" then
    "- Geographic preferences."); otherwise it is a point of its own ("What to ask:"
    then "- Keep emails concise and specific."). A lead line (level 0) with a blank
    line before or after it is a block heading ("More from the guides:") and has
    items. Limit: a same-level case line ("Depending on your stage:" then "- If you
    have not yet completed a residency:") is flagged though it often reads well.
``bare_label``
    A point that is only a label, not a sentence: "IMG Friendliness.",
    "Fellowship-like Training.", "Institution, city, state.", "Backup pathways.".
    The rule is one of three shapes, each with no lowercase *sentence word*
    (:data:`~assistant.answering.shapes.SENTENCE_WORDS`: is/are/you/your/should/can/will/do/it/this ...):
    Title Case (2-8 words, every word but a connector capitalised), a bare field
    list (3+ comma-separated parts of at most 2 words, no "and"/"or"), or a short
    phrase (2-3 words) ending "." whose first word is not an imperative verb
    (:data:`~assistant.answering.shapes.IMPERATIVES`: "Apply widely." is advice, not a label). Never flagged: a
    question, a "Key: value" line ("Step 2 CK: 240."), a line with a parenthesis
    ("Pediatrics–Medical Genetics (5 years)"), a one-word line ("Yes."), an item
    under a lead-in ending ":" (a list item may be a noun phrase), and a label with
    items nested under it (a heading). Limits: a lowercase noun phrase of 4+ words
    ("Thoughtful communication with programs.") and a label holding a sentence word
    ("Why this program") pass; a short Title Case sentence ("Apply To Many
    Programs.") or a two-word non-imperative sentence ("Timing matters.") is flagged.
``example_as_point``
    A quoted example shown as if it were advice: a point that is wholly a quotation
    (“I failed Step 1 on my first attempt.”, or the tail of one: ``...learn?”``),
    or a cited point speaking in the first person outside quotes ("I ...", "My ...",
    "When I retook ..."). Fine: a point introduced as an example, by its own text
    ("The guide's example: “I failed Step 1 …”": the quote does not open the point;
    "For example: I failed ..."), or by a line from the same passage that it is
    nested under or that comes right before it at its level, ending ":" ("Seek
    letters that explicitly state:" then "- “No concerns about professionalism”") or
    in a quotation after a colon ("Ask them: “Does this sound genuine?”" then "-
    “Am I over-explaining?”"), or that is itself an example introduced so. Uncited
    lines are the assistant's own voice ("I can only answer from the guide library
    ...") and are not read for the first person; an abstained Answer has no defects.
``about_the_guide``
    A sentence about the guide itself (:data:`~assistant.answering.shapes.ABOUT_GUIDE`): "This guide focuses
    specifically on ...", "You'll learn how program directors think ...", "This
    article breaks down ...", "In this guide, ...", "Throughout, the focus is on ...".
``glued_label``
    A sentence end or a closing quote glued to what follows, ``plan.”Insight:`` or
    ``plan.Change:``, and a list marker glued to its lead-in (``Instead:- Use``).

Also :func:`first_sentence_holds` (does the first sentence carry the expected
facts), :func:`answer_words`, :func:`names_band` (does the answer name a score band
containing a number) and :func:`defects` / :func:`is_clean` over all five kinds.
Only :mod:`assistant.text` and the line shapes of :mod:`assistant.answering.shapes`
(the rules the composer also uses) are imported: the detectors run on any answer
text, from any backend, without the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from assistant.answering.shapes import is_about_the_guide, is_label, is_quotation, item_shaped, speaks_first_person
from assistant.text import normalize, split_sentences

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.schemas import Answer

__all__ = [
    "KINDS",
    "Point",
    "points",
    "strip_citations",
    "strip_sources",
    "is_label",
    "item_shaped",
    "is_quotation",
    "speaks_first_person",
    "is_about_the_guide",
    "lead_in_without_items",
    "bare_label",
    "example_as_point",
    "about_the_guide",
    "glued_label",
    "DETECTORS",
    "defects",
    "is_clean",
    "first_sentence_holds",
    "library_lines",
    "one_line_holds",
    "states_band",
    "answer_words",
    "names_band",
]

#: The defect kinds, in report order.
KINDS = ("lead_in_without_items", "bare_label", "example_as_point", "about_the_guide", "glued_label")

_OPEN_Q = "“\"‘"
_CITATION = re.compile(r"\s*\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]")
_CITED_N = re.compile(r"\d{1,3}")
_MARKER = re.compile(r"^(\s*)(?:[-•–*]|\d{1,2}[.)])\s+")
_SOURCES = re.compile(r"(?m)^\s*Sources:\s*$")


def strip_citations(text: str) -> str:
    """``text`` without its ``[n]`` markers (also ``[1, 2]``, ``[1-3]``)."""
    return _CITATION.sub("", text)


def strip_sources(text: str) -> str:
    """``text`` without the ``Sources:`` list the CLI appends (and what follows it, the note)."""
    m = _SOURCES.search(text or "")
    return (text[: m.start()] if m else text or "").rstrip()


@dataclass(frozen=True)
class Point:
    """One line of an answer: the lead line (level 0), a point (1) or a sub-item (2, 3, ...)."""

    text: str  # without list marker and citation markers
    level: int
    cites: frozenset  # the passage numbers it cites
    blank_before: bool  # a blank line separates it from the line before


def points(answer_text: str) -> list[Point]:
    """The lines of ``answer_text`` (Sources list dropped) with their nesting level and citations."""
    out: list[Point] = []
    blank = False
    for line in strip_sources(answer_text).split("\n"):
        if not line.strip():
            blank = bool(out)
            continue
        m = _MARKER.match(line)
        if m:
            level = 1 + len(m.group(1).expandtabs(2)) // 2
            body = line[m.end() :]
        else:
            level = (len(line) - len(line.lstrip(" "))) // 2
            body = line
        cites = frozenset(int(n) for c in _CITATION.findall(body) for n in _CITED_N.findall(c))
        out.append(Point(strip_citations(body).strip(), level, cites, blank))
        blank = False
    return out


def _parent(pts: list[Point], i: int) -> Point | None:
    """The nearest line before ``pts[i]`` at a lower level: the line it is nested under."""
    return next((pts[j] for j in range(i - 1, -1, -1) if pts[j].level < pts[i].level), None)


def _shares(a: Point, b: Point) -> bool:
    """Do two lines come from the same passage (or is either uncited, the assistant's own line)?"""
    return not a.cites or not b.cites or bool(a.cites & b.cites)


def _has_children(pts: list[Point], i: int) -> bool:
    return i + 1 < len(pts) and pts[i + 1].level > pts[i].level


def _has_items(pts: list[Point], i: int) -> bool:
    """Is the lead-in ``pts[i]`` followed by its items?

    Its items are the lines nested right under it from the same passage; also, at
    the same level right after it and from the same passage, a quotation ("Example:"
    then "- “In my third year ...”") or a line shaped like a list item
    (:func:`item_shaped`: "consider:" then "- Geographic preferences."); and anything
    after a lead line that is a block heading (level 0 with a blank line before or
    after it: "More from the guides:").
    """
    if i + 1 >= len(pts):
        return False
    p, nxt = pts[i], pts[i + 1]
    if p.level == 0 and (p.blank_before or nxt.blank_before):
        return True
    if not _shares(p, nxt):
        return False
    return nxt.level > p.level or (nxt.level == p.level and (nxt.text[:1] in _OPEN_Q or item_shaped(nxt.text)))


def _is_item(pts: list[Point], i: int) -> bool:
    """Is ``pts[i]`` a list item: nested under a lead-in ending ":" or under a point (not just after the lead line),
    or the item-shaped line right after a lead-in at its own level?"""
    p = _parent(pts, i)
    if p is not None and (p.level >= 1 or p.text.endswith(":")):
        return True
    prev = pts[i - 1] if i else None
    return prev is not None and prev.level == pts[i].level and prev.text.endswith(":") and _shares(prev, pts[i]) and item_shaped(pts[i].text)


# ---------------------------------------------------------------- shapes of one line

# ---------------------------------------------------------------- the detectors


def lead_in_without_items(answer_text: str) -> list[str]:
    """Lines ending ":" with no list items nested right after them."""
    pts = points(answer_text)
    return [p.text for i, p in enumerate(pts) if p.text.endswith(":") and not _has_items(pts, i)]


def bare_label(answer_text: str) -> list[str]:
    """Points that are only a label (:func:`is_label`), not under a lead-in and with no items of their own."""
    pts = points(answer_text)
    return [p.text for i, p in enumerate(pts) if is_label(p.text) and not _has_children(pts, i) and not _is_item(pts, i)]


_COLON_QUOTE = re.compile(r":\s*[“\"][^“]*$")


def _is_example(p: Point) -> bool:
    return is_quotation(p.text) or (bool(p.cites) and speaks_first_person(p.text))


def _introduced(pts: list[Point], i: int) -> bool:
    """Is the example ``pts[i]`` introduced as one, by the line it is nested under or the line right before it?

    The introducing line is from the same passage and ends ":" ("Seek letters that
    explicitly state:") or in a quotation after a colon ("Ask them: “Does this sound
    genuine?”"), or is itself an example introduced so (a run of quoted questions).
    """
    p = pts[i]
    lead = _parent(pts, i)
    if lead is not None and _shares(lead, p) and _introduces(lead):
        return True
    prev = pts[i - 1] if i else None
    if prev is None or prev.level != p.level or not _shares(prev, p):
        return False
    return _introduces(prev) or (_is_example(prev) and _introduced(pts, i - 1))


def _introduces(p: Point) -> bool:
    return p.text.endswith(":") or bool(_COLON_QUOTE.search(p.text))


def example_as_point(answer_text: str) -> list[str]:
    """Points that are a quoted or first-person example statement not introduced as one."""
    pts = points(answer_text)
    out = []
    for i, p in enumerate(pts):
        if _is_example(p) and not _introduced(pts, i):
            out.append(p.text)
    return out


def about_the_guide(answer_text: str) -> list[str]:
    """Sentences about the guide itself."""
    return [s for p in points(answer_text) for s in split_sentences(p.text) if is_about_the_guide(s)]


_GLUED = re.compile(
    r"[a-z0-9)\]%][.!?][”’\"]?(?=[A-Z][a-z])"  # plan.Change / properly.”Insight
    r"|”(?=[A-Za-z0-9])"  # a closing curly quote with no space after it
    r"|:-(?=\s*[A-Za-z“\"])"  # Instead:- Use
)
_KNOWN_DOTTED = re.compile(r"\b(?:Ph\.D|e\.g|i\.e|a\.m|p\.m|U\.S)\.?$", re.I)


def glued_label(answer_text: str) -> list[str]:
    """Snippets where a sentence end, a closing quote or a lead-in is glued to what follows."""
    out = []
    for p in points(answer_text):
        for m in _GLUED.finditer(p.text):
            if _KNOWN_DOTTED.search(p.text[: m.end()].rstrip("”’\"")):
                continue
            a, b = max(0, m.start() - 30), min(len(p.text), m.end() + 25)
            out.append(("…" if a else "") + p.text[a:b] + ("…" if b < len(p.text) else ""))
    return out


DETECTORS = {
    "lead_in_without_items": lead_in_without_items,
    "bare_label": bare_label,
    "example_as_point": example_as_point,
    "about_the_guide": about_the_guide,
    "glued_label": glued_label,
}


def _text_of(answer: Union[str, "Answer"]) -> str | None:
    """The answer text to read, or None for an abstention (the assistant's own message, no guide text)."""
    if isinstance(answer, str):
        return answer
    return None if getattr(answer, "abstained", False) else answer.answer


def defects(answer_text: Union[str, "Answer"]) -> dict[str, list[str]]:
    """Every kind in :data:`KINDS` -> the offending snippets (an empty list when none). Takes text or an Answer."""
    text = _text_of(answer_text)
    return {kind: (DETECTORS[kind](text) if text else []) for kind in KINDS}


def is_clean(answer_text: Union[str, "Answer"]) -> bool:
    """No defect of any kind."""
    return not any(defects(answer_text).values())


# ---------------------------------------------------------------- scores


def _fold(text: str) -> str:
    return normalize(text).lower().replace('"', "")


def first_sentence_holds(answer_text: Union[str, "Answer"], facts) -> bool:
    """Does the answer's first sentence (citations stripped) contain every fact phrase? Case- and quote-insensitive.

    No facts: True (nothing is expected). No text: False.
    """
    facts = list(facts or [])
    text = _text_of(answer_text) or ""
    sentences = split_sentences(strip_citations(strip_sources(text)))
    if not facts:
        return True
    if not sentences:
        return False
    first = _fold(sentences[0])
    return all(_fold(f) in first for f in facts)


def one_line_holds(facts, lines: list[str]) -> bool:
    """Does any of ``lines`` (a library's sentences and list items, each also with its lead-in) hold every fact?

    The most :func:`first_sentence_holds` can reach for a question when the first sentence is one
    quoted guide line: a question whose facts no single line holds cannot have them all in its first sentence.
    """
    folded = [f for f in (_fold(x) for x in facts or []) if f]
    return bool(folded) and any(all(f in line for f in folded) for line in lines)


def library_lines(rows: list[dict]) -> list[str]:
    """Every sentence and list item of the index's passages (``rows``), folded, alone and after its lead-in."""
    out = []
    for r in rows:
        for u in r.get("units", []):
            out.append(_fold(u["text"]))
            if u.get("lead_in"):
                out.append(_fold(f"{u['lead_in']} {u['text']}"))
    return out


def answer_words(text: Union[str, "Answer"]) -> int:
    """Words of the answer, not counting citation markers, list markers or the Sources list."""
    body = strip_citations(strip_sources(text if isinstance(text, str) else text.answer))
    return sum(1 for tok in body.split() if any(ch.isalnum() for ch in tok))


_NUM = r"(\d+(?:\.\d+)?)"
_RANGE = re.compile(rf"(?<![\d.]){_NUM}\s*(?:-|to)\s*~?{_NUM}(\s*\+)?(?![\d.]*\d)")
_AT_LEAST = re.compile(rf"(?:≥|>=|\bat least)\s*~?{_NUM}|{_NUM}\s*\+|{_NUM}\s*(?:or|and)\s+(?:higher|above|more|greater|up)\b", re.I)
_ABOVE = re.compile(rf"(?:(?<![<>=])>(?!=)|\babove|\bover|\bmore than|\bgreater than|\bhigher than)\s*~?{_NUM}", re.I)
_AT_MOST = re.compile(rf"(?:≤|<=|\bat most|\bup to)\s*~?{_NUM}|{_NUM}\s*(?:or|and)\s+(?:lower|below|less|under|fewer)\b", re.I)
_BELOW = re.compile(rf"(?:(?<![<>=])<(?!=)|\bbelow|\bunder|\bless than|\blower than|\bfewer than)\s*~?{_NUM}", re.I)


def _first(m: re.Match) -> float:
    return float(next(g for g in m.groups() if g is not None))


def states_band(text: str) -> bool:
    """Does ``text`` state any band :func:`names_band` reads ("235–245", "≥245", "below 220")? "Step 2 CK" is none."""
    text = normalize(strip_citations(text or ""))
    return any(p.search(text) for p in (_RANGE, _AT_LEAST, _ABOVE, _AT_MOST, _BELOW))


def names_band(answer_text: Union[str, "Answer"], number: float) -> bool:
    """Does the answer name a band containing ``number``?

    Bands: a range "235–245" / "235-245" / "235 to 245" (inclusive; "245–250+" reads as
    245 and up), a floor "≥245", "245+", "at least 245", "245 or higher" (inclusive),
    "above/over 245", ">245" (exclusive), a ceiling "≤220", "220 or lower", "up to 220"
    (inclusive), "below/under 220", "<220", "less than 220" (exclusive). A bare mention
    ("a minimum score (for example, 230)") is no band.
    """
    text = normalize(strip_citations(_text_of(answer_text) or ""))
    n = float(number)
    for m in _RANGE.finditer(text):
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo > hi:
            continue
        if m.group(3) and n >= lo or lo <= n <= hi:
            return True
    checks = ((_AT_LEAST, lambda v: n >= v), (_ABOVE, lambda v: n > v), (_AT_MOST, lambda v: n <= v), (_BELOW, lambda v: n < v))
    return any(ok(_first(m)) for pattern, ok in checks for m in pattern.finditer(text))
