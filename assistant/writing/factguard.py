"""Fact guard: code that proves a draft adds no fact the applicant did not give.

A drafted red-flag explanation is only useful if every concrete claim in it is
the applicant's own. An invented Step score, date, hospital or mentor's name
would be worse than no draft at all, and a language model asked to "polish" a
paragraph is exactly the kind of writer that invents them. So every draft, the
template's and the model's, goes through :func:`check` before it is returned.

What is checked (each *mention in the draft* must be backed by the *facts*):

``number``
    Every run of digits (a score, a year, a count, the ``1`` in ``Step 1`` or
    ``J-1``) and every number word (``two``, ``twice``, ``second``, ``single``)
    must appear in the facts with the same value, and in a similar place: at
    least one content word near the mention (4 tokens either side) must also be
    near that value in the facts. This catches a real number moved into the
    wrong claim ("I passed on my second attempt" when the facts only say
    ``Step 2 CK``). Alphanumeric tokens such as ``H-1B`` must match a facts
    token as a whole.
``date``
    Month and weekday names and seasons must appear in the facts.
``duration``
    Time units (``day``, ``week``, ``month``, ``year``, ``decade``,
    ``semester``) must appear in the facts: "a year of preparation" states a
    length the applicant may not have given.
``quantity``
    Vague counts that still assert a fact (``multiple``, ``several``,
    ``numerous``, ``repeated``, ``again``) must appear in the facts.
``proper-noun`` / ``acronym`` / ``name`` / ``institution``
    Every capitalised word that is not an ordinary sentence-initial word or
    ``I`` must appear in the facts (case-insensitively), and every run of two
    or more capitalised words (``University of Lagos``, ``Mercy Hospital``)
    must appear in the facts as a whole, so that real words cannot be
    recombined into an invented institution.
``experience``
    Words that name an experience or an outcome (passed, failed, score,
    observership, research, publication, letter, mentor, visa, probation,
    patient, ...) must appear in the facts or in the *vocabulary* the caller
    allows (the template's own wording). This is a heuristic net for invented
    experiences; the guarantees above are the hard ones.

Text in ``[square brackets]`` is a placeholder the applicant fills in later and
is skipped. A sentence-initial capitalised word is ordinary when its lowercase
form is a common English word, a word of the facts, or a word of the
vocabulary.

Known limits (documented, tested where possible): a number copied verbatim
next to the same words but re-attributed in meaning is not caught; invented
content made only of ordinary lowercase words that are not on the experience
list ("I counselled families") is not caught. Templates avoid both by
construction: they copy the applicant's sentences and add only connecting
phrases that state no fact.

The word lists named above (number words, months, time units, quantity and
experience words, the common words that may start a sentence, name connectors,
titles, institution words) are data: ``assistant/data/writing/lexicon.json``,
read at first use by :mod:`assistant.writing.lexicon`. The module is over 400
lines on purpose: every check reads the same token stream and facts index, and
the guarantees above are easier to audit against the code in one file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from assistant.errors import AdvisorError
from assistant.text import normalize
from assistant.writing.lexicon import lexicon


def _guard_text(text: str) -> str:
    """:func:`assistant.text.normalize`, keeping line breaks: a line start is a sentence start for the guard."""
    return normalize(text, keep_newlines=True)

__all__ = [
    "FactGuardError",
    "GuardReport",
    "Violation",
    "check",
    "enforce",
    "normalize",
    "strip_placeholders",
    "PLACEHOLDER_RE",
]


class FactGuardError(AdvisorError):
    """A draft failed the fact guard and was withheld (one line naming the first violations)."""


#: A visible placeholder the applicant fills in, e.g. ``[what you changed since]``.
PLACEHOLDER_RE = re.compile(r"\[[^\[\]\n]*\]")

# A token: letters/digits, with inner apostrophes, dots, hyphens or slashes ("H-1B", "U.S", "I've").
_TOKEN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9'.\-/]*[A-Za-z0-9])?")
_DIGITS_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_ORDINAL_SUFFIX_RE = re.compile(r"^\d+(?:st|nd|rd|th|s)?$", re.IGNORECASE)

# The word lists (number words, months, time units, experience terms, common words, ...) are data:
# assistant/data/writing/lexicon.json, loaded by assistant.writing.lexicon at first use.
_WINDOW = 4  # tokens either side of a number that make up its neighbourhood
_I_FORMS = ("I", "I'm", "I've", "I'd", "I'll")

def strip_placeholders(text: str) -> str:
    """The text with every ``[placeholder]`` replaced by a space (placeholders state no fact)."""
    return PLACEHOLDER_RE.sub(" ", text)


@dataclass
class Violation:
    """One mention in a draft that the facts do not back."""

    kind: str  # number | date | duration | quantity | proper-noun | acronym | name | institution | experience
    token: str
    context: str  # a few words around the mention
    message: str

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.message


@dataclass
class GuardReport:
    """The result of :func:`check`: ``ok`` when there are no violations."""

    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> list[dict]:
        return [v.to_json() for v in self.violations]

    def summary(self, limit: int = 3) -> str:
        parts = [v.message for v in self.violations[:limit]]
        more = len(self.violations) - limit
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


@dataclass
class _Tok:
    text: str
    start: int
    initial: bool  # first word of a sentence (or after a colon / line break)


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0).rstrip(".")  # "Dr." -> "Dr", "U.S." -> "U.S"
        if not raw:
            continue
        before = text[: m.start()].rstrip(" \t\"'([{*-\u2014\u2013")
        initial = not before or before[-1] in ".!?:\n"
        out.append(_Tok(raw, m.start(), initial))
    return out


def _digit_values(token: str) -> list[str]:
    return [d.replace(",", "") for d in _DIGITS_RE.findall(token)]


def _content(words: Iterable[str]) -> set[str]:
    stop = lexicon().stopwords
    return {w for w in words if len(w) >= 3 and w not in stop and not any(c.isdigit() for c in w)}


@dataclass
class _FactIndex:
    """Everything about the facts that :func:`check` compares against, built once per call."""

    words: set[str]  # casefolded tokens and their hyphen/slash parts
    squashed: set[str]  # casefolded tokens without hyphens/dots (H-1B == H1B)
    text_cf: str  # casefolded, single-spaced full text (for multiword names)
    numbers: dict[str, list[tuple[str | None, set[str]]]]  # value -> (identifier label, content words around) per mention

    @classmethod
    def build(cls, facts: Sequence[str]) -> "_FactIndex":
        words: set[str] = set()
        squashed: set[str] = set()
        numbers: dict[str, list[set[str]]] = {}
        chunks = []
        for fact in facts:
            text = _guard_text(strip_placeholders(fact or ""))
            chunks.append(text)
            toks = _tokens(text)
            lowered = [t.text.casefold() for t in toks]
            for i, t in enumerate(toks):
                cf = t.text.casefold()
                words.add(cf)
                words.update(p for p in re.split(r"[-/]", cf) if p)
                squashed.add(re.sub(r"[-./]", "", cf))
                ident = _identifier_of(toks, i)
                for value in _mention_values(cf):
                    window = lowered[max(0, i - _WINDOW): i] + lowered[i + 1: i + 1 + _WINDOW]
                    numbers.setdefault(value, []).append((ident, _content(window)))
        text_cf = " ".join(" ".join(chunks).casefold().split())
        return cls(words, squashed, text_cf, numbers)


def _identifier_of(toks: list[_Tok], i: int) -> str | None:
    """The label a number belongs to when it is part of a name ("Step 2", "Level 1", "J-1"), else None.

    A number in a name is an identifier, not a quantity: the ``2`` of ``Step 2 CK``
    must not license "twice" or "my second attempt". Months and ordinary words
    before a number ("in 2021", "June 2021") do not make it an identifier.
    """
    word = toks[i].text
    if any(c.isalpha() for c in word) and any(c.isdigit() for c in word):
        return "~" + re.sub(r"[\d\-./]", "", word.casefold())  # J-1, H-1B, 2nd -> letters part
    if i == 0 or not any(c.isdigit() for c in word):
        return None
    prev = toks[i - 1].text
    pcf = prev.casefold()
    lx = lexicon()
    if _is_capitalised(prev) and pcf not in lx.common_words and pcf not in lx.months and not any(c.isdigit() for c in prev):
        return pcf
    return None


def _mention_values(cf_token: str) -> list[str]:
    """Numeric values a (casefolded) token states: its digit runs, or a number word's value."""
    if any(c.isdigit() for c in cf_token):
        return _digit_values(cf_token)
    lx = lexicon()
    if cf_token in lx.number_words and cf_token not in lx.ambiguous_number_words:
        return [str(lx.number_words[cf_token])] if cf_token != "half" else ["half"]
    return []


