"""The applicant's facts for a draft: the schema, its validation, and reading a facts file.

What: :class:`DraftFacts` (what the applicant tells us: the only source of facts
a draft may contain), :func:`parse_facts` / :func:`load_facts`, and the helpers
the audit's profile shares (:func:`read_json_file`, :func:`pydantic_error_line`,
:data:`Specialty`, :data:`Audience`, :data:`MIN_YEAR`).

Why strict: a draft copies these words verbatim, so unknown keys, empty
strings, wrong types and absurd values (a USMLE score of 900, a year in the
future) are one-line :class:`~assistant.errors.InputError` s, never a draft.
Specialties and audiences are the advisor's one vocabulary
(:func:`assistant.domain.vocabulary`): any specialty id it knows (aliases
accepted) is valid, so a specialty added in ``assistant/data/domain.json`` can be
drafted for without a code change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.domain import vocabulary
from assistant.errors import InputError

#: What can be drafted: the red flags the guides discuss, and the "why this specialty" paragraph.
KINDS = (
    "exam-failure",
    "low-score",
    "gap",
    "professionalism",
    "repeated-year",
    "older-graduation",
    "visa",
    "specialty-switch",
    "study-abroad",
    "why-specialty",
)
#: Where a draft goes (the guides' placements).
FORMATS = ("personal-statement", "eras-additional-info", "interview")

#: Longest accepted text for one facts field (characters).
MAX_FIELD_CHARS = 1500
#: Highest possible USMLE three-digit score (scores above it are rejected as impossible).
MAX_USMLE_SCORE = 300
#: Earliest graduation / event year accepted in facts and profiles.
MIN_YEAR = 1950

OPTIONAL_FIELDS = ("context", "insight", "changes", "evidence", "goals")
TEXT_FIELDS = ("what",) + OPTIONAL_FIELDS
FACT_FIELDS = ("kind", "specialty", "audience", "format") + TEXT_FIELDS


# --------------------------------------------------------------------------- the vocabulary: specialties and audiences


def _one_of(values: Iterable[str]) -> str:
    """``'a', 'b' or 'c'``: the allowed values, worded as pydantic words a Literal's choices (messages stay as they were)."""
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _canonical_specialty(v: Any) -> str:
    """'Diagnostic Radiology', 'genetics', ... -> the specialty's id; anything the vocabulary does not know is a one-line error."""
    vocab = vocabulary()
    if isinstance(v, str):
        sid = vocab.canonical_specialty(v)
        if sid:
            return sid
    raise ValueError(f"'specialty' must be {_one_of(vocab.specialties)}, got {v!r}")


def _known_audience(v: Any) -> str:
    audiences = vocabulary().audiences
    if isinstance(v, str) and v in audiences:
        return v
    raise ValueError(f"'audience' must be {_one_of(audiences)}, got {v!r}")


#: The specialty field of drafting facts and audit profiles: any specialty id of the vocabulary (aliases accepted).
Specialty = Annotated[str, BeforeValidator(_canonical_specialty)]
#: The audience field: an audience id of the vocabulary.
Audience = Annotated[str, BeforeValidator(_known_audience)]


def specialty_noun(sid: str) -> str:
    """The words a draft uses for a specialty: its display name in lower case ("diagnostic radiology")."""
    return vocabulary().specialties[sid].noun


def specialty_names() -> dict[str, str]:
    """Specialty id -> :func:`specialty_noun`, for every specialty of the vocabulary."""
    return {sid: s.noun for sid, s in vocabulary().specialties.items()}


# --------------------------------------------------------------------------- the facts schema


