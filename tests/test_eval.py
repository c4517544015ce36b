"""The eval suite: every metric can fail, and `advisor eval --dataset` takes someone else's file."""

import json

import pytest

from assistant.evaluation.dataset import Case, load_dataset
from assistant.evaluation.metrics import abstention_scores, answer_metrics, fact_recall, retrieval_scores
from assistant.evaluation.runner import check
from assistant.errors import InputError
from assistant.schemas import Answer, Citation
from tests.conftest import run_cli

CASE = Case(id="q", question="How many programs?", source="guide-a", evidence=["apply to 10–20 programs"], facts=["10–20", "broadly"])
GOOD_PASSAGE = "Many IMGs apply broadly: apply to 10-20 programs in genetics."


def test_retrieval_metrics_drop_for_a_bad_retriever():
    good = retrieval_scores(CASE, [("guide-a", GOOD_PASSAGE), ("guide-b", "x")])
    assert good == {"hit": 1.0, "rr": 1.0, "ndcg": 1.0}
    late = retrieval_scores(CASE, [("guide-b", "x"), ("guide-b", "y"), ("guide-a", GOOD_PASSAGE)])
    assert late["hit"] == 1.0 and late["rr"] == pytest.approx(1 / 3) and late["ndcg"] < 1.0
    wrong_source = retrieval_scores(CASE, [("guide-b", GOOD_PASSAGE)])
    assert wrong_source == {"hit": 0.0, "rr": 0.0, "ndcg": 0.0}


def test_fact_recall_drops_for_a_bad_answer():
    assert fact_recall(CASE, "Apply broadly, to 10-20 programs.") == 1.0  # dash-normalised
    assert fact_recall(CASE, "Apply to some programs.") == 0.0


def test_abstention_metrics_drop():
    assert abstention_scores([(True, False), (False, True)]) == {"abstention_precision": 1.0, "abstention_recall": 1.0, "wrong_abstentions": 0}
    bad = abstention_scores([(True, True), (False, False), (False, True)])
    assert bad["abstention_precision"] == 0.5 and bad["abstention_recall"] == 0.5 and bad["wrong_abstentions"] == 1


def _answer(text, passage, source="guide-a", conflicts=()):
    return Answer(answer=text, citations=[Citation(1, source, "T", "S", passage)], conflicts=list(conflicts))


def test_faithfulness_citation_correctness_and_conflicts_drop():
    good = {"q": _answer("Apply broadly: apply to 10-20 programs in genetics. [1]", GOOD_PASSAGE)}
    m, _ = answer_metrics([CASE], good)
    assert m["faithfulness"] == 1.0 and m["citation_correctness"] == 1.0 and m["fact_recall"] == 1.0 and m["source_cited"] == 1.0
    planted = {"q": _answer("Every program requires a Step 2 CK score of 270 and four publications. [1]", "Unrelated passage about visa sponsorship timing.", source="guide-b")}
    m, _ = answer_metrics([CASE], planted)
    assert m["faithfulness"] == 0.0 and m["citation_correctness"] == 0.0 and m["fact_recall"] == 0.0 and m["source_cited"] == 0.0
    conflict = Case(id="c", question="How long?", source="a", sources=["a", "b"], evidence=[], facts=[], conflict=True)
    shown = {"c": _answer("x [1]", "x", source="a", conflicts=[{"statements": [{"source": "a"}, {"source": "b"}]}])}
    hidden = {"c": _answer("x [1]", "x", source="a")}
    assert answer_metrics([conflict], shown)[0]["conflict_coverage"] == 1.0
    assert answer_metrics([conflict], hidden)[0]["conflict_coverage"] == 0.0


def test_gate_fails_below_threshold():
    report = {"metrics": {"hit@5": 0.5, "fabrications": 2}}
    assert check(report, {"hit@5": {"min": 0.9}, "fabrications": {"max": 0}}) == ["hit@5 = 0.5 < 0.9", "fabrications = 2 > 0"]
    assert check({"metrics": {"hit@5": 0.95}}, {"hit@5": {"min": 0.9}}) == []


def test_dataset_errors_name_the_line(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"id": "a", "question": "ok?", "source": "x"}\n{"id": "b", "questoin": "typo"}\n')
    with pytest.raises(InputError, match="line 2"):
        load_dataset(f)


