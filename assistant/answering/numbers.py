"""Match an applicant's own numbers to the guide statements whose band, range or condition fits.

What, in three steps:

- :func:`applicant_numbers` reads the facts an applicant types into a question
  ("238 on step 2", "failed step 1 twice", "yog 2018", "a 2 year gap", "need h1b")
  into :class:`ApplicantNumbers`; :func:`from_profile` reads the same facts from an
  ``ApplicantProfile`` and :func:`merged` combines the two (the question wins);
- :func:`conditions` reads the numeric conditions one guide sentence or list item
  states ("235–245", "≥245", "below 220", "within 3–5 years of graduation",
  "Gaps > 3 months") into :class:`Condition` s, each saying which quantity it is
  about when the text (or the list's lead-in) says so;
- :func:`matching` checks the applicant's numbers against the conditions of
  candidate units and returns :class:`Match` es whose :meth:`Match.phrase` is the
  reader-facing lead ("Your 238 is in the guide's 235–245 band").

Why: an applicant asks "is my 238 enough?" and the guides answer in bands; quoting
the band that holds the applicant's own number is more useful, and still factual
(the phrase names the applicant's number and the guide's range, nothing more).

Why regexes: the phrasing space is small and domain-bound (Step mentions, band
list items, graduation/gap wording); quantity parsers on PyPI (quantulum3,
number-parser) are new dependencies that know neither what a Step 2 CK score is
nor that "Step 2" is a name, not a number. The tests pin every pattern.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Optional

from assistant.text import normalize, split_sentences

__all__ = ["QUANTITIES", "ApplicantNumbers", "Condition", "Match", "applicant_numbers", "conditions", "from_profile", "matching", "merged"]

# ----------------------------------------------------------------------------- shared vocabulary

_WORD_NUMS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}
_TIMES = {"once": 1, "twice": 2, "thrice": 3}
_NUM = r"(?:\d+(?:\.\d+)?|(?:" + "|".join(_WORD_NUMS) + r")\b)"
_ORD = r"(?:" + "|".join(_ORDINALS) + r")"

# Step mentions, typos included ("stpe 2", "step2ck", "my ck"); "Step 2 CS" is another exam.
_STEP = r"(?<![a-z])(?:usmle\s*)?(?:step|stpe|setp|stp)\s*-?\s*"
_MENTIONS = (
    ("step1", re.compile(_STEP + r"(?:1|one)(?![\w])", re.I)),
    ("step2", re.compile(_STEP + r"(?:2|two)(?:\s*-?\s*ck)?(?!\s*-?\s*cs\b)(?![\w])|(?<![\w])(?:2\s*)?ck(?![\w])", re.I)),
    ("step3", re.compile(_STEP + r"(?:3|three)(?![\w])", re.I)),
)
_VISA_NAME = re.compile(r"(?<![\w])(?:h-?1-?b|j-?1|o-?1|f-?1)(?![\w])", re.I)


def _num(s: str) -> float:
    s = s.lower()
    return float(_WORD_NUMS[s]) if s in _WORD_NUMS else float(s)


def _mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, "step1" | "step2" | "step3") of every Step mention, in order."""
    found = [(m.start(), m.end(), kind) for kind, rx in _MENTIONS for m in rx.finditer(text)]
    return sorted(found)


_QUOTED = re.compile(r'"[^"\n]{1,160}"')


def _unquoted(text: str) -> str:
    """``text`` with the digits inside quotation marks replaced by '#'.

    A quoted number is someone's words, not the guide's band: a program's filter named as an
    example ("filters that you do not meet (e.g., "Step 2 CK minimum 245")"), an example
    applicant's sentence. The guides state their own bands unquoted ("235–245: Realistic ...").
    """
    return _QUOTED.sub(lambda m: re.sub(r"\d", "#", m.group()), text)


def _masked(text: str) -> str:
    """``text`` with the digits of Step and visa names replaced by '#', so "Step 2" and "J-1" are never numbers."""
    chars = list(text)
    spans = [(a, b) for a, b, _ in _mentions(text)] + [m.span() for m in _VISA_NAME.finditer(text)]
    for a, b in spans:
        for i in range(a, b):
            if chars[i].isdigit():
                chars[i] = "#"
    return "".join(chars)


# ----------------------------------------------------------------------------- the applicant's numbers


