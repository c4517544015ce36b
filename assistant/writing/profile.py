"""The applicant profile the audit reads: its schema, its plausibility checks, and reading a profile file.

What: :class:`ApplicantProfile` (exams, gaps, academic and professionalism notes,
visa, US clinical experience, research, letters; every field documented in
evals/DRAFTS.md), :func:`parse_profile` (also accepts an eval file's envelope
``{"profile": ..., "expected_flags": [...]}``) and :func:`load_profile`.

Why strict: the audit's flags are only as good as the record, so impossible
records (an attempt after a pass, a gap that ends before it starts, dates after
the application date) are one-line :class:`~assistant.errors.InputError` s.
Specialty and audience are the advisor's vocabulary (:mod:`assistant.domain`);
exam spellings come from the audit's data file (``exam_aliases``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from assistant.errors import InputError
from assistant.writing.facts import MIN_YEAR, Audience, Specialty, pydantic_error_line, read_json_file
from assistant.writing.rules import EXAMS, audit_rules

#: More attempts than this at one Step is taken for a typing mistake.
MAX_ATTEMPTS_PER_EXAM = 6

YearMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def ym(value: str) -> int:
    """'2021-07' -> months since year 0 (for differences in months)."""
    y, m = value.split("-")
    return int(y) * 12 + int(m) - 1



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class ExamAttempt(_Strict):
    """One attempt at a USMLE Step, in the order taken."""

    exam: Literal[EXAMS]
    result: Literal["pass", "fail"]
    score: Optional[int] = Field(default=None, ge=1, le=300)
    date: Optional[YearMonth] = None

    @field_validator("exam", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        return audit_rules().exam_aliases.get(" ".join(v.strip().lower().split()), v) if isinstance(v, str) else v

    @field_validator("result", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v


class Gap(_Strict):
    """A period without clinical training or work, start and end as YYYY-MM (end omitted: still ongoing)."""

    start: YearMonth
    end: Optional[YearMonth] = None
    reason: Optional[str] = Field(default=None, min_length=1, max_length=1000)
    activities: Optional[str] = Field(default=None, min_length=1, max_length=1000)


class AcademicIssue(_Strict):
    type: Literal["failed-course", "failed-clerkship", "repeated-year", "probation"]
    description: Optional[str] = Field(default=None, min_length=1, max_length=1000)
    year: Optional[int] = Field(default=None, ge=MIN_YEAR, le=2100)


class ProfessionalismNote(_Strict):
    description: str = Field(min_length=1, max_length=1000)
    year: Optional[int] = Field(default=None, ge=MIN_YEAR, le=2100)


class VisaInfo(_Strict):
    needs_sponsorship: bool
    preferred: list[Literal["J-1", "H-1B"]] = Field(default_factory=list)
    prior_denial: bool = False
    status_violation: bool = False
    type_changes: int = Field(default=0, ge=0, le=10)


class ClinicalExperience(_Strict):
    """US clinical experience (USCE)."""

    type: Literal["observership", "externship", "elective", "sub-internship", "clinical-job", "residency"]
    specialty: str = Field(min_length=1, max_length=80)
    months: float = Field(gt=0, le=120)
    letter: bool = False


class ResearchItem(_Strict):
    topic: str = Field(min_length=1, max_length=300)
    specialty_related: bool
    outputs: int = Field(default=0, ge=0, le=200)  # publications, posters, abstracts


class Letter(_Strict):
    writer_specialty: str = Field(min_length=1, max_length=80)
    us_based: bool = True


class ApplicantProfile(_Strict):
    """An applicant's record, as the audit reads it (every field documented in evals/DRAFTS.md)."""

    audience: Audience
    specialty: Specialty
    graduation_year: int = Field(ge=MIN_YEAR, le=2100)
    as_of: Optional[YearMonth] = None  # the month you apply; default: this month
    exams: list[ExamAttempt] = Field(default_factory=list)
    gaps: list[Gap] = Field(default_factory=list)
    academic: list[AcademicIssue] = Field(default_factory=list)
    professionalism: list[ProfessionalismNote] = Field(default_factory=list)
    visa: Optional[VisaInfo] = None
    previous_specialty: Optional[str] = Field(default=None, min_length=1, max_length=80)
    us_clinical_experience: list[ClinicalExperience] = Field(default_factory=list)
    research: list[ResearchItem] = Field(default_factory=list)
    letters: list[Letter] = Field(default_factory=list)

    @field_validator("audience", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @property
    def as_of_month(self) -> int:
        if self.as_of:
            return ym(self.as_of)
        today = date.today()
        return today.year * 12 + today.month - 1

    @model_validator(mode="after")
    def _plausible(self) -> "ApplicantProfile":
        now = self.as_of_month
        now_year = now // 12
        if self.graduation_year > now_year + 2:
            raise ValueError(f"graduation_year {self.graduation_year} is more than two years after the application date")
        if self.visa and self.visa.needs_sponsorship and self.audience == "us-img":
            raise ValueError("visa.needs_sponsorship is true but audience is us-img: a US citizen needs no visa sponsorship")
        for i, g in enumerate(self.gaps):
            if ym(g.start) > now:
                raise ValueError(f"gaps.{i}.start {g.start} is after the application date")
            if g.end is not None:
                if ym(g.end) < ym(g.start):
                    raise ValueError(f"gaps.{i} ends ({g.end}) before it starts ({g.start})")
                if ym(g.end) > now:
                    raise ValueError(f"gaps.{i}.end {g.end} is after the application date")
            if int(g.start[:4]) < self.graduation_year - 10:
                raise ValueError(f"gaps.{i}.start {g.start} is implausibly long before graduation")
        per_exam: dict[str, list[ExamAttempt]] = {}
        for i, a in enumerate(self.exams):
            if a.date and ym(a.date) > now:
                raise ValueError(f"exams.{i}.date {a.date} is after the application date")
            attempts = per_exam.setdefault(a.exam, [])
            if any(prev.result == "pass" for prev in attempts):
                raise ValueError(f"exams.{i}: an attempt at {audit_rules().exam_names[a.exam]} after it was passed is impossible")
            attempts.append(a)
        for exam, attempts in per_exam.items():
            if len(attempts) > MAX_ATTEMPTS_PER_EXAM:
                raise ValueError(f"{len(attempts)} attempts at {audit_rules().exam_names[exam]} is implausible (at most {MAX_ATTEMPTS_PER_EXAM})")
        for i, n in enumerate(self.academic):
            if n.year and n.year > now_year:
                raise ValueError(f"academic.{i}.year {n.year} is after the application date")
        for i, n in enumerate(self.professionalism):
            if n.year and n.year > now_year:
                raise ValueError(f"professionalism.{i}.year {n.year} is after the application date")
        return self


PROFILE_FIELDS = tuple(ApplicantProfile.model_fields)
ENVELOPE_KEYS = {"profile", "expected_flags", "description"}


def parse_profile(data: Any) -> ApplicantProfile:
    """Validate a profile mapping, or an eval envelope ``{"profile": {...}, "expected_flags": [...]}``."""
    if isinstance(data, ApplicantProfile):
        return data
    if isinstance(data, dict) and "profile" in data:
        extra = set(data) - ENVELOPE_KEYS
        if extra:
            raise InputError(f"invalid profile file: unknown key '{sorted(extra)[0]}' next to 'profile' (allowed: {', '.join(sorted(ENVELOPE_KEYS))})")
        data = data["profile"]
    if not isinstance(data, dict):
        raise InputError(f"invalid profile: expected a JSON object, got {type(data).__name__}")
    try:
        return ApplicantProfile.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_error_line(exc, "profile", PROFILE_FIELDS)) from None


def load_profile(path: str | Path) -> ApplicantProfile:
    return parse_profile(read_json_file(path, "profile"))
