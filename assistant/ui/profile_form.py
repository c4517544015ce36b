"""The profile form (My profile tab): its components, and the conversion both ways between its values and a saved profile.

What: :func:`profile_form` (the components, in the order of :data:`FORM_KEYS`),
:func:`profile_from_form` (the values -> an ``ApplicantProfile`` mapping; a pasted JSON wins),
:func:`form_values` and :func:`form_for` (a saved profile -> the values, checking that the form
holds all of it).

Why both ways: the form is filled from the saved profile on every page load, so saving it
again must give the same profile. When the profile holds details the form has no field for
(a Step 3 attempt, gap activities, a second research item), :func:`form_for` puts the whole
profile into the JSON box, which saving then uses, so nothing is lost. This is the form that
used to sit in the Audit tab, with the exams' attempt months added (the Draft tab writes them).
"""

from __future__ import annotations

import json
import re
from typing import Any

import gradio as gr

from assistant.errors import AdvisorError, InputError
from assistant.ui.shared import AUDIENCE_CHOICES, NOT_SET, SPECIALTY_CHOICES, SPECIALTY_LABELS, chosen

USCE_TYPES = ("observership", "externship", "elective", "sub-internship", "clinical-job", "residency")
ACADEMIC_TYPES = [("Failed a course", "failed-course"), ("Failed a clerkship", "failed-clerkship"), ("Repeated a year", "repeated-year"), ("Academic probation", "probation")]
_GAP_LINE = re.compile(r"^\s*(\d{4}-\d{2})\s*(?:(?:to|-|–|—|until)\s*(\d{4}-\d{2}|now|ongoing|present))?\s*(?:[:,;]\s*(.*))?$", re.I)
_MONTH = re.compile(r"^\d{4}-\d{2}$")

#: The form's fields, in the order of the components :func:`profile_form` returns.
FORM_KEYS = (
    "audience", "specialty", "graduation_year", "as_of", "s1_fails", "s1_passed", "s1_dates", "s2_fails", "s2_passed", "s2_score",
    "s2_dates", "gaps", "academic", "professionalism", "visa_needed", "visa_denial", "visa_violation", "visa_changes",
    "previous_specialty", "usce_type", "usce_specialty", "usce_months", "usce_letter", "research_topic", "research_outputs",
    "research_related", "letters_specialty", "letters_other", "profile_json",
)
#: What an empty form shows (a new applicant: non-US IMG in medical genetics, Step 1 and Step 2 CK passed).
FORM_DEFAULTS = {
    "audience": "non-us-img", "specialty": "medical-genetics", "graduation_year": None, "as_of": "", "s1_fails": 0, "s1_passed": True,
    "s1_dates": "", "s2_fails": 0, "s2_passed": True, "s2_score": None, "s2_dates": "", "gaps": "", "academic": [], "professionalism": "",
    "visa_needed": False, "visa_denial": False, "visa_violation": False, "visa_changes": 0, "previous_specialty": "",
    "usce_type": NOT_SET, "usce_specialty": "", "usce_months": None, "usce_letter": False, "research_topic": "", "research_outputs": 0,
    "research_related": True, "letters_specialty": 0, "letters_other": 0, "profile_json": "",
}


# --------------------------------------------------------------------------- form -> profile


def _int_or_none(v: Any, what: str) -> int | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number") from None
    if f != int(f):
        raise InputError(f"{what} must be a whole number")
    return int(f)


def parse_gap_lines(text: str) -> list[dict]:
    """``YYYY-MM to YYYY-MM: reason`` (or ``to now``), one gap per line -> the audit's gap objects."""
    gaps = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _GAP_LINE.match(line)
        if not m:
            raise InputError(f"gaps, line {n}: write 'YYYY-MM to YYYY-MM: reason' (or 'YYYY-MM to now')")
        gap: dict[str, Any] = {"start": m.group(1)}
        if m.group(2) and m.group(2)[0].isdigit():
            gap["end"] = m.group(2)
        if m.group(3) and m.group(3).strip():
            gap["reason"] = m.group(3).strip()
        gaps.append(gap)
    return gaps