@dataclass(frozen=True)
class ApplicantNumbers:
    """The numeric facts of one applicant; None = not stated.

    ``step1_passed`` is True when a pass is stated, never inferred from failures
    (False only from a profile whose Step 1 attempts all failed);
    attempts are what the text states or implies (failures + a pass).
    ``years_since_graduation`` is whole years from the graduation year to the
    as-of year (``today`` for a question, the profile's ``as_of`` for a profile).
    ``gap_months`` is the longest gap stated. ``needs_visa`` is False for a US
    citizen or green-card holder.
    """

    step2_score: Optional[int] = None
    step2_attempts: Optional[int] = None
    step1_passed: Optional[bool] = None
    step1_attempts: Optional[int] = None
    step1_failures: Optional[int] = None
    graduation_year: Optional[int] = None
    years_since_graduation: Optional[int] = None
    gap_months: Optional[int] = None
    needs_visa: Optional[bool] = None

    def any(self) -> bool:
        """Whether any fact is known."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def value(self, quantity: Optional[str]) -> Optional[float]:
        """The applicant's value for a :attr:`Condition.quantity` (None: not known)."""
        if quantity == "attempts":
            known = [a for a in (self.step1_attempts, self.step2_attempts) if a is not None]
            return max(known) if known else None
        return getattr(self, quantity, None) if quantity in _FIELDS else None


_FIELDS = {f.name for f in fields(ApplicantNumbers)}
# Facts that belong together: when the question states any of a group, the whole group comes from it.
_GROUPS = (("step2_score",), ("step2_attempts",), ("step1_passed", "step1_attempts", "step1_failures"),
           ("graduation_year", "years_since_graduation"), ("gap_months",), ("needs_visa",))

# between a Step mention and its score only these words may stand ("my ck was 241", "238 on step 2")
_CONNECT = re.compile(r"(?:[\s:=,~()\-]|\b(?:on|in|for|at|of|was|is|were|score|scored|scores|scoring|a|an|my|got|get|i|"
                      r"me|with|usmle|exam|the|about|around|approx|approximately|only|just|ck|final|total)\b)*")
_SCORE_NUM = re.compile(r"(?<![\w.#])(\d{1,3})(?![\d%]|\.\d|\s*-?\s*(?:years?|yrs?|months?|mos?|weeks?|days?|hours?|"
                        r"attempts?|tries|times|programs?|x)\b)")
_PASS_FAIL = re.compile(r"pass\s*/\s*fail|pass-fail|pass or fail|p\s*/\s*f\b", re.I)  # the exam's format, not a result
_CONJ = re.compile(r"\b(?:and|but|then|while|so|also)\b|[,;(]")
_CLAUSE_END = re.compile(r"[.!?\n]")
# past tense only, not negated: "how do i pass step 1", "what if i fail step 1", "haven't passed step 1" state no result
_NOT = r"(?<!n't )(?<!not )(?<!never )(?<!nt )"
_FAIL_BEFORE = re.compile(rf"{_NOT}\b(?:failed|flunked)\s+(?:(?:my|the|usmle|on|in|at)\s+){{0,2}}$")
_PASS_BEFORE = re.compile(rf"{_NOT}\b(?:passed|cleared)\s+(?:(?:my|the|usmle|on|in|at)\s+){{0,2}}$")
_PASSED_LATER = re.compile(rf"{_NOT}\b(?:passed|cleared)\b|\b(?:then|finally|later|eventually)\s+(?:i\s+)?pass\b")
_TOOK_BEFORE = re.compile(r"\b(?:took|take|taken|sat|attempted|gave|written)\s+(?:(?:my|the|usmle)\s+){0,2}$")
_ATTEMPTS_BEFORE = re.compile(rf"\b({_NUM})\s+(?:attempts?|tries)\s+(?:at|on|for|of|in)\s+(?:(?:my|the|usmle)\s+)?$")
_NUM_BEFORE = re.compile(rf"(?<![\w.])({_NUM})\s+(?:usmle\s+)?$")  # "2 step 1 attempts"
_FIRST_TRY = rf"(?:(?:on\s+)?(?:the\s+|my\s+)?{_ORD}[\s-]+(?:attempt|try)\s+)?"  # "step 1 first attempt pass"
_FAIL_AFTER = re.compile(rf"^[\s:=\-]*(?:(?:was|is|result)\s+)?{_FIRST_TRY}(?:a\s+)?(?:fail(?:ed|ure)?|f)\b")
_PASS_AFTER = re.compile(rf"^[\s:=\-]*(?:(?:was|is|result)\s+)?{_FIRST_TRY}(?:pass(?:ed)?|p|cleared)\b")
_COUNT_AFTER = re.compile(rf"^[\s:=\-]*(?:(?:fail\w*|pass\w*|took|it|was|is)\s+)*(?:(once|twice|thrice)|({_NUM})\s*(?:times|x)\b|x\s*(\d))")
_ATTEMPTS_AFTER = re.compile(rf"^[\s:=\-]*(?:(?:in|on|after|with|took|it|was|is|fail\w*|pass\w*)\s+)*({_NUM})\s+(?:attempts?|tries)\b")
_ORDINAL_AFTER = re.compile(rf"\b(?:on|in|at)\s+(?:the|my|a)\s+({_ORD})\s+(?:attempt|try|time|go)\b|\b({_ORD})[\s-]+(?:attempt|try)\b")