def test_advisor_eval_on_someone_elses_dataset(built_home, tmp_path):
    f = tmp_path / "mine.jsonl"
    rows = [
        {"id": "x1", "question": "Which Step 2 CK range is strongly competitive for medical genetics?", "audience": "non-us-img", "source": "non-us-img-medical-genetics-step-scores", "evidence": ["≥245: Strongly competitive for many programs"], "facts": ["245"], "answerable": True},
        {"id": "x2", "turns": ["How many genetics programs should I apply to as a US citizen IMG?", "What about radiology?"], "source": "non-us-img-radiology-red-flags", "evidence": ["80–120+"], "facts": ["80–120"], "answerable": True},
        {"id": "x3", "question": "What is a good pasta recipe?", "answerable": False},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    proc = run_cli(["eval", "--dataset", str(f), "--no-baseline", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    for key in ("hit@5", "mrr", "ndcg@5", "fact_recall", "citation_correctness", "faithfulness", "abstention_precision", "abstention_recall", "fabrications", "baseline"):
        assert key in m, key
    assert m["abstention_recall"] == 1.0 and m["hit@5"] == 1.0
    report = built_home.reports_dir / "report.md"
    assert report.exists() and "hit@5" in report.read_text()
    assert (built_home.reports_dir / "metrics_vs_baseline.png").exists()


# ---------------------------------------------------------------- tuning and held-out halves


def test_half_rule_even_odd_and_no_number():
    import hashlib

    from assistant.evaluation.dataset import HALVES, half

    assert HALVES == ("tuning", "heldout")
    assert [half(i) for i in ("g002", "g004", "u010", "m000", "c2", "12")] == ["tuning"] * 6
    assert [half(i) for i in ("g001", "g139", "u015", "m009", "c1", "7")] == ["heldout"] * 6
    assert half("g010") == "tuning" and half("x-2-b3") == "heldout"  # only the trailing number counts
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "g001b", "case-x"]
    for name in names:  # no trailing number: the documented stable hash, the same on every run
        expected = "tuning" if int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "heldout"
        assert half(name) == expected == half(name), name
    assert {half(n) for n in names} == {"tuning", "heldout"}  # and it does split them


def _planted_halves():
    """Two tuning cases that hit and are answered, two held-out cases whose guide does not exist and are declined."""
    from assistant.evaluation.metrics import answer_tallies, retrieval_scores

    hit = [("guide-a", GOOD_PASSAGE)]
    cases = [Case(id=i, question="How many programs?", source=src, evidence=["apply to 10–20 programs"], facts=["10–20", "broadly"]) for i, src in (("t2", "guide-a"), ("t4", "guide-a"), ("h1", "no-such-guide"), ("h3", "no-such-guide"))]
    cases += [Case(id="u6", question="Salary?", answerable=False), Case(id="u7", question="Salary?", answerable=False)]
    ret_cases = {c.id: retrieval_scores(c, hit) for c in cases if c.answerable}
    good = _answer("Apply broadly: apply to 10-20 programs in genetics. [1]", GOOD_PASSAGE)
    declined = Answer(answer="The guides do not cover this.", abstained=True)
    answers = {"t2": good, "t4": good, "h1": declined, "h3": declined, "u6": declined, "u7": declined}
    tallies, _ = answer_tallies(cases, answers)
    return cases, ret_cases, answers, tallies


def test_half_metrics_on_a_planted_dataset():
    from assistant.evaluation.metrics import answer_metrics, half_metrics

    cases, ret_cases, answers, tallies = _planted_halves()
    halves = half_metrics(cases, ret_cases, tallies)
    assert list(halves) == ["tuning", "heldout"]
    t, h = halves["tuning"], halves["heldout"]
    assert (t["cases"], t["answerable"], t["unanswerable"]) == (3, 2, 1) and (h["cases"], h["answerable"], h["unanswerable"]) == (3, 2, 1)
    assert t["hit@5"] == t["mrr"] == t["ndcg@5"] == 1.0 and h["hit@5"] == h["mrr"] == h["ndcg@5"] == 0.0
    assert t["fact_recall"] == t["source_cited"] == t["faithfulness"] == t["citation_correctness"] == 1.0 and t["wrong_abstentions"] == 0
    assert h["fact_recall"] == h["answers_with_all_facts"] == h["source_cited"] == 0.0 and h["wrong_abstentions"] == 2
    assert h["abstention_precision"] == pytest.approx(1 / 3) and h["abstention_recall"] == 1.0 and t["abstention_precision"] == 1.0
    assert h["faithfulness"] is None and h["citation_correctness"] is None  # nothing cited in that half: not measured, not 0
    # the halves come from the same per-case results as the overall figures, which do not change
    overall, _ = answer_metrics(cases, answers)
    from assistant.evaluation.metrics import tally_metrics

    assert tally_metrics(tallies.values()) == overall
    assert overall["fact_recall"] == 0.5 and overall["wrong_abstentions"] == 2


def test_half_gate_fails_a_half_below_its_overall_threshold():
    halves = {"tuning": {"hit@5": 0.99, "faithfulness": 1.0}, "heldout": {"hit@5": 0.80, "faithfulness": None}}
    report = {"metrics": {"hit@5": 0.95, "faithfulness": 1.0, "halves": halves}}
    rules = {"hit@5": {"min": 0.9, "half_margin": 0.05}, "faithfulness": {"min": 0.97, "half_margin": 0.0}}
    assert check(report, rules) == ["heldout hit@5 = 0.8 < 0.85 (0.9 - margin 0.05)"]  # None: not measured in that half, not gated
    assert check(report, {**rules, "hit@5": {"min": 0.9, "half_margin": 0.15}}) == []
    assert check(report, {"hit@5": {"min": 0.9}}) == []  # a rule without a margin leaves the halves ungated
    assert check({"metrics": {"hit@5": 0.8, "halves": halves}}, {"hit@5": {"min": 0.9, "half_margin": 0.1}}) == ["hit@5 = 0.8 < 0.9"]  # the overall gate as before
    assert check({"metrics": {"hit@5": 0.95}}, rules) == ["faithfulness: not measured"]  # a report without halves


def test_advisor_eval_json_reports_both_halves(built_home, tmp_path):
    f = tmp_path / "halves.jsonl"
    step = {"question": "Which Step 2 CK range is strongly competitive for medical genetics?", "audience": "non-us-img", "evidence": ["≥245: Strongly competitive for many programs"], "facts": ["245"], "answerable": True}
    rows = [
        {"id": "t2", **step, "source": "non-us-img-medical-genetics-step-scores"},
        {"id": "t4", **step, "source": "non-us-img-medical-genetics-step-scores"},
        {"id": "h1", **step, "source": "no-such-guide"},
        {"id": "h3", **step, "source": "no-such-guide"},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    proc = run_cli(["eval", "--dataset", str(f), "--no-baseline", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["hit@5"] == 0.5
    assert set(m["halves"]) == {"tuning", "heldout"}
    assert m["halves"]["tuning"]["hit@5"] == 1.0 and m["halves"]["heldout"]["hit@5"] == 0.0
    assert m["halves"]["tuning"]["cases"] == 2 and m["halves"]["heldout"]["cases"] == 2
    latest = json.loads((built_home.reports_dir / "latest.json").read_text(encoding="utf-8"))
    assert latest["metrics"]["halves"] == m["halves"]
    md = (built_home.reports_dir / "report.md").read_text(encoding="utf-8")
    assert "| metric | overall | tuning | held-out |" in md


def test_advisor_eval_reports_how_far_a_one_line_first_sentence_could_go(built_home, tmp_path):
    # t2's fact sits in one guide line; t4's two facts sit in lines of different guides: no first sentence holds both
    f = tmp_path / "ceiling.jsonl"
    step = {"question": "Which Step 2 CK range is strongly competitive for medical genetics?", "audience": "non-us-img", "evidence": ["≥245: Strongly competitive for many programs"], "source": "non-us-img-medical-genetics-step-scores", "answerable": True}
    rows = [{"id": "t2", **step, "facts": ["245"]}, {"id": "t4", **step, "facts": ["245", "Submit ERAS as soon as it opens"]}]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    proc = run_cli(["eval", "--dataset", str(f), "--no-baseline", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["first_sentence_ceiling"] == 0.5, m
    assert m["halves"]["tuning"]["first_sentence_ceiling"] == 0.5 and m["halves"]["heldout"]["first_sentence_ceiling"] is None


def test_band_named_counts_only_questions_whose_evidence_states_a_band():
    # "Step 2 CK" has a digit but is no band: a question whose evidence states none is not a band question
    ans = Answer(answer="Yes, it is possible, though more challenging. [1]", citations=[Citation(1, "g", "T", "S", "Yes, it is possible, though more challenging.")])
    banded = Case(id="b", question="i got 243 on step 2 ck, can i match?", source="g", evidence=["235–245: Realistic chance at many programs"], facts=[])
    bandless = Case(id="n", question="i got 243 on step 2 ck, can i match?", source="g", evidence=["Achieving a clearly above-average Step 2 CK score"], facts=[])
    m, _ = answer_metrics([banded, bandless], {"b": ans, "n": ans})
    assert m["number_questions"] == 1 and m["band_named"] == 0.0
