"""Drafting: red-flag explanations and "why this specialty" paragraphs from the applicant's own facts.

The second job users come for is writing: the paragraph that explains a failed
Step, a gap, a professionalism note, an older graduation year or a visa history.
The guides agree on the shape of such an explanation (state what happened, give
brief context without excuses, show insight, show what changed, show evidence
that it is resolved, link it to the specialty) and on where it goes (at most one
short personal-statement paragraph for a major red flag, the ERAS "Additional
Information" field for minor ones, and a rehearsed 60-90 second interview answer).

This module turns the applicant's facts (:class:`DraftFacts`) into that shape:

1. **Template draft.** Per kind and format, the applicant's sentences are used
   verbatim (light first-person fixes only: capital first letter, final period,
   a lowercase first letter when a connecting phrase such as "Since then," is put
   in front) and joined by connecting phrases that state no fact. A missing
   optional fact becomes a visible placeholder such as ``[what you changed
   since: ...]`` plus a question in ``missing``.
2. **Length.** Each format has word bounds (constants below); sentences beyond
   the first of a field are left out (and reported in ``trimmed``) when a draft
   runs over, and a draft that stays too short says so and asks for more detail.
3. **Fact guard.** :func:`assistant.factguard.check` must pass; a template draft
   that failed would be withheld (:class:`~assistant.factguard.FactGuardError`).
4. **Optional polish.** With an LLM backend (``--llm``), the model may rephrase
   the template draft; its text is returned only if it passes the same guard,
   keeps every placeholder, stays in first person and within the length bounds.
   Otherwise the template draft is returned with ``polished: false`` and the
   reasons (``guard`` lists the fact violations).
5. **Advice.** The guide rules applied (:data:`KIND_RULES`, :data:`FORMAT_RULES`)
   become a short checklist; each rule stores its document id and a verbatim
   quote, and the guide passage that contains the quote is cited like an answer.

Nothing here invents a score, date, number, name, institution, experience or
outcome: the connecting phrases contain no digits, number words, time spans,
dates or capitalised words, and the guard proves it for every draft.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import AdvisorError, IndexMissingError, InputError
from assistant.factguard import PLACEHOLDER_RE, FactGuardError, GuardReport, check, content_recall, lost_facts, normalize, strip_placeholders
from assistant.schemas import Citation

# --------------------------------------------------------------------------- constants

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
FORMATS = ("personal-statement", "eras-additional-info", "interview")
AUDIENCES = ("us-img", "non-us-img")
#: Canonical specialty ids and the words a draft uses for them.
SPECIALTY_NAMES = {"medical-genetics": "medical genetics", "radiology": "diagnostic radiology"}
SPECIALTY_ALIASES = {
    "medical-genetics": "medical-genetics",
    "medical genetics": "medical-genetics",
    "genetics": "medical-genetics",
    "medical-genetics-and-genomics": "medical-genetics",
    "radiology": "radiology",
    "diagnostic-radiology": "radiology",
    "diagnostic radiology": "radiology",
}


def _canonical_specialty(v: Any) -> Any:
    """'Diagnostic Radiology', 'genetics', ... -> the canonical id; anything else is left for validation to reject."""
    if isinstance(v, str):
        key = " ".join(v.strip().lower().split())
        return SPECIALTY_ALIASES.get(key, SPECIALTY_ALIASES.get(key.replace(" ", "-"), v))
    return v


#: The specialty field of drafting facts and audit profiles (aliases accepted).
Specialty = Annotated[Literal["medical-genetics", "radiology"], BeforeValidator(_canonical_specialty)]

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
#: Longest accepted text for one facts field (characters).
MAX_FIELD_CHARS = 1500
#: Highest possible USMLE three-digit score (scores above it are rejected as impossible).
MAX_USMLE_SCORE = 300
#: Earliest graduation / event year accepted in facts and profiles.
MIN_YEAR = 1950

OPTIONAL_FIELDS = ("context", "insight", "changes", "evidence", "goals")
TEXT_FIELDS = ("what",) + OPTIONAL_FIELDS
FACT_FIELDS = ("kind", "specialty", "audience", "format") + TEXT_FIELDS
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


# --------------------------------------------------------------------------- the facts schema


class DraftFacts(BaseModel):
    """What the applicant tells us; the only source of facts a draft may contain.

    ``what`` is required; ``context``, ``insight``, ``changes``, ``evidence`` and
    ``goals`` are optional free text in the applicant's own words. Unknown keys,
    empty strings and wrong types are errors (see evals/DRAFTS.md).
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    kind: Literal[
        "exam-failure", "low-score", "gap", "professionalism", "repeated-year",
        "older-graduation", "visa", "specialty-switch", "study-abroad", "why-specialty",
    ]
    specialty: Specialty
    audience: Optional[Literal["us-img", "non-us-img"]] = None
    format: Optional[Literal["personal-statement", "eras-additional-info", "interview"]] = None
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
        return self.format or KIND_SPECS[self.kind].default_format

    def texts(self) -> list[str]:
        """The applicant's strings plus the specialty's name: everything a draft's facts may come from."""
        out = [getattr(self, f) for f in TEXT_FIELDS if getattr(self, f)]
        out.append(SPECIALTY_NAMES[self.specialty])
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


# --------------------------------------------------------------------------- guide rules (checklist items)


@dataclass(frozen=True)
class GuideRule:
    """One piece of guide advice: a short checklist item, the document it comes from, and a verbatim quote.

    ``specialty`` / ``audience`` restrict where the rule applies (None: everywhere).
    Tests check that every quote occurs in its document.
    """

    item: str
    source: str
    quote: str
    specialty: str | None = None
    audience: str | None = None

    def applies(self, specialty: str | None, audience: str | None) -> bool:
        return (self.specialty is None or specialty is None or self.specialty == specialty) and (
            self.audience is None or audience is None or self.audience == audience
        )


