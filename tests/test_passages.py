"""Passages stand on their own: lead-ins keep their items, labels their lines, templates their steps.

The guide here is written by the test (internal medicine, which the bundled corpus
does not cover) in four forms: the publisher's layout 1 (plain lines, "- " bullets,
numbered steps at the margin), layout 2 (indented "1." items with "•" bullets under
them), Markdown and HTML. The same rules are then checked on the shipped guides.
"""

from __future__ import annotations

import re

import pytest

from assistant.ingestion.chunking import PASSAGE_MAX_WORDS, chunk_document, passage_words, split_units
from assistant.ingestion.corpus import load_corpus, load_document
from assistant.tuning import PASSAGE_SOFT_MAX_WORDS
from tests.conftest import ROOT

TITLE = "Essential Guide for Non-US IMGs Applying to Internal Medicine Residency"
INTRO = ("Internal medicine takes more international graduates than any other specialty, yet every program screens its "
         "applicants in its own way. The sections below explain what programs look at first and how to present a weak spot.")
STEPS = [
    ("State the Failure Plainly", ["“I failed the Step 1 exam on my first attempt.”", "Name the exam and the attempt, nothing more."]),
    ("Explain What Changed", ["“I moved from passive reading to daily timed question blocks.”", "Keep the cause to one sentence and the change to two."]),
    ("Prove It With a Result", ["“I then scored 247 on Step 2 CK.”", "A later score, a passed rotation or a letter shows the change held."]),
]
LONG_ITEMS = [f"Checklist item {n}: confirm the {thing} with the program coordinator before the interview season starts in earnest"
              for n, thing in enumerate(["visa policy", "deadline", "letter count", "score floor", "graduation cutoff", "USCE rule",
                                          "observership policy", "interview format", "research track", "prelim option",
                                          "sponsorship type", "start date", "licensing rule", "background check"], 1)]


def _guide():
    """The guide as a list of (kind, level, text, children): kinds h (heading), p (paragraph), ul/ol (list)."""
    return [
        ("h", 1, "Understanding the Internal Medicine Match", None),
        ("p", 0, "Before choosing programs, know how the match for this specialty works.", None),
        ("h", 2, "What Program Directors Screen First", None),
        ("p", 0, "Program directors in internal medicine usually screen applications in this order, before they read a single word of the personal statement:", None),
        ("ul", 0, None, [("Step 2 CK score and number of attempts", []), ("Year of graduation and any gaps since", []),
                         ("US clinical experience in internal medicine", []), ("Letters from US internists who supervised you", [])]),
        ("h", 1, "Framing an Exam Failure: A Simple 3-Step Template", None),
        ("p", 0, "Use these steps whenever you explain a failure, in writing or at an interview:", None),
        ("ol", 0, None, STEPS),
        ("h", 1, "Score Targets for Internal Medicine", None),
        ("p", 0, "Aim as high as you can, but as a general guide for a non-US IMG who needs a visa:", None),
        ("ul", 0, None, [("250+: Competitive at most university programs.", []), ("235–249: Realistic at many community programs.", []),
                         ("Below 225: Apply very broadly and add a preliminary year.", [])]),
        ("p", 0, "Step 2 CK (current key metric)", None),
        ("ul", 0, None, [("Programs read it as the best sign of how you will do on the boards.", [])]),
        ("h", 1, "Worked Example of an Explanation", None),
        ("p", 0, "Example for a failed shelf exam, written in the three parts programs expect to read:", None),
        ("p", 0, "Cause:", None),
        ("p", 0, "“I failed my medicine shelf exam because I studied passively and did not ask for help.”", None),
        ("p", 0, "Insight:", None),
        ("p", 0, "“I learned that I need active recall and early feedback from faculty.”", None),
        ("p", 0, "Change:", None),
        ("p", 0, "“I now use question banks daily, and I passed every later exam on the first attempt.”", None),
        ("h", 1, "Before the Interview Season", None),
        ("p", 0, "Work through this checklist for every program on your list:", None),
        ("ul", 0, None, [(t, []) for t in LONG_ITEMS]),
        ("h", 1, "Frequently Asked Questions", None),
        ("h", 2, "How many internal medicine programs should a non-US IMG apply to?", None),
        ("p", 0, "Most non-US IMGs who need a visa apply to 80 to 120 programs, more with a failed attempt, and they favour "
                 "programs that sponsored visas and matched international graduates in the last three years.", None),
    ]


