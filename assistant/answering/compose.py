"""Extractive composition: an answer made only of sentences quoted from the passages.

The default backend is grounded by construction: every line of its answer is a
sentence or list item of a cited passage. The passages are cut into units
(:class:`Unit`; :func:`passage_units` also works out which line introduces
each list item), each unit is scored against the question, the best
are picked greedily within a word budget (:func:`compose_extractive`) and laid
out with ``[n]`` markers (:func:`render`). The weights and budgets are calibrated
on ``evals/gold.jsonl`` and live in :mod:`assistant.tuning`.

Plain Python on purpose (no LangChain): a cold ``advisor ask`` starts fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.answering.condense import field_of, named_field
from assistant.answering.scope import asked_part, field_covers
from assistant.answering.shapes import continues_a_sentence, is_about_the_guide, is_label, is_quotation, speaks_first_person, states_on_its_own
from assistant.retrieval import get_retriever
from assistant.schemas import Hit
from assistant.text import LIST_MARKER, normalize, tokenize
from assistant.tuning import (
    FAQ_BONUS,
    FAQ_POOL,
    MAX_EXAMPLES,
    LEAD_POOL,
    MAX_NUMBER_POINTS,
    YES_NO_SHARE,
    LABEL_WORDS,
    LEAD_MIN_WORDS,
    LIST_ITEMS,
    MAX_POINTS,
    MAX_WORDS,
    MIN_POINT,
    POOL,
    W_COST,
    W_ITEM,
    W_LEX,
    W_NUMBER,
    W_RANK,
    W_SIM,
    W_SPREAD,
)

_END = (".", "!", "?", ":", ";", "…", '"', "”", ")")


@dataclass
class Unit:
    text: str
    hit_index: int  # position of the passage in the retrieved list
    order: int  # position of the sentence in its passage
    is_item: bool
    lead_in: str  # the line that introduces this list item ("Programs value:"), if any
    sim: float = 0.0  # cosine of the question to this unit (from retrieval)
    score: float = 0.0
    context: str = ""  # the line(s) above its lead-in (a nested list's outer lead-in or label), for scoring
    example: bool = False  # a sentence the guide offers as an example (a quotation, the applicant's voice)
    prefix: str = ""  # said before the quote: "Your 238 is in the guide's 235–245 band", "The guide's example"


def _key(text: str) -> str:
    return normalize(text).lower()


# ---------------------------------------------------------------- units


def passage_units(hit: Hit, hit_index: int) -> list[Unit]:
    """The passage's sentences and list items, each list item with the line that really introduces it.

    Beyond the chunker's lead-in (the last sentence ending ":" before a list), two list shapes are
    recognised: an item ending ":" introduces the items after it ("- Reaching out to residents to ask:"
    then "- Whether the program considers lower scores"), and a short unpunctuated label line
    introduces the items under it ("Program Size and Structure" then "- Smaller programs ...").
    An introducing line with nothing after it in the passage (its list is in the next passage) is
    dropped: it says nothing alone.
    """
    sims = hit.unit_sims or []
    units = [Unit(u["text"], hit_index, u["order"], u["item"], u["lead_in"], sims[k] if k < len(sims) else 0.0) for k, u in enumerate(hit.units)]
    # the passage line of each unit: short lines are not units, but one ending ":" ("- Track:") still
    # introduces the items after it
    lines = [LIST_MARKER.sub("", line).strip() for line in hit.text.split("\n")]
    line_of, at = [], 0
    for u in units:
        j = next((j for j in range(at, len(lines)) if u.text in lines[j]), at)
        line_of.append(j)
        at = j
    sub, nested, style, prev, base = "", False, None, "", ""
    for k, u in enumerate(units):
        nxt = units[k + 1] if k + 1 < len(units) else None
        skipped = lines[(line_of[k - 1] + 1 if k else 0) : line_of[k]]
        short_intro = next((l for l in reversed(skipped) if l.endswith(":")), "")
        if short_intro and u.is_item:
            sub, nested, style = short_intro, True, None
        if not u.is_item:
            sub, nested, base = "", False, ""
            bare = u.text.rstrip().rstrip("\"”’)")
            if not bare.endswith(_END) and len(u.text.split()) <= LABEL_WORDS and nxt is not None and nxt.is_item and not nxt.lead_in:
                sub = base = u.text
        elif u.text.rstrip().endswith(":"):
            sub, nested, style = u.text, True, None
        elif sub:
            # a sub-list of fragments ends where a full sentence follows (and vice versa), unless the
            # item before ran on (","): "- Search programs in:", "- Medical Genetics", "- This ensures ..."
            sentence = u.text.rstrip().endswith((".", "!", "?", "…"))
            if nested and style is not None and sentence != style and not prev.rstrip().endswith((",", ";")):
                sub, nested = "", False
            else:
                u.context = (base or u.lead_in) if nested else ""
                u.lead_in = sub
                if not u.text.rstrip().endswith((",", ";")):
                    style = sentence if style is None else style
        prev = u.text
    for k in range(1, len(units)):  # "taking a year to: - ... - ..." then "…can significantly improve ...": the lead-in's
        u, before = units[k], units[k - 1]  # sentence ends after its list, so that line belongs with the list
        if continues_a_sentence(u.text) and before.is_item and before.lead_in:
            u.is_item, u.lead_in, u.context = True, before.lead_in, before.context
    if len(units) > 1 and units[-1].text.rstrip().endswith(":"):
        units.pop()
    return units


# ---------------------------------------------------------------- what reads as advice

#: A question asking for wording ("what should I say", "give me an example") may be shown the guides' examples.
_WANTS_WORDING = re.compile(r"\b(?:examples?|sample|say|phrase|phrasing|word(?:ing|s)?|script|sentence|template|write|how (?:do|should|can) i (?:explain|word|put|describe))\b", re.I)
_EXAMPLE_LEAD = re.compile(r"\b(?:example|examples|sample|framing|e\.g\.)\b|^(?:weak|strong|cause|insight|change)\b", re.I)


def wants_wording(question: str) -> bool:
    return bool(_WANTS_WORDING.search(question))


def readable(units: list[Unit], question: str) -> list[Unit]:
    """The units that read as advice on their own (see :mod:`assistant.answering.shapes`).

    Dropped: sentences about the guide itself ("This guide focuses on ...") and the items they introduce; a line that continues a sentence
    cut before it ("…can significantly improve your competitiveness.") unless it closes a list; bare labels
    ("IMG Friendliness.") unless they introduce items (then they are shown with them);
    questions the guide asks itself (a list's items may be questions: those stay);
    the guides' example sentences (a quotation, the applicant's "I ..."), unless the
    question asks for wording: then they stay, marked to be shown as the guide's example.
    """
    wording = wants_wording(question)
    introduces = {(u.hit_index, u.lead_in) for u in units if u.is_item and u.lead_in}
    out = []
    for u in units:
        if is_about_the_guide(u.text) or (u.is_item and is_about_the_guide(u.lead_in)) or (continues_a_sentence(u.text) and not u.is_item):
            continue  # (a continuation that closes a list is one of its items: passage_units; the items of "This guide will
            # walk you through ...:" are its table of contents)
        quoted = is_quotation(u.text) or speaks_first_person(u.text)
        under_example = bool(u.lead_in) and bool(_EXAMPLE_LEAD.search(u.lead_in)) and (u.text.startswith(("“", '"')) or quoted)
        if quoted or under_example:
            if not wording:
                continue
            u.example = True
        elif is_label(u.text) and (u.hit_index, u.text) not in introduces and not (u.is_item and u.lead_in.rstrip().endswith(":")):
            continue  # a label with nothing under it says nothing ("Backup pathways.")
        elif not u.is_item and u.text.rstrip().endswith("?"):
            continue  # a question the guide asks itself ("Low Step 2 CK: Can You Still Match ...?") answers nothing
        out.append(u)
    return out


# ---------------------------------------------------------------- scoring


def _idf(retriever) -> dict[str, float]:
    """Inverse document frequency of each token over the live library's passages (no index: none)."""

    def build(rows: list[dict]) -> dict[str, float]:
        df: dict[str, int] = {}
        for r in rows:
            for t in set(tokenize(r["text"])):
                df[t] = df.get(t, 0) + 1
        n = max(1, len(rows))
        return {t: math.log(1 + n / c) for t, c in df.items()}

    return retriever.memo("idf", build)