RAD = "non-us-img-radiology-red-flags"
USG = "us-img-medical-genetics-red-flags"
USR = "us-img-medical-genetics-program-research"
LOW = "img-medical-genetics-low-step-scores"
STP = "non-us-img-medical-genetics-step-scores"
MG, DR = "medical-genetics", "radiology"

RULE_OWN = GuideRule("State what happened plainly and take responsibility; avoid vague wording.", RAD, "Acknowledge what happened and your responsibility.")
RULE_NO_BLAME = GuideRule("Give brief context, not excuses; do not blame the test, the system or others.", RAD, "Avoid blaming the test, the system, or others.")
RULE_CIC = GuideRule("Use cause, insight, change: brief honest context, what you learned, concrete actions and outcomes.", USG, "Change – Concrete actions and improved outcomes")
RULE_RESOLVED = GuideRule("Show evidence that the problem is resolved.", RAD, "Show Evidence That the Problem Is Resolved")
RULE_LINK_DR = GuideRule("Link the habits you built to radiology (discipline, systematic review, pattern recognition).", RAD,
                         "Emphasize that the habits you developed—discipline, systematic review, pattern recognition—are directly relevant to radiology.", specialty=DR)
RULE_LINK_MG = GuideRule("Say how overcoming it makes you a stronger genetics resident.", USG,
                         "Emphasize how the skills gained from overcoming that challenge make you a stronger resident", specialty=MG)
RULE_CONSISTENT = GuideRule("Tell the same story everywhere: personal statement, ERAS, MSPE and interviews.", RAD,
                            "Do not give contradictory explanations in different parts of the application.")

#: Advice per format: where and how long.
FORMAT_RULES: dict[str, list[GuideRule]] = {
    "personal-statement": [
        GuideRule("Keep it to one short paragraph; the rest of the statement is about your path to the specialty.", RAD,
                  "Dedicate at most one short paragraph to the issue, focusing on what you learned"),
        GuideRule("Do not devote the whole personal statement to red flags.", USG, "Avoid devoting the entire personal statement to red flags"),
    ],
    "eras-additional-info": [
        GuideRule("Use the ERAS additional-information field for shorter clarifications.", USG,
                  "The ERAS “Additional Information” section for shorter clarifications"),
    ],
    "interview": [
        GuideRule("Rehearse it as a 60–90 second answer.", USG, "60–90 seconds per explanation"),
        GuideRule("No defensiveness or blame; say clearly what is different now.", USG, "Clear statement of what is different now"),
    ],
}

