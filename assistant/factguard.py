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
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from assistant.errors import AdvisorError

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

#: Number words and the value they state. Ordinals and "twice" count: "my second attempt" is a fact.
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "none": 0,
    "one": 1, "once": 1, "first": 1, "single": 1,
    "two": 2, "twice": 2, "second": 2, "pair": 2,
    "three": 3, "thrice": 3, "third": 3,
    "four": 4, "fourth": 4, "five": 5, "fifth": 5, "six": 6, "sixth": 6,
    "seven": 7, "seventh": 7, "eight": 8, "eighth": 8, "nine": 9, "ninth": 9,
    "ten": 10, "tenth": 10, "eleven": 11, "twelve": 12, "dozen": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "half": 0,
}
# "once" is far more often a conjunction ("once I changed ...") than a count; "none" is a pronoun.
_AMBIGUOUS_NUMBER_WORDS = {"once", "none"}

MONTHS = {
    "january": "january", "jan": "january", "february": "february", "feb": "february",
    "march": "march", "april": "april", "apr": "april", "may": "may", "june": "june", "jun": "june",
    "july": "july", "jul": "july", "august": "august", "aug": "august", "september": "september",
    "sep": "september", "sept": "september", "october": "october", "oct": "october",
    "november": "november", "nov": "november", "december": "december", "dec": "december",
}
# Lowercase words that are also month names/abbreviations: only a date when capitalised mid-sentence.
_MONTH_COMMON_WORDS = {"may", "march", "jan", "dec", "sep", "oct", "nov", "aug", "apr", "jun", "jul", "feb"}
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
SEASONS = {"spring", "summer", "autumn", "winter"}
TIME_UNITS = {
    "day": "day", "days": "day", "week": "week", "weeks": "week", "weekly": "week",
    "month": "month", "months": "month", "monthly": "month", "year": "year", "years": "year",
    "yearly": "year", "annual": "year", "annually": "year", "decade": "decade", "decades": "decade",
    "semester": "semester", "semesters": "semester", "quarter": "quarter", "hour": "hour", "hours": "hour",
}
QUANTITY_WORDS = {"multiple", "several", "numerous", "repeated", "repeatedly", "again", "countless", "many"}

#: Words naming an experience or an outcome: a draft may use them only if the facts (or vocabulary) do.
EXPERIENCE_TERMS: dict[str, str] = {
    "pass": r"pass(?:ed|es|ing)?",
    "fail": r"fail(?:ed|s|ing|ure|ures)?",
    "score": r"scor(?:e|ed|es|ing)",
    "improve": r"improv(?:e|ed|es|ing|ement|ements)",
    "honors": r"hono(?:u)?rs?|honou?red",
    "award": r"awards?|awarded",
    "publication": r"publications?|published|publish",
    "paper": r"papers?|manuscripts?",
    "poster": r"posters?",
    "presentation": r"presentations?|presented|presenting",
    "abstract": r"abstracts?",
    "letter": r"letters?",
    "recommendation": r"recommendations?|recommended",
    "observership": r"observerships?|observed|shadow(?:ed|ing)?",
    "externship": r"externships?",
    "elective": r"electives?",
    "rotation": r"rotations?|rotated",
    "clerkship": r"clerkships?",
    "research": r"research(?:ed|er|ers|ing)?",
    "course": r"courses?|coursework",
    "certificate": r"certificat(?:e|es|ion|ions)|certified",
    "tutor": r"tutors?|tutored|tutoring",
    "mentor": r"mentors?|mentored|mentoring|mentorship",
    "volunteer": r"volunteers?|volunteered|volunteering",
    "conference": r"conferences?|congress",
    "lab": r"labs?|laborator(?:y|ies)",
    "clinic": r"clinics?",
    "hospital": r"hospitals?",
    "university": r"universit(?:y|ies)|college",
    "school": r"schools?",
    "residency": r"residenc(?:y|ies)",
    "fellowship": r"fellowships?",
    "internship": r"internships?|intern",
    "job": r"jobs?|employ(?:ed|ment|er)",
    "probation": r"probation",
    "remediation": r"remediat(?:ion|ed|e)",
    "dismissal": r"dismiss(?:al|ed)",
    "suspension": r"suspen(?:sion|ded)",
    "warning": r"warnings?|reprimand(?:ed)?",
    "visa": r"visas?",
    "denial": r"denials?|denied",
    "approval": r"approv(?:al|ed)",
    "match": r"match(?:ed)?",
    "percentile": r"percentiles?",
    "grade": r"grades?|graded",
    "rank": r"rank(?:ed|ing)?",
    "prize": r"prizes?",
    "scholarship": r"scholarships?",
    "grant": r"grants?",
    "degree": r"degrees?|diploma|masters?|phd|mph",
    "attorney": r"attorneys?|lawyers?",
    "exam": r"exams?|examinations?",
    "test": r"tests?|testing|retest",
    "retake": r"retak(?:e|en|ing)|retook|resat|resit",
    "board": r"boards?",
    "study": r"stud(?:y|ied|ies|ying)",
    "patient": r"patients?",
    "family": r"famil(?:y|ies)",
    "illness": r"ill|illness(?:es)?|sick(?:ness)?|diagnosed|surgery|hospitali[sz]ed",
    "death": r"death|died|passed away|bereavement",
    "evaluation": r"evaluations?|evaluated|feedback",
    "teaching": r"teach(?:ing|es)?",
    "leadership": r"leader(?:ship)?|led",
    "promotion": r"promot(?:ed|ion)",
}
_EXPERIENCE_RES = {name: re.compile(rf"^(?:{pat})$") for name, pat in EXPERIENCE_TERMS.items()}

