"""Guide rules: the guides' advice as checklist items, each traceable to a verbatim quote, and the passages that carry them.

What:

- :class:`GuideRule`: a short checklist item, the guide document it comes from and
  a verbatim quote (tests check that every quote occurs in its document);
- the drafting rules (:func:`draft_rules`: per kind, per format, the rule that
  links a draft to its specialty, the consistency rule, wording warnings), from
  ``assistant/data/writing/draft_rules.json``;
- the audit's rules (:func:`audit_rules`: why each red flag is one, the strengths
  that offset it, the profile-level strengths and Step 2 CK bands per specialty,
  the considerations), from ``assistant/data/writing/audit_rules.json``;
- :func:`cite_rules`: the indexed passage that contains each rule's quote,
  numbered like an answer's citations.

Why one module: drafting and the audit quote the guides the same way and cite
them through the same lookup. Tables keyed by specialty fall back to their
general entry (:func:`assistant.writing.datafiles.for_specialty`), so a
specialty that has no rules of its own gets the general ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.schemas import Citation, Hit, Searcher
from assistant.text import normalize
from assistant.writing import datafiles
from assistant.writing.facts import FORMATS, KINDS, TEXT_FIELDS


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


# --------------------------------------------------------------------------- the data files' schemas


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Rule(_Strict):
    item: str = Field(min_length=1)
    source: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    specialty: Optional[str] = None
    audience: Optional[str] = None

    def rule(self) -> GuideRule:
        return GuideRule(self.item, self.source, self.quote, self.specialty, self.audience)


_RuleRef = Union[_Rule, str]  # a string names an entry of the file's "shared" rules


class _Warning(_Strict):
    pattern: str  # matched case-insensitively against the applicant's own text
    message: str = Field(min_length=1)
    rule: _RuleRef

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        return datafiles.compile_pattern(v)


def _exactly(found: Any, wanted: Sequence[str], what: str) -> None:
    if set(found) != set(wanted):
        raise ValueError(f"'{what}' must have exactly the entries {', '.join(wanted)} (has {', '.join(found)})")


class _DraftRulesFile(_Strict):
    comment: str = Field(default="", alias="_comment")
    shared: dict[str, _Rule] = {}
    link: dict[str, _Rule] = {}  # by specialty id; a specialty without one gets no link rule
    consistency: _Rule
    formats: dict[str, list[_RuleRef]]
    kinds: dict[str, list[_RuleRef]]
    wording_warnings: list[_Warning] = []

    @model_validator(mode="after")
    def _complete(self) -> "_DraftRulesFile":
        _exactly(self.formats, FORMATS, "formats")
        _exactly(self.kinds, KINDS, "kinds")
        refs = [r for v in [*self.formats.values(), *self.kinds.values()] for r in v] + [w.rule for w in self.wording_warnings]
        unknown = [r for r in refs if isinstance(r, str) and r not in self.shared]
        if unknown:
            raise ValueError(f"unknown shared rule {unknown[0]!r}")
        return self


#: The flag kinds :func:`assistant.writing.audit.find_flags` raises: the audit file must give rules for each.
FLAG_KINDS = ("exam-failure", "multiple-failures", "low-score", "gap", "older-graduation", "professionalism", "repeated-year",
              "academic-probation", "course-failure", "visa-history", "specialty-switch", "limited-exposure")
#: The profile-level strengths the audit knows how to assess, and the considerations it may add.
PROFILE_STRENGTH_IDS = ("step2ck", "usce", "research", "letter")
CONSIDERATION_IDS = ("visa-needed", "us-img", "no-visa-needed")
EXAMS = ("step1", "step2ck", "step3")


class _ProfileStrength(_Rule):
    id: str


class _Band(_Rule):
    label: str = Field(min_length=1)
    min: Optional[int] = None  # the band holds scores >= min and < max (None: unbounded)
    max: Optional[int] = None


class _ScoreBands(_Strict):
    lowest: int  # below it: the low-score flag
    competitive: int  # from it on: the Step 2 CK strength counts as "have"
    bands: list[_Band] = Field(min_length=1)
    audience_notes: dict[str, str] = {}


class _NoScoreBands(_Strict):
    detail: str  # after "Step 2 CK <score>; " in the strengths; {sp} = the specialty's name
    note: str  # the score-bands note; {sp} as above


class _Related(_Strict):
    pattern: str  # what makes an experience, a letter writer's or a previous specialty count as this specialty
    adjacent: Optional[str] = None  # fields whose US clinical experience also counts for it

    @field_validator("pattern", "adjacent")
    @classmethod
    def _compiles(cls, v: Optional[str]) -> Optional[str]:
        return v if v is None else datafiles.compile_pattern(v)


class _AuditRulesFile(_Strict):
    comment: str = Field(default="", alias="_comment")
    why: dict[str, list[_Rule]]
    strengths: dict[str, list[_Rule]]
    draft_kind: dict[str, str]
    profile_strengths: dict[str, list[_ProfileStrength]]
    score_bands: dict[str, _ScoreBands] = {}
    no_score_bands: dict[str, _NoScoreBands]
    related: dict[str, _Related] = {}
    considerations: dict[str, _Rule]
    exam_aliases: dict[str, str]
    exam_names: dict[str, str]
    format_labels: dict[str, str]

    @model_validator(mode="after")
    def _complete(self) -> "_AuditRulesFile":
        for name in ("why", "strengths", "draft_kind"):
            _exactly(getattr(self, name), FLAG_KINDS, name)
        kinds = sorted(set(self.draft_kind.values()) - set(KINDS))
        if kinds:
            raise ValueError(f"'draft_kind' names an unknown draft kind {kinds[0]!r}")
        ids = sorted({s.id for v in self.profile_strengths.values() for s in v} - set(PROFILE_STRENGTH_IDS))
        if ids:
            raise ValueError(f"'profile_strengths' names an unknown strength {ids[0]!r} (known: {', '.join(PROFILE_STRENGTH_IDS)})")
        _exactly(self.considerations, CONSIDERATION_IDS, "considerations")
        _exactly(self.exam_names, EXAMS, "exam_names")
        _exactly(self.format_labels, FORMATS, "format_labels")
        if not set(self.exam_aliases.values()) <= set(EXAMS):
            raise ValueError(f"'exam_aliases' may only name the exams {', '.join(EXAMS)}")
        if datafiles.GENERAL not in self.no_score_bands:
            raise ValueError(f"'no_score_bands' needs a '{datafiles.GENERAL}' entry")
        return self


# --------------------------------------------------------------------------- the loaded tables


@dataclass(frozen=True)
class DraftRules:
    kinds: dict[str, list[GuideRule]]  # the checklist's core, per kind
    formats: dict[str, list[GuideRule]]  # where and how long, per format
    link: dict[str, GuideRule]  # "link it to the specialty", per specialty id
    consistency: GuideRule  # "tell the same story everywhere"
    wording_warnings: list[tuple[re.Pattern, str, GuideRule]]  # wording in the applicant's text the guides warn against


@dataclass(frozen=True)
class ScoreBands:
    lowest: int
    competitive: int
    bands: list[tuple[str, Optional[int], Optional[int], GuideRule]]  # (label, min, max, rule)
    audience_notes: dict[str, str]


@dataclass(frozen=True)
class AuditRules:
    why: dict[str, list[GuideRule]]  # flag kind -> why the guides call it a red flag
    strengths: dict[str, list[GuideRule]]  # flag kind -> the strengths that offset it
    draft_kind: dict[str, str]  # flag kind -> the `advisor draft --kind` that writes it
    profile_strengths: dict[str, list[tuple[str, GuideRule]]]  # specialty -> (strength id, rule)
    score_bands: dict[str, ScoreBands]  # specialty -> the guides' Step 2 CK bands
    no_score_bands: dict[str, dict[str, str]]  # specialty (or general) -> wording when the guides give no bands
    related: dict[str, tuple[re.Pattern, Optional[re.Pattern]]]  # specialty -> (its own field, adjacent fields)
    considerations: dict[str, GuideRule]
    exam_aliases: dict[str, str]
    exam_names: dict[str, str]
    format_labels: dict[str, str]


def _build_draft_rules(f: _DraftRulesFile) -> DraftRules:
    shared = {name: r.rule() for name, r in f.shared.items()}

    def resolve(r: _RuleRef) -> GuideRule:
        return shared[r] if isinstance(r, str) else r.rule()

    return DraftRules(
        kinds={k: [resolve(r) for r in v] for k, v in f.kinds.items()},
        formats={k: [resolve(r) for r in v] for k, v in f.formats.items()},
        link={k: r.rule() for k, r in f.link.items()},
        consistency=f.consistency.rule(),
        wording_warnings=[(re.compile(w.pattern, re.I), w.message, resolve(w.rule)) for w in f.wording_warnings],
    )


def _build_audit_rules(f: _AuditRulesFile) -> AuditRules:
    def rx(p: Optional[str]) -> Optional[re.Pattern]:
        return re.compile(p, re.I) if p is not None else None

    return AuditRules(
        why={k: [r.rule() for r in v] for k, v in f.why.items()},
        strengths={k: [r.rule() for r in v] for k, v in f.strengths.items()},
        draft_kind=dict(f.draft_kind),
        profile_strengths={sp: [(s.id, s.rule()) for s in v] for sp, v in f.profile_strengths.items()},
        score_bands={sp: ScoreBands(b.lowest, b.competitive, [(x.label, x.min, x.max, x.rule()) for x in b.bands], dict(b.audience_notes))
                     for sp, b in f.score_bands.items()},
        no_score_bands={sp: {"detail": n.detail, "note": n.note} for sp, n in f.no_score_bands.items()},
        related={sp: (rx(r.pattern), rx(r.adjacent)) for sp, r in f.related.items()},
        considerations={k: r.rule() for k, r in f.considerations.items()},
        exam_aliases=dict(f.exam_aliases), exam_names=dict(f.exam_names), format_labels=dict(f.format_labels),
    )


@datafiles.cached
def draft_rules() -> DraftRules:
    """The drafting rules (read and validated at first use)."""
    return datafiles.load("draft_rules.json", _DraftRulesFile, _build_draft_rules)


@datafiles.cached
def audit_rules() -> AuditRules:
    """The audit's rules (read and validated at first use)."""
    return datafiles.load("audit_rules.json", _AuditRulesFile, _build_audit_rules)