#: Advice per kind (the checklist's core); link/ownership rules are added per kind in :data:`KIND_SPECS`.
KIND_RULES: dict[str, list[GuideRule]] = {
    "exam-failure": [
        RULE_OWN, RULE_NO_BLAME, RULE_CIC,
        GuideRule("Describe exactly how you changed your study methods, resources or time management.", RAD,
                  "Detail how you changed your study methods, used resources, or time management."),
        GuideRule("Show clear improvement afterwards (a stronger later exam).", RAD, "Strong Step 2 CK score after a Step 1 failure is crucial.", specialty=DR),
        GuideRule("Show subsequent success (a strong later exam, honors, research).", USG, "Mitigate red flags by showing subsequent success", specialty=MG),
        RULE_RESOLVED,
    ],
    "low-score": [
        GuideRule("Keep it brief: the ERAS additional-information field or a short line in the personal statement.", STP,
                  "Use the Additional Information section of ERAS or a short line in your personal statement."),
        GuideRule("Emphasize insight and change, not excuses.", STP, "Emphasize insight and change, not excuses"),
        GuideRule("No comparisons or apologies (“I know my scores are low, but…”); show growth and current readiness.", STP,
                  "instead, emphasize growth and current readiness"),
        GuideRule("Show an upward trajectory.", LOW, "Ascending trajectory (low Step 1, better Step 2 CK, strong in-training or specialty exams later) is reassuring."),
        RULE_RESOLVED,
    ],
    "gap": [
        GuideRule("State the time frame of the gap clearly.", RAD, "State the Gap Clearly"),
        GuideRule("Give the reason briefly; vague reasons (“personal reasons”) raise concern.", USG, "Whatever the reason, vagueness triggers concern."),
        GuideRule("Describe the constructive activities of the gap.", RAD, "Describe Constructive Activities"),
        GuideRule("Show you stayed engaged with medicine.", USG, "For any gap, demonstrate you stayed connected to clinical work and, ideally, genetics", specialty=MG),
        GuideRule("Reassure about current readiness (recent clinical activity).", RAD, "Reassure About Current Readiness"),
    ],
    "professionalism": [
        GuideRule("Be direct but measured; do not minimize or deflect blame (programs have your MSPE).", USG, "Avoid minimizing or deflecting blame."),
        GuideRule("Do not blame culture or others, even if there were misunderstandings.", RAD, "Avoid blaming culture or others, even if misunderstandings were involved."),
        GuideRule("Name specific changes in your behavior.", RAD, "Specific changes in your behavior: punctuality, note-writing, phone etiquette."),
        GuideRule("Provide recent positive evidence: evaluations and letters that speak to professionalism.", RAD, "Provide Recent Positive Evidence"),
        GuideRule("Seek letters that state there are no professionalism concerns.", USG, "For professionalism issues, strong letters of recommendation become critical."),
    ],
    "repeated-year": [
        RULE_OWN,
        GuideRule("Clarify the nature of the issue.", RAD, "Clarify the Nature of the Issue"),
        GuideRule("Show the turning point: improved grades, strong evaluations, productivity.", RAD,
                  "Highlight a specific period where your trajectory changed: improved grades, strong clinical evaluations, research productivity."),
        GuideRule("Connect it to what you learned about time management, seeking help and feedback.", RAD,
                  "Discuss what you learned about time management, seeking help, using feedback, and balancing responsibilities."),
        GuideRule("Do not pretend it did not happen: it is in your MSPE.", RAD, "Do not pretend it didn’t happen (it will appear in the MSPE)."),
    ],
    "older-graduation": [
        GuideRule("Emphasize continuous medical involvement since graduating.", RAD, "Emphasize continuous medical involvement: research, teaching, clinical practice."),
        GuideRule("Highlight recent (last 1–2 years) clinical or specialty experience.", RAD, "Highlight recent (last 1–2 years) clinical or radiology-related experience."),
        GuideRule("Show how your maturity and prior responsibilities benefit the residency.", RAD,
                  "Show how your maturity, prior responsibilities, or leadership will benefit the residency."),
    ],
    "visa": [
        GuideRule("Be clear and honest about your visa history.", RAD, "Be clear and honest about your visa history."),
        GuideRule("State flexibility only if it is true (for example, accepting a J-1).", RAD, "Indicate flexibility (e.g., willing to accept J-1 if true)."),
        GuideRule("Explain how earlier issues were resolved and that your status is now stable.", RAD,
                  "If you had issues before, explain how they were resolved and that your status is now stable."),
        GuideRule("Show you consulted official sources or an immigration attorney.", RAD,
                  "Show you have consulted official sources or an immigration attorney, rather than sounding uncertain."),
        GuideRule("Address visa questions in interviews and with program coordinators when asked.", RAD,
                  "Visa issues → Address in interviews and in communication with program coordinators when asked"),
    ],
    "specialty-switch": [
        GuideRule("Explain the switch: an unexplained switch is itself a red flag.", RAD,
                  "Sudden switch to radiology from a very different specialty without explanation", specialty=DR),
        GuideRule("Frame it as a logical progression, not a last resort.", USG,
                  "frame it as a logical progression, not a last resort after other specialties didn’t work out."),
        GuideRule("Show genetics is not a backup plan, with concrete activities.", USG, "Program directors want to see that genetics is not a backup plan.", specialty=MG),
        GuideRule("Show continuity in radiology, not activities scattered across unrelated fields.", RAD,
                  "Activities list showing radiology-continuity (not scattered across many unrelated fields)", specialty=DR),
        GuideRule("Prepare for “why now?”.", USG, "especially if there are delays or previous attempts in other specialties"),
    ],
    "study-abroad": [
        GuideRule("Briefly say why you chose to study abroad (personal statement or ERAS additional information).", USG,
                  "You can briefly address this in your personal statement or ERAS “Additional Information” section"),
        GuideRule("Frame your path as intentional, not a fallback.", USG, "proactively frame your path so it reads as intentional, resilient"),
        GuideRule("Demonstrate mastery of US standards: Step 2 CK and robust US clinical experience.", USG, "Demonstrate Mastery of US Standards"),
        GuideRule("Show how international training made you adaptable and culturally competent.", USG,
                  "Emphasize how your international training makes you more adaptable, culturally competent, and patient‑centered"),
    ],
    "why-specialty": [
        GuideRule("Be specific, credible and forward-looking.", LOW, "Forward-looking (how you plan to contribute)", specialty=MG),
        GuideRule("Ground it in a real patient, clinic, lab or research experience.", LOW,
                  "A patient you followed with a suspected genetic condition where a diagnosis changed management", specialty=MG),
        GuideRule("Show genetics is not a backup plan.", USG, "Program directors want to see that genetics is not a backup plan.", specialty=MG),
        GuideRule("Keep the statement tightly focused on diagnostic radiology.", RAD, "Personal statement tightly focused on diagnostic radiology", specialty=DR),
        GuideRule("Connect your growth to radiology.", RAD, "Emphasize growth and connection to radiology.", specialty=DR),
        GuideRule("Show documented interest: imaging rounds, tumor boards, teaching sessions.", RAD,
                  "Participation in imaging rounds, tumor boards, or teaching sessions", specialty=DR),
        GuideRule("Be ready for “why this specialty?” and “why now?”.", USG, "“Why medical genetics, specifically?”", specialty=MG),
    ],
}

#: Wording in the applicant's own text that the guides warn against (checked, never rewritten).
WORDING_WARNINGS: list[tuple[re.Pattern, str, GuideRule]] = [
    (re.compile(r"personal reasons", re.I), "'personal reasons' is vague; the guides ask for brief but real context",
     GuideRule("Avoid vague phrases like “personal reasons”.", RAD, "Avoid vague phrases like “personal reasons” without further context.")),
    (re.compile(r"\b(faced|had) some (challenges|difficulties)|difficult time\b", re.I), "vague wording: say what happened",
     GuideRule("Avoid vague statements.", RAD, "Avoid vague statements like “I faced some challenges.”")),
    (re.compile(r"\bminor issues?\b", re.I), "calling it 'minor' can read as minimizing",
     GuideRule("Do not minimize.", USG, "Saying “I had some minor issues” when your dean’s letter mentions professionalism probation will seriously damage trust.")),
    (re.compile(r"\bscores? (?:is|are|was|were) (?:low|not great|bad)\b|\bI know my scores?\b", re.I), "avoid apologizing for or comparing scores",
     GuideRule("No direct comparisons or apologies.", STP, "instead, emphasize growth and current readiness")),
    (re.compile(r"\b(unfair|not my fault|(?:the )?(?:school|professor|examiner|system|test|exam) (?:was|were) (?:unfair|to blame|biased)|blame[ds]? (?:the|my))\b", re.I),
     "this reads as blaming; the guides ask you to own it", RULE_NO_BLAME),
]


# --------------------------------------------------------------------------- templates

