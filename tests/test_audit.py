"""Tests for assistant.writing.audit: the red flags the guides name (and nothing else), placements, bands, citations, bad input."""

from __future__ import annotations

import copy
import importlib
import io
import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.writing.profile import load_profile, parse_profile
from assistant.writing.rules import audit_rules, norm_for_match

A = importlib.import_module("assistant.writing.audit")  # the module (the package's own `audit` is the function)

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROFILE_EVALS = sorted((PROJECT_DIR / "evals" / "profiles").glob("*.json"))

BASE = {
    "audience": "non-us-img", "specialty": "medical-genetics", "graduation_year": 2022, "as_of": "2024-09",
    "exams": [{"exam": "step1", "result": "pass"}, {"exam": "step2ck", "result": "pass", "score": 240}],
    "us_clinical_experience": [{"type": "observership", "specialty": "medical genetics", "months": 2, "letter": True}],
}


def profile(**changes) -> dict:
    p = copy.deepcopy(BASE)
    p.update(changes)
    return p


def flag_ids(p: dict) -> list[str]:
    return [f.id for f in A.find_flags(parse_profile(p))]


@pytest.fixture(scope="session")
def retriever(built_home):
    """The session's real index of the bundled guides (tests/conftest.py)."""
    from assistant.retrieval import get_retriever

    return get_retriever(built_home)


# --------------------------------------------------------------------------- eval profiles


def test_there_are_enough_eval_profiles_with_positive_and_negative_cases():
    assert len(PROFILE_EVALS) >= 6
    data = [json.loads(p.read_text(encoding="utf-8")) for p in PROFILE_EVALS]
    assert all(set(d) >= {"profile", "expected_flags"} for d in data)
    assert any(d["expected_flags"] == [] for d in data)  # a clean profile: nothing flagged
    kinds = {f.split(":")[0] for d in data for f in d["expected_flags"]}
    assert kinds >= {"exam-failure", "multiple-failures", "low-score", "gap", "older-graduation", "professionalism",
                     "repeated-year", "visa-history", "specialty-switch", "limited-exposure"}


@pytest.mark.parametrize("path", PROFILE_EVALS, ids=[p.stem for p in PROFILE_EVALS])
def test_eval_profile_flags_exactly_what_is_expected(path):
    result = A.evaluate_profile_file(path)
    assert result["ok"], (result["missing"], result["unexpected"])


# --------------------------------------------------------------------------- rules, one at a time


def test_a_clean_profile_has_no_flags():
    assert flag_ids(profile()) == []


def test_gaps_over_three_months_are_flagged_and_long_ones_are_major():
    assert flag_ids(profile(gaps=[{"start": "2023-01", "end": "2023-04"}])) == []  # exactly 3 months
    flags = A.find_flags(parse_profile(profile(gaps=[{"start": "2023-01", "end": "2023-05"}])))
    assert [(f.id, f.severity, f.where) for f in flags] == [("gap:2023-01", "minor", ["eras-additional-info", "interview"])]
    flags = A.find_flags(parse_profile(profile(gaps=[{"start": "2022-06", "end": "2023-06", "activities": "research"}])))
    assert [(f.id, f.severity, f.where) for f in flags] == [("gap:2022-06", "major", ["personal-statement", "interview"])]
    ongoing = A.find_flags(parse_profile(profile(gaps=[{"start": "2024-04"}])))  # to as_of 2024-09: 5 months
    assert [f.id for f in ongoing] == ["gap:2024-04"] and "now" in ongoing[0].title


def test_exam_failures_and_a_pattern_of_failures():
    one = [{"exam": "step1", "result": "fail"}, {"exam": "step1", "result": "pass"}, {"exam": "step2ck", "result": "pass", "score": 240}]
    assert flag_ids(profile(exams=one)) == ["exam-failure:step1"]
    two = [{"exam": "Step 1", "result": "fail"}, {"exam": "step1", "result": "pass"},
           {"exam": "Step 2 CK", "result": "fail"}, {"exam": "step2ck", "result": "pass", "score": 240}]
    assert flag_ids(profile(exams=two)) == ["exam-failure:step1", "exam-failure:step2ck", "multiple-failures"]
    f = A.find_flags(parse_profile(profile(exams=one)))[0]
    assert f.severity == "major" and f.where == ["personal-statement", "interview"] and f.draft_kind == "exam-failure"