def _dates(text: Any, what: str) -> list[str]:
    """``2018-06, 2019-01``: one month per attempt, in the order taken."""
    items = [d for d in re.split(r"[\s,;]+", text or "") if d] if isinstance(text, str) else []
    for d in items:
        if not _MONTH.match(d):
            raise InputError(f"{what}: write each month as YYYY-MM, separated by commas (e.g. 2018-06, 2019-01), got {d!r}")
    return items


def _exam_attempts(exam: str, name: str, fails: Any, passed: bool, score: Any, dates: Any) -> list[dict]:
    nfail = _int_or_none(fails, f"{name} failed attempts") or 0
    if nfail < 0:
        raise InputError(f"{name} failed attempts must not be negative")
    attempts: list[dict[str, Any]] = [{"exam": exam, "result": "fail"} for _ in range(nfail)]
    s = _int_or_none(score, f"{name} score") or None  # 0 / empty: not given
    if passed or s is not None:
        a: dict[str, Any] = {"exam": exam, "result": "pass"}
        if s is not None:
            a["score"] = s
        attempts.append(a)
    months = _dates(dates, f"{name} dates")
    if len(months) > len(attempts):
        raise InputError(f"{name} dates: {len(months)} dates for {len(attempts)} attempt(s); give one month per attempt, in order")
    for attempt, month in zip(attempts, months):
        attempt["date"] = month
    return attempts


