"""The Audit tab: an applicant profile in, the audit of :func:`assistant.writing.audit` with citations out.

The form (exams, gaps, academic and professionalism issues, visa, US clinical
experience, research, letters) becomes an ``ApplicantProfile`` mapping
(:func:`audit_profile_from_form`; a pasted profile JSON replaces the form). The
audit lists only what the guides call red flags, where each should be addressed
and the strengths that offset it, citing the passages (``<details id="asrc-n">``).

API endpoint ``/audit``: a profile dict (the ``advisor audit`` profile schema) -> the audit JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import InputError
from assistant.ui.html import cite_link, error_notice, esc, notice, source_details
from assistant.ui.shared import AUDIENCE_CHOICES, AUDIENCE_LABELS, NOT_SET, SPECIALTY_CHOICES, SPECIALTY_LABELS, Context, api_error, chosen
from assistant.writing import audit, format_labels

USCE_TYPES = ("observership", "externship", "elective", "sub-internship", "clinical-job", "residency")
ACADEMIC_TYPES = [("Failed a course", "failed-course"), ("Failed a clerkship", "failed-clerkship"), ("Repeated a year", "repeated-year"), ("Academic probation", "probation")]
_GAP_LINE = re.compile(r"^\s*(\d{4}-\d{2})\s*(?:(?:to|-|–|—|until)\s*(\d{4}-\d{2}|now|ongoing|present))?\s*(?:[:,;]\s*(.*))?$", re.I)


# --------------------------------------------------------------------------- the form


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


def _exam_attempts(exam: str, fails: Any, passed: bool, score: Any) -> list[dict]:
    nfail = _int_or_none(fails, f"{exam} failed attempts") or 0
    if nfail < 0:
        raise InputError(f"{exam} failed attempts must not be negative")
    attempts = [{"exam": exam, "result": "fail"} for _ in range(nfail)]
    s = _int_or_none(score, f"{exam} score") or None  # 0 / empty: not given
    if passed or s is not None:
        a: dict[str, Any] = {"exam": exam, "result": "pass"}
        if s is not None:
            a["score"] = s
        attempts.append(a)
    return attempts


def _profile_json(text: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"profile JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError("profile JSON must be an object")
    return data


def audit_profile_from_form(
    audience, specialty, graduation_year, as_of, s1_fails, s1_passed, s2_fails, s2_passed, s2_score, gaps_text,
    academic, professionalism, visa_needed, visa_denial, visa_violation, visa_changes, previous_specialty,
    usce_type, usce_specialty, usce_months, usce_letter, research_topic, research_outputs, research_related,
    letters_specialty, letters_other, profile_json,
) -> dict:
    """The audit tab's form -> an ``ApplicantProfile`` mapping (pasted JSON, when given, wins)."""
    if isinstance(profile_json, str) and profile_json.strip():
        return _profile_json(profile_json)
    if not chosen(audience):
        raise InputError("choose whether you are a US citizen or a non-US citizen IMG")
    year = _int_or_none(graduation_year, "graduation year") or None
    if year is None:
        raise InputError("enter your graduation year")
    p: dict[str, Any] = {"audience": audience, "specialty": specialty, "graduation_year": year}
    if isinstance(as_of, str) and as_of.strip():
        p["as_of"] = as_of.strip()
    p["exams"] = _exam_attempts("step1", s1_fails, bool(s1_passed), None) + _exam_attempts("step2ck", s2_fails, bool(s2_passed), s2_score)
    p["gaps"] = parse_gap_lines(gaps_text)
    p["academic"] = [{"type": t} for t in (academic or [])]
    if isinstance(professionalism, str) and professionalism.strip():
        p["professionalism"] = [{"description": professionalism.strip()}]
    changes = _int_or_none(visa_changes, "visa changes") or 0
    if visa_needed or visa_denial or visa_violation or changes:
        p["visa"] = {"needs_sponsorship": bool(visa_needed), "prior_denial": bool(visa_denial), "status_violation": bool(visa_violation), "type_changes": changes}
    if isinstance(previous_specialty, str) and previous_specialty.strip():
        p["previous_specialty"] = previous_specialty.strip()
    months = usce_months if usce_months not in (None, "") else None
    if chosen(usce_type) and months:
        p["us_clinical_experience"] = [{"type": usce_type, "specialty": (usce_specialty or "").strip() or SPECIALTY_LABELS.get(specialty, specialty).lower(), "months": float(months), "letter": bool(usce_letter)}]
    outputs = _int_or_none(research_outputs, "research outputs") or 0
    if isinstance(research_topic, str) and research_topic.strip():
        p["research"] = [{"topic": research_topic.strip(), "specialty_related": bool(research_related), "outputs": outputs}]
    n_spec = _int_or_none(letters_specialty, "letters from the specialty") or 0
    n_other = _int_or_none(letters_other, "other US letters") or 0
    if n_spec < 0 or n_other < 0 or n_spec + n_other > 20:
        raise InputError("letters: give a count between 0 and 20")
    spec_name = SPECIALTY_LABELS.get(specialty, specialty).lower()
    p["letters"] = [{"writer_specialty": spec_name, "us_based": True}] * n_spec + [{"writer_specialty": "other", "us_based": True}] * n_other
    return {k: v for k, v in p.items() if v not in ([], None)}