def _score_units(question: str, units: list[Unit], idf: dict[str, float], faq_at: int | None, field: str | None = None) -> None:
    """Meaning (cosine) + the question's distinctive words in the unit and its lead-ins + small priors.

    ``field``: the specialty the question names, when the units are that field's passages. Its name
    ("internal medicine") chose those passages and so says nothing about which of their lines answers.
    """
    q = set(tokenize(question)) - (set(tokenize(field.replace("-", " "))) if field else set())
    default = max(idf.values()) if idf else 1.0
    q_weight = sum(idf.get(t, default) for t in q) or 1.0
    for u in units:
        toks = set(tokenize(f"{u.text} {u.lead_in} {u.context}"))
        overlap = sum(idf.get(t, default) for t in q & toks) / q_weight
        faq_bonus = FAQ_BONUS if u.hit_index == faq_at and u.order == 0 else 0.0
        short_pen = 0.1 if len(u.text.split()) < 5 and not u.lead_in else 0.0
        u.score = W_SIM * u.sim + W_LEX * overlap + W_RANK * (u.hit_index == 0) + W_ITEM * u.is_item + faq_bonus - short_pen


def _faq_question(hit: Hit) -> str:
    """The question an FAQ passage answers (its heading, when that ends in "?"), else ""."""
    head = hit.section.split(" > ")[-1].strip()
    return head if head.endswith("?") else ""


