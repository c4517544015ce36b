"""Application audit: the red flags the guides would see in a profile, where to address each, and what offsets them.

``advisor audit --profile FILE.json`` reads an applicant profile (:class:`ApplicantProfile`,
documented in evals/DRAFTS.md) and reports, each with citations to the guides:

- **flags**: only what the guides call red flags (failed or multiple exam
  attempts, Step 2 CK below the lowest band the guides give, gaps over 3 months,
  an older graduation year, professionalism notes, repeated years, probation,
  failed courses, visa denials/violations/repeated visa changes, an unexplained
  specialty switch, no documented exposure to the specialty). Each says where
  the guides want it addressed (personal statement, ERAS additional information,
  interview) and which ``advisor draft --kind`` writes it.
- **strengths**: the compensating strengths the guides recommend building for
  the specialty, marked ``have`` / ``build`` / ``unknown`` from the profile.
- **score_bands**: the Step 2 CK ranges where the guides give them (medical
  genetics, from the guide for non-US-citizen IMGs), with the applicant's band.
- **considerations**: things the guides say are *not* red flags but matter
  (needing a visa, being a US-citizen IMG).

Every rule carries its document id and a verbatim quote (tests check them
against the corpus); citations are the indexed passages that contain the quotes.
Thresholds the guides state are used as stated (gaps "> 3 months", the Step 2 CK
bands); where a guide names a red flag without a number (an "older YOG"), the
constant below is documented as our reading of the guide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from assistant.draft import (
    DR, LOW, MG, MIN_YEAR, RAD, SPECIALTY_NAMES, STP, USG, USR, Specialty,
    GuideRule, cite_rules, pydantic_error_line, read_json_file,
)
from assistant.errors import IndexMissingError, InputError
from assistant.schemas import Citation

#: "Gaps > 3 months" (us-img-medical-genetics-red-flags, "Audit Your Application").
GAP_FLAG_MONTHS = 3
#: A gap this long counts as a "long gap", a major red flag (personal statement + interview); shorter ones are minor.
LONG_GAP_MONTHS = 12
#: Years since graduation at which the YOG counts as "older": the guides ask for "recent (last 1–2 years)"
#: experience, so from the third year on, medical school alone no longer shows it.
OLDER_YOG_YEARS = 3
#: The guides' Step 2 CK bands for medical genetics (non-us-img-medical-genetics-step-scores).
STEP2_BANDS = (245, 235, 220)
MAX_ATTEMPTS_PER_EXAM = 6

YearMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
EXAM_ALIASES = {
    "step1": "step1", "step 1": "step1", "usmle step 1": "step1", "step-1": "step1",
    "step2ck": "step2ck", "step 2 ck": "step2ck", "step2 ck": "step2ck", "step 2": "step2ck", "usmle step 2 ck": "step2ck", "step-2-ck": "step2ck",
    "step3": "step3", "step 3": "step3", "usmle step 3": "step3", "step-3": "step3",
}
EXAM_NAMES = {"step1": "Step 1", "step2ck": "Step 2 CK", "step3": "Step 3"}
FORMAT_LABELS = {"personal-statement": "personal statement", "eras-additional-info": "ERAS additional information", "interview": "interview"}


def _ym(value: str) -> int:
    y, m = value.split("-")
    return int(y) * 12 + int(m) - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class ExamAttempt(_Strict):
    """One attempt at a USMLE Step, in the order taken."""

    exam: Literal["step1", "step2ck", "step3"]
    result: Literal["pass", "fail"]
    score: Optional[int] = Field(default=None, ge=1, le=300)
    date: Optional[YearMonth] = None

    @field_validator("exam", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        return EXAM_ALIASES.get(" ".join(v.strip().lower().split()), v) if isinstance(v, str) else v

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

    audience: Literal["us-img", "non-us-img"]
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
            return _ym(self.as_of)
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
            if _ym(g.start) > now:
                raise ValueError(f"gaps.{i}.start {g.start} is after the application date")
            if g.end is not None:
                if _ym(g.end) < _ym(g.start):
                    raise ValueError(f"gaps.{i} ends ({g.end}) before it starts ({g.start})")
                if _ym(g.end) > now:
                    raise ValueError(f"gaps.{i}.end {g.end} is after the application date")
            if int(g.start[:4]) < self.graduation_year - 10:
                raise ValueError(f"gaps.{i}.start {g.start} is implausibly long before graduation")
        per_exam: dict[str, list[ExamAttempt]] = {}
        for i, a in enumerate(self.exams):
            if a.date and _ym(a.date) > now:
                raise ValueError(f"exams.{i}.date {a.date} is after the application date")
            attempts = per_exam.setdefault(a.exam, [])
            if any(prev.result == "pass" for prev in attempts):
                raise ValueError(f"exams.{i}: an attempt at {EXAM_NAMES[a.exam]} after it was passed is impossible")
            attempts.append(a)
        for exam, attempts in per_exam.items():
            if len(attempts) > MAX_ATTEMPTS_PER_EXAM:
                raise ValueError(f"{len(attempts)} attempts at {EXAM_NAMES[exam]} is implausible (at most {MAX_ATTEMPTS_PER_EXAM})")
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


# --------------------------------------------------------------------------- guide rules for the audit

R = GuideRule
WHY = {
    "exam-failure": [R("A failed Step or multiple attempts is a red flag.", RAD, "Step 1 or Step 2 CK failure or multiple attempts", specialty=DR),
                     R("Failed licensing exams are academic red flags.", USG, "Failed licensing exams (USMLE Step 1, Step 2 CK, or OET/TOEFL if relevant)", specialty=MG),
                     R("Address major red flags such as exam failures directly in the written application.", USG,
                       "Directly address major red flags (exam failures, long gaps, professionalism issues)")],
    "multiple-failures": [R("Repeated failed attempts are a red flag, though not an automatic rejection.", LOW,
                            "Repeated failed attempts, especially on core exams, are red flags", specialty=MG),
                          R("Several failures are worse than one: programs look at the pattern.", USG, "One failed course with strong subsequent performance is less concerning than repeated failures.")],
    "low-score": [R("Very low USMLE scores are a red flag.", USG, "Very low USMLE scores or large score disparities"),
                  R("Below the guides' lowest Step 2 CK band (220) you need a strong narrative, a targeted list and exceptional research.", STP, "Below 220: You will benefit from:", specialty=MG),
                  R("Expect the question in interviews.", LOW, "“Can you tell me about your USMLE performance?”", specialty=MG)],
    "gap": [R("List every gap over three months.", USG, "Gaps > 3 months"),
            R("Long gaps belong in the personal statement and the interview.", RAD, "Major red flags (exam failures, repeated years, long gaps) → Personal statement + interview"),
            R("Short gaps belong in ERAS or the interview only.", RAD, "Minor or easily explained issues (short gap, brief delay) → ERAS experiences or interview only")],
    "older-graduation": [R("An older year of graduation is a soft red flag.", RAD, "An older YOG is a common “soft” red flag for non-US citizen IMGs."),
                         R("Time since graduation is one of the things to audit.", USG, "US citizen IMG‑related questions (school reputation, time since graduation)")],
    "professionalism": [R("Professionalism notations are among the most serious red flags.", USG, "Disciplinary actions or professionalism notations in the MSPE/dean’s letter"),
                        R("Professionalism issues often weigh more than academic ones.", RAD, "Professionalism issues are often more damaging than academic ones in radiology residency selection.", specialty=DR),
                        R("Address major red flags such as professionalism issues directly in the written application.", USG,
                          "Directly address major red flags (exam failures, long gaps, professionalism issues)")],
    "repeated-year": [R("A repeated year is a serious academic red flag.", RAD, "A repeated year or probation is a serious academic red flag"),
                      R("Repeated years belong in the personal statement and the interview.", RAD, "Major red flags (exam failures, repeated years, long gaps) → Personal statement + interview")],
    "academic-probation": [R("Probation is a serious academic red flag.", RAD, "A repeated year or probation is a serious academic red flag"),
                           R("Remediation and probation are professionalism-adjacent concerns.", USG, "Remediation for unprofessional behavior, attendance problems, or boundary concerns", specialty=MG)],
    "course-failure": [R("Failed courses or clerkships are academic red flags.", USG, "Failed or repeated courses or clerkships, especially core rotations"),
                       R("Minor issues go to the ERAS additional-information box or the interview.", USG, "Reserve minor issues for the ERAS “Additional Information” box or to clarify during interviews")],
    "visa-history": [R("Visa denials, status violations or repeated visa changes are red flags.", RAD, "Prior US visa denial or status violations"),
                     R("Changing visa types multiple times is a red flag.", RAD, "Changing visa types multiple times"),
                     R("Address visa issues in interviews and with coordinators when asked.", RAD, "Visa issues → Address in interviews and in communication with program coordinators when asked")],
    "specialty-switch": [R("A sudden, unexplained switch to radiology is a red flag.", RAD, "Sudden switch to radiology from a very different specialty without explanation", specialty=DR),
                         R("Expect “why now?” after attempts in other specialties.", USG, "especially if there are delays or previous attempts in other specialties", specialty=MG)],
    "limited-exposure": [R("No radiology exposure or letters from radiologists is a red flag.", RAD, "No radiology exposure or letters from radiologists", specialty=DR),
                         R("Little documented genetics exposure worries programs.", USG, "You discovered genetics “late” and have little documented exposure", specialty=MG)],
}
STRENGTHS_FOR = {
    "exam-failure": [R("A strong Step 2 CK after the failure.", RAD, "Strong Step 2 CK score after a Step 1 failure is crucial.", specialty=DR),
                     R("A strong Step 2 CK and honors after Step 1 difficulties.", USG, "Strong Step 2 CK score after Step 1 difficulties", specialty=MG),
                     R("Letters that speak to your growth.", STP, "Letters from faculty who directly address your growth and current capability", specialty=MG),
                     R("Letters from radiologists who know your work ethic and learning curve.", RAD,
                       "Ask mentors or radiology attendings to speak to your work ethic, learning curve, and reliability", specialty=DR)],
    "multiple-failures": [R("Compensating strengths: scores, research, strong letters, USCE.", RAD, "Your application has compensating strengths (scores, research, strong letters, USCE)"),
                          R("Research to signal intellectual capability.", LOW, "Research is often the strongest way for an IMG with low Step 1 score to signal intellectual capability.", specialty=MG)],
    "low-score": [R("Exceptional research or niche value.", STP, "Exceptional research or niche value,", specialty=MG),
                  R("Genetics research can offset mid-range scores.", STP, "research matters a lot, sometimes enough to offset mid-range Step scores", specialty=MG),
                  R("Consider combined or categorical routes (pediatrics or internal medicine first).", STP, "A willingness to consider combined or categorical routes", specialty=MG)],
    "gap": [R("Show you stayed connected to clinical work, ideally genetics.", USG, "For any gap, demonstrate you stayed connected to clinical work and, ideally, genetics", specialty=MG),
            R("Be clinically active now: recent USCE or a refresher rotation.", RAD, "Emphasize that you are now clinically active, have recent USCE, or have done a refresher rotation to update your skills.")],
    "older-graduation": [R("Recent (last 1–2 years) clinical or specialty experience.", RAD, "Highlight recent (last 1–2 years) clinical or radiology-related experience."),
                         R("Strong, recent US clinical or research work, ideally in genetics.", LOW, "you need strong, recent, U.S.-based clinical and/or research work, ideally in genetics.", specialty=MG)],
    "professionalism": [R("Strong letters that state no professionalism concerns.", USG, "For professionalism issues, strong letters of recommendation become critical."),
                        R("USCE evaluations praising professionalism and reliability.", RAD, "USCE evaluations praising professionalism, reliability, teamwork.")],
    "repeated-year": [R("Honors or high passes in later clinical rotations.", RAD, "Honors or high passes in clinical rotations"),
                      R("A strong MSPE narrative in later years.", RAD, "Strong MSPE narrative in later years")],
    "academic-probation": [R("Honors or high passes in later clinical rotations.", RAD, "Honors or high passes in clinical rotations"),
                           R("Written comments praising reliability and improvement.", RAD, "Written comments praising reliability and improvement")],
    "course-failure": [R("Honors in core clerkships.", USG, "Honors in core clerkships"),
                       R("Honors or high passes in clinical rotations.", RAD, "Honors or high passes in clinical rotations")],
    "visa-history": [R("Explain how it was resolved and that your status is stable.", RAD, "If you had issues before, explain how they were resolved and that your status is now stable."),
                     R("Show you consulted official sources or an immigration attorney.", RAD, "Show you have consulted official sources or an immigration attorney")],
    "specialty-switch": [R("Frame it as a logical progression, not a last resort.", USG, "frame it as a logical progression, not a last resort"),
                         R("Radiology continuity in your activities.", RAD, "Activities list showing radiology-continuity", specialty=DR)],
    "limited-exposure": [R("Observerships, electives or externships under US radiologists.", RAD, "Observerships, electives, or externships under US radiologists", specialty=DR),
                         R("A strong US clinical experience in a genetics-adjacent field, with a detailed letter.", USG,
                           "Secure at least one strong US clinical experience in a genetics‑adjacent field with a detailed letter.", specialty=MG),
                         R("A letter from a clinical geneticist who supervised you.", LOW, "A clinical geneticist who supervised you directly", specialty=MG)],
}

# Profile-level compensating strengths the guides recommend building: (id, rule, test) per specialty.
PROFILE_STRENGTHS = {
    MG: [
        ("step2ck", R("A strong Step 2 CK (the primary exam metric now).", STP, "Step 2 CK is now the primary exam metric")),
        ("usce", R("US clinical experience in genetics or a genetics-adjacent field, with a detailed letter.", USG,
                   "Secure at least one strong US clinical experience in a genetics‑adjacent field with a detailed letter.")),
        ("research", R("Genetics research: case reports, posters, abstracts.", LOW, "1–2 first-author case reports in genetics")),
        ("letter", R("A letter from a medical geneticist.", USG, "At least one letter from a medical geneticist or genetics clinic faculty if possible")),
    ],
    DR: [
        ("step2ck", R("A clearly above-average Step 2 CK (the guides give no number for radiology).", RAD, "Achieving a clearly above-average Step 2 CK score")),
        ("usce", R("US radiology electives, observerships or externships.", RAD, "Observerships, electives, or externships under US radiologists")),
        ("research", R("Radiology research: case reports, imaging studies, QI projects.", RAD, "Case reports, retrospective imaging studies, quality improvement projects")),
        ("letter", R("Letters from radiologists.", RAD, "Detailed letters describing your attention to detail, work ethic, and learning ability")),
    ],
}
BAND_RULES = [
    ("≥245", 245, None, R("Very competitive IMGs for medical genetics: Step 2 CK ≥ 245–250+.", STP, "Very competitive IMGs for medical genetics: Step 2 CK ≥ 245–250+")),
    ("235–245", 235, 245, R("Solidly competitive IMGs: Step 2 CK ~235–245.", STP, "Solidly competitive IMGs: Step 2 CK ~235–245")),
    ("220–235", 220, 235, R("Possible but more challenging, especially with visa needs: Step 2 CK ~220–235.", STP,
                            "Possible but more challenging path, especially with visa needs: Step 2 CK ~220–235")),
    ("<220", None, 220, R("Below 220: a strong narrative, a targeted list, exceptional research, or combined/categorical routes.", STP, "Below 220: You will benefit from:")),
]
CONSIDERATION_RULES = {
    "visa-needed": R("Needing a visa is not a red flag by itself, but some programs do not sponsor: target programs that sponsor and match IMGs.", RAD,
                     "Needing a visa is not a red flag by itself, but it is a practical barrier for some programs."),
    "us-img": R("Being a US-citizen IMG is not a red flag, but be ready to explain why you studied abroad.", USG,
                "Being a US citizen IMG is not a red flag in the official sense, but it does raise questions for some program directors"),
    "no-visa-needed": R("US-citizen IMGs need no visa sponsorship, which can make programs more open to interviewing them.", USR,
                        "You do not need visa sponsorship (no J-1 or H-1B issues), which can make programs more open to interviewing you."),
}

DRAFT_KIND = {
    "exam-failure": "exam-failure", "multiple-failures": "exam-failure", "low-score": "low-score", "gap": "gap",
    "older-graduation": "older-graduation", "professionalism": "professionalism", "repeated-year": "repeated-year",
    "academic-probation": "repeated-year", "course-failure": "repeated-year", "visa-history": "visa",
    "specialty-switch": "specialty-switch", "limited-exposure": "why-specialty",
}
GENETICS_RX = re.compile(r"genetic|genomic|metabolic|dysmorpholog", re.I)
RADIOLOGY_RX = re.compile(r"radiolog|imaging|neuroradiolog|\bir\b", re.I)
GENETICS_ADJACENT_RX = re.compile(r"pediatric|paediatric|internal medicine|\bim\b|neurolog|oncolog|maternal|fetal|neonat|ob/?gyn|obstetric", re.I)


def _related(text: str, specialty: str) -> bool:
    return bool((GENETICS_RX if specialty == MG else RADIOLOGY_RX).search(text))


# --------------------------------------------------------------------------- the audit


@dataclass
class Flag:
    id: str
    kind: str
    title: str
    detail: str
    severity: str  # major | minor
    where: list[str]
    draft_kind: str
    why: list[GuideRule]
    strengths: list[GuideRule]
    why_n: list[Optional[int]] = field(default_factory=list)
    strengths_n: list[Optional[int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "detail": self.detail, "severity": self.severity,
            "where": self.where, "draft_kind": self.draft_kind,
            "why": [{"text": r.item, "source": r.source, "quote": r.quote, "citation": n} for r, n in zip(self.why, self.why_n)],
            "strengths": [{"text": r.item, "source": r.source, "quote": r.quote, "citation": n} for r, n in zip(self.strengths, self.strengths_n)],
        }


@dataclass
class AuditResult:
    audience: str
    specialty: str
    flags: list[Flag]
    strengths: list[dict]
    score_bands: dict
    considerations: list[dict]
    citations: list[Citation]
    note: str = ""

    @property
    def flag_ids(self) -> list[str]:
        return [f.id for f in self.flags]

    def to_json(self) -> dict:
        return {
            "audience": self.audience, "specialty": self.specialty,
            "flags": [f.to_json() for f in self.flags],
            "strengths": self.strengths, "score_bands": self.score_bands, "considerations": self.considerations,
            "citations": [c.to_json() for c in self.citations], "note": self.note,
        }


def _applicable(rules: list[GuideRule], p: ApplicantProfile) -> list[GuideRule]:
    return [r for r in rules if r.applies(p.specialty, p.audience)]


def _flag(kind: str, p: ApplicantProfile, fid: str, title: str, detail: str, severity: str, where: list[str]) -> Flag:
    return Flag(fid, kind, title, detail, severity, where, DRAFT_KIND[kind], _applicable(WHY[kind], p), _applicable(STRENGTHS_FOR[kind], p))


def _latest_step2(p: ApplicantProfile) -> Optional[int]:
    scores = [a.score for a in p.exams if a.exam == "step2ck" and a.score is not None]
    return scores[-1] if scores else None


def find_flags(p: ApplicantProfile) -> list[Flag]:
    """The red flags the guides would see in ``p`` (and nothing else), in a stable order."""
    flags: list[Flag] = []
    PS, ERAS, INT = "personal-statement", "eras-additional-info", "interview"
    # Exams: any failed attempt; a pattern of failures.
    total_fails = 0
    for exam in ("step1", "step2ck", "step3"):
        attempts = [a for a in p.exams if a.exam == exam]
        fails = sum(a.result == "fail" for a in attempts)
        total_fails += fails
        if fails:
            passed = any(a.result == "pass" for a in attempts)
            outcome = f"passed on attempt {len(attempts)}" if passed else "not yet passed"
            flags.append(_flag("exam-failure", p, f"exam-failure:{exam}", f"{EXAM_NAMES[exam]}: {fails} failed attempt{'s' if fails > 1 else ''}",
                               f"{len(attempts)} attempt{'s' if len(attempts) > 1 else ''}, {outcome}", "major", [PS, INT]))
    if total_fails >= 2:
        flags.append(_flag("multiple-failures", p, "multiple-failures", f"{total_fails} failed exam attempts in all",
                           "a pattern of failures weighs more than a single one", "major", [PS, INT]))
    step2 = _latest_step2(p)
    if p.specialty == MG and step2 is not None and step2 < STEP2_BANDS[2]:
        flags.append(_flag("low-score", p, "low-score:step2ck", f"Step 2 CK {step2}: below the guides' lowest band (220)",
                           "the guides' Step 2 CK ranges for medical genetics start at 220", "minor", [ERAS, INT]))
    # Gaps over three months.
    for g in p.gaps:
        end = _ym(g.end) if g.end else p.as_of_month
        months = end - _ym(g.start)
        if months > GAP_FLAG_MONTHS:
            long = months >= LONG_GAP_MONTHS
            span = f"{g.start} to {g.end or 'now'}"
            detail = f"{months} months" + ("" if g.activities else "; no activities listed for it")
            flags.append(_flag("gap", p, f"gap:{g.start}", f"Gap of {months} months ({span})", detail,
                               "major" if long else "minor", [PS, INT] if long else [ERAS, INT]))
    # Older year of graduation.
    years = p.as_of_month // 12 - p.graduation_year
    if years >= OLDER_YOG_YEARS:
        flags.append(_flag("older-graduation", p, "older-graduation", f"Graduated {years} years before applying ({p.graduation_year})",
                           "an older YOG raises questions about skill atrophy", "minor", [ERAS, INT]))
    if p.professionalism:
        n = len(p.professionalism)
        flags.append(_flag("professionalism", p, "professionalism", f"{n} professionalism note{'s' if n > 1 else ''}",
                           "; ".join(x.description for x in p.professionalism)[:300], "major", [PS, INT]))
    kinds = {"repeated-year": ("repeated-year", "Repeated academic year", "major", [PS, INT]),
             "probation": ("academic-probation", "Academic probation", "major", [PS, INT])}
    for issue_type, (kind, title, sev, where) in kinds.items():
        items = [a for a in p.academic if a.type == issue_type]
        if items:
            flags.append(_flag(kind, p, kind, title, "; ".join(a.description or issue_type for a in items)[:300], sev, where))
    failed = [a for a in p.academic if a.type in ("failed-course", "failed-clerkship")]
    if failed:
        flags.append(_flag("course-failure", p, "course-failure", f"{len(failed)} failed course{'s' if len(failed) > 1 else ''} or clerkship{'s' if len(failed) > 1 else ''}",
                           "; ".join(a.description or a.type for a in failed)[:300], "minor", [ERAS, INT]))
    v = p.visa
    if v and (v.prior_denial or v.status_violation or v.type_changes >= 2):
        why = [w for w, on in (("a prior visa denial", v.prior_denial), ("a status violation", v.status_violation),
                               (f"{v.type_changes} visa type changes", v.type_changes >= 2)) if on]
        flags.append(_flag("visa-history", p, "visa-history", "Visa history", ", ".join(why), "minor", [INT]))
    if p.previous_specialty and not _related(p.previous_specialty, p.specialty):
        flags.append(_flag("specialty-switch", p, "specialty-switch", f"Switch from {p.previous_specialty}",
                           "programs will ask why this specialty and why now", "minor", [PS, INT]))
    exposure = (any(_related(c.specialty, p.specialty) for c in p.us_clinical_experience)
                or any(r.specialty_related for r in p.research)
                or any(_related(l.writer_specialty, p.specialty) for l in p.letters))
    if not exposure:
        flags.append(_flag("limited-exposure", p, "limited-exposure", f"No documented {SPECIALTY_NAMES[p.specialty]} exposure",
                           "no US clinical experience, research or letter in the specialty", "minor", [PS, INT]))
    return flags


def _strengths(p: ApplicantProfile) -> list[tuple[str, GuideRule, str, str]]:
    """(id, rule, status, detail) for the profile-level strengths of the specialty."""
    out = []
    step2 = _latest_step2(p)
    for sid, rule in PROFILE_STRENGTHS[p.specialty]:
        if sid == "step2ck":
            if step2 is None:
                status, detail = "unknown", "no Step 2 CK score in the profile"
            elif p.specialty == MG:
                status = "have" if step2 >= STEP2_BANDS[1] else "build"
                detail = f"Step 2 CK {step2}"
            else:
                status, detail = "unknown", f"Step 2 CK {step2}; the guides give no radiology range"
        elif sid == "usce":
            if p.specialty == MG:
                rel = [c for c in p.us_clinical_experience if _related(c.specialty, MG) or GENETICS_ADJACENT_RX.search(c.specialty)]
            else:
                rel = [c for c in p.us_clinical_experience if _related(c.specialty, DR)]
            with_letter = [c for c in rel if c.letter]
            status = "have" if with_letter else "build"
            detail = f"{len(rel)} related US clinical experience(s), {len(with_letter)} with a letter"
        elif sid == "research":
            rel = [r for r in p.research if r.specialty_related]
            status = "have" if rel else "build"
            detail = f"{len(rel)} specialty-related project(s), {sum(r.outputs for r in rel)} output(s)"
        else:
            rel = [l for l in p.letters if _related(l.writer_specialty, p.specialty)]
            status = "have" if rel else "build"
            detail = f"{len(rel)} letter(s) from the specialty"
        out.append((sid, rule, status, detail))
    return out


def audit(profile: ApplicantProfile | dict, *, retriever: Any = None, with_citations: bool = True, settings: Any = None) -> AuditResult:
    """Audit ``profile``: flags, where to address them, strengths to build, score bands, all cited."""
    p = parse_profile(profile)
    flags = find_flags(p)
    strengths = _strengths(p)
    step2 = _latest_step2(p)
    bands: list[tuple[str, GuideRule, bool]] = []
    band_note = ""
    if p.specialty == MG:
        for label, lo, hi, rule in BAND_RULES:
            inside = step2 is not None and (lo is None or step2 >= lo) and (hi is None or step2 < hi)
            bands.append((label, rule, inside))
        if p.audience == "us-img":
            band_note = "These ranges come from the guide for non-US-citizen IMGs; the guides give no US-citizen-IMG ranges."
    else:
        band_note = "The guides give no Step 2 CK ranges for diagnostic radiology; after a Step 1 failure they ask for a clearly above-average Step 2 CK."
    considerations: list[tuple[str, GuideRule]] = []
    if p.audience == "non-us-img" and p.visa and p.visa.needs_sponsorship:
        considerations.append(("visa-needed", CONSIDERATION_RULES["visa-needed"]))
    if p.audience == "us-img":
        considerations.append(("us-img", CONSIDERATION_RULES["us-img"]))
        considerations.append(("no-visa-needed", CONSIDERATION_RULES["no-visa-needed"]))

    # Cite every rule used, numbering passages once.
    all_rules: list[GuideRule] = []
    for f in flags:
        all_rules += f.why + f.strengths
    all_rules += [r for _, r, _, _ in strengths] + [r for _, r, _ in bands] + [r for _, r in considerations]
    numbers: dict[GuideRule, Optional[int]] = {r: None for r in all_rules}
    citations: list[Citation] = []
    note = ""
    if with_citations and all_rules:
        try:
            if retriever is None:
                from assistant.retrieval import get_retriever

                retriever = get_retriever(settings)
            unique = list(dict.fromkeys(all_rules))
            citations, nums = cite_rules(unique, retriever, p.audience, p.specialty)
            numbers = dict(zip(unique, nums))
        except IndexMissingError as exc:
            note = f"Guide passages are not shown: {exc}"
    for f in flags:
        f.why_n = [numbers.get(r) for r in f.why]
        f.strengths_n = [numbers.get(r) for r in f.strengths]
    strengths_json = [{"id": sid, "text": r.item, "status": status, "detail": detail, "source": r.source, "quote": r.quote, "citation": numbers.get(r)}
                      for sid, r, status, detail in strengths]
    bands_json = {
        "exam": "step2ck", "score": step2,
        "bands": [{"label": label, "text": r.item, "applicant": inside, "source": r.source, "quote": r.quote, "citation": numbers.get(r)}
                  for label, r, inside in bands],
        "note": band_note,
    }
    cons_json = [{"id": cid, "text": r.item, "source": r.source, "quote": r.quote, "citation": numbers.get(r)} for cid, r in considerations]
    return AuditResult(p.audience, p.specialty, flags, strengths_json, bands_json, cons_json, citations, note)


def evaluate_profile_file(path: str | Path) -> dict:
    """Compare ``advisor audit`` on an eval file ``{"profile", "expected_flags"}`` with its expected flag ids."""
    data = read_json_file(path, "profile")
    if not isinstance(data, dict) or "profile" not in data or "expected_flags" not in data:
        raise InputError(f"eval profile {path} must hold {{\"profile\": {{...}}, \"expected_flags\": [...]}}")
    got = [f.id for f in find_flags(parse_profile(data))]
    expected = list(data["expected_flags"])
    return {"file": str(path), "expected": sorted(expected), "got": sorted(got),
            "missing": sorted(set(expected) - set(got)), "unexpected": sorted(set(got) - set(expected)),
            "ok": sorted(expected) == sorted(got)}


# --------------------------------------------------------------------------- terminal output


def render(result: AuditResult, console: Any = None) -> None:
    """Print the audit as tables (rich), readable in a terminal and in a pipe."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console(soft_wrap=False)
    header = f"Application audit: {SPECIALTY_NAMES[result.specialty]}, {result.audience}"
    console.print(Text(header, style="bold"))
    if result.flags:
        t = Table(title="Red flags the guides would see", show_lines=False, expand=False)
        for col in ("flag", "severity", "address in", "draft with", "cited"):
            t.add_column(col)
        for f in result.flags:
            where = ", ".join(FORMAT_LABELS[w] for w in f.where)
            cites = " ".join(f"[{n}]" for n in dict.fromkeys(n for n in f.why_n + f.strengths_n if n))
            t.add_row(Text(f"{f.title}\n{f.detail}"), f.severity, where, f"advisor draft --kind {f.draft_kind}", Text(cites))
        console.print(t)
        for f in result.flags:
            if f.strengths:
                items = "; ".join(f"{r.item}" + (f" [{n}]" if n else "") for r, n in zip(f.strengths, f.strengths_n))
                console.print(Text(f"- {f.title}: strengths to build: {items}"))
    else:
        console.print(Text("No red flags the guides name were found in this profile."))
    t = Table(title="Compensating strengths the guides recommend")
    for col in ("strength", "status", "detail", "cited"):
        t.add_column(col)
    for s in result.strengths:
        t.add_row(Text(s["text"]), s["status"], Text(s["detail"]), Text(f"[{s['citation']}]" if s["citation"] else ""))
    console.print(t)
    sb = result.score_bands
    if sb["bands"]:
        t = Table(title=f"Step 2 CK bands (your score: {sb['score'] if sb['score'] is not None else 'none given'})")
        for col in ("band", "what the guide says", "you", "cited"):
            t.add_column(col)
        for b in sb["bands"]:
            t.add_row(b["label"], Text(b["text"]), "◀" if b["applicant"] else "", Text(f"[{b['citation']}]" if b["citation"] else ""))
        console.print(t)
    if sb["note"]:
        console.print(Text(sb["note"]))
    for c in result.considerations:
        console.print(Text(f"Note: {c['text']}" + (f" [{c['citation']}]" if c["citation"] else "")))
    if result.citations:
        console.print(Text("Sources", style="bold"))
        for c in result.citations:
            console.print(Text(f"[{c.n}] {c.source} > {c.section}"))
    if result.note:
        console.print(Text(result.note))
