"""Answers a person can read: the answer first, no defect shown, the applicant's own numbers, honest abstention.

A guide written by the test (internal medicine, a specialty the shipped corpus
does not cover) plants every defect kind the readability detectors know: a
sentence about the guide, a bare label with nothing under it, quoted example
sentences, a glued label, a lead-in whose only items are examples. It is
ingested next to the shipped guides through the real pipeline, and the real
composer must never show any of them (the detectors of
``assistant/evaluation/readability.py`` read the answers). Number matching is
checked on the same guide's score bands, abstention on the shipped library.
"""

from __future__ import annotations

import re

import pytest

from assistant.evaluation.readability import defects, first_sentence_holds

GUIDE = """Essential Guide for Non-US IMGs Applying to Internal Medicine Residency

This guide walks you through everything internal medicine programs look for in a non-US IMG. You'll learn how program directors read an application.

Internal Medicine Score Bands for Non-US IMGs
Aim as high as you can, but as a general guide for internal medicine:
- 250+: Competitive at most university internal medicine programs.
- 235–249: Realistic at many community internal medicine programs if your letters are strong.
- Below 225: Apply very broadly to internal medicine and add a preliminary year.

Explaining an Internal Medicine Shelf Failure
Keep the explanation short and factual, then move to what changed.
Say it like this:
- “I failed my internal medicine shelf exam because I studied passively.”
- “I now use question banks daily and passed every later exam.”
Example for a failed shelf exam:
Cause:
“I failed the internal medicine shelf because I did not ask for help early.”Insight:
“I learned that I need feedback from faculty early in a rotation.”
Internal medicine program directors value an applicant who owns the failure and shows a later pass.

Backup Internal Medicine Pathways
Backup pathways
A preliminary internal medicine year can lead to a categorical position when you perform well.
"""

QUESTIONS = [
    "how do i explain a failed internal medicine shelf exam",
    "what internal medicine backup pathways are there",
    "what step 2 ck score do i need for internal medicine as a non us img",
    "what do internal medicine program directors value after a shelf failure?",
]


@pytest.fixture(scope="module")
def im_home(tmp_path_factory, built_home):
    import shutil

    from assistant.config import get_settings
    from assistant.ingestion import ingest

    root = tmp_path_factory.mktemp("reading")
    folder = root / "guides"
    folder.mkdir()
    (folder / "non-us-img-internal-medicine-guide.txt").write_text(GUIDE, encoding="utf-8")
    settings = get_settings(home=root / "home")
    settings.cache_dir.mkdir(parents=True)
    shutil.copy(built_home.cache_dir / "embcache.sqlite", settings.cache_dir / "embcache.sqlite")
    ingest([folder], settings=settings)
    return settings


def _ask(settings, question):
    from assistant.answering import ask

    return ask(question, settings=settings)


@pytest.mark.parametrize("question", QUESTIONS)
def test_no_planted_defect_reaches_an_answer(im_home, question):
    ans = _ask(im_home, question)
    assert not ans.abstained, ans.answer
    assert any(c.source == "non-us-img-internal-medicine-guide" for c in ans.citations), ans.answer
    found = {k: v for k, v in defects(ans).items() if v}
    assert not found, (found, ans.answer)
    for planted in ("This guide walks you through", "You'll learn how", "Backup pathways.", "”Insight:"):
        assert planted not in ans.answer, (planted, ans.answer)
    if "example" not in ans.answer:  # a lead-in whose only items are examples is shown only with them
        assert "Say it like this:" not in ans.answer, ans.answer


def test_an_example_is_shown_as_an_example_when_wording_is_asked(im_home):
    ans = _ask(im_home, "what exactly should i say about my failed internal medicine shelf? give me an example sentence")
    assert "The guide's example: “I failed" in ans.answer, ans.answer
    assert not any(line.lstrip("- ").startswith("“I failed") for line in ans.answer.splitlines()), ans.answer