def run_audit(profile: dict, settings: Settings) -> Any:
    return audit(profile, settings=settings)


# --------------------------------------------------------------------------- rendering


def _cite(n: Any, numbers: set[int]) -> str:
    return " " + cite_link("asrc", int(n)) if isinstance(n, int) and n in numbers else ""


def _item(entry: dict, numbers: set[int]) -> str:
    """One cited list item: the entry's text and its ``[n]`` link."""
    return f"<li>{esc(entry.get('text'))}{_cite(entry.get('citation'), numbers)}</li>"


def _render_flag(f: dict, numbers: set[int]) -> str:
    labels = format_labels()
    where = ", ".join(labels.get(w, w) for w in f.get("where") or [])
    why = "".join(_item(r, numbers) for r in f.get("why") or [])
    offs = "".join(_item(r, numbers) for r in f.get("strengths") or [])
    return (
        f'<div class="notice {"abstain" if f.get("severity") == "major" else "info"} audit-flag"><b>{esc(f.get("title"))}</b> '
        f'({esc(f.get("severity"))}; {esc(f.get("detail"))})<br>Address it in: {esc(where)} · draft it with the Draft tab, kind <code>{esc(f.get("draft_kind"))}</code>'
        f"<div>Why it matters:<ul>{why}</ul></div>" + (f"<div>What offsets it:<ul>{offs}</ul></div>" if offs else "") + "</div>"
    )


def _render_strengths(strengths: list[dict], numbers: set[int]) -> str:
    rows = "".join(
        f"<tr><td>{esc(s.get('text'))}{_cite(s.get('citation'), numbers)}</td><td><b>{esc(s.get('status'))}</b></td><td>{esc(s.get('detail'))}</td></tr>" for s in strengths
    )
    return f'<h3>Strengths the guides recommend</h3><table class="lib"><thead><tr><th>Strength</th><th>Status</th><th>From your profile</th></tr></thead><tbody>{rows}</tbody></table>'


def _render_bands(bands: dict, numbers: set[int]) -> str:
    items = "".join(
        f"<li>{'➡️ <b>' if b.get('applicant') else ''}{esc(b.get('text'))}{'</b> (your score)' if b.get('applicant') else ''}{_cite(b.get('citation'), numbers)}</li>"
        for b in bands.get("bands") or []
    )
    return f"<h3>Step 2 CK ranges</h3><ul>{items}</ul>" + (f"<p>{esc(bands.get('note'))}</p>" if bands.get("note") else "")


def render_audit(result: Any) -> str:
    """Flags (where to address them, why, what offsets them), strengths, score bands, considerations, sources."""
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    cits = data.get("citations") or []
    numbers = {int(c["n"]) for c in cits if isinstance(c, dict) and isinstance(c.get("n"), int)}
    audience = AUDIENCE_LABELS.get(data.get("audience"), data.get("audience"))
    specialty = SPECIALTY_LABELS.get(data.get("specialty"), data.get("specialty"))
    out = [f'<div class="panel" id="audit-result"><p>Profile: <b>{esc(audience)}</b> applying to <b>{esc(specialty)}</b>.</p>']
    flags = data.get("flags") or []
    out.append(f"<h3>Red flags the guides would see ({len(flags)})</h3>")
    if not flags:
        out.append(notice("ok", "None of the red flags the guides describe shows in this profile.", "audit-no-flags"))
    out.extend(_render_flag(f, numbers) for f in flags)
    if data.get("strengths"):
        out.append(_render_strengths(data["strengths"], numbers))
    bands = data.get("score_bands") or {}
    if bands.get("bands") or bands.get("note"):
        out.append(_render_bands(bands, numbers))
    if data.get("considerations"):
        items = "".join(_item(c, numbers) for c in data["considerations"])
        out.append(f"<h3>Worth knowing (not red flags)</h3><ul>{items}</ul>")
    if data.get("note"):
        out.append(f'<div class="answer-note">ℹ️ {esc(data["note"])}</div>')
    if cits:
        out.append("<h3>Sources</h3>" + source_details(cits, "asrc"))
    out.append("</div>")
    return "\n".join(out)


# --------------------------------------------------------------------------- handlers


