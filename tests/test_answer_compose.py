"""Extractive composition rules, on real passages of the bundled guides through the real index.

Each test picks real passages (found with the real retriever, then put in a fixed
order so a change in ranking does not change what is tested) and checks one rule
of ``compose_extractive``: which line introduces a list item, what an introducing
line brings along, that a better-matching passage at rank 2 still gets quoted,
and that the answer stays short.
"""

import re

import pytest

from assistant.answering import ask
from assistant.answering.compose import compose_extractive, passage_units as _units, render as _render
from assistant.retrieval import get_retriever
from assistant.text import normalize
from assistant.tuning import MAX_WORDS


def _passages(settings, question, needles):
    """The real passages holding ``needles`` (one each), in that order, as retrieved for ``question``."""
    found = get_retriever(settings).search(question, k=30)
    out = []
    for needle in needles:
        hit = next((h for h in found if needle in h.text), None)
        assert hit is not None, f"no passage with {needle!r} in the top 30 for {question!r}"
        out.append(hit)
    return out


def _compose(settings, question, hits):
    text, used = compose_extractive(question, hits, get_retriever(settings))
    assert text and used
    return text


def _body(line: str) -> str:
    """A line of the answer without its bullet and [n] markers, dash/quote-normalised and lower-cased."""
    return normalize(re.sub(r"\s*\[\d+\]", "", re.sub(r"^\s*-\s+", "", line))).lower()


def _introduced_by(text: str, item: str, lead_in: str) -> bool:
    """Is the answer line holding ``item`` shown after ``lead_in`` (same line), nested under it, or
    (for the lead's own list) right after a lead that quotes it?"""
    lines = text.splitlines()
    item, lead_in = normalize(item).lower(), normalize(lead_in).lower().rstrip(":")
    k = next(k for k, l in enumerate(lines) if item in _body(l))
    if _body(lines[k]).startswith(lead_in):
        return True
    depth = len(lines[k]) - len(lines[k].lstrip())
    for j in range(k - 1, -1, -1):
        d = len(lines[j]) - len(lines[j].lstrip())
        if d < depth or j == 0:
            return _body(lines[j]).startswith(lead_in)
    return False


def _words(text: str) -> int:
    """Displayed words: no [n] markers, no bullets."""
    return sum(1 for w in re.sub(r"\[\d+\]", "", text).split() if re.search(r"\w", w))


def test_an_item_ending_with_a_colon_introduces_the_items_after_it(built_home):
    q = "How do I check whether a genetics program still takes applicants with weaker scores?"
    [hit] = _passages(built_home, q, ["Reaching out (brief, polite emails)"])
    lead_in = {u.text: u.lead_in for u in _units(hit, 0)}
    assert lead_in["Whether the program currently considers applicants with lower scores"].startswith("Reaching out (brief, polite emails)")
    assert lead_in["Past residents’ medical schools and training backgrounds"] == "Program websites for:"
    assert lead_in["NRMP and FREIDA data for historical IMG match statistics"] == "Use tools and approaches like:"
    text = _compose(built_home, q, [hit])
    assert "like: whether the program" not in text.lower(), "an item is never glued to another list's lead-in"
    assert _introduced_by(text, "Whether the program currently considers", "Reaching out (brief, polite emails)")


def test_where_a_nested_list_ends(built_home):
    [acgme] = _passages(built_home, "Where do I find the list of accredited genetics programs?", ["search accredited programs in:"])
    lead_in = {u.text: u.lead_in for u in _units(acgme, 0)}
    assert lead_in["Medical Genetics and Genomics"] == "Go to the ACGME website and search accredited programs in:"
    # a full sentence after a run of fragments is back at the outer level
    assert lead_in["This ensures your list is current and includes newly accredited programs."] == ""
    [uworld] = _passages(built_home, "How should I use UWorld and NBME exams for Step 2 CK?", ["Use UWorld as your main QBank; aim for:"])
    lead_in = {u.text: u.lead_in for u in _units(uworld, 0)}
    # an item that runs on (",") keeps the next one in its list
    assert lead_in["60–70% correct or higher, timed and mixed, by the final 4–6 weeks."] == "Use UWorld as your main QBank; aim for:"
    # "- Track:" is too short to be a sentence of its own but still starts a new list
    assert lead_in["Weak systems (e.g., neurology, pediatrics, OB/GYN)"] == "Track:"
    assert lead_in["NBME practice exams (2–3 forms minimum)"] == "Supplement with:"