def test_step2_score_bands_for_genetics_and_none_for_radiology():
    assert flag_ids(profile(exams=[{"exam": "step2ck", "result": "pass", "score": 219}])) == ["low-score:step2ck"]
    assert flag_ids(profile(exams=[{"exam": "step2ck", "result": "pass", "score": 220}])) == []
    result = A.audit(profile(exams=[{"exam": "step2ck", "result": "pass", "score": 232}]), with_citations=False)
    marked = [b["label"] for b in result.score_bands["bands"] if b["applicant"]]
    assert marked == ["220–235"] and result.score_bands["score"] == 232
    assert [b["label"] for b in result.score_bands["bands"]] == ["≥245", "235–245", "220–235", "<220"]
    for score, label in [(245, "≥245"), (244, "235–245"), (235, "235–245"), (200, "<220")]:
        bands = A.audit(profile(exams=[{"exam": "step2ck", "result": "pass", "score": score}]), with_citations=False).score_bands["bands"]
        assert [b["label"] for b in bands if b["applicant"]] == [label]
    rad = A.audit(profile(specialty="radiology", exams=[{"exam": "step2ck", "result": "pass", "score": 205}],
                          us_clinical_experience=[{"type": "elective", "specialty": "radiology", "months": 1}]), with_citations=False)
    assert rad.score_bands["bands"] == [] and "no Step 2 CK ranges" in rad.score_bands["note"]
    assert rad.flag_ids == []  # the guides give no radiology number, so no low-score flag
    us = A.audit(profile(audience="us-img", exams=[{"exam": "step2ck", "result": "pass", "score": 240}]), with_citations=False)
    assert "non-US-citizen IMGs" in us.score_bands["note"]


def test_older_graduation_year_threshold():
    assert flag_ids(profile(graduation_year=2022)) == []
    assert flag_ids(profile(graduation_year=2021)) == ["older-graduation"]
    assert A.OLDER_YOG_YEARS == 3


def test_needing_a_visa_is_a_consideration_not_a_flag():
    p = profile(visa={"needs_sponsorship": True, "preferred": ["J-1"]})
    result = A.audit(p, with_citations=False)
    assert result.flag_ids == [] and [c["id"] for c in result.considerations] == ["visa-needed"]
    assert flag_ids(profile(visa={"needs_sponsorship": True, "prior_denial": True})) == ["visa-history"]
    assert flag_ids(profile(visa={"needs_sponsorship": True, "type_changes": 1})) == []
    assert flag_ids(profile(visa={"needs_sponsorship": True, "type_changes": 2})) == ["visa-history"]
    us = A.audit(profile(audience="us-img"), with_citations=False)
    assert us.flag_ids == [] and {c["id"] for c in us.considerations} == {"us-img", "no-visa-needed"}


def test_academic_professionalism_switch_and_exposure():
    p = profile(academic=[{"type": "failed-clerkship"}, {"type": "repeated-year"}, {"type": "probation"}],
                professionalism=[{"description": "late to rounds"}], previous_specialty="orthopedic surgery")
    assert flag_ids(p) == ["professionalism", "repeated-year", "academic-probation", "course-failure", "specialty-switch"]
    assert flag_ids(profile(previous_specialty="pediatric genetics")) == []  # not a switch away from the specialty
    assert flag_ids(profile(us_clinical_experience=[])) == ["limited-exposure"]
    assert flag_ids(profile(us_clinical_experience=[], research=[{"topic": "exome yield", "specialty_related": True}])) == []
    assert flag_ids(profile(us_clinical_experience=[], letters=[{"writer_specialty": "Clinical Genetics"}])) == []


def test_strengths_are_marked_from_the_profile():
    result = A.audit(profile(research=[{"topic": "x", "specialty_related": True, "outputs": 2}]), with_citations=False)
    status = {s["id"]: s["status"] for s in result.strengths}
    assert status == {"step2ck": "have", "usce": "have", "research": "have", "letter": "build"}
    low = A.audit(profile(exams=[{"exam": "step2ck", "result": "pass", "score": 225}], us_clinical_experience=[]), with_citations=False)
    assert {s["id"]: s["status"] for s in low.strengths}["step2ck"] == "build"


def _audit_rules():
    tables = audit_rules()
    bands = [b for sb in tables.score_bands.values() for b in sb.bands]  # (label, min, max, rule) of every specialty's bands
    rules = [r for v in tables.why.values() for r in v] + [r for v in tables.strengths.values() for r in v]
    rules += [r for v in tables.profile_strengths.values() for _, r in v] + [b[3] for b in bands] + list(tables.considerations.values())
    return list(dict.fromkeys(rules))


@pytest.mark.parametrize("rule", _audit_rules(), ids=lambda r: r.quote[:40])
def test_every_audit_rule_quotes_its_guide(rule):
    doc = (PROJECT_DIR / "corpus" / f"{rule.source}.txt").read_text(encoding="utf-8")
    assert norm_for_match(rule.quote) in norm_for_match(doc)


@pytest.mark.parametrize("kind", sorted(audit_rules().why))
@pytest.mark.parametrize("specialty", ["medical-genetics", "radiology"])
def test_every_flag_kind_has_reasons_and_strengths_for_each_specialty(kind, specialty):
    if (kind, specialty) == ("low-score", "radiology"):
        assert "low-score:step2ck" not in flag_ids(profile(specialty="radiology", exams=[{"exam": "step2ck", "result": "pass", "score": 190}]))
        return  # never flagged: the guides give no radiology score band
    p = parse_profile(profile(specialty=specialty))
    assert A._applicable(audit_rules().why[kind], p) and A._applicable(audit_rules().strengths[kind], p)


# --------------------------------------------------------------------------- citations and output