def _context(text: str, start: int) -> str:
    lo = max(0, start - 40)
    hi = min(len(text), start + 40)
    return " ".join(text[lo:hi].split())


def _is_capitalised(word: str) -> bool:
    return any(c.isupper() for c in word)


def check(text: str, facts: Sequence[str], vocabulary: Iterable[str] = ()) -> GuardReport:
    """Every number, date, duration, proper noun, institution and experience word in ``text`` must come from ``facts``.

    ``facts`` are the applicant's own strings (plus any field values such as the
    specialty's display name). ``vocabulary`` is a set of ordinary words the
    caller's templates use (it may start sentences and may name experience
    words such as "residency"); it never licenses numbers, dates, durations or
    capitalised names. Returns a :class:`GuardReport`; never raises on content.
    """
    if isinstance(facts, str):
        facts = [facts]
    return _Checker(text, list(facts), vocabulary).run()


class _Checker:
    """One :func:`check` call: the facts index, the draft's tokens, and the violations found so far."""

    def __init__(self, text: str, facts: list[str], vocabulary: Iterable[str]) -> None:
        self.lx = lexicon()
        self.idx = _FactIndex.build(facts)
        self.vocab = {v.casefold() for v in vocabulary}
        self.allowed_lower = self.lx.common_words | self.idx.words | self.vocab
        self.body = _guard_text(strip_placeholders(text or ""))
        self.toks = _tokens(self.body)
        self.lowered = [t.text.casefold() for t in self.toks]
        self.violations: list[Violation] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, kind: str, token: str, start: int, message: str) -> None:
        key = (kind, token.casefold())
        if key in self.seen:
            return
        self.seen.add(key)
        self.violations.append(Violation(kind, token, _context(self.body, start), message))

    def run(self) -> GuardReport:
        for i, tok in enumerate(self.toks):
            cf = self.lowered[i]
            values = _mention_values(cf)
            if values:
                self.number(i, tok, cf, values)
            elif not self.time_or_count(i, tok, cf) and not self.capitalised(i, tok, cf):
                self.experience(tok, cf)
        self.capitalised_runs()
        return GuardReport(self.violations)

    def number(self, i: int, tok: _Tok, cf: str, values: list[str]) -> None:
        """Digits and number words: the same value in the facts, in a similar place (a shared neighbour word)."""
        word = tok.text
        if any(c.isdigit() for c in cf):
            letters = re.sub(r"[\d,.\-/]", "", cf)
            if letters and not _ORDINAL_SUFFIX_RE.match(cf) and re.sub(r"[-./]", "", cf) not in self.idx.squashed:
                self.add("number", word, tok.start, f"'{word}' is not in the facts given")
                return
        lowered = self.lowered
        window = _content(lowered[max(0, i - _WINDOW): i] + lowered[i + 1: i + 1 + _WINDOW])
        ident = _identifier_of(self.toks, i)
        for value in values:
            mentions = self.idx.numbers.get(value)
            if not mentions:
                self.add("number", word, tok.start, f"number '{word}' is not in the facts given")
                return
            same_role = [m for label, m in mentions if label == ident or (ident and ident.startswith("~"))]
            if not same_role:
                self.add("number", word, tok.start, f"number '{word}' is used in a claim the facts do not make")
                return
            if window and not any(not m or (m & window) for m in same_role):
                self.add("number", word, tok.start, f"number '{word}' is used in a claim the facts do not make")
                return

    def time_or_count(self, i: int, tok: _Tok, cf: str) -> bool:
        """Dates, durations and vague counts; True when ``tok`` is one (checked), False to look further."""
        lx, words, word = self.lx, self.idx.words, tok.text
        if cf in lx.months and (cf not in lx.month_common_words or (_is_capitalised(word) and not tok.initial)
                                or (i + 1 < len(self.toks) and self.toks[i + 1].text[:1].isdigit())):
            month = lx.months[cf]
            if not any(lx.months.get(w) == month for w in words):
                self.add("date", word, tok.start, f"date '{word}' is not in the facts given")
            return True
        if cf in lx.weekdays or cf in lx.seasons:
            if cf not in words:
                self.add("date", word, tok.start, f"date '{word}' is not in the facts given")
            return True
        if cf in lx.time_units:
            unit = lx.time_units[cf]
            if not any(lx.time_units.get(w) == unit for w in words):
                self.add("duration", word, tok.start, f"time span '{word}' is not in the facts given")
            return True
        if cf in lx.quantity_words:
            if cf not in words and cf not in self.vocab:
                self.add("quantity", word, tok.start, f"'{word}' states a count the facts do not give")
            return True
        return False

    def capitalised(self, i: int, tok: _Tok, cf: str) -> bool:
        """Names, institutions, acronyms; True when ``tok`` is capitalised (checked), False otherwise."""
        word = tok.text
        if not _is_capitalised(word) or cf in ("i", "i'm", "i've", "i'd", "i'll"):
            return False
        parts = [p for p in re.split(r"[-/]", word) if p]
        ordinary_initial = tok.initial and word[:1].isupper() and word[1:] == word[1:].lower() and cf in self.allowed_lower
        if ordinary_initial:
            return True
        for part in parts:
            pcf = part.casefold()
            if not _is_capitalised(part) or pcf in self.idx.words or re.sub(r"[.']", "", pcf) in self.idx.squashed:
                continue
            prev = self.lowered[i - 1] if i else ""
            if sum(c.isupper() for c in part) >= 2:
                kind = "acronym"
            elif prev in self.lx.titles or pcf in self.lx.titles:
                kind = "name"
            elif pcf in self.lx.institution_words:
                kind = "institution"
            else:
                kind = "proper-noun"
            self.add(kind, part, tok.start, f"{kind.replace('-', ' ')} '{part}' is not in the facts given")
        return True

    def experience(self, tok: _Tok, cf: str) -> None:
        """Words naming an experience or outcome: the facts (or the caller's vocabulary) must use one of the same family."""
        for rx in self.lx.experience_res.values():
            if rx.match(cf):
                if not any(rx.match(w) for w in self.idx.words) and not any(rx.match(w) for w in self.vocab):
                    self.add("experience", tok.text, tok.start, f"'{tok.text}' names an experience or outcome the facts do not give")
                break

    def capitalised_runs(self) -> None:
        """Runs of capitalised words must appear whole in the facts (no recombined institutions)."""
        for run in _capitalised_runs(self.toks):
            words = [t.text for t in run]
            while words and run[0].initial and words[0].casefold() in self.allowed_lower and len(words) > 1:
                run, words = run[1:], words[1:]
            if len(words) < 2:
                continue
            phrase = " ".join(words)
            if " ".join(phrase.casefold().split()) not in self.idx.text_cf:
                kind = "institution" if any(w.casefold() in self.lx.institution_words for w in words) else "proper-noun"
                self.add(kind, phrase, run[0].start, f"{kind.replace('-', ' ')} '{phrase}' is not in the facts given")