def layout1() -> str:
    out = ["Internal Medicine IMG Guide Logo", "", TITLE, "", INTRO, ""]
    n_faq = 0
    for kind, level, text, children in _guide():
        if kind == "h":
            if text.endswith("?"):
                n_faq += 1
                out.append(f"{n_faq}. {text}")
            else:
                out.append(text)
        elif kind == "p":
            out.append(text)
        else:
            for k, (item, subs) in enumerate(children, 1):
                out.append(f"{k}. {item}" if kind == "ol" else f"- {item}")
                out.extend(f"- {s}" for s in subs)
    return "\n".join(out) + "\n"


def layout2() -> str:
    out = [TITLE, "", INTRO, ""]
    for kind, level, text, children in _guide():
        if kind in ("h", "p"):
            out += [text, ""]
        else:
            for k, (item, subs) in enumerate(children, 1):
                out += [f"  {k}. {item}" if kind == "ol" else f"  • {item}", ""]
                out += [f"    • {s}" for s in subs]
            out.append("")
    return "\n".join(out)


def markdown() -> str:
    out = [f"# {TITLE}", "", INTRO, ""]
    for kind, level, text, children in _guide():
        if kind == "h":
            out += ["#" * (level + 1) + " " + text, ""]
        elif kind == "p":
            out += [text, ""]
        else:
            for k, (item, subs) in enumerate(children, 1):
                out.append(f"{k}. {item}" if kind == "ol" else f"* {item}")
                out += [("   " if kind == "ol" else "  ") + f"- {s}" for s in subs]
            out.append("")
    return "\n".join(out)


def html() -> str:
    out = [f"<html><head><title>{TITLE}</title></head><body><h1>{TITLE}</h1><p>{INTRO}</p>"]
    for kind, level, text, children in _guide():
        if kind == "h":
            out.append(f"<h{level + 1}>{text}</h{level + 1}>")
        elif kind == "p":
            out.append(f"<p>{text}</p>")
        else:
            items = "".join(f"<li>{item}" + (f"<ul>{''.join(f'<li>{s}</li>' for s in subs)}</ul>" if subs else "") + "</li>" for item, subs in children)
            out.append(f"<{kind}>{items}</{kind}>")
    return "\n".join(out + ["</body></html>"])


FORMATS = {"layout1.txt": layout1, "layout2.txt": layout2, "guide.md": markdown, "guide.html": html}