def test_audit_cites_every_flag_strength_and_band(retriever):
    data = json.loads((PROJECT_DIR / "evals/profiles/non-us-genetics-low-score-older-yog.json").read_text(encoding="utf-8"))
    result = A.audit(data, retriever=retriever)
    assert result.flag_ids == sorted(data["expected_flags"], key=result.flag_ids.index)
    assert [c.n for c in result.citations] == list(range(1, len(result.citations) + 1))
    by_n = {c.n: c for c in result.citations}
    items = [x for f in result.to_json()["flags"] for x in f["why"] + f["strengths"]]
    items += result.strengths + result.score_bands["bands"] + result.considerations
    assert items and all(x["citation"] for x in items)
    for x in items:
        c = by_n[x["citation"]]
        assert c.source == x["source"]
        q = norm_for_match(x["quote"])
        assert q in norm_for_match(c.text) or q in norm_for_match(c.section)
    out = result.to_json()
    assert set(out) >= {"flags", "strengths", "score_bands", "considerations", "citations"}
    json.dumps(out)


def test_render_is_readable_text():
    from rich.console import Console

    data = json.loads((PROJECT_DIR / "evals/profiles/non-us-radiology-multiple-failures-visa.json").read_text(encoding="utf-8"))
    result = A.audit(data, with_citations=False)
    buf = io.StringIO()
    A.render(result, Console(file=buf, width=160, color_system=None))
    text = buf.getvalue()
    for needle in ("Step 1: 2 failed attempts", "failed exam attempts in all", "Visa history",
                   "advisor draft --kind exam-failure", "personal statement", "no Step 2 CK ranges"):
        assert needle in text, needle
    clean = A.audit(json.loads((PROJECT_DIR / "evals/profiles/us-genetics-clean.json").read_text(encoding="utf-8")), with_citations=False)
    buf = io.StringIO()
    A.render(clean, Console(file=buf, width=160, color_system=None))
    assert "No red flags" in buf.getvalue() and "≥245" in buf.getvalue()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"exams": [{"exam": "step2ck", "result": "pass", "score": 900}]}, "impossible: it must be at most 300"),
        ({"exams": [{"exam": "step2ck", "result": "pass", "score": 0}]}, "at least 1"),
        ({"exams": [{"exam": "step4", "result": "pass"}]}, "'exams.0.exam' must be"),
        ({"exams": [{"exam": "step1", "result": "maybe"}]}, "'exams.0.result' must be"),
        ({"exams": [{"exam": "step1", "result": "pass"}, {"exam": "step1", "result": "fail"}]}, "after it was passed"),
        ({"exams": [{"exam": "step1", "result": "fail"}] * 7}, "implausible"),
        ({"exams": [{"exam": "step2ck", "result": "pass", "score": "240"}]}, "must be a whole number"),
        ({"graduation_year": "2015"}, "must be a whole number"),
        ({"graduation_year": 2030}, "graduation_year 2030"),
        ({"graduation_year": 1900}, "at least 1950"),
        ({"gaps": [{"start": "2023-05", "end": "2023-01"}]}, "ends (2023-01) before it starts"),
        ({"gaps": [{"start": "2023/05"}]}, "gaps.0.start"),
        ({"gaps": [{"start": "2025-01"}]}, "after the application date"),
        ({"gaps": [{"start": "2023-01", "reason": ""}]}, "is empty"),
        ({"visa": {"needs_sponsorship": "yes"}}, "true or false"),
        ({"audience": "us-img", "visa": {"needs_sponsorship": True}}, "US citizen needs no visa sponsorship"),
        ({"specialty": "cardiology"}, "'specialty' must be"),
        ({"hobbies": ["chess"]}, "unknown field 'hobbies'"),
        ({"gaps": [{"start": "2023-01", "why": "x"}]}, "unknown field 'gaps.0.why'"),
        ({"us_clinical_experience": [{"type": "observership", "specialty": "genetics", "months": 0}]}, "above 0"),
        ({"research": [{"topic": "x", "specialty_related": True, "outputs": -1}]}, "at least 0"),
    ],
)
def test_bad_profiles_raise_one_line_input_error(changes, needle):
    with pytest.raises(InputError) as err:
        parse_profile(profile(**changes))
    msg = str(err.value)
    assert needle in msg, msg
    assert "\n" not in msg and msg.startswith("invalid profile")


def test_missing_required_profile_fields_and_bad_files(tmp_path):
    p = profile()
    del p["graduation_year"]
    with pytest.raises(InputError, match="missing required field 'graduation_year'"):
        parse_profile(p)
    with pytest.raises(InputError, match="unknown key 'extra'"):
        parse_profile({"profile": profile(), "expected_flags": [], "extra": 1})
    with pytest.raises(InputError, match="expected a JSON object"):
        parse_profile([1])
    bad = tmp_path / "bad.json"
    bad.write_text("{'audience': 'us-img'}", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_profile(bad)
    with pytest.raises(InputError, match="not found"):
        load_profile(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(profile()), encoding="utf-8")
    assert load_profile(good).specialty == "medical-genetics"