def _profile_json(text: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"profile JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise InputError("profile JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError("profile JSON must be an object")
    return data


def profile_from_form(values: dict) -> dict:
    """The form's values (keyed by :data:`FORM_KEYS`) -> an ``ApplicantProfile`` mapping (pasted JSON, when given, wins)."""
    v = {**FORM_DEFAULTS, **values}
    if isinstance(v["profile_json"], str) and v["profile_json"].strip():
        return _profile_json(v["profile_json"])
    audience, specialty = v["audience"], v["specialty"]
    if not chosen(audience):
        raise InputError("choose whether you are a US citizen or a non-US citizen IMG")
    year = _int_or_none(v["graduation_year"], "graduation year") or None
    if year is None:
        raise InputError("enter your graduation year")
    p: dict[str, Any] = {"audience": audience, "specialty": specialty, "graduation_year": year}
    if isinstance(v["as_of"], str) and v["as_of"].strip():
        p["as_of"] = v["as_of"].strip()
    p["exams"] = (_exam_attempts("step1", "Step 1", v["s1_fails"], bool(v["s1_passed"]), None, v["s1_dates"])
                  + _exam_attempts("step2ck", "Step 2 CK", v["s2_fails"], bool(v["s2_passed"]), v["s2_score"], v["s2_dates"]))
    p["gaps"] = parse_gap_lines(v["gaps"])
    p["academic"] = [{"type": t} for t in (v["academic"] or [])]
    if isinstance(v["professionalism"], str) and v["professionalism"].strip():
        p["professionalism"] = [{"description": v["professionalism"].strip()}]
    changes = _int_or_none(v["visa_changes"], "visa changes") or 0
    if v["visa_needed"] or v["visa_denial"] or v["visa_violation"] or changes:
        p["visa"] = {"needs_sponsorship": bool(v["visa_needed"]), "prior_denial": bool(v["visa_denial"]),
                     "status_violation": bool(v["visa_violation"]), "type_changes": changes}
    if isinstance(v["previous_specialty"], str) and v["previous_specialty"].strip():
        p["previous_specialty"] = v["previous_specialty"].strip()
    spec_name = SPECIALTY_LABELS.get(specialty, specialty).lower()
    months = v["usce_months"] if v["usce_months"] not in (None, "") else None
    if chosen(v["usce_type"]) and months:
        p["us_clinical_experience"] = [{"type": v["usce_type"], "specialty": (v["usce_specialty"] or "").strip() or spec_name,
                                        "months": float(months), "letter": bool(v["usce_letter"])}]
    outputs = _int_or_none(v["research_outputs"], "research outputs") or 0
    if isinstance(v["research_topic"], str) and v["research_topic"].strip():
        p["research"] = [{"topic": v["research_topic"].strip(), "specialty_related": bool(v["research_related"]), "outputs": outputs}]
    n_spec = _int_or_none(v["letters_specialty"], "letters from the specialty") or 0
    n_other = _int_or_none(v["letters_other"], "other US letters") or 0
    if n_spec < 0 or n_other < 0 or n_spec + n_other > 20:
        raise InputError("letters: give a count between 0 and 20")
    p["letters"] = [{"writer_specialty": spec_name, "us_based": True}] * n_spec + [{"writer_specialty": "other", "us_based": True}] * n_other
    return {k: val for k, val in p.items() if val not in ([], None)}


# --------------------------------------------------------------------------- profile -> form


def exam_values(attempts: list) -> tuple[int, bool, Any, str]:
    """(failed attempts, passed, last score, dates) of one exam's attempts."""
    fails = sum(a.result == "fail" for a in attempts)
    passed = any(a.result == "pass" for a in attempts)
    score = next((a.score for a in reversed(attempts) if a.score is not None), None)
    return fails, passed, score, ", ".join(a.date for a in attempts if a.date)


def form_values(profile: Any) -> dict:
    """A saved profile as the form's values (the fields the form has; :func:`form_for` checks nothing was left out)."""
    s1 = exam_values([a for a in profile.exams if a.exam == "step1"])
    s2 = exam_values([a for a in profile.exams if a.exam == "step2ck"])
    gaps = "\n".join(f"{g.start} to {g.end or 'now'}" + (f": {g.reason}" if g.reason else "") for g in profile.gaps)
    visa = profile.visa
    usce = profile.us_clinical_experience[0] if profile.us_clinical_experience else None
    research = profile.research[0] if profile.research else None
    spec_name = SPECIALTY_LABELS.get(profile.specialty, profile.specialty).lower()
    return {
        **FORM_DEFAULTS,
        "audience": profile.audience, "specialty": profile.specialty, "graduation_year": profile.graduation_year, "as_of": profile.as_of or "",
        "s1_fails": s1[0], "s1_passed": s1[1], "s1_dates": s1[3], "s2_fails": s2[0], "s2_passed": s2[1], "s2_score": s2[2], "s2_dates": s2[3],
        "gaps": gaps, "academic": list(dict.fromkeys(a.type for a in profile.academic)),
        "professionalism": profile.professionalism[0].description if profile.professionalism else "",
        "visa_needed": bool(visa and visa.needs_sponsorship), "visa_denial": bool(visa and visa.prior_denial),
        "visa_violation": bool(visa and visa.status_violation), "visa_changes": visa.type_changes if visa else 0,
        "previous_specialty": profile.previous_specialty or "",
        "usce_type": usce.type if usce else NOT_SET, "usce_specialty": usce.specialty if usce else "",
        "usce_months": usce.months if usce else None, "usce_letter": bool(usce and usce.letter),
        "research_topic": research.topic if research else "", "research_outputs": research.outputs if research else 0,
        "research_related": research.specialty_related if research else True,
        "letters_specialty": sum(1 for x in profile.letters if x.writer_specialty == spec_name and x.us_based),
        "letters_other": sum(1 for x in profile.letters if x.writer_specialty == "other" and x.us_based),
    }


def profile_json_text(profile: Any) -> str:
    return json.dumps(profile.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2)


def form_for(profile: Any) -> tuple[dict, bool]:
    """The form's values for a saved profile, and whether the form holds all of it.

    When it does not (the form would save a different profile), the values also carry the
    profile as JSON in the JSON box, which is what saving uses while it is filled.
    """
    from assistant.writing import parse_profile

    values = form_values(profile)
    try:
        same = parse_profile(profile_from_form(values)).model_dump() == profile.model_dump()
    except AdvisorError:
        same = False
    if not same:
        values["profile_json"] = profile_json_text(profile)
    return values, same


def profile_form() -> list:
    """The form's components, in the order of :data:`FORM_KEYS`."""
    d = FORM_DEFAULTS
    with gr.Row():
        audience = gr.Dropdown(AUDIENCE_CHOICES[1:], value=d["audience"], label="Applicant", elem_id="p-audience")
        specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value=d["specialty"], label="Specialty", elem_id="p-specialty")
        year = gr.Number(d["graduation_year"], label="Graduation year", precision=0, elem_id="p-year")
        as_of = gr.Textbox(d["as_of"], label="Applying in (YYYY-MM, optional)", max_length=7, elem_id="p-asof")
    with gr.Row():
        s1_fails = gr.Number(d["s1_fails"], label="Step 1 failed attempts", precision=0, elem_id="p-s1-fails")
        s1_passed = gr.Checkbox(d["s1_passed"], label="Step 1 passed", elem_id="p-s1-passed")
        s1_dates = gr.Textbox(d["s1_dates"], label="Step 1 attempt months (YYYY-MM, in order, optional)", max_length=100, elem_id="p-s1-dates")
    with gr.Row():
        s2_fails = gr.Number(d["s2_fails"], label="Step 2 CK failed attempts", precision=0, elem_id="p-s2-fails")
        s2_passed = gr.Checkbox(d["s2_passed"], label="Step 2 CK passed", elem_id="p-s2-passed")
        s2_score = gr.Number(d["s2_score"], label="Step 2 CK score", precision=0, elem_id="p-s2-score")
        s2_dates = gr.Textbox(d["s2_dates"], label="Step 2 CK attempt months (YYYY-MM, in order, optional)", max_length=100, elem_id="p-s2-dates")
    with gr.Row():
        gaps = gr.Textbox(d["gaps"], label="Gaps without clinical work, one per line: 2022-08 to 2023-03: reason (or 'to now')", lines=2, max_length=2000, elem_id="p-gaps")
        academic = gr.CheckboxGroup(ACADEMIC_TYPES, value=d["academic"], label="Academic issues", elem_id="p-academic")
        prof = gr.Textbox(d["professionalism"], label="Professionalism note (optional)", lines=2, max_length=1000, elem_id="p-prof")
    with gr.Row():
        visa = gr.Checkbox(d["visa_needed"], label="Needs visa sponsorship", elem_id="p-visa")
        denial = gr.Checkbox(d["visa_denial"], label="Prior visa denial", elem_id="p-visa-denial")
        violation = gr.Checkbox(d["visa_violation"], label="Visa status violation", elem_id="p-visa-violation")
        changes = gr.Number(d["visa_changes"], label="Visa type changes", precision=0, elem_id="p-visa-changes")
        prev = gr.Textbox(d["previous_specialty"], label="Previous specialty (if switching)", max_length=80, elem_id="p-prev")
    with gr.Row():
        usce_type = gr.Dropdown([("None", NOT_SET)] + [(t, t) for t in USCE_TYPES], value=d["usce_type"], label="US clinical experience", elem_id="p-usce-type")
        usce_spec = gr.Textbox(d["usce_specialty"], label="USCE specialty", max_length=80, elem_id="p-usce-specialty")
        usce_months = gr.Number(d["usce_months"], label="USCE months", elem_id="p-usce-months")
        usce_letter = gr.Checkbox(d["usce_letter"], label="USCE letter", elem_id="p-usce-letter")
    with gr.Row():
        res_topic = gr.Textbox(d["research_topic"], label="Research topic (optional)", max_length=300, elem_id="p-research")
        res_out = gr.Number(d["research_outputs"], label="Research outputs (papers, posters)", precision=0, elem_id="p-research-outputs")
        res_rel = gr.Checkbox(d["research_related"], label="Research in the specialty", elem_id="p-research-related")
        let_spec = gr.Number(d["letters_specialty"], label="US letters from the specialty", precision=0, elem_id="p-letters-specialty")
        let_other = gr.Number(d["letters_other"], label="Other US letters", precision=0, elem_id="p-letters-other")
    with gr.Accordion("Advanced: paste a profile JSON (as for `advisor profile set`); it replaces the form", open=False, elem_id="p-json-box"):
        profile_json = gr.Code(d["profile_json"], language="json", label="Profile JSON", elem_id="p-json", lines=6)
    return [audience, specialty, year, as_of, s1_fails, s1_passed, s1_dates, s2_fails, s2_passed, s2_score, s2_dates, gaps, academic, prof,
            visa, denial, violation, changes, prev, usce_type, usce_spec, usce_months, usce_letter, res_topic, res_out, res_rel,
            let_spec, let_other, profile_json]