# Ordinary words that may start a sentence; any other sentence-initial capitalised word is checked.
COMMON_WORDS = set(
    """
    a about above across after afterwards again against all almost also although always am among an and another any anyone
    anything are around as at back be because been before being below besides between both but by can could did do does
    doing done during each either else enough especially even ever every everything first for from further furthermore
    had has have having he her here hers him his how however i if in indeed instead into is it its itself just last
    later least less let like looking many me meanwhile might mine more moreover most much must my myself neither never
    nevertheless next no nor not nothing now of off often on once only or other others otherwise our ours ourselves out
    over overall own perhaps rather really same she should since so some something sometimes still such than thank thanks
    that the their theirs them themselves then there therefore these they this those though through throughout thus to
    today together too toward towards under unlike until up upon us very was we well were what whatever when whenever
    where whereas wherever whether which while who whoever whole whom whose why will with within without would yes yet
    you your yours additionally ultimately finally importantly notably consequently accordingly similarly likewise
    specifically honestly frankly clearly certainly naturally initially eventually subsequently currently previously
    recently personally professionally academically looking reflecting having working going taking building learning
    what's that's it's there's here's i'm i've i'd i'll we've we're let's during
    """.split()
)
# Connector words allowed inside a capitalised name ("University of Lagos", "Bank of the West").
_NAME_CONNECTORS = {"of", "for", "and", "the", "de", "da", "del", "la", "le", "di", "du", "van", "von", "at", "&"}
_TITLES = {"dr", "prof", "professor", "mr", "mrs", "ms", "mx", "sir", "dame"}
_INSTITUTION_WORDS = {
    "university", "hospital", "college", "school", "clinic", "center", "centre", "institute", "foundation",
    "department", "academy", "faculty", "program", "programme", "medical", "health", "children's", "memorial",
}
# Short function words ignored when comparing the neighbourhood of a number.
_STOPWORDS = set(
    """a an the and or but of to in on at by for with from as is was were be been am are it its this that these those
    my our i me we you your he she they them his her their after before during since then than so also very just into
    about over under up out no not""".split()
)
_WINDOW = 4