_YEAR = r"((?:19[5-9]|20\d)\d)"
_GRAD_YEAR = (
    re.compile(rf"graduat\w*[^\d#.;!?,]{{0,40}}?(?<!\d){_YEAR}(?!\d)"),
    re.compile(rf"\b(?:yog|year of graduation|graduation year|grad year)\b[\s:=\-]*(?:(?:is|was|in|of)\s+)?{_YEAR}(?!\d)"),
    re.compile(rf"\bclass of\s+{_YEAR}(?!\d)"),
    re.compile(rf"\bpassed out\b[^\d#.;!?,]{{0,30}}?(?<!\d){_YEAR}(?!\d)"),
    re.compile(rf"(?<!\d){_YEAR}\s+(?:graduate|grad|yog)\b"),
)
_ABOUT = r"(?:(?:about|around|almost|nearly|over|roughly|~)\s*)?"
_YRS = r"(?:years?|yrs?)"
_YEARS_SINCE = (
    re.compile(rf"\b(?:graduat\w*|yog|graduation)\s+(?:was\s+)?{_ABOUT}({_NUM})\s*\+?\s*{_YRS}\s+ago\b"),
    re.compile(rf"(?<![\w.])({_NUM})\s*\+?\s*{_YRS}\s+(?:since|after|out of|post|from)[\s-]*(?:i\s+|my\s+)?"
               rf"(?:graduat\w*|grad\b|yog\b|med(?:ical)?\s+school|mbbs)"),
)
_DUR = rf"({_NUM})\s*-?\s*(?:({_YRS})(?:\s*(?:and\s*)?({_NUM})\s*-?\s*(?:months?|mos?))?|months?|mos?)"  # "1 year and 6 months"
_GAPS = (
    re.compile(rf"(?<![\w.#]){_DUR}\s+(?:of\s+)?(?:long\s+)?(?:clinical\s+|training\s+)?gap\b"),
    re.compile(rf"\bgaps?\s+(?:(?:of|for|is|was|about|around|almost|nearly|over|approx\w*|lasting)\s+|[:~]\s*)*{_DUR}"),
    re.compile(rf"\bout of (?:clinical )?(?:practice|medicine|work|training) for\s+{_ABOUT}{_DUR}"),
    re.compile(rf"\b(?:no|without)\s+clinical\s+(?:work|experience|practice|activity)\s+for\s+{_ABOUT}{_DUR}"),
)
_GAP_YEAR = re.compile(r"\bgap year\b")
_NO_VISA = re.compile(r"\b(?:(?:do not|don't|dont|won't|will not|no)\s+need\s+(?:a\s+|any\s+)?(?:visa|sponsorship)|"
                      r"no visa (?:needed|required)|green\s*card|permanent resident)\b|(?<!non-)(?<!non )\b(?:us|u\.s\.|american) citizen\b(?!s)")
_NEED_VISA = re.compile(r"\b(?:need|needs|needed|require|requires|required|requiring)\s+(?:a\s+|an\s+)?(?:visa|sponsorship|h-?1-?b|j-?1)\b|"
                        r"\bvisa sponsorship\b|(?<![\w])(?:h-?1-?b|j-?1)(?![\w])")


def _duration_months(m: re.Match) -> int:
    n, years, extra = _num(m.group(1)), m.group(2), m.group(3)
    months = n * 12 if years else n
    return round(months + (_num(extra) if extra else 0))