def test_a_short_label_line_introduces_the_items_under_it(built_home):
    q = "Are small genetics programs more flexible about borderline scores than big academic centers?"
    [hit] = _passages(built_home, q, ["Program Size and Structure"])
    lead_in = {u.text: u.lead_in for u in _units(hit, 0)}
    assert lead_in["Smaller programs may be more flexible, but some use stricter score filters."] == "Program Size and Structure"
    assert lead_in["Look for programs that explicitly mention J-1 or H-1B support."] == "Visa Sponsorship History"
    text = _compose(built_home, q, [hit])
    assert _introduced_by(text, "Smaller programs may be more flexible", "Program Size and Structure")


def test_an_introducing_line_brings_its_whole_list(built_home):
    q = "My board scores are below average: which kinds of genetics programs should I target first?"
    hits = _passages(built_home, q, ["you should:\nPrioritize programs that:", "Other programs value:", "Many international medical graduates (IMGs) worry"])
    text = _compose(built_home, q, hits)
    # "..., you should:" introduces the next line, which introduces three items: all of them are shown, under it
    for item in ["Have a history of interviewing or matching IMGs", "Emphasize holistic review", "Are located outside of the most competitive major cities"]:
        assert _introduced_by(text, item, "Prioritize programs that:"), text
    lines = text.splitlines()
    k = next(k for k, l in enumerate(lines) if "Prioritize programs that:" in l)
    assert all(l.startswith("  - ") for l in lines[k + 1 : k + 4]), "the items are nested under their lead-in"


def test_a_better_matching_passage_at_rank_two_is_quoted(built_home):
    # the case reported in the eval (the FAQ answer sat at rank 2 and was left out): only the top
    # passage gets a bonus, passages 2 and 3 compete on how well their sentences match
    q = "I passed Step 2 CK but with a low score. Can I sit it again to bump the number up?"
    hits = _passages(built_home, q, ["In the current pass/fail Step 1 era", "you cannot retake a passed", "I failed Step 1 once but passed"])
    text = _compose(built_home, q, hits)
    assert "cannot retake a passed USMLE Step exam" in text
    line = next(l for l in text.splitlines() if "cannot retake" in l)
    assert line.rstrip().endswith("[2]"), "cited to the FAQ passage, which sits at rank 2"


def test_items_of_one_list_are_shown_under_their_lead_in_once(built_home):
    q = "What should I look for on program websites?"
    [hit] = _passages(built_home, q, ["Reaching out (brief, polite emails)"])
    units = {u.text: u for u in _units(hit, 0)}
    lead = units["Apply widely."]
    a, b = units["Past residents’ medical schools and training backgrounds"], units["Statements about IMG friendliness"]
    single = units["NRMP and FREIDA data for historical IMG match statistics"]
    text, used = _render(lead, [lead, b, single, a])
    assert used == [0]
    assert text.splitlines() == [
        "Apply widely. [1]",
        "- Use tools and approaches like: NRMP and FREIDA data for historical IMG match statistics. [1]",  # acronyms keep their case
        "- Program websites for: [1]",
        "  - Past residents’ medical schools and training backgrounds. [1]",
        "  - Statements about IMG friendliness. [1]",
    ]


def test_a_dangling_introducing_line_is_not_quoted(built_home):
    """The chunker no longer stores a lead-in apart from its items; a passage cut that way (an index
    built by an older chunker, a guide whose list is missing) still never shows the lone lead-in."""
    import dataclasses

    from assistant.ingestion.chunking import split_units

    q = "I repeated a year of medical school. How do radiology programs see that?"
    [hit] = _passages(built_home, q, ["A repeated year or probation is a serious academic red flag"])
    first = hit.text.split("\n")[0]
    text = f"{first}\nAddressing Academic Problems:"
    cut = dataclasses.replace(hit, text=text, units=split_units(text, hit.section), unit_sims=[])
    assert [u.text for u in _units(cut, 0)] == ["A repeated year or probation is a serious academic red flag, especially for a competitive field like diagnostic radiology."]
    text = _compose(built_home, q, [cut])
    assert "Addressing Academic Problems" not in text and "serious academic red flag" in text


