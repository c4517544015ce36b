"""Grounded answers: citations, abstention, conflicts, follow-ups, claim checks, LLM backends, CLI."""

import json
import re

import pytest

from assistant.answering import ask, condense, stream
from assistant.answering.llm_answer import check_answer
from assistant.answering.scope import NO_COVER
from assistant.errors import InputError
from assistant.schemas import Hit
from tests.conftest import run_cli


def _check_citations(ans):
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    listed = {c.n for c in ans.citations}
    assert markers == listed, "every [n] points at a listed passage and every listed passage is used"
    assert sorted(listed) == list(range(1, len(listed) + 1))
    for c in ans.citations:
        assert c.text and c.source and c.section


def test_answer_is_cited_and_grounded(built_home):
    ans = ask("I failed Step 1 but did well on Step 2 CK. Can I still match into radiology?", audience="non-us-img", settings=built_home)
    assert not ans.abstained
    _check_citations(ans)
    assert ans.citations[0].source == "non-us-img-radiology-red-flags"
    # extractive: every sentence of the answer is a sentence of a cited passage
    from assistant.answering.claims import strip_citations
    from assistant.text import normalize, split_sentences

    cited = normalize(" ".join(c.text for c in ans.citations)).lower()
    for sent in split_sentences(ans.answer):
        body = strip_citations(sent).replace("The guide's answer to “", "")  # a Yes/No line is said with the FAQ it answers
        tail = body.split(": ", 1)[-1].strip("“”").rstrip(".")  # list items are shown after their lead-in
        assert normalize(tail[:60]).lower().strip() in cited, sent
    assert "not official policy" in ans.note and "FREIDA" in ans.note


@pytest.mark.parametrize(
    "q",
    [
        "What is the average salary of a radiology resident?",
        "Which dermatology programs are the best for IMGs?",
        "What is the ERAS deadline date for 2027?",
        "How do I cook a good risotto?",
    ],
)
def test_out_of_scope_questions_abstain_and_cite_nothing(built_home, q):
    ans = ask(q, settings=built_home)
    assert ans.abstained and ans.citations == [] and not re.search(r"\[\d+\]", ans.answer)
    assert ans.answer.startswith(NO_COVER)
    assert "red flags" in ans.answer  # says what the guides do cover


def test_conflicting_guides_are_both_shown(built_home):
    ans = ask("How many years does a categorical medical genetics program last?", settings=built_home)
    _check_citations(ans)
    assert ans.conflicts, "the guides disagree (2 vs 4 years)"
    sources = {s["source"] for s in ans.conflicts[0]["statements"]}
    assert sources == {"img-medical-genetics-low-step-scores", "us-img-medical-genetics-program-research"}
    assert "4 years" in ans.answer and "2 years" in ans.answer


def test_follow_up_is_rewritten_with_history(built_home):
    history = ["How many genetics programs should a US citizen IMG apply to?"]
    q = condense("What about radiology?", history)
    assert "radiology" in q.lower() and "apply" in q.lower() and "genetics" not in q.lower()
    ans = ask("What about radiology?", history=history, settings=built_home)
    assert ans.citations[0].source == "non-us-img-radiology-red-flags"
    assert "80–120" in ans.answer
    q2 = condense("and if I also have a gap?", ["How should I explain a failed Step 1 in radiology?"])
    assert "gap" in q2 and "Step 1" in q2
    assert condense("How do letters help?", []) == "How do letters help?"


def test_stream_yields_text_then_the_answer(built_home):
    events = list(stream("How should I explain a gap after graduation?", settings=built_home))
    assert events[-1]["type"] == "answer"
    text = "".join(e["text"] for e in events if e["type"] == "text")
    assert text.strip() == events[-1]["answer"].answer.strip()
    assert len([e for e in events if e["type"] == "text"]) >= 2


def test_claim_check_removes_a_planted_unsupported_sentence():
    hit = Hit("x:1", "guide", "T", "S", "Programs may assign a minimum Step 2 CK score (for example, 230) as an automated screen. Research can offset mid-range scores.", 1.0)
    text = "Programs may use a minimum Step 2 CK score as an automated screen [1]. Every program requires a Step 2 CK score of 260 and three US publications [1]. Research can offset mid-range scores."
    checked, unsupported = check_answer(text, [hit])
    assert len(unsupported) == 1 and "260" in unsupported[0]
    # the supported sentences stay, and the one that cited nothing gets its passage's marker
    assert checked == "Programs may use a minimum Step 2 CK score as an automated screen. [1] Research can offset mid-range scores. [1]"