#: What each specialty asks for, in the guides' words; used in the sentence linking a draft to the specialty.
SPECIALTY_THEMES = {
    "medical-genetics": "a specialty that asks for careful reasoning with complex information, reliability, and clear communication with families",
    "radiology": "a specialty that depends on discipline, systematic review and pattern recognition",
}

DEFAULT_LEADS = {
    "what": "",
    "context": "At the time, ",
    "insight": "Looking back, I learned that ",
    "changes": "Since then, ",
    "evidence": "As a result, ",
    "goals": "",
}
DEFAULT_PLACEHOLDERS = {
    "context": "[brief context, if any: what was happening at the time]",
    "insight": "[what you learned about yourself from this]",
    "changes": "[what you changed since: study methods, schedule, support, habits]",
    "evidence": "[evidence it is resolved: later results, evaluations, letters]",
    "goals": "[what you hope to contribute]",
}
DEFAULT_QUESTIONS = {
    "context": "What was happening at the time? Give brief, honest context, not an excuse (optional: leave the placeholder out if you prefer).",
    "insight": "What did you learn about yourself from it?",
    "changes": "What concretely did you change since then (study methods, schedule, support, habits)?",
    "evidence": "What shows it is resolved now (later exam results, evaluations, letters, recent clinical work)?",
    "goals": "What do you hope to contribute in this specialty?",
}
RESPONSIBILITY = "I take responsibility for what happened."
DEFAULT_OPENER = "Thank you for asking about this; I would like to answer directly and explain what happened, what I learned from it, and what is different now."
DEFAULT_CLOSER = "That is what is different now, and it is what I would bring to your program."


@dataclass(frozen=True)
class KindSpec:
    """How a kind is drafted: guide-recommended placements, connecting phrases, placeholders and questions."""

    label: str
    default_format: str
    where: tuple[str, ...]
    link: str  # {sp} = specialty name, {theme} = what the specialty asks for
    leads: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    opener: str = DEFAULT_OPENER
    closer: str = DEFAULT_CLOSER
    responsibility: bool = False
    link_rules: bool = True  # add the "link it to the specialty" rule

    def lead(self, slot: str) -> str:
        return self.leads.get(slot, DEFAULT_LEADS[slot])

    def placeholder(self, slot: str) -> str:
        return self.placeholders.get(slot, DEFAULT_PLACEHOLDERS[slot])

    def question(self, slot: str) -> str:
        return self.questions.get(slot, DEFAULT_QUESTIONS[slot])