def _faq_match(question: str, hit: Hit) -> bool:
    head = _faq_question(hit)
    if not head:
        return False
    a, b = set(tokenize(question)), set(tokenize(head))
    return bool(a) and len(a & b) / max(1, min(len(a), len(b))) >= 0.5


# ---------------------------------------------------------------- selection


class _Selection:
    """The units chosen so far, in the order chosen, and the displayed words they take."""

    def __init__(self, per: list[list[Unit]]):
        self.per = per  # the units of each passage
        self.chosen: list[Unit] = []
        self.seen: set[str] = set()
        self.on_screen: set[tuple[int, str]] = set()  # (passage, line) already shown: its items need no lead-in
        self.words = 0

    def items_of(self, u: Unit) -> list[Unit]:
        return [x for x in self.per[u.hit_index] if x.is_item and x.lead_in == u.text]

    def introduces(self, u: Unit) -> bool:
        return u.text.rstrip().endswith(":") or bool(self.items_of(u))

    def cost(self, u: Unit) -> int:
        w = len(u.text.split()) + len(u.prefix.split())
        if u.is_item and u.lead_in and (u.hit_index, u.lead_in) not in self.on_screen:
            w += len(u.lead_in.split())
        return w

    def add(self, u: Unit) -> None:
        self.words += self.cost(u)
        self.chosen.append(u)
        self.seen.add(_key(u.text))
        self.on_screen.add((u.hit_index, u.text))
        if u.is_item and u.lead_in:
            self.on_screen.add((u.hit_index, u.lead_in))
            self.seen.add(_key(u.lead_in))

    def take(self, u: Unit) -> None:
        """Add ``u`` and, if it introduces something, what it introduces (a lead-in that says something whole
        without its list, :func:`~assistant.answering.shapes.states_on_its_own`, is said alone when its list is not here)."""
        self.add(u)
        if self.introduces(u) and not (not self.items_of(u) and states_on_its_own(u.text)):
            self.bring(u)

    def bring(self, u: Unit, follow: bool = True) -> None:
        """An introducing line brings what it introduces: its items, else the line after it."""
        kids = self.items_of(u)
        if not kids:
            nxt = [x for x in self.per[u.hit_index] if x.order == u.order + 1]
            if follow and nxt and _key(nxt[0].text) not in self.seen and self.words + self.cost(nxt[0]) <= MAX_WORDS:
                self.add(nxt[0])
                if nxt[0].text.rstrip().endswith(":") or self.items_of(nxt[0]):
                    self.bring(nxt[0], follow=False)
            return
        for x in kids[:LIST_ITEMS]:
            if _key(x.text) in self.seen:
                continue
            if self.words + self.cost(x) > MAX_WORDS:
                break
            self.add(x)

    def best_next(self, units: list[Unit]) -> Unit | None:
        """The unit worth most now: score less its displayed words and the points its passage already gave."""
        best, best_value = None, 0.0
        for u in units:
            if _key(u.text) in self.seen:  # the same sentence in two passages (or twice in a guide) is said once
                continue
            c = self.cost(u)
            if self.words + c > MAX_WORDS:
                continue
            value = u.score - W_COST * c - W_SPREAD * sum(1 for x in self.chosen if x.hit_index == u.hit_index)
            if best is None or value > best_value:
                best, best_value = u, value
        return best