@pytest.fixture(scope="module", params=sorted(FORMATS))
def cut(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("guide") / request.param
    path.write_text(FORMATS[request.param](), encoding="utf-8")
    doc = load_document(path)
    return request.param, doc, chunk_document(doc)


def _holding(chunks, phrase):
    return [c for c in chunks if phrase in c.text]


# ---------------------------------------------------------------- the rules, shared by every guide


def lead_ins_without_items(chunk) -> list[str]:
    """Lines ending in ':' with nothing after them in the passage."""
    lines = [l for l in chunk.text.split("\n") if l.strip()]
    return [l for l in lines[-1:] if l.rstrip().endswith(":")]


def is_bare_label(chunk) -> bool:
    body = [l for l in chunk.text.split("\n") if l.strip() and not l.startswith("## ")]
    return len(body) == 1 and passage_words(body[0]) <= 6


def check_rules(chunks, short_sections=()):
    for c in chunks:
        assert not lead_ins_without_items(c), (c.section, c.text)
        assert not is_bare_label(c), (c.section, c.text)
        assert c.words >= 25 or c.section in short_sections, (c.section, c.words, c.text)
        question = c.section.split(" > ")[-1] if c.section.endswith("?") else ""
        assert c.words - passage_words(question) <= PASSAGE_SOFT_MAX_WORDS, (c.section, c.words)


# ---------------------------------------------------------------- a guide the test wrote, in four forms


def test_every_passage_stands_on_its_own(cut):
    name, doc, chunks = cut
    check_rules(chunks)
    assert doc.title == TITLE


def test_the_template_is_one_passage_with_all_its_steps(cut):
    name, doc, chunks = cut
    lead = "Use these steps whenever you explain a failure"
    holders = _holding(chunks, lead)
    assert len(holders) == 1, name
    for title, subs in STEPS:
        assert title in holders[0].text, (name, title)
        assert all(s in holders[0].text for s in subs), (name, title)
    assert not any(title in c.text for c in chunks if c is not holders[0] for title, _ in STEPS)


def test_nesting_is_kept_where_the_guide_nests(cut):
    name, doc, chunks = cut
    text = _holding(chunks, STEPS[0][0])[0].text
    step = next(l for l in text.split("\n") if STEPS[0][0] in l)
    sub = next(l for l in text.split("\n") if STEPS[0][1][0] in l)
    assert re.match(r"^1\.\s", step), step
    assert sub.startswith("  - "), (name, sub)  # layout 1 writes them at the margin: between steps they are the step's


def test_a_short_introduction_joins_what_it_introduces(cut):
    name, doc, chunks = cut
    intro = "Before choosing programs, know how the match for this specialty works."
    holders = _holding(chunks, intro)
    assert len(holders) == 1
    assert "Program directors in internal medicine usually screen" in holders[0].text
    assert "- Step 2 CK score and number of attempts" in holders[0].text


def test_a_label_line_keeps_the_lines_under_it(cut):
    name, doc, chunks = cut
    (holder,) = _holding(chunks, "Step 2 CK (current key metric)")
    assert "Programs read it as the best sign" in holder.text
    (bands,) = _holding(chunks, "Aim as high as you can")
    assert all(b in bands.text for b in ("250+: Competitive", "235–249: Realistic", "Below 225: Apply very broadly"))


def test_a_worked_example_stays_whole(cut):
    name, doc, chunks = cut
    (holder,) = _holding(chunks, "I failed my medicine shelf exam")
    for part in ("Cause:", "Insight:", "Change:", "I learned that I need active recall", "I now use question banks daily"):
        assert part in holder.text, (name, part)


def test_a_long_list_splits_between_items_with_its_lead_in_repeated(cut):
    name, doc, chunks = cut
    lead = "Work through this checklist for every program on your list:"
    holders = _holding(chunks, lead)
    assert len(holders) >= 2, (name, [c.words for c in holders])
    for item in LONG_ITEMS:
        assert sum(item in c.text for c in chunks) == 1, (name, item)  # whole, and once
    assert all(c.text.startswith(lead) for c in holders)
    assert all(c.words <= PASSAGE_MAX_WORDS for c in holders)


def test_headings_are_searchable_but_not_shown(cut):
    name, doc, chunks = cut
    (holder,) = _holding(chunks, "Use these steps whenever you explain a failure")
    assert holder.section == "Framing an Exam Failure: A Simple 3-Step Template"
    assert holder.section in holder.embed_text
    assert not holder.text.startswith("Framing an Exam Failure")


def test_an_faq_answer_carries_its_question(cut):
    name, doc, chunks = cut
    (holder,) = _holding(chunks, "Most non-US IMGs who need a visa apply to 80 to 120 programs")
    assert holder.text.startswith("How many internal medicine programs should a non-US IMG apply to?")
    units = split_units(holder.text, holder.section)
    assert units and not any(u["text"].endswith("?") for u in units)


def test_nested_items_remember_what_they_are_under(cut):
    name, doc, chunks = cut
    (holder,) = _holding(chunks, STEPS[1][1][1])
    units = split_units(holder.text, holder.section)
    unit = next(u for u in units if u["text"] == STEPS[1][1][1])
    assert unit["lead_in"] == STEPS[1][0], (name, unit)


# ---------------------------------------------------------------- the shipped guides


SHIPPED = {d.source: d for d in load_corpus([ROOT / "corpus"])}


@pytest.mark.parametrize("source", sorted(SHIPPED))
def test_shipped_guides_follow_the_rules(source):
    chunks = chunk_document(SHIPPED[source])
    check_rules(chunks)


def test_the_radiology_4_step_template_is_one_passage():
    chunks = chunk_document(SHIPPED["non-us-img-radiology-red-flags"])
    steps = ["State the Issue Clearly", "Briefly Explain Contributing Factors", "Highlight Actions You Took to Improve",
             "Show Evidence That the Problem Is Resolved"]
    holders = [c for c in chunks if any(s in c.text for s in steps)]
    assert len(holders) == 1
    assert all(s in holders[0].text for s in steps)
    assert holders[0].text.startswith("Use this structure when addressing any red flag")
    assert holders[0].section == "Framing Red Flags: A Simple 4-Step Template"