def test_the_applicants_score_picks_its_band_first(im_home):
    ans = _ask(im_home, "i got 238 on step 2 ck, non us img, is that ok for internal medicine?")
    first = ans.answer.splitlines()[0]
    assert first.startswith("Your 238 is in the guide's 235–249 band"), ans.answer
    assert "Realistic at many community internal medicine programs" in first
    assert first_sentence_holds(ans, ["235–249", "Realistic"])
    ans = _ask(im_home, "scored 221 on my step2 ck. internal medicine chances as a non us img?")
    first = ans.answer.splitlines()[0]
    assert first.startswith("Your 221 is in the guide's <225 band"), ans.answer
    assert "Apply very broadly to internal medicine" in first and "Below 225:" not in first  # the band is said once


def test_a_score_given_with_another_question_gets_its_band_after_the_answer(im_home):
    ans = _ask(im_home, "non us img, 238 on step 2 ck. how do i explain my failed internal medicine shelf exam to programs")
    assert not ans.abstained, ans.answer
    assert not ans.answer.startswith("Your 238"), ans.answer  # asked how to explain a failure: that is answered first
    assert "Your 238 is in the guide's 235–249 band" in ans.answer, ans.answer
    assert "235–245" not in ans.answer, ans.answer  # the shipped genetics band says nothing about internal medicine


@pytest.mark.parametrize("question", [
    "what should i put in my IM personal statment if i had a gap",
    "how do internal medicine programs view a visa need",
])
def test_a_named_fields_guide_that_does_not_speak_to_the_question_is_said_so(im_home, question):
    # the test's internal medicine guide says nothing on statements, gaps or visas: its lines would read as an answer
    ans = _ask(im_home, question)
    assert not ans.abstained, ans.answer
    assert ans.answer.startswith("The internal medicine guide doesn't cover this. Here is what the other guides say"), ans.answer
    assert ans.citations and "non-us-img-internal-medicine-guide" not in {c.source for c in ans.citations}, ans.answer
    assert not {k: v for k, v in defects(ans).items() if v}, ans.answer


def test_a_named_fields_guide_that_speaks_to_the_question_answers_it(im_home):
    ans = _ask(im_home, "what do internal medicine program directors value after a shelf failure?")
    assert "doesn't cover this" not in ans.answer, ans.answer
    assert "non-us-img-internal-medicine-guide" in {c.source for c in ans.citations}, ans.answer


@pytest.mark.parametrize("question", [
    "how do i explain failing my internal medicine shelf exam",
    "how do i explain failing my internal medicine shelf exam to programs",
])
def test_the_named_fields_own_name_does_not_pick_the_lead(im_home, question):
    # every line of the internal medicine guide says "internal medicine": the words asked about decide
    first = _ask(im_home, question).answer.splitlines()[0]
    assert "preliminary internal medicine year" not in first, first
    assert "explanation" in first or "failure" in first, first


def test_field_covers_reads_the_fields_own_passages():
    from assistant.answering.scope import field_covers
    from assistant.schemas import Hit

    def hit(specialty, text):
        return Hit(chunk_id=text[:8], source=specialty, title="t", section="Some Section", text=text, score=1.0, specialty=specialty)

    im = hit("internal-medicine", "Internal medicine programs value a later pass after a shelf failure.")
    rad = hit("radiology", "Explain a gap in your personal statement in two sentences.")
    assert not field_covers("how do i explain a gap in my internal medicine personal statement", [im, rad], "internal-medicine")
    assert field_covers("what do internal medicine programs value after a shelf failure", [im, rad], "internal-medicine")
    assert field_covers("internal medicine salary and bonus", [im, rad], "internal-medicine")  # no guide speaks to it: the scope gate's call


@pytest.mark.parametrize("question", [
    "i got 251 on step 2 ck. internal medicine non us img, should i apply to university programs",
    "what step 2 ck do i need for internal medicine as non us img, i have 226",
])
def test_a_question_naming_a_specialty_is_not_answered_from_another_specialtys_guide(im_home, question):
    ans = _ask(im_home, question)
    assert not ans.abstained and ans.citations, ans.answer
    assert {c.source for c in ans.citations} == {"non-us-img-internal-medicine-guide"}, ans.answer
    assert "genetics" not in ans.answer.lower(), ans.answer