class AuditHandlers:
    """The Audit tab's form event and its ``/audit`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def audit_form(self, *values):
        try:
            result = run_audit(audit_profile_from_form(*values), self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "audit-error")
        return render_audit(result)

    def audit_api(self, profile: dict) -> dict:
        """Audit an applicant profile (the `advisor audit` profile schema): red flags, where to address them, strengths, all cited."""
        try:
            if not isinstance(profile, dict):
                raise InputError("profile must be a JSON object")
            return run_audit(profile, self.ctx.settings).to_json()
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> None:
    """The Audit tab: the profile form (in the order of :func:`audit_profile_from_form`'s parameters) and the result."""
    h = AuditHandlers(ctx)
    with gr.Tab("Audit", id="audit", elem_id="tab-audit"):
        gr.Markdown(
            "Describe your application. The audit lists only what the guides call red flags, where each should be addressed, "
            "and the strengths that offset it, citing the passages. Your profile stays on this machine."
        )
        inputs = _profile_form()
        go = gr.Button("Audit my profile", variant="primary", elem_id="a-go")
        out = gr.HTML("", elem_id="a-out")
        go.click(h.audit_form, inputs, out, api_visibility="private", concurrency_id="answer")
        gr.api(h.audit_api, api_name="audit", concurrency_id="answer")


def _profile_form() -> list:
    """The form's components, as the inputs of :func:`audit_profile_from_form`."""
    with gr.Row():
        audience = gr.Dropdown(AUDIENCE_CHOICES[1:], value="non-us-img", label="Applicant", elem_id="a-audience")
        specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value="medical-genetics", label="Specialty", elem_id="a-specialty")
        year = gr.Number(None, label="Graduation year", precision=0, elem_id="a-year")
        as_of = gr.Textbox(label="Applying in (YYYY-MM, optional)", max_length=7, elem_id="a-asof")
    with gr.Row():
        s1_fails = gr.Number(0, label="Step 1 failed attempts", precision=0, elem_id="a-s1-fails")
        s1_passed = gr.Checkbox(True, label="Step 1 passed", elem_id="a-s1-passed")
        s2_fails = gr.Number(0, label="Step 2 CK failed attempts", precision=0, elem_id="a-s2-fails")
        s2_passed = gr.Checkbox(True, label="Step 2 CK passed", elem_id="a-s2-passed")
        s2_score = gr.Number(None, label="Step 2 CK score", precision=0, elem_id="a-s2-score")
    with gr.Row():
        gaps = gr.Textbox(label="Gaps without clinical work, one per line: 2022-08 to 2023-03: reason (or 'to now')", lines=2, max_length=2000, elem_id="a-gaps")
        academic = gr.CheckboxGroup(ACADEMIC_TYPES, label="Academic issues", elem_id="a-academic")
        prof = gr.Textbox(label="Professionalism note (optional)", lines=2, max_length=1000, elem_id="a-prof")
    with gr.Row():
        visa = gr.Checkbox(False, label="Needs visa sponsorship", elem_id="a-visa")
        denial = gr.Checkbox(False, label="Prior visa denial", elem_id="a-visa-denial")
        violation = gr.Checkbox(False, label="Visa status violation", elem_id="a-visa-violation")
        changes = gr.Number(0, label="Visa type changes", precision=0, elem_id="a-visa-changes")
        prev = gr.Textbox(label="Previous specialty (if switching)", max_length=80, elem_id="a-prev")
    with gr.Row():
        usce_type = gr.Dropdown([("None", NOT_SET)] + [(t, t) for t in USCE_TYPES], value=NOT_SET, label="US clinical experience", elem_id="a-usce-type")
        usce_spec = gr.Textbox(label="USCE specialty", max_length=80, elem_id="a-usce-specialty")
        usce_months = gr.Number(None, label="USCE months", elem_id="a-usce-months")
        usce_letter = gr.Checkbox(False, label="USCE letter", elem_id="a-usce-letter")
    with gr.Row():
        res_topic = gr.Textbox(label="Research topic (optional)", max_length=300, elem_id="a-research")
        res_out = gr.Number(0, label="Research outputs (papers, posters)", precision=0, elem_id="a-research-outputs")
        res_rel = gr.Checkbox(True, label="Research in the specialty", elem_id="a-research-related")
        let_spec = gr.Number(0, label="US letters from the specialty", precision=0, elem_id="a-letters-specialty")
        let_other = gr.Number(0, label="Other US letters", precision=0, elem_id="a-letters-other")
    with gr.Accordion("Advanced: paste a profile JSON (as for `advisor audit --profile`); it replaces the form", open=False):
        profile_json = gr.Code("", language="json", label="Profile JSON", elem_id="a-json", lines=6)
    return [audience, specialty, year, as_of, s1_fails, s1_passed, s2_fails, s2_passed, s2_score, gaps, academic, prof, visa, denial,
            violation, changes, prev, usce_type, usce_spec, usce_months, usce_letter, res_topic, res_out, res_rel,
            let_spec, let_other, profile_json]
