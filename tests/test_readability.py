"""The readability detectors (assistant/evaluation/readability.py): each defect planted and found, clean counterparts not flagged."""

from __future__ import annotations

import pytest

from assistant.evaluation.readability import (
    KINDS,
    about_the_guide,
    answer_words,
    bare_label,
    defects,
    example_as_point,
    first_sentence_holds,
    glued_label,
    is_clean,
    is_label,
    lead_in_without_items,
    names_band,
    points,
)
from assistant.schemas import Answer

CLEAN = (
    "Apply broadly and early: submit ERAS as soon as it opens. [1]\n"
    "- Concerns arise when: [2]\n"
    "  - Your visa history is complicated or includes prior denials. [2]\n"
    "  - The program has limited experience with visas. [2]\n"
    "- The guide's example: “I failed Step 1 on my first attempt.” [3]\n"
    "- Program directors want to see that you remained engaged in medicine. [1]"
)


def test_a_clean_answer_has_no_defect():
    found = defects(CLEAN)
    assert set(found) == set(KINDS)
    assert found == {k: [] for k in KINDS}
    assert is_clean(CLEAN)


def test_points_read_levels_and_citations():
    pts = points(CLEAN + "\n\nSources:\n  [1] Guide — Section  (guide-one)")
    assert [p.level for p in pts] == [0, 1, 2, 2, 1, 1]
    assert pts[1].text == "Concerns arise when:" and pts[1].cites == {2}
    assert all("Guide — Section" not in p.text for p in pts)


# ---------------------------------------------------------------- lead_in_without_items


def test_lead_in_without_items_found():
    text = (
        "Aim for as high as possible, but as a general guide: [1]\n"
        "- What to ask: [2]\n"
        "- Keep emails concise and specific. [2]\n"
        "- Concerns arise when: [3]"
    )
    assert lead_in_without_items(text) == ["Aim for as high as possible, but as a general guide:", "What to ask:", "Concerns arise when:"]
    assert not is_clean(text)


def test_a_same_level_item_shaped_line_is_the_lead_ins_item():
    text = (
        "Start with the official website of each program. [1]\n"
        "- When evaluating residency programs, consider: [2]\n"
        "- Geographic preferences. [2]\n"
        "- In every section of your ERAS application: [3]\n"
        "- Experience descriptions: Highlight genetics-relevant responsibilities. [3]\n"
        "- Use UWorld as your main QBank; aim for: [4]\n"
        "- Supplement with: NBME practice exams. [4]"
    )
    assert lead_in_without_items(text) == ["Use UWorld as your main QBank; aim for:"]
    assert bare_label(text) == []  # "Geographic preferences." is the item of "consider:", not a bare label


def test_lead_in_whose_items_come_from_another_passage_is_found():
    text = "Use this structure when addressing any red flag: [1]\n- Programs value honesty. [2]"
    assert lead_in_without_items(text) == ["Use this structure when addressing any red flag:"]


def test_lead_in_with_items_is_not_flagged():
    text = (
        "Most program directors now use Step 1 as: [1]\n"
        "- A basic competency check. [1]\n"
        "- Seek letters that explicitly state: [2]\n"
        "  - “No concerns about professionalism” [2]\n"
        "- Example (lateness): [3]\n"
        "- “In my third year, I struggled with time management.” [3]"
    )
    assert lead_in_without_items(text) == []
    assert example_as_point(text) == []


def test_a_block_heading_of_the_assistant_has_items():
    text = (
        "The guides disagree on this; here is what each says:\n"
        "- Pediatrics–Medical Genetics takes five years. [1]\n"
        "- Categorical programs take four years. [2]\n"
        "\n"
        "More from the guides:\n"
        "Combined programs are common. [1]"
    )
    assert lead_in_without_items(text) == []


# ---------------------------------------------------------------- bare_label


@pytest.mark.parametrize(
    "label",
    ["Institution, city, state.", "IMG Friendliness.", "Fellowship-like Training.", "Backup pathways.", "Program Size and Structure.", "Tier 2 – Solid / Moderately Competitive Options."],
)
def test_bare_label_found(label):
    text = f"Start with the official website of each program. [1]\n- {label} [1]\n- Apply widely. [2]"
    assert bare_label(text) == [label]


