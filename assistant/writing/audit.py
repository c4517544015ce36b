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

The rules are data (``assistant/data/writing/audit_rules.json``, loaded by
:func:`assistant.writing.rules.audit_rules`); the profile's schema is
:mod:`assistant.writing.profile`. What depends on the specialty (its profile
strengths, its Step 2 CK bands, what counts as experience in it) is keyed by
specialty id and falls back to the general entry, so a specialty that is only
in the vocabulary is audited with the general rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from assistant.domain import vocabulary
from assistant.errors import IndexMissingError, InputError
from assistant.schemas import Citation
from assistant.writing.datafiles import for_specialty
from assistant.writing.facts import read_json_file, specialty_noun
from assistant.writing.profile import ApplicantProfile, load_profile, parse_profile, ym
from assistant.writing.rules import GuideRule, ScoreBands, audit_rules, cite_rules

__all__ = ["AuditResult", "Flag", "audit", "evaluate_profile_file", "find_flags", "format_labels", "load_profile", "parse_profile", "render"]

#: "Gaps > 3 months" (us-img-medical-genetics-red-flags, "Audit Your Application").
GAP_FLAG_MONTHS = 3
#: A gap this long counts as a "long gap", a major red flag (personal statement + interview); shorter ones are minor.
LONG_GAP_MONTHS = 12
#: Years since graduation at which the YOG counts as "older": the guides ask for "recent (last 1–2 years)"
#: experience, so from the third year on, medical school alone no longer shows it.
OLDER_YOG_YEARS = 3


def format_labels() -> dict[str, str]:
    """Format id -> how the audit names it where it says to address a flag ("ERAS additional information")."""
    return audit_rules().format_labels


# --------------------------------------------------------------------------- specialty-keyed rules, with the general fallback


def _relatedness(specialty: str) -> tuple[re.Pattern, Optional[re.Pattern]]:
    """(what counts as this specialty, what counts as adjacent to it) in a field name like "medical genetics".

    From the audit file's ``related`` entry; for a specialty without one, every
    name the vocabulary has for it (id, display name, aliases, question words,
    guide keys, its pattern), and nothing adjacent.
    """
    found = for_specialty(audit_rules().related, specialty)
    if found is not None:
        return found
    s = vocabulary().specialties.get(specialty)
    names = [specialty, specialty.replace("-", " ")] + ([s.name, *s.aliases, *s.question_words, *s.guide_keys] if s else [])
    alternatives = sorted({re.escape(n.lower()) for n in names if n}, key=len, reverse=True) + ([s.pattern] if s else [])
    return re.compile("|".join(alternatives), re.I), None


def _related(text: str, specialty: str) -> bool:
    return bool(_relatedness(specialty)[0].search(text))


def _score_bands(specialty: str) -> ScoreBands | None:
    return for_specialty(audit_rules().score_bands, specialty)


def _no_score_bands(specialty: str) -> dict[str, str]:
    """The wording for a specialty the guides give no Step 2 CK bands for ({sp} filled in)."""
    texts = for_specialty(audit_rules().no_score_bands, specialty)
    return {k: v.format(sp=specialty_noun(specialty)) for k, v in texts.items()}


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
    r = audit_rules()
    return Flag(fid, kind, title, detail, severity, where, r.draft_kind[kind], _applicable(r.why[kind], p), _applicable(r.strengths[kind], p))


def _latest_step2(p: ApplicantProfile) -> Optional[int]:
    scores = [a.score for a in p.exams if a.exam == "step2ck" and a.score is not None]
    return scores[-1] if scores else None


def find_flags(p: ApplicantProfile) -> list[Flag]:
    """The red flags the guides would see in ``p`` (and nothing else), in a stable order."""
    flags: list[Flag] = []
    PS, ERAS, INT = "personal-statement", "eras-additional-info", "interview"
    exam_names = audit_rules().exam_names
    # Exams: any failed attempt; a pattern of failures.
    total_fails = 0
    for exam in ("step1", "step2ck", "step3"):
        attempts = [a for a in p.exams if a.exam == exam]
        fails = sum(a.result == "fail" for a in attempts)
        total_fails += fails
        if fails:
            passed = any(a.result == "pass" for a in attempts)
            outcome = f"passed on attempt {len(attempts)}" if passed else "not yet passed"
            flags.append(_flag("exam-failure", p, f"exam-failure:{exam}", f"{exam_names[exam]}: {fails} failed attempt{'s' if fails > 1 else ''}",
                               f"{len(attempts)} attempt{'s' if len(attempts) > 1 else ''}, {outcome}", "major", [PS, INT]))
    if total_fails >= 2:
        flags.append(_flag("multiple-failures", p, "multiple-failures", f"{total_fails} failed exam attempts in all",
                           "a pattern of failures weighs more than a single one", "major", [PS, INT]))
    step2 = _latest_step2(p)
    bands = _score_bands(p.specialty)
    if bands is not None and step2 is not None and step2 < bands.lowest:
        flags.append(_flag("low-score", p, "low-score:step2ck", f"Step 2 CK {step2}: below the guides' lowest band ({bands.lowest})",
                           f"the guides' Step 2 CK ranges for {specialty_noun(p.specialty)} start at {bands.lowest}", "minor", [ERAS, INT]))
    # Gaps over three months.
    for g in p.gaps:
        end = ym(g.end) if g.end else p.as_of_month
        months = end - ym(g.start)
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
        flags.append(_flag("limited-exposure", p, "limited-exposure", f"No documented {specialty_noun(p.specialty)} exposure",
                           "no US clinical experience, research or letter in the specialty", "minor", [PS, INT]))
    return flags