def normalize(text: str) -> str:
    """NFKC plus ASCII punctuation (curly quotes, non-breaking and typographic hyphens), single spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = (
        text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
        .replace("\u2011", "-").replace("\u2010", "-").replace("\u2012", "-").replace("\u00a0", " ")
    )
    return re.sub(r"[ \t\r\f\v]+", " ", text)


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
    return {w for w in words if len(w) >= 3 and w not in _STOPWORDS and not any(c.isdigit() for c in w)}


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
            text = normalize(strip_placeholders(fact or ""))
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
    if _is_capitalised(prev) and pcf not in COMMON_WORDS and pcf not in MONTHS and not any(c.isdigit() for c in prev):
        return pcf
    return None


def _mention_values(cf_token: str) -> list[str]:
    """Numeric values a (casefolded) token states: its digit runs, or a number word's value."""
    if any(c.isdigit() for c in cf_token):
        return _digit_values(cf_token)
    if cf_token in NUMBER_WORDS and cf_token not in _AMBIGUOUS_NUMBER_WORDS:
        return [str(NUMBER_WORDS[cf_token])] if cf_token != "half" else ["half"]
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
    idx = _FactIndex.build(list(facts))
    vocab = {v.casefold() for v in vocabulary}
    allowed_lower = COMMON_WORDS | idx.words | vocab
    body = normalize(strip_placeholders(text or ""))
    toks = _tokens(body)
    lowered = [t.text.casefold() for t in toks]
    violations: list[Violation] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, token: str, start: int, message: str) -> None:
        key = (kind, token.casefold())
        if key in seen:
            return
        seen.add(key)
        violations.append(Violation(kind, token, _context(body, start), message))

    for i, tok in enumerate(toks):
        word, cf = tok.text, lowered[i]
        # --- numbers (digits and number words), with a neighbourhood check
        values = _mention_values(cf)
        if values:
            if any(c.isdigit() for c in cf):
                letters = re.sub(r"[\d,.\-/]", "", cf)
                if letters and not _ORDINAL_SUFFIX_RE.match(cf) and re.sub(r"[-./]", "", cf) not in idx.squashed:
                    add("number", word, tok.start, f"'{word}' is not in the facts given")
                    continue
            window = _content(lowered[max(0, i - _WINDOW): i] + lowered[i + 1: i + 1 + _WINDOW])
            ident = _identifier_of(toks, i)
            for value in values:
                mentions = idx.numbers.get(value)
                if not mentions:
                    add("number", word, tok.start, f"number '{word}' is not in the facts given")
                    break
                same_role = [m for label, m in mentions if label == ident or (ident and ident.startswith("~"))]
                if not same_role:
                    add("number", word, tok.start, f"number '{word}' is used in a claim the facts do not make")
                    break
                if window and not any(not m or (m & window) for m in same_role):
                    add("number", word, tok.start, f"number '{word}' is used in a claim the facts do not make")
                    break
            continue
        # --- dates, durations, quantities
        if cf in MONTHS and (cf not in _MONTH_COMMON_WORDS or (_is_capitalised(word) and not tok.initial)
                             or (i + 1 < len(toks) and toks[i + 1].text[:1].isdigit())):
            month = MONTHS[cf]
            if not any(MONTHS.get(w) == month for w in idx.words):
                add("date", word, tok.start, f"date '{word}' is not in the facts given")
            continue
        if cf in WEEKDAYS or cf in SEASONS:
            if cf not in idx.words:
                add("date", word, tok.start, f"date '{word}' is not in the facts given")
            continue
        if cf in TIME_UNITS:
            unit = TIME_UNITS[cf]
            if not any(TIME_UNITS.get(w) == unit for w in idx.words):
                add("duration", word, tok.start, f"time span '{word}' is not in the facts given")
            continue
        if cf in QUANTITY_WORDS:
            if cf not in idx.words and cf not in vocab:
                add("quantity", word, tok.start, f"'{word}' states a count the facts do not give")
            continue
        # --- capitalised words: names, institutions, acronyms
        if _is_capitalised(word) and cf not in ("i", "i'm", "i've", "i'd", "i'll"):
            parts = [p for p in re.split(r"[-/]", word) if p]
            ordinary_initial = tok.initial and word[:1].isupper() and word[1:] == word[1:].lower() and cf in allowed_lower
            if not ordinary_initial:
                for part in parts:
                    pcf = part.casefold()
                    if not _is_capitalised(part) or pcf in idx.words or re.sub(r"[.']", "", pcf) in idx.squashed:
                        continue
                    prev = lowered[i - 1] if i else ""
                    if sum(c.isupper() for c in part) >= 2:
                        kind = "acronym"
                    elif prev in _TITLES or pcf in _TITLES:
                        kind = "name"
                    elif pcf in _INSTITUTION_WORDS:
                        kind = "institution"
                    else:
                        kind = "proper-noun"
                    add(kind, part, tok.start, f"{kind.replace('-', ' ')} '{part}' is not in the facts given")
            continue
        # --- experience / outcome words
        for name, rx in _EXPERIENCE_RES.items():
            if rx.match(cf):
                if not any(rx.match(w) for w in idx.words) and not any(rx.match(w) for w in vocab):
                    add("experience", word, tok.start, f"'{word}' names an experience or outcome the facts do not give")
                break

    # --- runs of capitalised words must appear whole in the facts (no recombined institutions)
    for run in _capitalised_runs(toks):
        words = [t.text for t in run]
        while words and run[0].initial and words[0].casefold() in allowed_lower and len(words) > 1:
            run, words = run[1:], words[1:]
        if len(words) < 2:
            continue
        phrase = " ".join(words)
        if " ".join(phrase.casefold().split()) not in idx.text_cf:
            kind = "institution" if any(w.casefold() in _INSTITUTION_WORDS for w in words) else "proper-noun"
            add(kind, phrase, run[0].start, f"{kind.replace('-', ' ')} '{phrase}' is not in the facts given")
    return GuardReport(violations)