@pytest.mark.parametrize(
    "sentence",
    [
        "Apply broadly.",
        "Apply widely.",
        "Yes.",
        "Be honest.",
        "Genetics is research-heavy.",
        "Step 2 CK: 240.",
        "Pediatrics–Medical Genetics (5 years)",
        "Physician-scientist?",
        "This shows transparency and self-awareness.",
        "Use a concise, structured explanation.",
        "Strong US clinical experience in internal medicine.",
    ],
)
def test_short_real_sentences_are_not_labels(sentence):
    assert not is_label(sentence)
    assert bare_label(f"Start with the official website of each program. [1]\n- {sentence} [1]") == []


def test_labels_as_list_items_or_headings_are_not_flagged():
    text = (
        "Put all programs in a master spreadsheet with columns for: [1]\n"
        "- Institution, city, state. [1]\n"
        "- Filter by: [2]\n"
        "  - Program size. [2]\n"
        "- Visa Sponsorship History. [3]\n"
        "  - Look for programs that explicitly mention J-1 or H-1B support. [3]\n"
        "    - Resident/fellow spotlights. [3]"
    )
    assert bare_label(text) == []


# ---------------------------------------------------------------- example_as_point


def test_example_as_point_found():
    text = (
        "Use this structure when addressing any red flag (in writing or interviews): [1]\n"
        "- “I failed Step 1 on my first attempt.” [2]\n"
        "- “After graduating in 2019, I spent 18 months on USMLE preparation. [3]\n"
        "- My Step 2 CK score rose to 245 after I changed my approach. [3]\n"
        "- When I retook Step 2 CK, I improved significantly and passed. [4]\n"
        "- What happened and what did you learn?” [4]"
    )
    assert example_as_point(text) == [
        "“I failed Step 1 on my first attempt.”",
        "“After graduating in 2019, I spent 18 months on USMLE preparation.",
        "My Step 2 CK score rose to 245 after I changed my approach.",
        "When I retook Step 2 CK, I improved significantly and passed.",
        "What happened and what did you learn?”",
    ]


def test_introduced_examples_and_advice_are_not_flagged():
    text = (
        "Avoid vague statements like “I faced some challenges.” [1]\n"
        "- The guide's example: “I failed Step 1 on my first attempt …” [2]\n"
        "- For example: I failed Step 1 and then passed with a 240. [2]\n"
        "- Ask them: “Does this explanation sound genuine?” [3]\n"
        "- “Am I over-explaining or under-explaining?” [3]\n"
        "- Use interview answers to highlight these, especially when asked: [4]\n"
        "  - “Tell me about a challenging patient interaction.” [4]\n"
        "- Consider taking Step 3 to show your Step 1 score is in the past. [5]"
    )
    assert example_as_point(text) == []


def test_the_assistants_own_first_person_is_not_an_example():
    message = "The guides don't cover this. I can only answer from the guide library. Try asking about one of those."
    assert example_as_point(message) == []
    assert defects(Answer(answer=message, abstained=True)) == {k: [] for k in KINDS}


# ---------------------------------------------------------------- about_the_guide


@pytest.mark.parametrize(
    "sentence",
    [
        "This guide focuses specifically on non-US citizen IMGs applying to diagnostic radiology.",
        "You’ll learn how program directors think about red flags.",
        "This article breaks down common red flags for a US citizen IMG.",
        "In this guide, we cover the genetics match.",
        "This IMG residency guide will walk you through realistic strategies, including:",
        "Throughout, the focus is on matching with low scores.",
    ],
)
def test_about_the_guide_found(sentence):
    assert about_the_guide(f"Apply early. [1]\n- {sentence} [2]") == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "Aim for as high as possible, but as a general guide: 235–245 is realistic.",
        "These are not strict cutoffs, but they should guide how aggressively you prepare.",
        "Use your scores as a guide to where you apply.",
        "The guide's example: “I failed Step 1 on my first attempt.”",
        "Check the program's page on FREIDA.",
    ],
)
def test_advice_mentioning_a_guide_is_not_about_the_guide(sentence):
    assert about_the_guide(f"Apply early. [1]\n- {sentence} [2]") == []


# ---------------------------------------------------------------- glued_label