_YES_NO = re.compile(r"(?:^|[.!?,;]\s+)(?:is|are|am|do|does|did|can|could|should|will|would|has|have|must)\b[^.!?]*(?:\?|$)", re.I)  # typed questions often lack the "?"
#: A question that asks for a list: the list is the answer, shown whole under its lead-in.
_ASKS_LIST = re.compile(r"\b(?:steps|step(?!\s*[123]\b)|tiers?|stages?|parts?|structure|template|framework|list|types|kinds|categories|options|ways|components|elements)\b|\bwhat are (?:the|my)\b", re.I)
#: A question about where the applicant's own number stands: the band that holds it is the answer.
_ASKS_STANDING = re.compile(r"\b(?:chances?|odds|shot|competitive|competitiveness|enough|good|bad|ok|okay|fine|decent|low|high|realistic|possible|match|stand|where does|too (?:old|late))\b", re.I)
#: A lead-in that gives the words to use ("Instead of “Observed clinic,” write:", "Say it like this:"), not one that
#: quotes what others say ("You will likely be asked:").
_GIVES_WORDING = re.compile(r"\b(?:write|say|phrase|word|put)\b[^:]*:\s*$", re.I)
_YES_NO_ANSWER = re.compile(r"^(?:yes|no)\b\s*[,.!;:—–-]", re.I)  # "No, ...", "Yes." (not "No clear improvement ...")


def _number_matches(numbers, per: list[list[Unit]], hits: list[Hit], field: str) -> list[tuple[Unit, str]]:
    """Units whose band, range or condition holds the applicant's own number, each with the phrase that says so.

    Only from passages of ``field``, the answer's specialty (:func:`~assistant.answering.condense.field_of`):
    a genetics band says nothing about an internal medicine score. ``hits[k]`` is the passage of ``per[k]``.
    """
    if numbers is None or not numbers.any():
        return []
    from assistant.answering.numbers import matching

    found = []
    for us, hit in zip(per, hits):
        if hit.specialty != field:
            continue
        for u in us:
            for m in matching(numbers, [{"text": u.text, "lead_in": u.lead_in}]):
                found.append((m.is_cutoff, u.hit_index, m.condition.low is None or m.condition.high is None, u.order, u, m.phrase()))
    if any(not f[0] for f in found):  # a band holds the number: a program's example cutoff adds nothing
        found = [f for f in found if not f[0]]
    out, seen = [], set()
    for *_, u, phrase in sorted(found, key=lambda f: f[:4]):  # a band before a program's cutoff; then the best passage first
        if id(u) not in seen:
            seen.add(id(u))
            out.append((u, phrase))
    return out