def _step2_strength(p: ApplicantProfile, step2: Optional[int]) -> tuple[str, str]:
    if step2 is None:
        return "unknown", "no Step 2 CK score in the profile"
    bands = _score_bands(p.specialty)
    if bands is not None:
        return ("have" if step2 >= bands.competitive else "build"), f"Step 2 CK {step2}"
    return "unknown", f"Step 2 CK {step2}; {_no_score_bands(p.specialty)['detail']}"


def _strengths(p: ApplicantProfile) -> list[tuple[str, GuideRule, str, str]]:
    """(id, rule, status, detail) for the profile-level strengths of the specialty (none when the rules give none)."""
    out = []
    step2 = _latest_step2(p)
    for sid, rule in for_specialty(audit_rules().profile_strengths, p.specialty, []):
        if sid == "step2ck":
            status, detail = _step2_strength(p, step2)
        elif sid == "usce":
            own, adjacent = _relatedness(p.specialty)
            rel = [c for c in p.us_clinical_experience if own.search(c.specialty) or (adjacent is not None and adjacent.search(c.specialty))]
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


def _bands(p: ApplicantProfile, step2: Optional[int]) -> tuple[list[tuple[str, GuideRule, bool]], str]:
    """The specialty's Step 2 CK bands (label, rule, applicant inside), and the note under them."""
    table = _score_bands(p.specialty)
    if table is None:
        return [], _no_score_bands(p.specialty)["note"]
    bands = []
    for label, lo, hi, rule in table.bands:
        inside = step2 is not None and (lo is None or step2 >= lo) and (hi is None or step2 < hi)
        bands.append((label, rule, inside))
    return bands, table.audience_notes.get(p.audience, "")


def _considerations(p: ApplicantProfile) -> list[tuple[str, GuideRule]]:
    """What the guides say is not a red flag but matters: needing a visa, being a US-citizen IMG."""
    rules = audit_rules().considerations
    out: list[tuple[str, GuideRule]] = []
    if p.audience == "non-us-img" and p.visa and p.visa.needs_sponsorship:
        out.append(("visa-needed", rules["visa-needed"]))
    if p.audience == "us-img":
        out.append(("us-img", rules["us-img"]))
        out.append(("no-visa-needed", rules["no-visa-needed"]))
    return out


def audit(profile: ApplicantProfile | dict, *, retriever: Any = None, with_citations: bool = True, settings: Any = None) -> AuditResult:
    """Audit ``profile``: flags, where to address them, strengths to build, score bands, all cited."""
    p = parse_profile(profile)
    flags = find_flags(p)
    strengths = _strengths(p)
    step2 = _latest_step2(p)
    bands, band_note = _bands(p, step2)
    considerations = _considerations(p)

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
    header = f"Application audit: {specialty_noun(result.specialty)}, {result.audience}"
    console.print(Text(header, style="bold"))
    if result.flags:
        t = Table(title="Red flags the guides would see", show_lines=False, expand=False)
        for col in ("flag", "severity", "address in", "draft with", "cited"):
            t.add_column(col)
        for f in result.flags:
            where = ", ".join(format_labels()[w] for w in f.where)
            cites = " ".join(f"[{n}]" for n in dict.fromkeys(n for n in f.why_n + f.strengths_n if n))
            t.add_row(Text(f"{f.title}\n{f.detail}"), f.severity, where, f"advisor draft --kind {f.draft_kind}", Text(cites))
        console.print(t)
        for f in result.flags:
            if f.strengths:
                items = "; ".join(f"{r.item}" + (f" [{n}]" if n else "") for r, n in zip(f.strengths, f.strengths_n))
                console.print(Text(f"- {f.title}: strengths to build: {items}"))
    else:
        console.print(Text("No red flags the guides name were found in this profile."))
    if result.strengths:
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