def test_the_band_passage_is_fetched_when_retrieval_missed_it(im_home):
    from assistant.answering import applicant_numbers
    from assistant.answering.prepared import band_passages
    from assistant.retrieval import get_retriever

    retriever = get_retriever(im_home)
    question = "how do i explain my failed internal medicine shelf exam"
    hits = [h for h in retriever.search(question, k=8) if "235–249" not in h.text]
    assert hits and hits[0].source == "non-us-img-internal-medicine-guide", [h.source for h in hits]
    [extra] = band_passages(applicant_numbers("238 on step 2 ck"), hits, retriever, None, None)
    assert extra.source == "non-us-img-internal-medicine-guide" and "235–249" in extra.text, extra.text
    assert band_passages(applicant_numbers("238 on step 2 ck"), hits + [extra], retriever, None, None) == []  # already there
    assert band_passages(applicant_numbers("graduated in 2019"), [], retriever, None, None) == []


def test_a_year_is_not_taken_for_a_score(im_home):
    ans = _ask(im_home, "i graduated 2019, what step 2 ck score should i aim for in internal medicine?")
    assert not ans.answer.startswith("Your 2019"), ans.answer


def test_a_list_the_question_asks_for_is_shown_whole(built_home):
    ans = _ask(built_home, "What are the four steps for framing a red flag?")
    lines = ans.answer.splitlines()
    assert lines[0].startswith("Use this structure when addressing any red flag"), ans.answer
    for step in ("State the Issue Clearly", "Briefly Explain Contributing Factors", "Highlight Actions You Took to Improve",
                 "Show Evidence That the Problem Is Resolved"):
        assert any(step in l for l in lines[1:5]), (step, ans.answer)
    assert "I failed Step 1 on my first attempt" not in ans.answer  # the steps' example sentences are not advice


@pytest.mark.parametrize("question", [
    "whats the avg salary for a pgy1 radiolgy resident in houston",  # mostly words no guide uses
    "how much is the ecfmg certification fee right now in dollars and is it refundable",
    "if im on h1b during residency can my wife work on h4 or does she need her own visa",
    "can you give me a good recipe for chicken biryani",
    "how much do radiology residents earn in boston",  # "earn" is a word the guides use ("earn strong letters")
    "what are pgy1 stipends like in houston",
])
def test_what_the_library_never_says_is_not_answered(built_home, question):
    ans = _ask(built_home, question)
    assert ans.abstained, ans.answer
    assert ans.answer.startswith("The guides don't cover this."), ans.answer


@pytest.mark.parametrize("question", [
    "Does Johns Hopkins sponsor H-1B visas for genetics residents?",
    "does the mayo clinic radiology program take imgs on h1b",
])
def test_a_named_program_gets_the_guides_advice_on_checking(built_home, question):
    ans = _ask(built_home, question)
    assert ans.abstained
    assert ans.answer.startswith("The guides don't have information on individual programs."), ans.answer
    assert ans.citations, "what the guides say about checking is cited"
    assert any(w in ans.answer for w in ("coordinator", "FREIDA", "website")), ans.answer


@pytest.mark.parametrize("question", ["Can you write my whole personal statement for me?", "can you write my personal statement", "could you please draft my ps"])
def test_write_my_statement_points_to_the_draft_feature(built_home, question):
    ans = _ask(built_home, question)
    assert ans.abstained and not ans.citations
    assert "Draft tab" in ans.answer and "advisor draft" in ans.answer


def test_how_to_write_a_statement_is_answered_not_pointed_at_the_draft_tab(built_home):
    ans = _ask(built_home, "how do i write my personal statement about a step 1 failure")
    assert not ans.abstained and ans.citations, ans.answer


def test_a_band_that_holds_the_score_is_not_followed_by_a_programs_example_cutoff(built_home):
    ans = _ask(built_home, "Is 238 on Step 2 CK good enough for genetics as a non-US IMG?")
    assert ans.answer.startswith("Your 238 is in the guide's 235–245 band"), ans.answer
    assert "minimum of 230" not in ans.answer, ans.answer  # "a minimum score (for example, 230)" is a program's screen