def _dangling(sel: "_Selection", u: Unit) -> bool:
    """A lead-in ("Concerns arise when:") whose items are not among the readable units: it would say nothing.

    Not one that says something whole without them ("Unexplained or poorly explained gaps can be significant red
    flags:"): that is shown as a sentence (:func:`as_statement`).
    """
    return u.text.rstrip().endswith(":") and not sel.items_of(u) and not states_on_its_own(u.text)


#: A question asking for a quantity ("how many programs", "what score", "how long"): a line stating a number answers it.
_ASKS_NUMBER = re.compile(r"\bhow (?:many|much|long|often)\b|\bwhat (?:\w+ ){0,3}?(?:score|percentage|percent|number|range|cutoff)s?\b", re.I)
_NUMBER = re.compile(r"\d")


def _fragment(u: Unit) -> bool:
    """A few words with no sentence end and nothing introducing them ("Cause (brief, non-graphic)"): a name, not an answer."""
    return not u.lead_in and len(u.text.split()) < LEAD_MIN_WORDS and not u.text.rstrip().endswith((".", "!", "?", ":", "…"))


def _choose_lead(question: str, per: list[list[Unit]], units: list[Unit], sel: "_Selection", faq_at: int | None, asking: str) -> Unit:
    """The answer's first line: an FAQ's own first statement; else the best statement of the top passage (a lead-in
    only when the question asks for a list, and then the list's own lead-in; never a bare name, :func:`_fragment`;
    a line stating a number counts W_NUMBER more when ``asking``, the question's asked part, wants a quantity); a Yes/No line instead
    when the question asks one and that line scores close to the best or is as close in meaning (a word
    match on "mean" or "basically" can lift an unrelated line's score, not its cosine)."""
    def fit(u: Unit) -> bool:  # an example is said after the advice it illustrates; a question ("Career goals: physician-scientist?") answers nothing
        return not _dangling(sel, u) and not u.example and not _fragment(u) and not u.text.rstrip().endswith("?")

    first = [u for us in per[:LEAD_POOL] for u in us if fit(u)] or [u for u in units if fit(u)] or units

    def intro(u: Unit) -> bool:  # a lead-in is not an answer ("Programs think about these issues differently:")
        return (u.text.rstrip().endswith(":") and not _YES_NO_ANSWER.match(u.text) and not _ASKS_LIST.search(question)
                and not states_on_its_own(u.text) and not shows_examples(u))

    def shows_examples(u: Unit) -> bool:  # asked for wording: "Instead of “Observed clinic,” write:" and its example answer
        kids = sel.items_of(u)
        return bool(_GIVES_WORDING.search(u.text)) and bool(kids) and all(k.example for k in kids)

    opening = sorted((u for u in per[faq_at] if fit(u)), key=lambda u: u.order) if faq_at is not None else []
    if opening:  # a matching FAQ opens with the direct answer ("Yes, it is possible, ..."): its first statement leads
        return next((u for u in opening if not intro(u)), opening[0])
    number = W_NUMBER if _ASKS_NUMBER.search(asking) else 0.0
    best = max(first, key=lambda u: u.score + number * bool(_NUMBER.search(u.text)))
    if intro(best):
        said = [u for u in first if not intro(u)]
        if said:
            best = max(said, key=lambda u: u.score)
    if best.is_item and best.lead_in and _ASKS_LIST.search(question):
        opener = next((u for u in per[best.hit_index] if not u.is_item and u.text == best.lead_in), None)
        if opener is not None and not _dangling(sel, opener) and opener.text.rstrip().endswith(":"):
            return opener  # "the four steps": the line that introduces the list, then the list (not a label: "AMA FREIDA Online")
    if _YES_NO.search(question):
        yes_no = [u for u in units if _YES_NO_ANSWER.match(u.text) and not u.example and not _dangling(sel, u)]
        if yes_no:
            top = max(yes_no, key=lambda u: u.score)
            if top.score >= YES_NO_SHARE * best.score or (top.sim >= best.sim and not top.text.rstrip().endswith(":")):  # as close in meaning
                return top
    return best