_SAME_APPROACH = "I will bring the same approach to residency in {sp}, {theme}."
KIND_SPECS: dict[str, KindSpec] = {
    "exam-failure": KindSpec("exam failure", "personal-statement", ("personal-statement", "eras-additional-info", "interview"),
                             _SAME_APPROACH, responsibility=True),
    "low-score": KindSpec("low score", "eras-additional-info", ("eras-additional-info", "personal-statement", "interview"),
                          _SAME_APPROACH, leads={"insight": "I learned that "}),
    "gap": KindSpec(
        "gap", "personal-statement", ("personal-statement", "eras-additional-info", "interview"),
        "I want to bring what I learned in this period to residency in {sp}, {theme}.",
        leads={"context": "", "changes": "During that period, "},
        placeholders={"context": "[the reason for the gap, briefly and concretely]",
                      "changes": "[what you did during the gap: study, research, clinical or specialty work]",
                      "evidence": "[outcomes, and how you are clinically active now]"},
        questions={"context": "Why did the gap happen? Give the reason briefly and concretely (vague reasons worry programs).",
                   "changes": "What did you do during the gap (exam study, research, clinical or specialty exposure, courses)?",
                   "evidence": "What came of it, and how are you clinically active now?"},
        closer="That is how I used that period, and it is what I would bring to your program.",
    ),
    "professionalism": KindSpec(
        "professionalism concern", "personal-statement", ("personal-statement", "interview"),
        "I will hold myself to the same standard in residency in {sp}, {theme}.",
        leads={"insight": "Looking back, I realized that "},
        placeholders={"changes": "[the specific changes you made in your behavior]",
                      "evidence": "[recent evaluations or letters that speak to your reliability]"},
        questions={"changes": "What specific behavior did you change (punctuality, communication, task tracking)?",
                   "evidence": "What recent evidence shows it (evaluations, letters that mention your professionalism)?"},
        responsibility=True,
    ),
    "repeated-year": KindSpec("repeated year", "personal-statement", ("personal-statement", "interview"), _SAME_APPROACH,
                              placeholders={"evidence": "[the turning point: later grades, evaluations, productivity]"},
                              questions={"evidence": "What shows the turning point (later grades, clinical evaluations, research)?"},
                              responsibility=True),
    "older-graduation": KindSpec(
        "older graduation year", "eras-additional-info", ("eras-additional-info", "interview"),
        "I want to bring what this path has taught me to residency in {sp}, {theme}.",
        leads={"context": "", "insight": "I learned that ", "changes": "Throughout, ", "evidence": ""},
        placeholders={"context": "[what you did after graduating]",
                      "insight": "[what this path taught you]",
                      "changes": "[how you stayed medically active since graduating]",
                      "evidence": "[your most recent clinical or specialty experience]"},
        questions={"context": "What did you do after graduating?",
                   "insight": "What has this path taught you that helps in residency?",
                   "changes": "How did you stay medically active since graduating (clinical work, research, teaching)?",
                   "evidence": "What is your most recent clinical or specialty experience (the guides ask for the last one to two years)?"},
        closer="That is my path since graduating, and it is what I would bring to your program.",
    ),
    "visa": KindSpec(
        "visa history", "interview", ("interview",),
        "I want programs to have a clear and honest picture of my visa situation, so that it does not get in the way of my training in {sp}.",
        leads={"insight": "I learned that "},
        placeholders={"context": "[brief context: what happened with the visa]",
                      "changes": "[what you did to resolve it, such as consulting official sources or an immigration attorney]",
                      "evidence": "[your current status and your plan]"},
        questions={"context": "What happened with the visa, briefly?",
                   "changes": "What did you do to resolve it (official sources, an immigration attorney)?",
                   "evidence": "What is your status now, and what visa plan are you ready for (only flexibility that is true)?"},
        opener="I am glad to explain my visa history clearly.",
        closer="I am happy to answer any further questions about it.",
    ),
    "specialty-switch": KindSpec(
        "specialty switch", "personal-statement", ("personal-statement", "interview"),
        "Choosing {sp}, {theme}, is a deliberate step for me, not a fallback.",
        leads={"insight": "I realized that "},
        placeholders={"context": "[what you were doing before, briefly]",
                      "insight": "[what drew you to the new specialty]",
                      "changes": "[what you did to explore the new specialty]",
                      "evidence": "[what came of it: rotations, projects, letters]"},
        questions={"context": "What were you doing before the switch?",
                   "insight": "What drew you to the new specialty (be specific)?",
                   "changes": "What did you do to explore it (rotations, research, conferences)?",
                   "evidence": "What came of it (letters, projects, evaluations)?"},
        closer="That is why I am applying in {sp} now.",
    ),
    "study-abroad": KindSpec(
        "studying abroad", "eras-additional-info", ("eras-additional-info", "personal-statement", "interview"),
        "I want to bring what I gained from training abroad to residency in {sp}, {theme}.",
        leads={"context": "", "insight": "I learned that ", "changes": "", "evidence": ""},
        placeholders={"context": "[your background before medical school]",
                      "insight": "[what training abroad gave you]",
                      "changes": "[how you prepared for practice in the US]",
                      "evidence": "[outcomes: exam results, clinical experience, letters]"},
        questions={"context": "What was your background before medical school (a late decision, finances, a specific program)?",
                   "insight": "What did training abroad give you (adaptability, cultural competence, a diverse patient population)?",
                   "changes": "How did you prepare for practice in the US (clinical experience, exams)?",
                   "evidence": "What outcomes show you are ready (exam results, US clinical experience, letters)?"},
        closer="That is the path that brought me here.",
    ),
    "why-specialty": KindSpec(
        "why this specialty", "personal-statement", ("personal-statement", "interview"),
        "That is why I am pursuing {sp}, {theme}.",
        leads={"context": "", "insight": "That experience showed me that ", "evidence": ""},
        placeholders={"context": "[your background: how you first met the specialty]",
                      "insight": "[what you realized the specialty asks of you, and why it fits you]",
                      "changes": "[what you did to pursue it: rotations, research, reading]",
                      "evidence": "[what came of it: projects, presentations, letters]",
                      "goals": "[what you hope to contribute to the specialty]"},
        questions={"context": "How did you first meet the specialty (your background before this experience)?",
                   "insight": "What did the experience show you about the specialty and about yourself?",
                   "changes": "What did you do to pursue it (rotations, research, reading, conferences)?",
                   "evidence": "What came of it (projects, presentations, letters), and why is now the right moment?",
                   "goals": "What do you hope to contribute (the guides ask for a forward-looking close)?"},
        opener="What drew me to {sp} is specific.",
        closer="That is why I want to train in {sp}, and why I am applying now.",
        link_rules=False,
    ),
}


def _template_strings() -> list[str]:
    out = [RESPONSIBILITY, DEFAULT_OPENER, DEFAULT_CLOSER, *DEFAULT_LEADS.values(), *SPECIALTY_THEMES.values(), *SPECIALTY_NAMES.values()]
    for spec in KIND_SPECS.values():
        out += [spec.link, spec.opener, spec.closer, *spec.leads.values()]
    return out