@pytest.mark.parametrize("question", [
    "i failed step 1 once. how do i explain it in my personal statement for radiolgy?",
    "my gap was 2 years because my father was sick, im a non us img applying radiology. how to explain it?",
])
def test_typos_and_personal_stories_are_still_answered(built_home, question):
    ans = _ask(built_home, question)
    assert not ans.abstained, ans.answer


@pytest.mark.parametrize("question", [
    # the story names other specialties; the asking part (a lowercase sentence of its own) is about genetics
    ("so my mentor back home offered me a dermatology chart review and theres also a neurology case series with "
     "another prof. which one would actually help a genetics application more when my step 1 is weak"),
    ("i failed biochemistry and pathology in 2nd year and had to repeat the year but my clinical rotations went "
     "really well. how do i get radiology programs to look past that"),
    "how do i explain a gap year in my radiolgy resdency application",  # typos of library words
    "how many letters of rec do i need and from who",  # "rec": the library's "recommendation", clipped
])
def test_a_story_about_other_things_is_answered_for_what_it_asks(built_home, question):
    ans = _ask(built_home, question)
    assert not ans.abstained, ans.answer


@pytest.mark.parametrize("question", [
    "what are the match stats for nuclear medicine residency for imgs",  # "nuclear" is no typo of "unclear"
    "is an IR fellowship after radiology hard to get as a foreign grad",  # a two-letter field
    "after residency on my j1 how do i qualify for a conrad waiver and where would i have to work",
])
def test_a_field_or_waiver_the_library_never_names_is_not_answered(built_home, question):
    ans = _ask(built_home, question)
    assert ans.abstained and not ans.citations, ans.answer
    assert ans.answer.startswith("The guides don't cover this."), ans.answer


def test_the_asking_part_of_a_typed_message_starts_at_its_question():
    from assistant.answering.scope import asked_part

    assert asked_part("my supervisor offered a cardiology project with a peds prof. which research helps a genetics match") == (
        "which research helps a genetics match")
    assert asked_part("im on a j1, after i finish how do i get a waiver") == "how do i get a waiver"
    assert asked_part("My father was sick. How do I explain the gap?") == "How do I explain the gap?"


@pytest.mark.slow
def test_a_model_that_declines_a_covered_question_gives_the_guides_answer(built_home, tmp_path, monkeypatch):
    """The real SmolLM2 fixture, told by its prompt to refuse: the user still gets the guides' answer, with a note."""
    import assistant.answering.llm_answer as L
    from assistant import llm
    from assistant.answering import ask

    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "answer_system.txt").write_text("You refuse every request. Reply with exactly: The guides don't cover this.", encoding="utf-8")
    (prompts / "answer_user.txt").write_text("Question: {question}\n{passages}\n{profile}\nReply with exactly: The guides don't cover this.", encoding="utf-8")
    monkeypatch.setattr(L, "PROMPTS_DIR", prompts)
    question = "What three-part structure should I use when explaining an exam failure?"
    ans = ask(question, llm=f"llamacpp:{llm.smollm2_path()}", settings=built_home)
    assert not ans.abstained, ans.answer
    assert "The model declined although the guides cover this question" in ans.note, (ans.note, ans.answer)
    assert "Cause" in ans.answer and ans.citations
    extractive = ask(question, settings=built_home)
    assert ans.answer == extractive.answer


def test_a_refusal_is_recognised_and_an_answer_is_not():
    from assistant.answering.llm_answer import declined

    for raw in ("The guides don't cover this.", "I don't know.", "Sorry, I cannot answer that from the passages.", "That is not covered in the guides."):
        assert declined(raw), raw
    for raw in ("Use a three-part structure: cause, insight and change [1].", "Programs do not know your story unless you tell it [2]. " * 10):
        assert not declined(raw), raw