def compose_extractive(question: str, hits: list[Hit], retriever=None, numbers=None, said=()) -> tuple[str, list[int]]:
    """Answer text with ``[n]`` markers (n = 1-based index into ``hits``) and the hit indices used.

    The lead line answers first: the guide statement whose band or condition holds
    the applicant's own number (``numbers``, an
    :class:`~assistant.answering.numbers.ApplicantNumbers`), said so; else the FAQ
    answer when the top passage is a matching FAQ; else a Yes/No line when the
    question asks one; else the best line of the top passage. Then supporting
    points from the top POOL passages, best first, while they fit in MAX_WORDS
    displayed words. Every line is quoted verbatim (an example is marked as the
    guide's example); a list item is shown under (or after) the line that
    introduces it, and a chosen introducing line brings its items. Lines in
    ``said`` (the statements of a conflict shown above the answer) are not said again, and their words count
    toward MAX_WORDS.
    """
    retriever = retriever or get_retriever()
    idf = _idf(retriever)
    named = named_field(question, hits)
    header = ""
    if named and not (numbers is not None and numbers.any()) and not field_covers(question, hits, named):
        # the named field's guide does not speak to this: say so, then what the other guides say (for their fields);
        # not when the applicant gives a number: the field's bands are its answer (another field's band is none)
        header = not_covered_by(named, hits)
        keep = [i for i, h in enumerate(hits) if h.specialty != named][:POOL]
    elif named:  # "... for internal medicine": another specialty's passages are not quoted (general ones are)
        keep = [i for i, h in enumerate(hits) if h.specialty in (named, "any")][:POOL] or list(range(min(POOL, len(hits))))
    else:
        keep = list(range(min(POOL, len(hits))))
    pool = hits[: keep[-1] + 1] if keep else []  # ``per`` stays indexed by rank: a passage not kept has no units
    per = [readable(passage_units(h, i), question) if i in keep else [] for i, h in enumerate(pool)]
    field = field_of(question, pool)
    matched = _number_matches(numbers, per, hits, field)
    if numbers is not None and numbers.any() and not matched:
        # the applicant's own number is a strong signal: a passage further down whose band holds it is quoted too
        # (``per`` stays indexed by the passage's rank, so its [n] still points at it)
        for i in range(len(pool), len(hits)):
            units_i = readable(passage_units(hits[i], i), question)
            matched = _number_matches(numbers, [units_i], hits[i : i + 1], field)
            if matched:
                per = per + [[] for _ in range(len(per), i)] + [units_i]
                pool = hits[: i + 1]
                break
    if said:
        already = {_key(t) for t in said}
        per = [[u for u in us if _key(u.text) not in already] for us in per]
    units = [u for us in per for u in us]
    if not units:
        return "", []
    for u in units:
        if u.example:
            u.prefix = "The guide's example"
    faq_at = next((i for i, h in enumerate(pool[:FAQ_POOL]) if per[i] and _faq_match(question, h)), None)
    _score_units(question, units, idf, faq_at, None if header else named)
    sel = _Selection(per)
    sel.words = sum(len(t.split()) for t in said)  # a conflict's statements, shown above, take their words of the budget
    for u, phrase in matched:
        u.prefix = phrase
    # the band leads when the question is about the number ("is 238 enough?") or the top passage states it;
    # asked something else ("236: how many backup programs?"), the answer leads and the band follows
    asking = asked_part(question)
    band_leads = bool(matched) and (matched[0][0].hit_index == 0 or bool(_ASKS_STANDING.search(asking)))
    lead = matched[0][0] if band_leads else _choose_lead(question, per, units, sel, faq_at, asking)
    if not lead.prefix and _YES_NO_ANSWER.match(lead.text):
        asked = _faq_question(pool[lead.hit_index])
        if asked:  # a bare "Yes, ..." answers the guide's question, which may not be the applicant's ("off the table?")
            lead.prefix = f"The guide's answer to “{asked}”"
    sel.take(lead)
    for u, _ in matched[(1 if band_leads else 0) : 1 + MAX_NUMBER_POINTS]:  # guides that disagree: each band that holds the number is said
        if _key(u.text) not in sel.seen:
            sel.add(u)
    while len(sel.chosen) <= MAX_POINTS:
        best = sel.best_next(units)
        if best is None or best.score < MIN_POINT:
            break
        if _dangling(sel, best) or (best.example and sum(u.example for u in sel.chosen) >= MAX_EXAMPLES):
            sel.seen.add(_key(best.text))  # a lead-in with nothing to bring, or one example too many
            continue
        sel.take(best)
    text, used = render(lead, sel.chosen)
    return (f"{header}\n{text}" if header else text), used