#: Every word the templates themselves use: the guard lets these start sentences and name e.g. "residency".
TEMPLATE_VOCABULARY: frozenset[str] = frozenset(
    w.casefold() for s in _template_strings() for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", s.replace("{sp}", " ").replace("{theme}", " "))
)


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
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(\[]?[A-Z0-9\[])")


def clean_text(text: str) -> str:
    """Light first-person clean-up of the applicant's words: spacing, a lone lowercase ``i``, final period."""
    text = normalize(text).replace("\n", " ")
    text = " ".join(text.split())
    text = re.sub(r"(?<![\w'])i(?=(?:'m|'ve|'d|'ll)?(?![\w']))", "I", text)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?\"”)]":
        text += "."
    return text


def split_sentences(text: str) -> list[str]:
    """Split cleaned text into sentences (conservatively: a period then a capital/digit)."""
    parts = [p.strip() for p in _SENTENCE_SPLIT_RE.split(text) if p.strip()]
    # Do not split after common abbreviations ("Dr. Patel", "e.g. this").
    merged: list[str] = []
    for p in parts:
        if merged and re.search(r"\b(?:Dr|Mr|Mrs|Ms|Prof|St|e\.g|i\.e|vs|etc|No)\.$", merged[-1]):
            merged[-1] = merged[-1] + " " + p
        else:
            merged.append(p)
    return merged


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
    from assistant.factguard import COMMON_WORDS

    if lower in COMMON_WORDS or lower in TEMPLATE_VOCABULARY:
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
_SLOT_ORDER = ("context", "insight", "changes", "evidence", "goals")


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


def compose(facts: DraftFacts) -> Composition:
    """Build the template draft for ``facts`` (no retrieval, no model): the deterministic core of :func:`draft`."""
    spec = KIND_SPECS[facts.kind]
    fmt = facts.effective_format
    sp = SPECIALTY_NAMES[facts.specialty]
    theme = SPECIALTY_THEMES[facts.specialty]
    facts_text = " ".join(facts.texts())
    pieces: list[_Piece] = []
    missing: list[str] = []
    placeholders: list[str] = []
    questions: list[str] = []

    def add_slot(slot: str, text: str | None) -> None:
        if text is None:
            ph = spec.placeholder(slot)
            missing.append(slot)
            placeholders.append(ph)
            questions.append(spec.question(slot))
            pieces.append(_Piece(slot, ph, True))
            return
        sentences = split_sentences(clean_text(text))
        lead = spec.lead(slot)
        skip = _REFLECTIVE_RE if slot == "insight" else _TIME_OPENER_RE
        sentences[0] = splice(lead, sentences[0], facts_text, skip)
        for i, s in enumerate(sentences):
            pieces.append(_Piece(slot, s, i == 0))

    if fmt == "interview":
        pieces.append(_Piece("opener", spec.opener.format(sp=sp), True))
    add_slot("what", facts.what)
    add_slot("context", facts.context)
    if spec.responsibility and fmt != "eras-additional-info":
        pieces.append(_Piece("responsibility", RESPONSIBILITY, True))
    for slot in ("insight", "changes", "evidence"):
        add_slot(slot, getattr(facts, slot))
    if facts.kind == "why-specialty":
        add_slot("goals", facts.goals)
    elif facts.goals:
        add_slot("goals", facts.goals)
    if fmt != "eras-additional-info":
        pieces.append(_Piece("link", spec.link.format(sp=sp, theme=theme), True))
    if fmt == "interview":
        pieces.append(_Piece("closer", spec.closer.format(sp=sp), True))

    bounds = LENGTH_BOUNDS[fmt]
    trimmed: list[str] = []

    def total() -> int:
        return count_words(" ".join(p.text for p in pieces))

    # Too long: drop whole boilerplate pieces and non-first sentences, in order, from the end of each slot.
    for slot in _TRIM_ORDER:
        while total() > bounds[1]:
            idx = [i for i, p in enumerate(pieces) if p.slot == slot and (slot in ("opener", "closer") or not p.first)]
            if not idx:
                break
            removed = pieces.pop(idx[-1])
            if removed.slot not in ("opener", "closer"):
                trimmed.append(removed.text)
    text = " ".join(p.text for p in pieces)
    text = re.sub(r"\s+", " ", text).strip()
    words = count_words(text)
    comp = Composition(text, missing, placeholders, questions, trimmed, words, bounds)
    if words > bounds[1]:
        comp.questions.append(
            f"This {FORMAT_NAMES[fmt]} is {words} words even with only the first sentence of each fact; "
            f"the limit is {bounds[1]}: shorten your own sentences."
        )
    elif words < bounds[0]:
        if fmt == "interview":
            need = f"the guides ask for {INTERVIEW_MIN_SECONDS}–{INTERVIEW_MAX_SECONDS} seconds (about {bounds[0]}–{bounds[1]} words)"
            comp.questions.append(f"This answer takes about {spoken_seconds(words):.0f} seconds to say; {need}: add more of your own detail.")
        else:
            comp.questions.append(f"This {FORMAT_NAMES[fmt]} is only {words} words (aim for {bounds[0]}–{bounds[1]}): add more of your own detail.")
    return comp


# --------------------------------------------------------------------------- advice (checklist + citations)


def _norm_for_match(text: str) -> str:
    return " ".join(normalize(text).casefold().replace("–", "-").replace("—", "-").replace("‐", "-").split())


# (retriever id | index generation | source, quote) -> passage; a new ingest (new generation) misses the cache.
_QUOTE_CACHE: dict[tuple[str, str], Optional[Any]] = {}


def find_passage(retriever: Any, rule: GuideRule, audience: str | None = None, specialty: str | None = None) -> Any | None:
    """The indexed passage (a ``Hit``) that contains ``rule.quote``, found by retrieval and checked by containment.

    Searches with the quote itself (so the hybrid retriever ranks its own chunk
    first), keeps only a hit from the rule's document whose text contains the
    quote, and falls back to scanning the retriever's chunk table when a chunk
    boundary split the quote. Returns None when no passage carries it.
    """
    ensure = getattr(retriever, "ensure_loaded", None)
    if callable(ensure):
        ensure()  # raises IndexMissingError without an index; reloads after a new ingest
    key = (f"{id(retriever)}|{getattr(retriever, '_loaded_gen', None)}|{rule.source}", rule.quote)
    if key in _QUOTE_CACHE:
        return _QUOTE_CACHE[key]
    want = _norm_for_match(rule.quote)
    head = want[:60]

    def carries(source: str, text: str, section: str, probe: str) -> bool:
        return source == rule.source and (probe in _norm_for_match(text) or probe in _norm_for_match(section))

    found = None
    hits = retriever.search(rule.quote[:400], k=8, audience=audience, specialty=specialty)
    for probe in (want, head):
        found = next((h for h in hits if carries(h.source, h.text, h.section, probe)), None)
        if found is not None:
            break
    if found is None:  # a chunk boundary or ranking hid it: scan the live chunk table of the same index
        from assistant.schemas import Hit

        for row in getattr(retriever, "rows", None) or []:
            if carries(row.get("source", ""), row.get("text", ""), row.get("section", ""), head):
                found = Hit(row["id"], row["source"], row.get("title", ""), row.get("section", ""), row["text"], 0.0,
                            row.get("audience", "any"), row.get("specialty", "any"))
                break
    _QUOTE_CACHE[key] = found
    return found


def cite_rules(rules: Sequence[GuideRule], retriever: Any, audience: str | None = None, specialty: str | None = None) -> tuple[list[Citation], list[Optional[int]]]:
    """Citations (numbered from 1, one per distinct passage) for ``rules``, and each rule's citation number."""
    citations: list[Citation] = []
    by_chunk: dict[str, int] = {}
    numbers: list[Optional[int]] = []
    for rule in rules:
        hit = find_passage(retriever, rule, audience, specialty)
        if hit is None:
            numbers.append(None)
            continue
        if hit.chunk_id not in by_chunk:
            by_chunk[hit.chunk_id] = len(citations) + 1
            citations.append(Citation(n=len(citations) + 1, source=hit.source, title=hit.title, section=hit.section, text=hit.text))
        numbers.append(by_chunk[hit.chunk_id])
    return citations, numbers


def rules_for(facts: DraftFacts) -> list[GuideRule]:
    """The checklist rules for this kind, format, specialty and audience (deduplicated, kind rules first)."""
    spec = KIND_SPECS[facts.kind]
    rules = [r for r in KIND_RULES[facts.kind] if r.applies(facts.specialty, facts.audience)]
    if spec.link_rules:
        rules.append(RULE_LINK_DR if facts.specialty == DR else RULE_LINK_MG)
    rules += [r for r in FORMAT_RULES[facts.effective_format] if r.applies(facts.specialty, facts.audience)]
    if facts.kind != "why-specialty":
        rules.append(RULE_CONSISTENT)
    out: list[GuideRule] = []
    for r in rules:
        if r not in out:
            out.append(r)
    return out


def wording_warnings(facts: DraftFacts) -> list[dict]:
    """Places where the applicant's own wording goes against guide advice (reported, never rewritten)."""
    out = []
    for name in TEXT_FIELDS:
        value = getattr(facts, name)
        if not value:
            continue
        for rx, message, rule in WORDING_WARNINGS:
            m = rx.search(value)
            if m:
                out.append({"field": name, "text": m.group(0), "message": message, "source": rule.source, "quote": rule.quote})
    return out


# --------------------------------------------------------------------------- the result


@dataclass
class DraftResult:
    """A finished draft: the text and everything the UI/CLI shows next to it."""

    text: str
    kind: str
    format: str
    specialty: str
    audience: str | None
    missing: list[str]
    missing_fields: list[str]
    placeholders: list[str]
    advice: list[Citation]
    checklist: list[dict]
    words: int
    bounds: tuple[int, int]
    trimmed: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    polished: bool = False
    guard: list[dict] = field(default_factory=list)
    backend: str = "template"
    note: str = ""

    @property
    def length_ok(self) -> bool:
        return self.bounds[0] <= self.words <= self.bounds[1]

    @property
    def seconds(self) -> float:
        return spoken_seconds(self.words)

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "missing": self.missing,
            "advice": [c.to_json() for c in self.advice],
            "checklist": self.checklist,
            "kind": self.kind,
            "format": self.format,
            "specialty": self.specialty,
            "audience": self.audience,
            "missing_fields": self.missing_fields,
            "placeholders": self.placeholders,
            "words": self.words,
            "seconds": self.seconds,
            "length": {"min": self.bounds[0], "max": self.bounds[1], "ok": self.length_ok},
            "trimmed": self.trimmed,
            "warnings": self.warnings,
            "where": self.where,
            "polished": self.polished,
            "guard": self.guard,
            "backend": self.backend,
            "note": self.note,
        }


