"""Chunks follow the guides' structure: FAQ answers stay with their questions, lists with their lead-ins."""

import re

import pytest

from assistant.ingestion.chunking import chunk_document, split_units
from assistant.tuning import PASSAGE_SOFT_MAX_WORDS
from assistant.ingestion.corpus import load_corpus
from tests.conftest import ROOT

DOCS = {d.source: d for d in load_corpus([ROOT / "corpus"])}
CHUNKS = {s: chunk_document(d) for s, d in DOCS.items()}
FAQ = re.compile(r"^\s*\d{1,2}\.\s+(.+\?)\s*$")


def _faq_pairs(source):
    """(question, first line of its answer) for every numbered FAQ question in the cleaned guide."""
    lines = [l.strip() for l in DOCS[source].text.split("\n") if l.strip()]
    return [(FAQ.match(l).group(1), lines[i + 1]) for i, l in enumerate(lines[:-1]) if FAQ.match(l)]


@pytest.mark.parametrize("source", sorted(DOCS))
def test_no_faq_answer_split_from_its_question(source):
    pairs = _faq_pairs(source)
    assert pairs, "every guide has an FAQ"
    for question, answer_start in pairs:
        holders = [c for c in CHUNKS[source] if answer_start[:60] in c.text]
        assert holders, answer_start
        assert all(question in c.text for c in holders), f"answer to {question!r} separated from it"
        assert all(c.section.endswith(question) for c in holders)


def test_bullet_list_stays_with_its_lead_in():
    chunks = CHUNKS["us-img-medical-genetics-red-flags"]
    lead = "Typical academic red flags:"
    holder = next(c for c in chunks if lead in c.text)
    assert "- Failed or repeated courses or clerkships" in holder.text
    assert "- Multiple attempts on exams or long delays between steps" in holder.text


def test_section_is_the_heading_path():
    sections = {c.section for c in CHUNKS["us-img-medical-genetics-red-flags"]}
    assert "Strategies to Address Specific Red Flags > Addressing Failures and Low Scores > Clarify the Facts" in sections
    assert any(s.startswith("Strategies to Address Specific Red Flags > Addressing Failures and Low Scores") for s in sections)
    radiology = {c.section for c in CHUNKS["non-us-img-radiology-red-flags"]}
    assert "Common Gap Scenarios for Non-US Citizen IMGs > How to Explain Gaps Effectively" in radiology
    assert "Common Red Flags for Non-US Citizen IMGs > USMLE/COMLEX Issues" not in radiology, "an indented numbered item is content, not a section"


@pytest.mark.parametrize("source", sorted(DOCS))
def test_chunks_are_bounded_and_cover_the_text(source):
    chunks = CHUNKS[source]
    assert all(c.words <= PASSAGE_SOFT_MAX_WORDS + 40 for c in chunks)  # + an FAQ question carried by each piece
    joined = "\n".join(f"{c.section}\n{c.text}" for c in chunks)
    words = set(DOCS[source].text.split())
    covered = set(joined.split())
    assert not (words - covered) - {DOCS[source].title.split()[0]} or len(words - covered) / len(words) < 0.01
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_units_keep_list_lead_ins_and_skip_the_faq_question():
    text = "How long does training take?\nIt depends on the pathway:\n- Combined programs take five years.\n- Categorical programs are shorter. Ask each program."
    units = split_units(text, "FAQs > How long does training take?")
    assert [u["text"] for u in units] == [
        "It depends on the pathway:",
        "Combined programs take five years.",
        "Categorical programs are shorter.",
        "Ask each program.",
    ]
    assert [u["lead_in"] for u in units if u["item"]] == ["It depends on the pathway:"] * 3


def test_sentence_units_do_not_break_after_abbreviations():
    """'U.S. MD', 'Dr. X' and 'Combined vs. Categorical' stay in one sentence; a real 'No.' still ends one."""
    from assistant.text import split_sentences

    assert split_sentences("Step 2 CK below average compared to U.S. MD/DO seniors. Apply broadly.") == [
        "Step 2 CK below average compared to U.S. MD/DO seniors.",
        "Apply broadly.",
    ]
    assert split_sentences("Tests do not capture Dr. X's skills. No. A single failure is manageable.") == [
        "Tests do not capture Dr. X's skills.",
        "No.",
        "A single failure is manageable.",
    ]
    assert split_sentences("I met Dr.\nSmith later.") == ["I met Dr.", "Smith later."], "lines are never joined"
    units = [u["text"] for u in split_units("- U.S. MD vs. U.S. DO vs. IMGs\n- Risk vs. Trajectory", "Match data")]
    assert units == ["U.S. MD vs. U.S. DO vs. IMGs", "Risk vs. Trajectory"]


def test_a_quotation_of_several_sentences_is_one_unit():
    # cut at its sentences, each half showed as an example with one quote mark: “I notice ... attempt. / What ...?”
    from assistant.ingestion.chunking import split_units

    text = ("Expect a direct question:\n- “Your transcript shows a repeated year. What happened, and what changed?”\n"
            "- Answer it in two sentences. Then stop talking.")
    units = [u["text"] for u in split_units(text, "Interviews")]
    assert "“Your transcript shows a repeated year. What happened, and what changed?”" in units, units
    assert "Answer it in two sentences." in units and "Then stop talking." in units, units  # other items still split