def _capitalised_runs(toks: list[_Tok]) -> list[list[_Tok]]:
    """Maximal runs of capitalised tokens (joined by name connectors), within one sentence."""
    connectors = lexicon().name_connectors
    runs: list[list[_Tok]] = []
    cur: list[_Tok] = []
    pending: list[_Tok] = []
    for tok in toks:
        word = tok.text
        if cur and tok.initial:  # a new sentence ends a run
            runs.append(cur)
            cur, pending = [], []
        if _is_capitalised(word[:1]) and not word.isdigit() and word not in _I_FORMS:
            cur.extend(pending)
            pending = []
            cur.append(tok)
        elif cur and word.casefold() in connectors:
            pending.append(tok)
        else:
            if cur:
                runs.append(cur)
            cur, pending = [], []
    if cur:
        runs.append(cur)
    return [r for r in runs if sum(1 for t in r if _is_capitalised(t.text[:1])) >= 2]


def enforce(text: str, facts: Sequence[str], vocabulary: Iterable[str] = ()) -> str:
    """Return ``text`` if it passes :func:`check`, else raise :class:`FactGuardError` naming the violations."""
    report = check(text, facts, vocabulary)
    if not report.ok:
        raise FactGuardError(f"draft withheld by the fact guard: {report.summary()}")
    return text