def link_rule(specialty: str) -> GuideRule | None:
    """The "link it to the specialty" rule for ``specialty`` (None when the rules give none for it)."""
    return datafiles.for_specialty(draft_rules().link, specialty)


def wording_warnings(facts: Any) -> list[dict]:
    """Places where the applicant's own wording goes against guide advice (reported, never rewritten)."""
    out = []
    for name in TEXT_FIELDS:
        value = getattr(facts, name)
        if not value:
            continue
        for rx, message, rule in draft_rules().wording_warnings:
            m = rx.search(value)
            if m:
                out.append({"field": name, "text": m.group(0), "message": message, "source": rule.source, "quote": rule.quote})
    return out


# --------------------------------------------------------------------------- citations: the passage that carries a quote


def norm_for_match(text: str) -> str:
    """Text as quotes are matched: normalized, casefolded, dashes unified, single-spaced."""
    return " ".join(normalize(text).casefold().replace("–", "-").replace("—", "-").replace("‐", "-").split())


# (retriever id | index generation | source, quote) -> passage; a new ingest (new generation) misses the cache.
_QUOTE_CACHE: dict[tuple[str, str], Optional[Hit]] = {}


def find_passage(retriever: Searcher, rule: GuideRule, audience: str | None = None, specialty: str | None = None) -> Hit | None:
    """The indexed passage (a ``Hit``) that contains ``rule.quote``, found by retrieval and checked by containment.

    Searches with the quote itself (so the hybrid retriever ranks its own chunk
    first), keeps only a hit from the rule's document whose text contains the
    quote, and falls back to scanning the retriever's chunk table when a chunk
    boundary split the quote. Returns None when no passage carries it.
    """
    retriever.ensure_loaded()  # raises IndexMissingError without an index; reloads after a new ingest
    key = (f"{id(retriever)}|{retriever.generation}|{rule.source}", rule.quote)
    if key in _QUOTE_CACHE:
        return _QUOTE_CACHE[key]
    want = norm_for_match(rule.quote)
    head = want[:60]

    def carries(source: str, text: str, section: str, probe: str) -> bool:
        return source == rule.source and (probe in norm_for_match(text) or probe in norm_for_match(section))

    found = None
    hits = retriever.search(rule.quote[:400], k=8, audience=audience, specialty=specialty)
    for probe in (want, head):
        found = next((h for h in hits if carries(h.source, h.text, h.section, probe)), None)
        if found is not None:
            break
    if found is None:  # a chunk boundary or ranking hid it: scan the live chunk table of the same index
        for row in retriever.rows:
            if carries(row.get("source", ""), row.get("text", ""), row.get("section", ""), head):
                found = Hit(row["id"], row["source"], row.get("title", ""), row.get("section", ""), row["text"], 0.0,
                            row.get("audience", "any"), row.get("specialty", "any"))
                break
    _QUOTE_CACHE[key] = found
    return found


def cite_rules(rules: Sequence[GuideRule], retriever: Searcher, audience: str | None = None, specialty: str | None = None) -> tuple[list[Citation], list[Optional[int]]]:
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