def _exam_facts(text: str, kind: str) -> tuple[Optional[bool], Optional[int], Optional[int]]:
    """(passed, attempts, failures) the text states for one exam.

    Each mention of the exam reads the words before it (since the last mention or
    conjunction: "failed step 1", "2 attempts at step 1") and after it (up to the
    next mention: "step 1 fail", "failed step 1 twice", "passed on the second attempt").
    """
    ments = _mentions(text)
    passed: Optional[bool] = None
    attempts = failures = None
    for i, (a, b, k) in enumerate(ments):
        if k != kind:
            continue
        prev_end = ments[i - 1][1] if i else 0
        pre = text[prev_end:a]
        pre = re.split(r"[.!?\n]", pre)[-1]
        cut = list(_CONJ.finditer(pre))
        pre = pre[cut[-1].end():] if cut else pre
        nxt = ments[i + 1][0] if i + 1 < len(ments) else len(text)
        post = text[b:nxt]
        end = _CLAUSE_END.search(post)
        post = post[: end.start()] if end else post
        if i + 1 < len(ments):  # the words right before the next mention are its own ("... and passed step 2")
            cut = list(_CONJ.finditer(post))
            post = post[: cut[-1].start()] if cut else post
        failed = bool(_FAIL_BEFORE.search(pre) or _FAIL_AFTER.match(post))
        if _PASS_BEFORE.search(pre) or _PASS_AFTER.match(post) or _PASSED_LATER.search(post):
            passed = True
        count = _COUNT_AFTER.match(post)
        n = (_TIMES[count.group(1)] if count.group(1) else int(_num(count.group(2) or count.group(3)))) if count else None
        if failed:
            failures = max(failures or 0, n or 1)
        elif n and _TOOK_BEFORE.search(pre):
            attempts = n
        m = _ATTEMPTS_BEFORE.search(pre) or _ATTEMPTS_AFTER.match(post)
        if not m and re.match(r"\s*(?:attempts?|tries)\b", post):
            m = _NUM_BEFORE.search(pre)
        if m:
            attempts = int(_num(m.group(1)))
        m = _ORDINAL_AFTER.search(f"{pre} {post}")
        if m:
            attempts = max(attempts or 0, _ORDINALS[m.group(1) or m.group(2)])
    if attempts is None and failures is not None:
        attempts = failures + (1 if passed else 0)
    if failures is None and attempts is not None and passed:
        failures = attempts - 1
    return passed, attempts, failures


# a number right beside these words is a program's or the guides' ("a 245 Step 2 minimum", "the average is 245"), not the applicant's
_THEIRS = r"(?:minimum|min|cut-?offs?|thresholds?|requirements?|requires?|required|filters?|average|median|mean)"
_THEIRS_AFTER = re.compile(rf"^\s*(?:on\s+)?(?:(?:usmle\s+)?step\s*[2#]\s*(?:ck)?\s*)?(?:score\s+)?{_THEIRS}\b")
_THEIRS_BEFORE = re.compile(rf"\b{_THEIRS}\s*(?:step\s*[2#]\s*(?:ck)?\s*)?(?:score\s*)?(?:of|is|was|at|around)?\s*(?:a\s+)?$")


def _someone_elses(text: str, m: re.Match) -> bool:
    return bool(_THEIRS_AFTER.match(text[m.end() : m.end() + 30]) or _THEIRS_BEFORE.search(text[max(0, m.start() - 30) : m.start()]))


def applicant_numbers(question: str, today: Optional[date] = None) -> ApplicantNumbers:
    """The numbers an applicant states in ``question`` (lower case, typos and long stories welcome).

    A score counts only when tied to a Step mention by connecting words
    ("238 on step 2", "my ck was 241"), is 1-300, and is the latest such number;
    a four-digit year is never a score. ``today`` (default: ``date.today()``) dates
    "years since graduation" for a stated graduation year.
    """
    today = today or date.today()
    text = _PASS_FAIL.sub("format", normalize(question).lower())
    masked = _masked(text)
    ments = _mentions(text)
    score = None
    for m in _SCORE_NUM.finditer(masked):
        value = int(m.group(1))
        if not 1 <= value <= 300:
            continue
        tied = []
        for a, b, kind in ments:
            between = masked[b:m.start()] if b <= m.start() else masked[m.end():a] if a >= m.end() else None
            if between is not None and len(between) <= 40 and _CONNECT.fullmatch(between):
                tied.append((len(between), 0 if b <= m.start() else 1, kind))
        if tied and min(tied)[2] == "step2" and not _someone_elses(masked, m):
            score = value
    passed1, attempts1, failures1 = _exam_facts(text, "step1")
    _, attempts2, _ = _exam_facts(text, "step2")
    year = next((int(m.group(1)) for rx in _GRAD_YEAR for m in [rx.search(masked)] if m), None)
    since = max(0, today.year - year) if year else next(
        (int(_num(m.group(1))) for rx in _YEARS_SINCE for m in [rx.search(masked)] if m), None)
    gaps = [_duration_months(m) for rx in _GAPS for m in rx.finditer(masked)] + [12] * bool(_GAP_YEAR.search(masked))
    visa = False if _NO_VISA.search(text) else True if _NEED_VISA.search(text) else None
    return ApplicantNumbers(step2_score=score, step2_attempts=attempts2, step1_passed=passed1, step1_attempts=attempts1,
                            step1_failures=failures1, graduation_year=year, years_since_graduation=since,
                            gap_months=max(gaps) if gaps else None, needs_visa=visa)