# --------------------------------------------------------------------------- LLM polish


def load_polish_prompt() -> tuple[str, str]:
    """(system, user template) from prompts/draft_polish.txt, split at the ``### user`` line."""
    path = PROMPTS_DIR / "draft_polish.txt"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdvisorError(f"cannot read the polish prompt {path}: {exc.strerror or exc}") from None
    system, _, user = raw.partition("### user")
    system = system.replace("### system", "").strip()
    return system, user.strip()


def _clean_model_output(text: str, fmt: str) -> str:
    text = (text or "").strip()
    text = re.sub(r"^(?:here(?:'s| is)[^\n:]*:|rewritten[^\n:]*:|paragraph:|answer:)\s*", "", text, flags=re.IGNORECASE)
    text = text.strip().strip('"“”').strip()
    return " ".join(text.split())


@dataclass
class PolishOutcome:
    text: str | None  # the accepted polished text, or None
    raw: str
    violations: list[dict]
    reasons: list[str]


#: A polished draft must still use this share of the template draft's content words (it may not drop your story).
MIN_POLISH_RECALL = 0.6


def polish(comp: Composition, facts: DraftFacts, model: Any) -> PolishOutcome:
    """Ask ``model`` to rephrase the template draft; accept it only if it passes every check.

    Checks: the fact guard (nothing added: against the facts, with this draft's
    connecting words as vocabulary); nothing dropped (every number and name of
    the template draft kept, and :data:`MIN_POLISH_RECALL` of its content
    words); every placeholder kept verbatim, no new bracketed text; first
    person; the format's word bounds. Model/transport failures propagate as
    BackendError.
    """
    from assistant.llm import invoke_chat

    fmt = facts.effective_format
    system, user = load_polish_prompt()
    lo, hi = comp.bounds
    values = {"format_name": FORMAT_NAMES[fmt], "min_words": lo, "max_words": hi, "draft": comp.text,
              "specialty": SPECIALTY_NAMES[facts.specialty]}
    messages = [("system", system.format(**values)), ("human", user.format(**values))]
    raw = invoke_chat(model, messages)
    text = _clean_model_output(raw, fmt)
    reasons: list[str] = []
    violations: list[dict] = []
    if not text:
        reasons.append("the model returned nothing")
    else:
        report = check(text, facts.texts(), comp.vocabulary)
        if not report.ok:
            violations = report.to_json()
            reasons.append(f"the fact guard rejected it: {report.summary()}")
        dropped = lost_facts(text, comp.text)
        if dropped:
            reasons.append(f"it dropped facts: {', '.join(dropped[:5])}")
        recall = content_recall(text, [comp.text])
        if recall < MIN_POLISH_RECALL:
            reasons.append(f"it kept only {recall:.0%} of your words (at least {MIN_POLISH_RECALL:.0%} needed)")
        lost = [p for p in comp.placeholders if p not in text]
        if lost:
            reasons.append(f"it dropped {len(lost)} placeholder(s)")
        other = [p for p in PLACEHOLDER_RE.findall(text) if p not in comp.placeholders]
        if other:
            reasons.append(f"it added bracketed text {other[0]}")
        if not re.search(r"\b(?:I|my|me|I'm|I've)\b", text):
            reasons.append("it is not in the first person")
        n = count_words(text)
        if not lo <= n <= hi:
            reasons.append(f"it is {n} words (bounds {lo}–{hi})")
    return PolishOutcome(text if not reasons else None, raw, violations, reasons)