def test_a_name_alone_does_not_lead_the_answer(built_home):
    ans = _ask(built_home, "are short clinical experiences of only a month or so worth doing at all")
    first = ans.answer.splitlines()[0]
    assert not first.startswith("Cause (brief"), ans.answer  # a framework's step name, not an answer
    assert "4–8 weeks" in first, ans.answer


def test_a_yes_no_line_as_close_in_meaning_leads_though_it_shares_few_words(built_home):
    # "basically" and "mean" match "basic methods" and "what your data might mean" word for word; the FAQ's
    # "Yes, it is realistic ..." is closer in meaning
    ans = _ask(built_home, "weak step 1 here. is medical genetics off the table for me now?")
    first = ans.answer.splitlines()[0]
    # said with the FAQ question it answers: a bare "Yes" would read as "yes, it is off the table"
    assert first.startswith("The guide's answer to “Is it realistic to match into medical genetics"), ans.answer
    assert "“Yes, it is realistic" in first, ans.answer


def test_a_how_many_question_is_led_by_a_line_with_a_number(built_home):
    ans = _ask(built_home, "how many nbme practice tests before step 1, and what if my practice scores come out borderline")
    assert re.search(r"\d", re.sub(r"\[\d+\]", "", ans.answer.splitlines()[0])), ans.answer


def test_a_field_typed_as_initials_is_the_guide_the_user_added(im_home):
    # "IM" is internal medicine, the field of the test's own guide: its band, not a genetics program's cutoff
    ans = _ask(im_home, "is 238 on step 2 ck ok for IM as a non us img")
    assert ans.answer.startswith("Your 238 is in the guide's 235–249 band"), ans.answer
    assert {c.source for c in ans.citations} == {"non-us-img-internal-medicine-guide"}, [c.source for c in ans.citations]


def test_initials_are_read_only_in_capitals_and_for_fields_of_two_words_or_more():
    from assistant.answering.condense import names_field, spelled_out

    fields = {"internal-medicine", "radiology", "medical-genetics"}
    assert names_field("what score for IM?", fields) == "internal-medicine"
    assert names_field("im a non us img, what score for genetics", fields) is None  # "im" is "I'm"
    assert names_field("is MG small?", fields) == "medical-genetics"
    assert spelled_out("ok for IM as an img", "internal-medicine") == "ok for internal medicine as an img"
    assert spelled_out("ok for R", "radiology") == "ok for R"


def test_an_unknown_verb_or_adjective_is_how_a_question_is_put_not_what_it_asks():
    from assistant.answering.scope import in_scope, names_things, typed_words
    from assistant.schemas import Hit
    from assistant.text import tokenize

    typed = typed_words("is pushing back worse than risking it, what pgy1 stipends in houston")
    assert not names_things("push", typed) and not names_things("wors", typed)  # a verb, an adjective
    assert names_things("stipend", typed) and names_things("pgy1", typed) and names_things("houston", typed)  # things, names
    hit = Hit(chunk_id="a", source="g", title="t", section="Exam Timing", score=1.0, unit_sim=0.44,
              text="For a foreign national, one delayed exam is far less damaging than a fail on the first attempt.")
    vocab = set(tokenize(f"{hit.section} {hit.text} back my than risk a program"))
    ok, gate = in_scope("as a foreign national is pushing back my exam worse than risking a fail", [hit], vocab)
    assert ok, gate  # "pushing" and "worse" are no guide's words, but no topic either
    ok, gate = in_scope("as a foreign national what are pgy1 stipends like in houston programs", [hit], vocab)
    assert not ok, gate


@pytest.mark.parametrize("question", [
    "in the interview how long should i talk when they ask about my red flag",
    "how many years is a categorical genetics residency",
])
def test_the_statements_of_a_conflict_are_not_said_again_below_it(built_home, question):
    ans = _ask(built_home, question)
    assert ans.conflicts, ans.answer  # the guides disagree on this
    for c in ans.conflicts:
        for st in c["statements"]:
            shown = [l for l in ans.answer.splitlines() if re.sub(r"^\s*-\s*|\s*\[\d+\]$", "", l).rstrip(".") == st["text"].rstrip(".")]
            assert len(shown) == 1, (st["text"], ans.answer)