def _ym(value: str) -> int:
    y, m = value.split("-")
    return int(y) * 12 + int(m) - 1


def from_profile(profile: Any) -> ApplicantNumbers:
    """The same numbers from an ``assistant.writing.ApplicantProfile`` (read by attribute, no import of ``writing``).

    Step 2 CK: the latest attempt with a score (as the audit reads it); years since
    graduation and open gaps are measured to the profile's as-of month.
    """
    exams = list(profile.exams or [])
    s1 = [a for a in exams if a.exam == "step1"]
    s2 = [a for a in exams if a.exam == "step2ck"]
    scores = [a.score for a in s2 if a.score is not None]
    now = profile.as_of_month
    gaps = [(_ym(g.end) if g.end else now) - _ym(g.start) for g in profile.gaps or []]
    visa = profile.visa.needs_sponsorship if profile.visa else (False if profile.audience == "us-img" else None)
    return ApplicantNumbers(
        step2_score=scores[-1] if scores else None, step2_attempts=len(s2) or None,
        step1_passed=any(a.result == "pass" for a in s1) if s1 else None, step1_attempts=len(s1) or None,
        step1_failures=sum(a.result == "fail" for a in s1) if s1 else None,
        graduation_year=profile.graduation_year, years_since_graduation=max(0, now // 12 - profile.graduation_year),
        gap_months=max(gaps) if gaps else None, needs_visa=visa)


def merged(question_numbers: ApplicantNumbers, profile_numbers: ApplicantNumbers) -> ApplicantNumbers:
    """The profile's numbers with the question's own facts on top (a fact group wins whole: year + years since)."""
    out = {}
    for group in _GROUPS:
        src = question_numbers if any(getattr(question_numbers, f) is not None for f in group) else profile_numbers
        out.update({f: getattr(src, f) for f in group})
    return ApplicantNumbers(**out)


# ----------------------------------------------------------------------------- the guides' conditions

QUANTITIES = ("step2_score", "step1_score", "step3_score", "years_since_graduation", "graduation_year", "gap_months",
              "step1_attempts", "step2_attempts", "step3_attempts", "attempts")


@dataclass(frozen=True)
class Condition:
    """One numeric condition in a guide's words, bounds in the guide's own ``unit``.

    ``quantity`` is one of :data:`QUANTITIES`, or None when the text does not say
    what the number is about ("2–3 years pediatrics", "15–20 minutes early").
    ``unit``: "years", "months", "attempts", "" (score points or a calendar year),
    or another word ("minutes", "percent") that no quantity uses.
    """

    quantity: Optional[str]
    low: Optional[float] = None
    high: Optional[float] = None
    low_strict: bool = False
    high_strict: bool = False
    unit: str = ""
    approx: bool = False
    text: str = ""  # the words as the guide wrote them: "within 5 years of graduation", "≥245"

    def _scale(self) -> float:
        if self.quantity == "gap_months" and self.unit == "years":
            return 12.0
        if self.quantity == "years_since_graduation" and self.unit == "months":
            return 1 / 12
        return 1.0

    def contains(self, value: float) -> bool:
        """Whether ``value`` (in the quantity's unit: points, months of gap, years since graduation) is inside."""
        k = self._scale()
        if self.low is not None and (value < self.low * k or (self.low_strict and value == self.low * k)):
            return False
        if self.high is not None and (value > self.high * k or (self.high_strict and value == self.high * k)):
            return False
        return True

    @property
    def band(self) -> str:
        """The bounds written compactly: "235–245", "≥245", "<220", "~235–245", ">3 months"."""
        f = lambda x: f"{x:g}"
        unit = f" {self.unit}" if self.unit else ""
        tilde = "~" if self.approx else ""
        if self.low is not None and self.high is not None:
            return f"{tilde}{f(self.low)}–{f(self.high)}{unit}"
        if self.low is not None:
            return f"{tilde}{'>' if self.low_strict else '≥'}{f(self.low)}{unit}"
        return f"{tilde}{'<' if self.high_strict else '≤'}{f(self.high)}{unit}"


_WORD_PRE = {
    "ge": r"at least|no less than|not less than|no earlier than|(?:a\s+)?(?:minimum|min\.?|cut-?off|threshold)"
          r"(?:\s+(?:score|of|is|at|around))*(?:\s*\(\s*(?:for example|e\.g\.?)\s*,?)?",
    "le": r"at most|no more than|not more than|up to|no longer than|no later than|maximum(?:\s+of)?|"
          r"within(?:\s+the\s+(?:last|past))?|in\s+the\s+(?:last|past)",
    "gt": r"more than|greater than|higher than|longer than|in excess of|exceeding|over|above|after",
    "lt": r"less than|fewer than|lower than|shorter than|below|under|before",
}
_SYM_PRE = {"ge": r"≥|>=|=>", "le": r"≤|<=|=<", "gt": r">", "lt": r"<"}
_PRE = "|".join(rf"(?P<{k}>(?<![\w])(?:{_WORD_PRE[k]})|{_SYM_PRE[k]})" for k in ("ge", "le", "gt", "lt"))
_POST_WORDS = (r"or\s+(?:higher|above|more|greater|better|over|later|after|newer|more\s+recent|lower|below|less|"
               r"fewer|under|earlier|before|older)|and\s+(?:above|up|higher|over|later|after|below|under|lower|earlier|before)")
_POST = rf"(?P<post>{_POST_WORDS})"
_POST_LE = re.compile(r"lower|below|less|fewer|under|earlier|before|older")
_UNIT = r"(?:[\s-]*(?P<unit>years?|yrs?|months?|mos?|weeks?|days?|hours?|minutes?|attempts?|tries|times|%|percent)(?![a-z]))?"
_A = rf"(?<![\w.#])(?P<a>{_NUM})"
_RANGE = re.compile(rf"(?:(?:{_PRE})\s*|(?P<between>between\s+|from\s+))?(?P<tilde>~\s*)?{_A}"
                    rf"\s*(?P<sep>-|\s+to\s+|\s+and\s+)\s*~?\s*(?P<b>{_NUM})(?![\d#])(?P<plus>\+)?{_UNIT}(?:\s+{_POST})?", re.I)
_SINGLE = re.compile(rf"(?:(?:{_PRE})\s*)?(?P<tilde>~\s*)?{_A}(?![\d#])(?P<plus>\+)?(?:\s+(?P<post1>{_POST_WORDS}))?{_UNIT}"
                     rf"(?:\s+{_POST})?", re.I)
_TAIL = re.compile(r"(?:\s+(?:of|since|after|from|post)\s+graduation|\s+ago|\s+gaps?\b|\s+(?:old|out))", re.I)
_UNITS = {"y": "years", "mo": "months", "at": "attempts", "tr": "attempts", "ti": "attempts", "%": "percent", "pe": "percent"}
_CUTOFF = re.compile(r"minimum|min\.|cut-?off|threshold|at least", re.I)
_COUNT_NOUN = re.compile(r"\s*(?:[a-z]+\s+)?(?:programs?|applications?|applicants?|interviews?|positions?|residents?|spots?|"
                         r"patients?|publications?|letters?|words?|characters?|dollars?|usd|hours?|people)\b", re.I)
_GAP_WORDS = re.compile(r"\bgaps?\b|\bbreaks?\b|time off|out of (?:clinical )?(?:practice|medicine|training)|"
                        r"without clinical|no clinical", re.I)
_GRAD_WORDS = re.compile(r"graduat\w*|\byog\b|year of graduation|out of (?:medical |med )?school", re.I)


def _unit(word: Optional[str]) -> str:
    if not word:
        return ""
    w = word.lower()
    for prefix, name in _UNITS.items():
        if w.startswith(prefix):
            return name
    return w if w.endswith("s") else w + "s"


_STEP_RX = {kind: rx for kind, rx in _MENTIONS}
_DURATION_RX = {"gap_months": _GAP_WORDS, "years_since_graduation": _GRAD_WORDS}
Spans = list[tuple[int, int, str]]


def _keywords(rx: dict[str, re.Pattern], text: str) -> Spans:
    """(start, end, kind) of every keyword of ``rx`` in ``text``, sorted (found once per sentence)."""
    return sorted((m.start(), m.end(), kind) for kind, pattern in rx.items() for m in pattern.finditer(text))


def _nearest(spans: Spans, start: int, end: int, limit: int = 10**6) -> Optional[str]:
    """The kind of the keyword closest to [start, end) (within ``limit`` characters), or None."""
    i = bisect.bisect_left(spans, (end,))
    best: tuple[int, str] | None = None
    for a, b, kind in spans[max(0, i - 3): i + 2]:  # the neighbours on either side
        d = max(a - end, start - b, 0)
        if d <= limit and (best is None or d < best[0]):
            best = (d, kind)
    return best[1] if best else None


@dataclass
class _Context:
    """The keywords of one sentence and of its list lead-in, by family ("step" mentions, "duration" words)."""

    text: str
    lead_in: str
    spans: dict[str, tuple[Spans, Spans]]

    @classmethod
    def of(cls, text: str, lead_in: str) -> "_Context":
        fams = {"step": _STEP_RX, "duration": _DURATION_RX}
        return cls(text, lead_in, {f: (_keywords(rx, text), _keywords(rx, lead_in)) for f, rx in fams.items()})

    def kind(self, family: str, span: tuple[int, int], limit: int = 10**6) -> Optional[str]:
        """What the sentence says near the number; failing that, what the list's lead-in says last.

        The lead-in speaks only for a band item, one that opens with its number
        ("- Within 5 years: ..."); under "How to Address an Older YOG:" the item
        "Highlight recent (last 1–2 years) experience" is not about graduation. Nor
        does the heading path: it covers advice whose numbers are about other things.
        """
        own, lead = self.spans[family]
        near = _nearest(own, *span, limit=limit)
        n = len(self.lead_in)
        return near or (_nearest(lead, n, n) if span[0] <= 2 else None)


def _quantity(unit: str, values: list[float], span: tuple[int, int], ctx: _Context) -> Optional[str]:
    if unit in ("years", "months"):
        return ctx.kind("duration", span)
    if unit == "attempts":
        step = ctx.kind("step", span, limit=60)
        return f"{step}_attempts" if step else "attempts"
    if unit:
        return None
    if all(1900 <= v <= 2100 and v == int(v) for v in values):
        grad = any(_GRAD_WORDS.search(t) for t in (ctx.text, ctx.lead_in))
        return "graduation_year" if grad else None
    text = ctx.text
    if all(150 <= v <= 300 for v in values) and not _COUNT_NOUN.match(text, span[1]) and "$" not in text[max(0, span[0] - 2):span[0]]:
        step = ctx.kind("step", span, limit=60)
        return f"{step}_score" if step else "step2_score"  # a lone 150-300 band item is a Step 2 CK score by default
    return None


def conditions(sentence: str, lead_in: str = "") -> list[Condition]:
    """The numeric conditions one guide sentence or list item states, in order.

    ``lead_in`` (the line introducing a list) tells what a bare list item is about
    when the item itself does not. A range inside a comparison takes the
    comparison's side: "≥ 245–250+" is ≥245, "within 3–5 years" is ≤5 years.
    "after"/"before" only compare calendar years; "a and b" is a range only after "between".
    """
    text = normalize(sentence)
    masked = _unquoted(_masked(text))
    ctx = _Context.of(text, normalize(lead_in))
    found: list[tuple[int, Condition]] = []
    covered = bytearray(len(text))
    for rx in (_RANGE, _SINGLE):
        for m in rx.finditer(masked):
            if any(covered[m.start():m.end()]):
                continue
            g = m.groupdict()
            kind = next((k for k in ("ge", "le", "gt", "lt") if g.get(k)), None)
            post = g.get("post") or g.get("post1")
            lo = _num(g["a"])
            hi = _num(g["b"]) if g.get("b") else None
            if hi is not None and (hi < lo or ("and" in g["sep"] and not g["between"])):
                continue
            if rx is _SINGLE and not (kind or g["plus"] or post):
                continue  # a bare number is a fact, not a condition
            if kind and re.fullmatch(r"after|before", g[kind], re.I) and not 1900 <= lo <= 2100:
                continue
            low_strict = high_strict = False
            if hi is None:
                hi = lo
            if kind in ("ge", "gt") or g["plus"] or (post and not _POST_LE.search(post)):
                hi, low_strict = None, kind == "gt"
            elif kind in ("le", "lt") or post:
                lo, high_strict = None, kind == "lt"
            unit = _unit(g.get("unit"))
            tail = _TAIL.match(text, m.end())
            end = tail.end() if tail else m.end()
            words = re.sub(r"(?<=\d)\s*-\s*(?=[~\d])", "–", text[m.start():end].strip())
            words += ")" * (words.count("(") - words.count(")"))  # "a minimum score (for example, 230)"
            quantity = _quantity(unit, [v for v in (lo, hi) if v is not None], m.span(), ctx)
            found.append((m.start(), Condition(quantity, lo, hi, low_strict, high_strict, unit, bool(g["tilde"]), words)))
            covered[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    return [c for _, c in sorted(found, key=lambda x: x[0])]


# ----------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """A guide condition checked against the applicant's own number."""

    condition: Condition
    value: float  # the applicant's number, in the quantity's unit
    fits: bool
    text: str  # the guide sentence or list item stating the condition
    lead_in: str = ""
    source: str = ""
    graduation_year: Optional[int] = None

    @property
    def is_cutoff(self) -> bool:
        """A screen a program may apply ("a minimum score (for example, 230)"), not a band of outcomes."""
        c = self.condition
        return (c.quantity or "").endswith("_score") and c.high is None and bool(_CUTOFF.search(c.text))

    def phrase(self) -> str:
        """The reader-facing lead: the applicant's number and the guide's range, nothing more."""
        c, v = self.condition, f"{self.value:g}"
        q = c.quantity or ""
        if q.endswith("_score"):
            if c.high is None and _CUTOFF.search(c.text):  # "a minimum score (for example, 230)" is a cutoff, not a band
                return f"Your {v} {'meets' if self.fits else 'is below'} the guide's minimum of {c.low:g}"
            return f"Your {v} is {'in' if self.fits else 'outside'} the guide's {c.band} band"
        if q == "years_since_graduation":
            out = f"{v} year{'s' * (self.value != 1)} out"
            lead = f"Graduating in {self.graduation_year} puts you {out}" if self.graduation_year else f"You are {out} of graduation"
            return f"{lead}; the guide's condition: {c.text}"
        if q == "graduation_year":
            return f"Your graduation year is {v}; the guide's condition: {c.text}"
        if q == "gap_months":
            n = self.value
            dur = f"{n / 12:g} year{'s' * (n != 12)}" if n % 12 == 0 else f"{v} months"
            return f"Your gap of {dur}; the guide's condition: {c.text}"
        exam = {"step1_attempts": " at Step 1", "step2_attempts": " at Step 2 CK", "step3_attempts": " at Step 3"}.get(q, "")
        return f"Your {v} attempt{'s' * (self.value != 1)}{exam}; the guide's condition: {c.text}"


def _units_of(item: Any) -> list[dict]:
    """Units (text, lead_in, source) of one candidate: a unit dict, a retrieval ``Hit`` or a passage string."""
    if isinstance(item, str):
        text, source, units = item, "", None
    elif isinstance(item, Mapping):
        text, source, units = item.get("text", ""), item.get("source", ""), None
        if "lead_in" in item or "\n" not in text:
            return [{"text": text, "lead_in": item.get("lead_in") or "", "source": source}]
    else:  # a Hit: its chunk's units are already split (chunking.split_units)
        text, source, units = item.text, getattr(item, "source", ""), getattr(item, "units", None)
    if units:
        return [{"text": u["text"], "lead_in": u.get("lead_in") or "", "source": source} for u in units]
    # a whole passage: its sentences and list items, each item with the line that introduced it
    # (the shape of chunking.split_units, which the ingestion package does not export)
    out, lead = [], ""
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            continue
        is_item = bool(re.match(r"^(?:[-•–*]|\d{1,2}[.)])\s+", s))
        out += [{"text": t, "lead_in": lead if is_item else "", "source": source} for t in split_sentences(s)]
        if not is_item:
            lead = s if s.endswith(":") else ""
    return out


def matching(numbers: ApplicantNumbers, passages_or_units: Iterable[Any] | str, *, include_misses: bool = False) -> list[Match]:
    """The guide conditions that hold the applicant's numbers, unit by unit, in order.

    Candidates are unit dicts (``text``, optional ``lead_in`` and ``source``),
    retrieval ``Hit`` s or passage strings. Every fitting condition is returned, so
    guides that disagree ("within 2 years" / "within 4 years") both show. ``include_misses`` also returns the conditions about a known quantity
    that the number falls outside (``fits=False``).
    """
    items = [passages_or_units] if isinstance(passages_or_units, str) else passages_or_units
    out: list[Match] = []
    for item in items:
        for unit in _units_of(item):
            for c in conditions(unit["text"], unit["lead_in"]):
                value = numbers.value(c.quantity)
                if value is None:
                    continue
                fits = c.contains(value)
                if fits or include_misses:
                    out.append(Match(c, value, fits, unit["text"], unit["lead_in"], unit["source"], numbers.graduation_year))
    return out