# --------------------------------------------------------------------------- the API


def draft(
    facts: DraftFacts | dict,
    *,
    llm: str | None = None,
    model: Any = None,
    retriever: Any = None,
    with_advice: bool = True,
    settings: Any = None,
) -> DraftResult:
    """Draft the paragraph/answer for ``facts``; the one entry point the CLI and the UI call.

    ``llm`` is a backend spec like ``advisor ask --llm`` (default: ``ADVISOR_LLM``,
    else none); ``model`` passes a LangChain chat model directly (tests).
    ``retriever`` defaults to :func:`assistant.retrieval.get_retriever`; when the
    index is missing the draft is still returned, without cited passages, and
    ``note`` says how to build the index. Raises InputError for bad facts,
    BackendError for an unusable model, FactGuardError if a template draft were
    ever to fail the guard (it is then withheld).
    """
    facts = parse_facts(facts)
    comp = compose(facts)
    report: GuardReport = check(comp.text, facts.texts(), comp.vocabulary)
    if not report.ok:  # a bug in a template; never hand such a draft out
        raise FactGuardError(f"template draft withheld by the fact guard: {report.summary()}")
    spec = KIND_SPECS[facts.kind]
    fmt = facts.effective_format
    notes: list[str] = []
    if fmt not in spec.where:
        notes.append(f"The guides place a {spec.label} in: {', '.join(spec.where)}.")
    if comp.trimmed:
        notes.append(f"{len(comp.trimmed)} sentence(s) were left out to fit the {FORMAT_NAMES[fmt]} length (see trimmed).")

    rules = rules_for(facts)
    citations: list[Citation] = []
    numbers: list[Optional[int]] = [None] * len(rules)
    if with_advice:
        try:
            if retriever is None:
                from assistant.retrieval import get_retriever

                retriever = get_retriever(settings)
            citations, numbers = cite_rules(rules, retriever, facts.audience, facts.specialty)
        except IndexMissingError as exc:
            notes.append(f"Guide passages are not shown: {exc}")
    checklist = [{"item": r.item, "source": r.source, "quote": r.quote, "citation": n} for r, n in zip(rules, numbers)]

    result = DraftResult(
        text=comp.text, kind=facts.kind, format=fmt, specialty=facts.specialty, audience=facts.audience,
        missing=list(comp.questions), missing_fields=list(comp.missing_fields), placeholders=list(comp.placeholders),
        advice=citations, checklist=checklist, words=comp.words, bounds=comp.bounds, trimmed=comp.trimmed,
        warnings=wording_warnings(facts), where=list(spec.where),
    )

    if model is None:
        from assistant.config import get_settings
        from assistant.llm import get_chat_model, parse_spec

        spec_str = llm if llm is not None else (settings or get_settings()).llm
        if parse_spec(spec_str)[0] != "extractive":
            model = get_chat_model(spec_str)
            result.backend = parse_spec(spec_str)[0]
    else:
        result.backend = type(model).__name__
    if model is not None:
        outcome = polish(comp, facts, model)
        if outcome.text is not None and outcome.text == comp.text:
            notes.append("The model kept the template wording unchanged.")
        elif outcome.text is not None:
            result.text = outcome.text
            result.words = count_words(outcome.text)
            result.polished = True
        else:
            result.guard = outcome.violations
            notes.append("The model's wording was not used, so this is the template draft: " + "; ".join(outcome.reasons) + ".")
    result.note = " ".join(notes)
    return result


# --------------------------------------------------------------------------- eval helpers


def evaluate_draft_file(path: str | Path) -> dict:
    """Check one facts file the way evals/DRAFTS.md describes (guard, length, content, placeholders); no model, no index."""
    facts = load_facts(path)
    comp = compose(facts)
    report = check(comp.text, facts.texts(), comp.vocabulary)
    problems: list[str] = [f"guard: {v.message}" for v in report.violations]
    if not comp.length_ok:
        problems.append(f"length: {comp.words} words outside {comp.bounds}")
    if comp.trimmed:
        problems.append(f"trimmed {len(comp.trimmed)} sentence(s)")
    low = _norm_for_match(comp.text)
    for name in TEXT_FIELDS:
        value = getattr(facts, name)
        if value is None:
            if name in OPTIONAL_FIELDS and (name != "goals" or facts.kind == "why-specialty"):
                if KIND_SPECS[facts.kind].placeholder(name) not in comp.text:
                    problems.append(f"no placeholder for missing '{name}'")
            continue
        for sentence in split_sentences(clean_text(value)):
            body = _norm_for_match(sentence)[1:]  # first letter may be lowercased by a connecting phrase
            if body not in low:
                problems.append(f"'{name}' content missing: {sentence[:60]}")
    return {"file": str(path), "kind": facts.kind, "format": facts.effective_format, "words": comp.words,
            "missing_fields": comp.missing_fields, "ok": not problems, "problems": problems}