@pytest.mark.parametrize(
    "q",
    [
        "What should I do in the last week before Step 2 CK?",
        "How do I explain a gap after graduation to radiology programs?",
        "Which red flags worry genetics program directors most?",
        "How many radiology programs should a non-US IMG apply to?",
    ],
)
def test_answers_stay_short_and_quote_several_passages_in_part(built_home, q):
    ans = ask(q, settings=built_home)
    assert not ans.abstained
    lines = ans.answer.splitlines()
    lead_words = _words(lines[0])
    assert _words(ans.answer) <= max(MAX_WORDS, lead_words), "the whole answer fits the word budget"
    quoted = sum(len(c.text.split()) for c in ans.citations)
    assert _words(ans.answer) < quoted, "points are picked from the passages, not whole passages pasted"
    assert all(re.search(r"\[\d+\]$", l.strip()) for l in lines), "every line is cited"


def _written(settings, text: str, sims: dict[str, float], section: str = "Researching Programs"):
    """A passage of the test's own text (units cut by the chunker), each unit's closeness to the question set by hand."""
    import dataclasses

    from assistant.ingestion.chunking import split_units

    [hit] = _passages(settings, "how do i research genetics programs", ["FREIDA"])
    units = split_units(text, section)
    return dataclasses.replace(hit, text=text, section=section, units=units,
                               unit_sims=[sims.get(u["text"], 0.3) for u in units])


def test_a_question_the_guide_asks_the_reader_never_leads(built_home):
    text = ("Career goals\n- Physician-scientist?\n- Clinician-educator?\n"
            "Look for programs with protected research time and NIH-funded genetics labs.")
    hit = _written(built_home, text, {"Physician-scientist?": 0.9, "Look for programs with protected research time and NIH-funded genetics labs.": 0.5})
    answer = _compose(built_home, "i want to be a physician scientist, what should i look for on the research side of a program", [hit])
    first = answer.splitlines()[0]
    assert not re.sub(r"\s*\[\d+\]$", "", first).endswith("?"), answer
    assert "protected research time" in first, answer


def test_a_label_does_not_open_the_list_it_names(built_home):
    text = ("Use a combination of these to build your list:\nAMA FREIDA Online\n"
            "- Search by specialty: Medical Genetics and Genomics, and the combined programs.\n"
            "- Filter by program size and region to keep the list current.")
    hit = _written(built_home, text, {"Search by specialty: Medical Genetics and Genomics, and the combined programs.": 0.8})
    answer = _compose(built_home, "where can i find a full list of genetics residencies", [hit])
    first = answer.splitlines()[0]
    assert first.startswith("AMA FREIDA Online: search by specialty"), answer  # the label names the item it introduces


def test_a_line_that_ends_a_lead_ins_sentence_after_its_list_stays_with_the_list(built_home):
    text = ("If your score is low, taking a year to:\n- Strengthen research in a genetics lab\n- Gain US clinical exposure\n"
            "…can significantly improve your competitiveness. Apply broadly to programs with genetics research, or\n"
            "Programs value steady clinical work during that year.")
    [unit] = [u for u in _units(_written(built_home, text, {}), 0) if u.text.startswith("…")]
    assert unit.is_item and unit.lead_in == "If your score is low, taking a year to:"  # it closes the list's sentence
    hit = _written(built_home, text, {"…can significantly improve your competitiveness.": 0.9, "Programs value steady clinical work during that year.": 0.6})
    answer = _compose(built_home, "should i take a year off to improve my competitiveness", [hit])
    assert "can significantly improve your competitiveness" in answer, answer
    assert "taking a year to" in answer.lower(), answer  # never without the sentence it ends