def _capitalised_runs(toks: list[_Tok]) -> list[list[_Tok]]:
    """Maximal runs of capitalised tokens (joined by name connectors), within one sentence."""
    runs: list[list[_Tok]] = []
    cur: list[_Tok] = []
    pending: list[_Tok] = []
    for tok in toks:
        word = tok.text
        if cur and tok.initial:  # a new sentence ends a run
            runs.append(cur)
            cur, pending = [], []
        if _is_capitalised(word[:1]) and not word.isdigit() and word not in ("I", "I'm", "I've", "I'd", "I'll"):
            cur.extend(pending)
            pending = []
            cur.append(tok)
        elif cur and word.casefold() in _NAME_CONNECTORS:
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
    body = normalize(strip_placeholders(text or ""))
    out: set[str] = set()
    for tok in _tokens(body):
        word = tok.text
        if any(c.isdigit() for c in word):
            out.update(_digit_values(word))
        elif _is_capitalised(word) and word not in ("I", "I'm", "I've", "I'd", "I'll"):
            if tok.initial and word[1:] == word[1:].lower() and word.casefold() in COMMON_WORDS:
                continue
            if not tok.initial or sum(c.isupper() for c in word) >= 2:
                out.add(word.casefold())
    return out


def lost_facts(candidate: str, original: str) -> list[str]:
    """Hard facts of ``original`` (numbers, names) that ``candidate`` no longer states, sorted."""
    have = {t.text.casefold() for t in _tokens(normalize(candidate or ""))}
    have |= {d for t in _tokens(normalize(candidate or "")) for d in _digit_values(t.text)}
    have |= {p for w in list(have) for p in re.split(r"[-/]", w) if p}
    return sorted(f for f in key_facts(original) if f not in have)


def content_recall(candidate: str, facts: Sequence[str]) -> float:
    """Share of the facts' content words (4+ letters, not function words) that ``candidate`` still uses (1.0 when none)."""
    want = {w for f in facts for w in re.findall(r"[a-z][a-z'\-]{3,}", normalize(strip_placeholders(f)).casefold()) if w not in COMMON_WORDS}
    if not want:
        return 1.0
    have = set(re.findall(r"[a-z][a-z'\-]{3,}", normalize(candidate or "").casefold()))
    return len(want & have) / len(want)
