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


def load_facts(path: str | Path, overrides: dict | None = None) -> DraftFacts:
    """Read a facts JSON file; non-None ``overrides`` (CLI flags) replace its fields."""
    data = read_json_file(path, "facts")
    if not isinstance(data, dict):
        raise InputError(f"invalid facts: {path} must hold a JSON object, got {type(data).__name__}")
    data = dict(data)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_facts(data)