def test_an_item_that_ran_on_is_shown_without_its_dangling_conjunction():
    from assistant.answering.compose import as_sentence

    assert as_sentence("There are multiple exam failures, or") == "There are multiple exam failures."
    assert as_sentence("The small size of medical genetics; and") == "The small size of medical genetics."
    assert as_sentence("Research and") == "Research and."  # no comma: the words are the guide's, left alone


def test_a_yes_or_no_lead_says_which_question_of_the_guide_it_answers(built_home):
    # the guide's "Yes" answers its FAQ's question, which may not be the applicant's ("is genetics off the table?")
    faq = "Can I still match into medical genetics with a low Step 1 score?"
    text = f"{faq}\nYes, it is realistic, but it requires a careful plan.\nStrong letters and genetics research help most."
    hit = _written(built_home, text, {"Yes, it is realistic, but it requires a careful plan.": 0.8}, section=f"FAQ > {faq}")
    first = _compose(built_home, "my step 1 is weak, is genetics basically off the table for me", [hit]).splitlines()[0]
    assert first.startswith(f"The guide's answer to “{faq}”: “Yes, it is realistic"), first


def test_a_line_that_starts_with_the_word_no_is_not_a_no_answer(built_home):
    # "No radiology exposure or letters from radiologists" is a concern in a list, not the guide answering "No."
    q = "my personal statement is kind of generic and a few dates dont match. are those red flags for radiology?"
    hits = _passages(built_home, q, ["No radiology exposure"])
    first = _compose(built_home, q, hits).splitlines()[0]
    assert "no radiology exposure" not in first.lower(), first


def test_an_item_joined_to_its_lead_in_keeps_a_names_capital(built_home):
    text = ("Programs look hard at your exam history.\nUSMLE/COMLEX Issues:\n- Step 1 or Step 2 CK failure or multiple attempts\n"
            "- Strong scores after a failure reassure them")
    hit = _written(built_home, text, {"Programs look hard at your exam history.": 0.8, "Step 1 or Step 2 CK failure or multiple attempts": 0.7})
    answer = _compose(built_home, "is a step 1 failure a red flag for programs", [hit])
    assert "Step 1 or Step 2 CK failure" in answer and "step 1 or Step 2" not in answer, answer  # "Step 1" is a name


@pytest.mark.parametrize(
    "line, whole",
    [
        ("Taking a research year is not a weakness in itself, but it does prompt questions from some interviewers:", True),
        ("As a visa-holding applicant, you may face extra scrutiny of your timeline:", True),
        ("While every program differs, certain concerns come up again and again in pediatrics:", True),
        ("Consider sending a short, polite update letter to a handful of programs:", True),
        ("Concerns arise when:", False),  # too short to say anything
        ("Most pediatrics program directors now read Step 1 as:", False),  # "as": the list finishes it
        ("When program directors screen applications from visa holders, they ask:", False),  # a verb waiting for its object
        ("Internal medicine programs in the Midwest strongly value:", False),
        ("If your Step 2 CK comes back well below your planned target:", False),  # no main clause
        ("Use this structure when you talk about any red flag in an interview:", False),  # it points at the list
        ("In every section of your ERAS application and your interviews:", False),  # no verb
        ("Aim as high as you can, but as a rough general guide:", False),
    ],
)
def test_a_lead_in_that_says_something_whole_reads_as_a_sentence(line, whole):
    from assistant.answering.compose import as_statement
    from assistant.answering.shapes import states_on_its_own

    assert states_on_its_own(line) is whole
    assert as_statement(line) == (line[:-1] + "." if whole else line)


def test_a_whole_statement_whose_list_is_elsewhere_leads_as_a_sentence(built_home):
    # "…, but it does prompt questions from some interviewers:" answers "is a research year a red flag" though its
    # list is in the next passage; shown ending ":" it would dangle, so it ends "." (and a lead-in that says nothing
    # alone, "Programs weigh:", is still never shown without its items)
    lead = "Taking a research year is not a red flag in itself, but it does prompt questions from some interviewers:"
    text = f"Plan your research year early.\n{lead}\nPrograms weigh:"
    hit = _written(built_home, text, {lead: 0.8, "Plan your research year early.": 0.4, "Programs weigh:": 0.7})
    answer = _compose(built_home, "is taking a research year a red flag for residency programs", [hit])
    lines = answer.splitlines()
    assert lines[0] == lead[:-1] + ". [1]", answer
    assert "Programs weigh" not in answer and not any(re.sub(r"\s*\[\d+\]$", "", l).endswith(":") for l in lines), answer