def test_glued_label_found():
    text = (
        "This resulted in a professionalism warning and a remediation plan.”Insight: I learned to plan. [1]\n"
        "- I set a schedule and kept to it in my plan.Change: weekly reviews with a mentor. [2]\n"
        "- Even if it’s pass/fail:- Avoid rushing to the test date. [3]"
    )
    found = glued_label(text)
    assert len(found) == 3
    assert "plan.”Insight:" in found[0] and "plan.Change:" in found[1] and "fail:- Avoid" in found[2]


def test_normal_punctuation_is_not_glued():
    text = (
        "Most U.S. programs sponsor J-1 visas, e.g. Step 2 CK scores of 2.5 points matter. [1]\n"
        "- Instead of “Observed clinic,” write: “Assisted in pedigrees.” [1]\n"
        "- She holds a Ph.D. and an M.D. from abroad. [2]"
    )
    assert glued_label(text) == []


# ---------------------------------------------------------------- scores


def test_first_sentence_holds():
    text = "Programs see an ascending trajectory as “reassuring.” [1]\n- Apply broadly. [2]"
    assert first_sentence_holds(text, ["trajectory", "REASSURING"])
    assert first_sentence_holds(text, ['"reassuring"'])
    assert not first_sentence_holds(text, ["trajectory", "apply broadly"])
    assert first_sentence_holds("Look in the children’s hospitals. [1]", ["children's hospitals"])
    assert first_sentence_holds(text, [])
    assert not first_sentence_holds("", ["x"])


def test_answer_words_skip_citations_markers_and_sources():
    text = "Apply early and broadly. [1]\n- Submit ERAS on day one. [2]\n\nSources:\n  [1] Guide — Section  (guide-one)\n\nNote: advice."
    assert answer_words(text) == 9


@pytest.mark.parametrize(
    "text, number, expected",
    [
        ("Solidly competitive IMGs: Step 2 CK ~235–245. [1]", 238, True),
        ("235-245: realistic chance", 238, True),
        ("235 to 245", 245, True),
        ("235–245", 246, False),
        ("≥245: strongly competitive", 250, True),
        ("≥ 245", 240, False),
        ("245+ is strong", 245, True),
        ("Very competitive: Step 2 CK ≥ 245–250+.", 262, True),
        ("Below 220: you will benefit from a strong narrative.", 210, True),
        ("below 220", 220, False),
        ("<220", 219, True),
        ("220 or higher", 225, True),
        ("220 or higher", 219, False),
        ("Programs may assign a minimum score (for example, 230) as an automated screen.", 230, False),
        ("Apply to 80–120+ programs.", 150, True),
        ("You need a J-1 or H-1B visa.", 1, False),
    ],
)
def test_names_band(text, number, expected):
    assert names_band(text, number) is expected


# ---------------------------------------------------------------- real answers


def test_detectors_run_over_real_answers(built_home):
    from assistant.answering import ask
    from assistant.evaluation.dataset import GOLD, load_dataset

    cases = [c for c in load_dataset(GOLD) if c.answerable][:40]
    assert len(cases) == 40
    for c in cases:
        ans = ask(c.question, audience=c.audience, specialty=c.specialty, history=c.history or None, settings=built_home)
        found = defects(ans)
        assert list(found) == list(KINDS)
        assert all(isinstance(v, list) and all(isinstance(s, str) and s for s in v) for v in found.values())
        assert is_clean(ans) == (not any(found.values()))
        assert answer_words(ans.answer) > 0
        assert isinstance(first_sentence_holds(ans.answer, c.facts), bool)


def test_one_line_holds_needs_every_fact_in_one_line():
    from assistant.evaluation.readability import library_lines, one_line_holds

    rows = [{"units": [{"text": "Aim for at least one letter from:", "lead_in": ""},
                       {"text": "A clinical geneticist who supervised you directly.", "lead_in": "Aim for at least one letter from:"}]},
            {"units": [{"text": "Submit ERAS as soon as it opens.", "lead_in": ""}]}]
    lines = library_lines(rows)
    assert one_line_holds(["at least one", "clinical geneticist"], lines)  # an item with its lead-in is one line
    assert one_line_holds(["“Submit ERAS”"], lines)  # quotes and case folded as in first_sentence_holds
    assert not one_line_holds(["clinical geneticist", "as soon as it opens"], lines)  # two lines
    assert not one_line_holds([], lines)