@pytest.mark.parametrize("bad", ["", " ", "q" * 2001])
def test_bad_questions(built_home, bad):
    with pytest.raises(InputError):
        ask(bad, settings=built_home)


def test_cli_ask_json_and_text(built_home, tmp_path):
    proc = run_cli(["ask", "Should I mention my red flags in my personal statement?", "--specialty", "radiology", "--json"], env_home=built_home.home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"answer", "citations", "abstained", "conflicts", "unsupported"} <= set(out)
    assert {"n", "source", "section", "text"} <= set(out["citations"][0])
    proc = run_cli(["ask", "How should I explain a gap year?"], env_home=built_home.home)
    assert proc.returncode == 0 and "Sources:" in proc.stdout and "[1]" in proc.stdout and "Note:" in proc.stdout
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"id": "x", "question": "What is the salary of a radiologist?"}\n{"id": "y", "question": "How do I explain a failed Step 1?"}\n')
    lines = [json.loads(l) for l in run_cli(["ask", "--batch", str(batch), "--json"], env_home=built_home.home).stdout.splitlines()]
    assert [(l["id"], l["abstained"]) for l in lines] == [("x", True), ("y", False)]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["ask", ""], "empty"),
        (["ask", "y" * 2500], "2000"),
        (["ask", "gap?", "--llm", "gpt5"], "ADVISOR_LLM"),
        (["ask", "gap?", "--llm", "llamacpp:/no/such/model.gguf"], "ADVISOR_LLM"),
        (["ask", "How do I explain a gap?", "--llm", "openai:m@http://127.0.0.1:9"], "ADVISOR_LLM"),
    ],
)
def test_cli_ask_bad_input(built_home, args, needle):
    proc = run_cli(args, env_home=built_home.home)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_llamacpp_backend_real_inference(built_home):
    from assistant.llm import smollm2_path

    spec = f"llamacpp:{smollm2_path()}"
    ans = ask("How should I explain a failed Step 1 attempt?", llm=spec, settings=built_home)
    assert ans.backend == spec and not ans.abstained
    _check_citations(ans)
    assert isinstance(ans.unsupported, list)
    events = list(stream("How should I explain a gap after graduation?", llm=spec, settings=built_home))
    assert events[-1]["type"] == "answer" and any(e["type"] == "text" for e in events)
    _check_citations(events[-1]["answer"])


@pytest.mark.slow
def test_openai_compatible_server_real_inference(built_home):
    from assistant.llm import smollm2_path
    from tests.llm_server import serve_llama

    with serve_llama(smollm2_path()) as base_url:
        spec = f"openai:smollm2@{base_url}"
        ans = ask("Do letters of recommendation help with a low Step score?", llm=spec, settings=built_home)
        assert ans.backend == spec and not ans.abstained
        _check_citations(ans)
        assert ask("How do I cook rice?", llm=spec, settings=built_home).abstained


def test_the_applicants_own_number_said_back_is_supported_and_an_invented_one_is_not():
    from assistant.answering import support

    passage = "235–245: Realistic chance at many programs if the rest of your application is solid."
    said_back = "Your 238 is in the guide's 235–245 band: “Realistic chance at many programs if the rest of your application is solid.” [1]"
    assert support(said_back, [passage], own_numbers={"238"}).numbers_ok
    assert support(said_back, [passage], own_numbers={"238"}).score > 0.5
    assert not support(said_back, [passage]).numbers_ok  # 238 was not the applicant's: an invented figure
    assert support(said_back, [passage]).score == 0.0


def test_a_lead_in_joined_to_one_of_its_items_is_judged_on_the_item(built_home):
    from assistant.answering import SUPPORT_THRESHOLD, support
    from assistant.store import get_embedder

    engine = get_embedder(built_home.cache_dir).engine
    embed = lambda texts: engine.encode(list(texts))  # noqa: E731
    passage = ("Before you apply, take stock of your record.\nCreate a private document listing:\n"
               "- Every exam attempt and score\n- Gaps > 3 months\n- Any professionalism warning")
    assert support("Create a private document listing: gaps > 3 months. [1]", [passage], embed).score >= SUPPORT_THRESHOLD
    # the lead-in's own words do not carry an item the passage never lists
    assert support("Create a private document listing: your salary expectations. [1]", [passage], embed).score < SUPPORT_THRESHOLD