def test_asked_for_wording_the_line_that_introduces_the_guides_example_leads(built_home):
    # "what should i write instead of 'helped in clinic'": the guide's "Instead of ..., write:" and its example answer it
    # (a lead-in that introduces advice still never leads a question that does not ask for a list)
    text = ("Volunteer work counts when you describe it well.\nInstead of “Helped in clinic,” write:\n"
            "- “Took family histories for 40 patients and drafted pedigrees for the genetic counselor.”\n"
            "Describing what you did beats listing where you were.")
    sims = {"Volunteer work counts when you describe it well.": 0.6, "Instead of “Helped in clinic,” write:": 0.5}
    hit = _written(built_home, text, sims)
    answer = _compose(built_home, "what should i write for my clinic volunteering instead of just 'helped in clinic'", [hit])
    lines = answer.splitlines()
    assert lines[0].startswith("Instead of “Helped in clinic,” write:"), answer
    assert "The guide's example: “Took family histories" in lines[1], answer


def test_a_conflicts_statements_shown_above_take_their_words_of_the_budget(built_home):
    # the conflict block is part of what the applicant reads: the composed answer below it is that much shorter
    q = "How do I explain a gap after graduation to radiology programs?"
    hits = get_retriever(built_home).search(q, k=5)
    said = ["Gaps of up to 12 months are usually fine, programs say.", "Programs see any gap over 6 months as a red flag that needs a full paragraph of explanation."]
    alone, _ = compose_extractive(q, hits, get_retriever(built_home))
    below, _ = compose_extractive(q, hits, get_retriever(built_home), said=said)
    shown = sum(len(t.split()) for t in said)
    assert _words(alone) > MAX_WORDS - shown, alone  # the budget binds for this question
    assert _words(below) <= MAX_WORDS - shown, below


def test_a_heading_item_that_leads_is_shown_under_its_lead_in_not_joined_to_it(built_home):
    # "...relevant to pediatrics: timeline and Gap Concerns." read garbled: the lead-in first, the heading under it
    text = ("Some concerns weigh more heavily in pediatrics than elsewhere:\n"
            "- Timeline and Gap Concerns\n  - Long gaps after graduation with no clinical work\n  - Breaks in training nobody explains\n"
            "- Communication Concerns\n  - Difficulty explaining plans to parents")
    sims = {"Long gaps after graduation with no clinical work": 0.5, "Timeline and Gap Concerns": 0.9, "Difficulty explaining plans to parents": 0.6}
    hit = _written(built_home, text, sims)
    lines = _compose(built_home, "what timeline concerns do pediatrics programs have", [hit]).splitlines()
    assert lines[0] == "Some concerns weigh more heavily in pediatrics than elsewhere: [1]", lines
    assert lines[1] == "- Timeline and Gap Concerns. [1]", lines
    assert lines[2].startswith("  - Long gaps after graduation"), lines
    assert not any(l.endswith(("Gap Concerns. [1]", "Communication Concerns. [1]")) and ":" in l for l in lines), lines  # as a point either


def test_the_items_a_sentence_about_the_guide_introduces_are_its_contents_not_advice(built_home):
    text = ("This guide will walk you through practical strategies for a pediatrics match, including:\n"
            "- How program directors read a language certificate\n- What to say about your scores in interviews\n"
            "Programs value applicants who can explain complex plans to worried parents.")
    sims = {"How program directors read a language certificate": 0.9, "What to say about your scores in interviews": 0.8,
            "Programs value applicants who can explain complex plans to worried parents.": 0.5}
    answer = _compose(built_home, "will my language skills count in pediatrics interviews", [_written(built_home, text, sims)])
    assert "language certificate" not in answer and "walk you through" not in answer, answer
    assert answer.startswith("Programs value applicants who can explain"), answer