def not_covered_by(field: str, hits: list[Hit]) -> str:
    """The line that opens an answer the named field's guide cannot give (:func:`~assistant.answering.scope.field_covers`)."""
    guides = {h.source for h in hits if h.specialty == field}
    name = field.replace("-", " ")
    what = f"The {name} guides don't" if len(guides) > 1 else f"The {name} guide doesn't"
    return f"{what} cover this. Here is what the other guides say, for their own specialties."


# ---------------------------------------------------------------- rendering


def _quoted(u: Unit) -> str:
    """A unit said after its prefix: "Your 238 is in the guide's 235–245 band: “Realistic chance ...”"."""
    t = u.text.strip()
    label, colon, rest = t.partition(":")
    if colon and rest.strip() and re.search(r"\d", label) and len(label.split()) <= 3:
        t = rest.strip()  # "235–245: Realistic chance ...": the band is already in the prefix
    if not t.startswith(("“", '"')):
        t = f"“{t}”"
    return f"{u.prefix}: {t}"


def _joined(u: Unit) -> str:
    """A list item shown without its introducing line: "Programs value: strong letters"."""
    if u.prefix:
        return _quoted(u)
    if not (u.is_item and u.lead_in):
        return u.text
    word = re.match(r"[A-Za-z]+", u.text)
    second = u.text[len(word.group()) :].split()[:1] if word else []
    lower = word and (word.group() == "A" or (len(word.group()) > 1 and word.group()[1:].islower()))
    lower = lower and not (second and (second[0][:1].isupper() or second[0][:1].isdigit()))  # "Medical Genetics", "Step 1": names
    text = u.text[0].lower() + u.text[1:] if lower else u.text
    return f"{u.lead_in.rstrip(':')}: {text}"  # "Programs value: strong letters", "Use: NRMP data"


def _layout(lead: Unit, chosen: list[Unit]) -> tuple[dict[int, list[Unit]], list[tuple[tuple, str, object]]]:
    """Where each chosen unit goes: under a chosen parent line (``children``), or a top-level entry.

    Entries are ``(sort key, "line", unit)`` or ``(sort key, "list", [items of one unchosen lead-in])``.
    """
    by_line = {(u.hit_index, u.text): u for u in chosen}
    lead_list = (lead.hit_index, lead.lead_in) if lead.is_item and lead.lead_in else None
    children: dict[int, list[Unit]] = {}
    groups: dict[tuple[int, str], list[Unit]] = {}
    entries: list[tuple[tuple, str, object]] = []
    for u in sorted((u for u in chosen if u is not lead), key=lambda u: (u.hit_index, u.order)):
        key = (u.hit_index, u.lead_in)
        parent = by_line.get(key) if u.is_item and u.lead_in else None
        if parent is not None:
            children.setdefault(id(parent), []).append(u)
        elif u.is_item and u.lead_in and key != lead_list:
            if key not in groups:
                groups[key] = []
                entries.append(((u.hit_index, u.order), "list", groups[key]))
            groups[key].append(u)
        else:  # a sentence, or another item of the lead's own list (shown right after the lead)
            entries.append(((-1, u.order) if key == lead_list else (u.hit_index, u.order), "line", u))
    return children, entries