class DraftFacts(BaseModel):
    """What the applicant tells us; the only source of facts a draft may contain.

    ``what`` is required; ``context``, ``insight``, ``changes``, ``evidence`` and
    ``goals`` are optional free text in the applicant's own words. Unknown keys,
    empty strings and wrong types are errors (see evals/DRAFTS.md).
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    kind: Literal[KINDS]
    specialty: Specialty
    audience: Optional[Audience] = None
    format: Optional[Literal[FORMATS]] = None
    what: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)
    context: Optional[str] = Field(default=None, min_length=1, max_length=MAX_FIELD_CHARS)
    insight: Optional[str] = Field(default=None, min_length=1, max_length=MAX_FIELD_CHARS)
    changes: Optional[str] = Field(default=None, min_length=1, max_length=MAX_FIELD_CHARS)
    evidence: Optional[str] = Field(default=None, min_length=1, max_length=MAX_FIELD_CHARS)
    goals: Optional[str] = Field(default=None, min_length=1, max_length=MAX_FIELD_CHARS)

    @field_validator("audience", "kind", "format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator(*TEXT_FIELDS, mode="before")
    @classmethod
    def _strip_all_space(cls, v: Any) -> Any:
        # Python's notion of whitespace (\x1c-\x1f, \x85, U+2028 ...), so a field of only such characters is empty
        return v.strip() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> "DraftFacts":
        if self.kind == "visa" and self.audience == "us-img":
            raise ValueError("kind 'visa' is for non-US-citizen IMGs: a US citizen needs no visa sponsorship")
        if self.kind == "why-specialty" and self.format == "eras-additional-info":
            raise ValueError("kind 'why-specialty' is a personal-statement paragraph or an interview answer, not an ERAS additional-information entry")
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                check_plausible(value, f"'{name}'")
        return self

    @property
    def effective_format(self) -> str:
        """The format asked for, else the one the guides place this kind in first (the kind's template says)."""
        from assistant.writing.templates import kind_specs  # templates reads facts: import at use, not at load

        return self.format or kind_specs()[self.kind].default_format

    def texts(self) -> list[str]:
        """The applicant's strings plus the specialty's name: everything a draft's facts may come from."""
        out = [getattr(self, f) for f in TEXT_FIELDS if getattr(self, f)]
        out.append(specialty_noun(self.specialty))
        return out


_SCORE_CONTEXT_RE = re.compile(r"(step\s*(?:1|2|3|2\s*ck|two|one|three)|usmle|score[sd]?|scoring|ck)\W{0,3}(?:\w+\W+){0,4}$", re.IGNORECASE)
_YEAR_RE = re.compile(r"(?<![\d.,])(1\d{3}|2\d{3})(?![\d,])")


def check_plausible(text: str, where: str) -> None:
    """Reject absurd values inside free text: an impossible USMLE score (e.g. 900) or a year in the future."""
    for m in re.finditer(r"(?<![\d.,])(\d{3})(?![\d,])", text):
        value = int(m.group(1))
        before = text[max(0, m.start() - 40): m.start()]
        if value > MAX_USMLE_SCORE and _SCORE_CONTEXT_RE.search(before) and "comlex" not in before.lower():
            raise ValueError(f"{where} mentions a USMLE score of {value}, which is impossible (three-digit scores go up to {MAX_USMLE_SCORE})")
    this_year = date.today().year
    for m in _YEAR_RE.finditer(text):
        year = int(m.group(1))
        before = text[max(0, m.start() - 14): m.start()].lower()
        months = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december"
        looks_like_year = re.search(rf"\b(?:in|since|from|to|until|by|of|year|graduated|graduating|class of|{months})\.?,?\s*$", before) or re.search(r"\d\s*[-–/]\s*$", before)
        if not looks_like_year:
            continue
        if year > this_year + 1:
            raise ValueError(f"{where} mentions the year {year}, which is in the future")
        if year < MIN_YEAR:
            raise ValueError(f"{where} mentions the year {year}, which is implausible")


def pydantic_error_line(exc: ValidationError, what: str, allowed: Iterable[str] = ()) -> str:
    """One clear line for the first problem of a pydantic ``ValidationError`` (plus a count of the others)."""
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__")
    typ = first.get("type", "")
    value = first.get("input")
    ctx = first.get("ctx") or {}
    label = f"'{loc}'" if loc else what
    if typ == "extra_forbidden":
        allowed_list = ", ".join(allowed)
        msg = f"unknown field {label} in the {what}" + (f" (allowed: {allowed_list})" if allowed_list else "")
    elif typ == "missing":
        msg = f"missing required field {label} in the {what}"
    elif typ in ("literal_error", "enum"):
        msg = f"{label} must be {ctx.get('expected', 'one of the allowed values')}, got {value!r}"
    elif typ == "string_too_short":
        msg = f"field {label} is empty"
    elif typ == "string_too_long":
        msg = f"field {label} is too long (at most {ctx.get('max_length')} characters)"
    elif typ in ("string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type", "model_type", "int_from_float"):
        expected = {"string_type": "text", "int_type": "a whole number", "float_type": "a number", "bool_type": "true or false",
                    "list_type": "a list", "dict_type": "an object", "model_type": "an object", "int_from_float": "a whole number"}[typ]
        msg = f"field {label} must be {expected}, got {type(value).__name__} {value!r}"[:200]
    elif typ in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        bound = ctx.get("le", ctx.get("lt", ctx.get("ge", ctx.get("gt"))))
        word = {"less_than_equal": "at most", "less_than": "below", "greater_than_equal": "at least", "greater_than": "above"}[typ]
        msg = f"{label} is {value!r}, which is impossible: it must be {word} {bound}"
    elif typ == "string_pattern_mismatch":
        msg = f"{label} must be a month written YYYY-MM (e.g. 2021-07), got {value!r}"
    elif typ == "value_error":
        msg = str(ctx.get("error") or first.get("msg", "")).removeprefix("Value error, ")
    else:
        msg = f"{label}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return f"invalid {what}: {msg}"


def read_json_file(path: str | Path, what: str) -> Any:
    """Load a JSON file, turning every problem (missing, unreadable, not UTF-8, malformed) into one-line InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file not found: {p}")
    if not p.is_file():
        raise InputError(f"{what} path is not a file: {p}")
    try:
        raw = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} file {p} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file {p}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise InputError(f"{what} file {p} is empty")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} file {p} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputError(f"{what} file {p} is nested too deeply to be a {what}") from None


def parse_facts(data: Any) -> DraftFacts:
    """Validate a facts mapping (or pass a :class:`DraftFacts` through); raise one-line InputError."""
    if isinstance(data, DraftFacts):
        return data
    if not isinstance(data, dict):
        raise InputError(f"invalid facts: expected a JSON object with the fields {', '.join(FACT_FIELDS)}, got {type(data).__name__}")
    if "what" not in data and set(data) <= set(FACT_FIELDS):
        raise InputError("invalid facts: missing required field 'what' (what happened, in your own words)")
    try:
        return DraftFacts.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_error_line(exc, "facts", FACT_FIELDS)) from None


def load_facts(path: str | Path, overrides: dict | None = None, profile: Any = None) -> DraftFacts:
    """Read a facts JSON file; non-None ``overrides`` (CLI flags) replace its fields; fields still missing come from ``profile``."""
    data = read_json_file(path, "facts")
    if not isinstance(data, dict):
        raise InputError(f"invalid facts: {path} must hold a JSON object, got {type(data).__name__}")
    data = dict(data)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_facts(with_profile_facts(data, profile))


# --------------------------------------------------------------------------- facts a saved profile already gives

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth")  # the profile allows at most six attempts per exam
#: Which text fields :func:`facts_from_profile` can fill (the others are always the applicant's to write).
PROFILE_FIELDS_BY_KIND = {
    "exam-failure": ("what", "evidence"), "low-score": ("what",), "gap": ("what", "context", "changes", "evidence"),
    "older-graduation": ("what", "evidence"), "visa": ("what",), "specialty-switch": ("context",),
    "professionalism": ("what",), "repeated-year": ("what",), "study-abroad": ("evidence",), "why-specialty": ("changes", "evidence"),
}


def _month(value: str) -> str:
    """'2018-06' -> 'June 2018' (the way an applicant writes it in a paragraph)."""
    year, month = value.split("-")
    return f"{_MONTH_NAMES[int(month) - 1]} {year}"


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    """The applicant's own words as one sentence: capital first letter, final period (as the drafts do)."""
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?" else text + "."


def _phrase(text: str) -> str:
    """The applicant's words inside a sentence: no final period, a lower-case first letter unless it starts an acronym or a name."""
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() and not _own_sentence(text) else text


def _own_sentence(text: str) -> bool:
    """True when the applicant's words already read as a first-person sentence ("I cared for ...")."""
    return bool(re.match(r"(?:I|I'm|My|We|Our)\b", text.strip()))


def _exam_name(exam: str) -> str:
    from assistant.writing.rules import audit_rules  # rules reads this module: import at use

    return f"USMLE {audit_rules().exam_names[exam]}"


def _attempt_phrase(i: int, attempt: Any) -> str:
    return f"my {_ORDINAL_WORDS[i]} attempt" + (f" ({_month(attempt.date)})" if attempt.date else "")


def _failure_sentence(exam: str, attempts: list) -> str:
    """'I failed USMLE Step 1 on my first attempt (June 2018) and passed it on my second attempt (January 2019).'"""
    fails = [_attempt_phrase(i, a) for i, a in enumerate(attempts) if a.result == "fail"]
    out = f"I failed {_exam_name(exam)} on {_joined(fails)}"
    passes = [(i, a) for i, a in enumerate(attempts) if a.result == "pass"]
    if passes:
        i, a = passes[-1]
        out += f", and passed it on {_attempt_phrase(i, a)}" + (f" with a score of {a.score}" if a.score is not None else "")
    else:
        out += ", and I have not passed it yet"
    return out + "."


def _passed(exam: str, attempt: Any) -> str:
    """'USMLE Step 2 CK with a score of 232 (March 2020)'."""
    score = f" with a score of {attempt.score}" if attempt.score is not None else ""
    when = f" ({_month(attempt.date)})" if attempt.date else ""
    return f"{_exam_name(exam)}{score}{when}"


def _by_exam(profile: Any) -> dict[str, list]:
    out: dict[str, list] = {}
    for a in profile.exams:
        out.setdefault(a.exam, []).append(a)
    return out


def _passes(profile: Any, skip: Iterable[str] = ()) -> str | None:
    """Sentences for the exams passed at the first attempt (failed ones are told by :func:`_failure_sentence`)."""
    said = [_passed(exam, attempts[-1]) for exam, attempts in _by_exam(profile).items()
            if exam not in skip and attempts[-1].result == "pass" and all(a.result == "pass" for a in attempts)]
    return f"I passed {_joined(said)}." if said else None


def _chosen_gap(profile: Any) -> Any:
    """The gap a gap draft is about: the longest one (the one programs ask about first)."""
    from assistant.writing.profile import ym

    def months(g: Any) -> int:
        return (ym(g.end) if g.end else profile.as_of_month) - ym(g.start)

    return max(profile.gaps, key=months) if profile.gaps else None


def _kind_texts(profile: Any, kind: str) -> dict[str, str | None]:
    """The text fields of a draft of ``kind`` that ``profile`` can fill, in the applicant's terms."""
    exams = _by_exam(profile)
    failed = [e for e, attempts in exams.items() if any(a.result == "fail" for a in attempts)]
    if kind == "exam-failure":
        what = " ".join(_failure_sentence(e, exams[e]) for e in failed) or None
        return {"what": what, "evidence": _passes(profile, skip=failed)}
    if kind == "low-score":
        scores = [a for a in exams.get("step2ck", []) if a.score is not None]
        return {"what": f"My {_exam_name('step2ck')} score is {scores[-1].score}." if scores else None}
    if kind == "gap":
        gap = _chosen_gap(profile)
        if gap is None:
            return {}
        span = f"was not in clinical training or work from {_month(gap.start)} to {_month(gap.end)}" if gap.end else \
            f"have not been in clinical training or work since {_month(gap.start)}"
        reason, did = gap.reason, gap.activities
        return {"what": f"I {span}.",
                "context": (_sentence(reason) if _own_sentence(reason) else f"The reason: {_phrase(reason)}.") if reason else None,
                "changes": (_sentence(did) if _own_sentence(did) else f"I spent that time on {_phrase(did)}.") if did else None,
                "evidence": _passes(profile, skip=failed)}
    if kind == "older-graduation":
        return {"what": f"I graduated from medical school in {profile.graduation_year}.", "evidence": _passes(profile, skip=failed)}
    if kind == "visa" and profile.visa is not None:
        v = profile.visa
        said = ["I will need visa sponsorship" + (f" ({' or '.join(v.preferred)})" if v.preferred else "") + "." if v.needs_sponsorship else ""]
        said += ["I had a prior visa denial." if v.prior_denial else "", "I had a visa status violation." if v.status_violation else ""]
        said.append(f"I changed visa type {v.type_changes} times." if v.type_changes >= 2 else "")
        return {"what": " ".join(s for s in said if s) or None}
    if kind == "specialty-switch" and profile.previous_specialty:
        return {"context": f"I previously trained in {profile.previous_specialty}."}
    if kind == "professionalism" and profile.professionalism:
        return {"what": " ".join(_sentence(n.description) for n in profile.professionalism)}
    if kind == "repeated-year":
        words = {"repeated-year": "I repeated a year of medical school", "probation": "I was on academic probation",
                 "failed-course": "I failed a course", "failed-clerkship": "I failed a clerkship"}
        said = [_sentence(a.description) if a.description else words[a.type] + (f" in {a.year}" if a.year else "") + "." for a in profile.academic]
        return {"what": " ".join(said) or None}
    if kind == "study-abroad":
        return {"evidence": _passes(profile, skip=failed)}
    if kind == "why-specialty":
        did = [f"I completed an {c.type} in {c.specialty}." if c.type[0] in "aeiou" else f"I completed a {c.type} in {c.specialty}."
               for c in profile.us_clinical_experience]
        did += [f"I did research on {_phrase(r.topic)}." for r in profile.research]
        return {"changes": " ".join(did) or None}
    return {}


def suggested_kind(profile: Any) -> str:
    """The draft kind of the first red flag the audit finds in ``profile`` (``why-specialty`` when it finds none)."""
    from assistant.writing.audit import find_flags  # the audit reads this module: import at use
    from assistant.writing.profile import parse_profile

    flags = find_flags(parse_profile(profile))
    return flags[0].draft_kind if flags else "why-specialty"


def facts_from_profile(profile: Any, kind: str | None = None) -> dict:
    """What a saved :class:`~assistant.writing.ApplicantProfile` already says for a draft: a partial facts dict.

    ``kind`` defaults to :func:`suggested_kind`. The result has ``kind``, ``specialty``,
    ``audience`` and each text field the profile can fill for that kind (the exams, their
    attempts and dates, a gap's dates, reason and activities, the graduation year, the visa
    history, ...; :data:`PROFILE_FIELDS_BY_KIND`), written in the first person ("I failed USMLE
    Step 1 on my first attempt (June 2018), and passed it on my second attempt (January 2019).").
    Fields the profile cannot fill are left out, so the draft still asks for them.

    Why text, not a side channel: the draft's fact guard checks every number, date and name
    against the facts' text, so the profile's facts become the applicant's facts by being in
    that text (the UI shows them, pre-filled and editable, in the facts form).
    """
    from assistant.writing.profile import parse_profile  # profile reads this module: import at use

    profile = parse_profile(profile)
    kind = kind or suggested_kind(profile)
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    facts: dict[str, Any] = {"kind": kind, "specialty": profile.specialty, "audience": profile.audience}
    facts.update({k: v for k, v in _kind_texts(profile, kind).items() if v})
    return facts


def with_profile_facts(facts: dict, profile: Any) -> dict:
    """``facts`` (a partial facts mapping) with every field it lacks filled from ``profile`` (:func:`facts_from_profile`).

    The applicant's own fields always win; the kind is theirs too when given (else the
    profile's :func:`suggested_kind`). ``profile`` None: ``facts`` unchanged.
    """
    if profile is None:
        return dict(facts)
    kind = facts.get("kind") if isinstance(facts.get("kind"), str) and facts.get("kind", "").strip() else None
    if kind is not None and kind.strip().lower() not in KINDS:
        return dict(facts)  # parse_facts names the bad kind
    base = facts_from_profile(profile, kind.strip().lower() if kind else None)
    return {**base, **{k: v for k, v in facts.items() if v is not None}}