# --------------------------------------------------------------------------- the other direction: nothing dropped


def key_facts(text: str) -> set[str]:
    """The hard facts a text states: digit runs and capitalised words that are not ordinary sentence starts."""
    body = _guard_text(strip_placeholders(text or ""))
    common = lexicon().common_words
    out: set[str] = set()
    for tok in _tokens(body):
        word = tok.text
        if any(c.isdigit() for c in word):
            out.update(_digit_values(word))
        elif _is_capitalised(word) and word not in _I_FORMS:
            if tok.initial and word[1:] == word[1:].lower() and word.casefold() in common:
                continue
            if not tok.initial or sum(c.isupper() for c in word) >= 2:
                out.add(word.casefold())
    return out


def lost_facts(candidate: str, original: str) -> list[str]:
    """Hard facts of ``original`` (numbers, names) that ``candidate`` no longer states, sorted."""
    have = {t.text.casefold() for t in _tokens(_guard_text(candidate or ""))}
    have |= {d for t in _tokens(_guard_text(candidate or "")) for d in _digit_values(t.text)}
    have |= {p for w in list(have) for p in re.split(r"[-/]", w) if p}
    return sorted(f for f in key_facts(original) if f not in have)


def content_recall(candidate: str, facts: Sequence[str]) -> float:
    """Share of the facts' content words (4+ letters, not function words) that ``candidate`` still uses (1.0 when none)."""
    common = lexicon().common_words
    want = {w for f in facts for w in re.findall(r"[a-z][a-z'\-]{3,}", _guard_text(strip_placeholders(f)).casefold()) if w not in common}
    if not want:
        return 1.0
    have = set(re.findall(r"[a-z][a-z'\-]{3,}", _guard_text(candidate or "").casefold()))
    return len(want & have) / len(want)