def render(lead: Unit, chosen: list[Unit]) -> tuple[str, list[int]]:
    """The lead line, then bullets in passage order; items nest under their introducing line.

    An item whose introducing line was not chosen is shown as "Lead-in: item", or, when
    several of its items were chosen, under the introducing line quoted once.
    """
    used: list[int] = []

    def mark(u: Unit) -> str:
        if u.hit_index not in used:
            used.append(u.hit_index)
        return f"[{u.hit_index + 1}]"

    children, entries = _layout(lead, chosen)
    # a heading that is an item of its lead-in's list ("Timeline and Gap Concerns") is not joined to it: the lead-in
    # is said first, the heading under it with its items ("...radiology: timeline and Gap Concerns." reads garbled)
    titled = bool(lead.is_item and lead.lead_in and not lead.prefix and is_label(lead.text) and children.get(id(lead)))
    first = as_sentence(lead.lead_in if titled else _joined(lead))
    lines = [f"{first if children.get(id(lead)) else as_statement(first)} {mark(lead)}"]

    def emit(u: Unit, depth: int, text: str | None = None, under: str = "") -> None:
        shown = as_sentence(text or (_quoted(u) if u.prefix else u.text))
        kids = children.get(id(u), [])
        if not kids:
            shown = as_statement(shown)
        if shown.endswith(":") and not kids:
            return  # a lead-in whose items were not chosen says nothing
        if not kids and not under.endswith(":") and not u.prefix and is_label(shown):
            return  # a step title or label whose lines were not chosen ("Explain, Don't Excuse.") says nothing
        lines.append(f"{'  ' * depth}- {shown} {mark(u)}")
        for k in kids:
            emit(k, depth + 1, under=shown)

    if titled:  # "…relevant to diagnostic radiology:", then "- Timeline and Gap Concerns." with its own items
        lines.append(f"- {as_sentence(lead.text)} {mark(lead)}")
    for k in children.get(id(lead), []):  # the lead introduces a list: its items are the first bullets
        emit(k, 1 if titled else 0, under=lead.text)
    for _, kind, x in sorted(entries, key=lambda e: e[0]):
        if kind == "line":
            emit(x, 0)
        elif len(x) == 1 and not (is_label(x[0].text) and children.get(id(x[0]))):  # (a heading is not joined either)
            emit(x[0], 0, _joined(x[0]))
        else:
            lines.append(f"- {as_sentence(x[0].lead_in)} {mark(x[0])}")
            for u in x:
                emit(u, 1, under=x[0].lead_in)
    while lines and re.sub(r"\s*\[\d+\]$", "", lines[-1]).endswith(":"):
        lines.pop()  # never end on a lead-in
    return "\n".join(lines), used


def as_statement(text: str) -> str:
    """A lead-in shown without its list, when it says something whole (:func:`~assistant.answering.shapes.states_on_its_own`),
    ends as a sentence: "... can be significant red flags." Any other line is returned as it is."""
    return f"{text.rstrip()[:-1]}." if states_on_its_own(text) else text


def as_sentence(text: str) -> str:
    """``text`` as a displayed sentence: capitalised, a trailing "," or ";" dropped, a full stop added."""
    t = text.strip()
    t = re.sub(r"[,;]\s*(?:or|and)$", "", t)  # an item that ran on into the next one ("There are multiple exam failures, or")
    if t.endswith((",", ";")):  # ("Complete coverage at least once,")
        t = t[:-1].rstrip()
    if t and t[-1] not in ".!?:…\"”)":
        t += "."
    return t[0].upper() + t[1:] if t else t
