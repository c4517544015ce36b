"""Cleaning by shape: page furniture is dropped from guides the project has never seen.

Every page here is written by the test itself (pediatrics and internal medicine,
which the bundled corpus does not cover), in the publisher's two layouts (1: plain
lines with "- " bullets; 2: indented "1." items with "•" bullets), as HTML and as
Markdown. Each carries a keyword strip, a logo line, an image caption cut mid-word,
an advertisement block and a "Related Articles" list, none of them matching the
bundled guides' strings, plus near-miss lines that look a little like furniture
but are advice and must stay.
"""

from __future__ import annotations

import functools
import json
import re

import pytest

from assistant.errors import AdvisorError
from assistant.ingestion.corpus import CleaningRules, clean_text, load_document
from tests.conftest import ROOT

# ------------------------------------------------------------------ page 1: pediatrics, layout 1
# (kind, text). Kinds: F = furniture (must vanish), K = advice (must stay, its text unchanged),
# G = a line with a glued label (must be split at the label).
PEDS = [
    ("F", "MatchWise Logo MatchWise"),
    ("K", "Essential Guide for US Citizen IMGs Applying to Pediatrics Residency"),
    ("F", "US citizen IMG American studying abroad pediatrics residency peds match how to apply letters of recommendation pediatric programs"),
    ("F", "Pediatrics resident examining a toddler during clinic rounds as a US citizen IMG in Pediatrics Resid"),
    ("K", "Why Pediatrics Programs Look Closely at US Citizen IMGs"),
    ("K", "As an American studying abroad, you bring adaptability that pediatric teams value, but programs will still ask why you trained overseas."),
    ("K", "Program directors in pediatrics look for:"),
    ("K", "- Warm, clear communication with children and parents"),
    ("K", "- Reliability on busy inpatient wards and in the newborn nursery"),
    ("K", "- Evidence of sustained interest in child health"),
    ("K", "Show strong upward momentum on your Step 2 CK"),
    ("K", "A Step 2 CK score that improves on a weak Step 1 attempt tells programs your preparation now works."),
    ("K", "Strong Letters of Recommendation in Pediatrics"),
    ("K", "- Ask two US pediatric attendings who supervised you directly"),
    ("K", "- Give each writer your CV and a short list of the patients you cared for together"),
    ("K", "- Use your school logo on the letterhead only if the dean's office asks for it."),
    ("K", "Making the Most of the Peds Match"),
    ("K", "- Sign up for pediatric interest group webinars early in the season."),
    ("K", "- Apply to 60 to 80 programs if your scores are below the median"),
    ("K", "Example of an explanation:"),
    ("K", "Cause:"),
    ("G", "“I failed my pediatrics shelf exam because I studied passively and did not ask for help.”Insight:"),
    ("G", "“I learned that I need active recall and early feedback from faculty.”Change:"),
    ("K", "“I now use question banks daily, and I passed every later exam on the first attempt.”"),
    ("K", "How Pediatrics Programs Read an American Studying Abroad"),
    ("K", "Programs want to see that you chose your school deliberately and that you are ready for US clinical culture."),
    ("F", "Share"),
    ("F", "ResiRank - Your Pediatrics Program List, Sorted"),
    ("F", "ResiRank compares your profile with recent match outcomes so you can stop guessing."),
    ("F", "Start now: it is free to try and takes a minute to sign up."),
    ("F", "No credit card needed"),
    ("F", "Related Articles"),
    ("F", "How to Write a Pediatrics Personal Statement as an IMG"),
    ("F", "Pediatric Residency Interviews for US Citizen IMGs"),
]

# ------------------------------------------------------------------ page 2: internal medicine, layout 2
IM_LAYOUT2 = """\
MatchWise logo

Red Flag Guide for Non-US Citizen IMGs Applying to Internal Medicine Residency

Non-US citizen IMG foreign national internal medicine residency IM match red flags visa sponsorship exam attempts how to explain gaps

Internal medicine applicant reviewing a rank order list with a faculty mentor - non-US citizen IMG for Red Flag Guide for Non-US Citizen IMGs in Internal Med

Table of Contents

Internal medicine programs read red flags in context: how long ago the problem happened, what you learned, and what you have done since.

Common Red Flags in Internal Medicine Applications

  1. Exam Attempts

    • A failed Step 1 attempt needs a short, factual explanation
    • Programs that sponsor visas often screen for first-attempt passes

  2. Gaps After Graduation

    • Show what you did each month: research, observerships, teaching
    • Keep clinical skills current with US observerships in internal medicine

Inpatient team discussing a patient on morning rounds with a non-US citizen IMG in Internal Medic

Explaining a Gap in Internal Medicine Interviews

Describe the gap in one or two sentences, then spend the rest of your answer on what changed.

What Not to Do:

  • Do not blame your school or a supervisor.
  • Do not give a different explanation in each part of the application.

Visa Sponsorship and Red Flags

Needing an H-1B or J-1 visa is not a red flag by itself, but it narrows the list of programs; apply broadly to programs with a record of sponsoring IMGs.

Related Articles

Internal Medicine Residency Interview Questions for Non-US IMGs

Preliminary Year Options in Internal Medicine for Non-US IMGs

SmartPick - Build a Program List That Fits You

Match your scores and visa needs to programs in seconds.

* Free to try. Sign up with just an email.
"""

IM_FURNITURE = [
    "MatchWise logo",
    "Non-US citizen IMG foreign national internal medicine residency IM match red flags visa sponsorship exam attempts how to explain gaps",
    "Internal medicine applicant reviewing a rank order list with a faculty mentor - non-US citizen IMG for Red Flag Guide for Non-US Citizen IMGs in Internal Med",
    "Table of Contents",
    "Inpatient team discussing a patient on morning rounds with a non-US citizen IMG in Internal Medic",
    "Related Articles",
    "Internal Medicine Residency Interview Questions for Non-US IMGs",
    "Preliminary Year Options in Internal Medicine for Non-US IMGs",
    "SmartPick - Build a Program List That Fits You",
    "Match your scores and visa needs to programs in seconds.",
    "Free to try. Sign up with just an email.",
]
IM_ADVICE = [
    "Red Flag Guide for Non-US Citizen IMGs Applying to Internal Medicine Residency",
    "Internal medicine programs read red flags in context: how long ago the problem happened, what you learned, and what you have done since.",
    "Common Red Flags in Internal Medicine Applications",
    "1. Exam Attempts",
    "- A failed Step 1 attempt needs a short, factual explanation",
    "- Programs that sponsor visas often screen for first-attempt passes",
    "2. Gaps After Graduation",
    "- Show what you did each month: research, observerships, teaching",
    "- Keep clinical skills current with US observerships in internal medicine",
    "Explaining a Gap in Internal Medicine Interviews",
    "Describe the gap in one or two sentences, then spend the rest of your answer on what changed.",
    "What Not to Do:",
    "- Do not blame your school or a supervisor.",
    "- Do not give a different explanation in each part of the application.",
    "Visa Sponsorship and Red Flags",
    "Needing an H-1B or J-1 visa is not a red flag by itself, but it narrows the list of programs; apply broadly to programs with a record of sponsoring IMGs.",
]

# Words that only page furniture carries: none may reach a cleaned guide or a stored passage.
FURNITURE_MARKS = ["MatchWise", "ResiRank", "SmartPick", "Logo", "Related Articles", "free to try", "Free to try", "Table of Contents"]
GLUED_MARKS = ["”Insight:", "”Change:"]  # gone only where the glued-label rule is on (it is kept off in cleaning.json for now)


def _layout1(page) -> str:
    return "\n".join(text for _, text in page) + "\n"


def _html(page) -> str:
    """Page 1 as a web page: logo div, <h1>, keyword paragraph, <figure>, <h2> sections, <ul> lists, promo aside."""
    out = ["<html><head><title>Pediatrics guide</title><script>track()</script></head><body>"]
    rows = list(page)
    out.append(f'<div class="site-logo">{rows[0][1]}</div>')
    out.append(f"<h1>{rows[1][1]}</h1>")
    out.append(f'<p class="tags">{rows[2][1]}</p>')
    out.append(f'<figure><img src="toddler.jpg" alt="toddler"><figcaption>{rows[3][1]}</figcaption></figure>')
    in_list = False
    ad_start = next(i for i, (_, t) in enumerate(rows) if t.startswith("ResiRank"))
    for kind, text in rows[4:ad_start]:
        if text.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{text[2:]}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if kind == "F":
            out.append(f'<div class="share">{text}</div>')
        elif text.endswith((".", ":", "”")) or kind == "G":
            out.append(f"<p>{text}</p>")
        else:
            out.append(f"<h2>{text}</h2>")
    ad = [t for _, t in rows[ad_start:] if t != "Related Articles"][:4]
    out.append(f'<aside class="promo"><h3>{ad[0]}</h3><p>{ad[1]}</p><p>{ad[2]}</p><p>{ad[3]}</p></aside>')
    out.append("<h2>Related Articles</h2><ul>" + "".join(f'<li><a href="/a{i}">{t}</a></li>' for i, (_, t) in enumerate(rows[-2:])) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def _markdown(page) -> str:
    """Page 1 as Markdown: an image for the logo, #/## headings, an italic caption, "- " lists, a promo section."""
    rows = list(page)
    out = ["![MatchWise logo](/static/matchwise-logo.svg)", "", f"# {rows[1][1]}", "", rows[2][1], "", f"*{rows[3][1]}*", ""]
    ad_start = next(i for i, (_, t) in enumerate(rows) if t.startswith("ResiRank"))
    for kind, text in rows[4:ad_start]:
        if kind == "F" or text.startswith("- ") or text.endswith((".", ":", "”")) or kind == "G":
            out.append(text)
        else:
            out += ["", f"## {text}", ""]
    out += ["", f"### {rows[ad_start][1]}", ""] + [t for _, t in rows[ad_start + 1:ad_start + 4]]
    out += ["", "## Related Articles", ""] + [f"- [{t}](/articles/{i})" for i, (_, t) in enumerate(rows[-2:])]
    return "\n".join(out) + "\n"


def _with_glued_labels() -> CleaningRules:
    """The shipped rules with the ``glued-label`` rule switched on (cleaning.json keeps it ready but off: see its comment)."""
    data = json.loads((ROOT / "corpus" / "cleaning.json").read_text(encoding="utf-8"))
    for rule in data["split_lines"]:
        if rule.get("kind") == "glued-label":
            rule["enabled"] = True
    return CleaningRules.from_data(data, "cleaning.json + glued-label")


@functools.lru_cache(maxsize=1)
def glued_rules() -> CleaningRules:
    return _with_glued_labels()


def _assert_clean(doc, furniture, advice, glued=()):
    lines = doc.text.split("\n")
    for f in furniture:
        assert f not in doc.text, f"furniture kept in {doc.source}: {f!r}"
    for mark in FURNITURE_MARKS + (GLUED_MARKS if glued else []):
        assert mark not in doc.text, f"{mark!r} kept in {doc.source}"
    for a in advice:
        body = re.sub(r"^(?:- |\d\. )", "", a)
        assert body in doc.text, f"advice lost from {doc.source}: {a!r}"
    for g in glued:
        quote, label = g.rsplit("”", 1)
        assert quote + "”" in [re.sub(r"^- ", "", l) for l in lines], f"glued quote not on its own line: {g!r}"
        assert label in lines, f"glued label not on its own line: {label!r}"


def _peds_parts():
    furniture = [t for k, t in PEDS if k == "F"]
    advice = [t for k, t in PEDS if k == "K"]
    glued = [t for k, t in PEDS if k == "G"]
    return furniture, advice, glued


def test_layout1_page_loses_its_furniture_and_keeps_its_advice(tmp_path):
    f = tmp_path / "us-img-pediatrics-letters.txt"
    f.write_text(_layout1(PEDS), encoding="utf-8")
    doc = load_document(f, rules=glued_rules())
    furniture, advice, glued = _peds_parts()
    _assert_clean(doc, furniture, advice, glued)
    assert doc.title == "Essential Guide for US Citizen IMGs Applying to Pediatrics Residency"
    assert doc.text.endswith("ready for US clinical culture.")  # cut from the first line of the promo


def test_layout2_page_loses_its_furniture_and_keeps_its_advice(tmp_path):
    f = tmp_path / "non-us-img-internal-medicine-red-flags.txt"
    f.write_text(IM_LAYOUT2, encoding="utf-8")
    doc = load_document(f)
    _assert_clean(doc, IM_FURNITURE, IM_ADVICE)
    assert doc.title == "Red Flag Guide for Non-US Citizen IMGs Applying to Internal Medicine Residency"
    assert (doc.audience, doc.specialty) == ("non-us-img", "internal-medicine")


def test_html_page_loses_its_furniture(tmp_path):
    f = tmp_path / "us-img-pediatrics-letters-web.html"
    f.write_text(_html(PEDS), encoding="utf-8")
    doc = load_document(f, rules=glued_rules())
    furniture, advice, glued = _peds_parts()
    _assert_clean(doc, furniture, advice, glued)
    assert "track()" not in doc.text
    assert doc.title == "Pediatrics guide" or doc.title.startswith("Essential Guide")


def test_markdown_page_loses_its_furniture(tmp_path):
    f = tmp_path / "us-img-pediatrics-letters-notes.md"
    f.write_text(_markdown(PEDS), encoding="utf-8")
    doc = load_document(f, rules=glued_rules())
    furniture, advice, glued = _peds_parts()
    _assert_clean(doc, furniture, advice, glued)
    assert "/static/" not in doc.text and "/articles/" not in doc.text


@pytest.mark.parametrize("drop", ["promo", "related"])
def test_each_cut_fires_on_its_own(drop):
    """Promo block and "Related Articles" list are each recognised without the other one."""
    related = PEDS[[t for _, t in PEDS].index("Related Articles"):]
    peds = [row for row in PEDS if row not in related] if drop == "related" else [row for row in PEDS if not row[1].startswith(("ResiRank", "Start now", "No credit"))]
    text, removed = clean_text(_layout1(peds))
    assert text.endswith("ready for US clinical culture."), removed
    head, rest = IM_LAYOUT2.split("Related Articles\n")
    related_list, promo = rest.split("SmartPick")
    im = head + "Related Articles\n" + related_list if drop == "promo" else head + "SmartPick" + promo
    text, removed = clean_text(im)
    assert text.endswith("record of sponsoring IMGs."), removed
    assert ("related-articles" if drop == "promo" else "advertisement") in removed, removed


def test_glued_labels_are_split():
    text, _ = clean_text(rules=glued_rules(), raw=
        "Cause:\n"
        "“I missed two deadlines because I relied on memory.”Insight:\n"
        "“I learned to write every deadline down the day I hear it.”Change/Productivity:\n"
        "- The plan was reviewed.”Next Steps: send it to your advisor.\n"
        "Programs in the U.S. value this: honesty.\n"
        'Say "Note: this is a quote" aloud.\n'
        "Finish the year.Then:"
    )
    assert text.split("\n") == [
        "Cause:",
        "“I missed two deadlines because I relied on memory.”",
        "Insight:",
        "“I learned to write every deadline down the day I hear it.”",
        "Change/Productivity:",
        "- The plan was reviewed.”",
        "Next Steps: send it to your advisor.",
        "Programs in the U.S. value this: honesty.",
        'Say "Note: this is a quote" aloud.',
        "Finish the year.",
        "Then:",
    ]


def test_the_reported_keyword_strip_is_dropped():
    """The strip that reached an answer (from the issue), on an internal medicine page of the same publisher."""
    strip = "US citizen IMG American studying abroad internal medicine residency IM match how to research programs program research strategy"
    raw = "\n".join([
        "Essential Guide for US Citizen IMGs: How to Research Internal Medicine Residency Programs",
        strip,
        "Understanding the Internal Medicine Match as an American Studying Abroad",
        "Internal medicine offers more positions to IMGs than any other specialty, so a focused program research strategy pays off.",
        "Building Your Program Research Strategy",
        "- Start with programs that took US citizen IMGs in the last three years",
    ])
    text, removed = clean_text(raw)
    assert strip not in text and removed == {"keyword-line": 1}
    assert text.split("\n")[0].startswith("Essential Guide") and len(text.split("\n")) == 5


def test_near_miss_lines_are_kept():
    """Lines that share one trait with furniture, but not its shape, are advice."""
    keep = [
        "Essential Guide for US Citizen IMGs Applying to Internal Medicine Residency",
        "Internal medicine is the largest specialty in the match, and it takes many IMGs each year.",
        "How program directors in internal medicine read a failed Step 1 attempt",
        "Strong letters from internal medicine faculty outweigh a weak Step 1 score",
        "- Residency programs in pediatrics and internal medicine that sponsor visas",
        "- Sign up for a Step 2 CK question bank early, and start now rather than in June.",
        "Ask whether the hospital logo can appear on your research poster.",
        "Choosing Between Community and University Internal Medicine Program",
        "Internal medicine programs value clear, timely communication",
    ]
    raw = "\n".join(keep + ["Residents discuss internal medicine programs and their university affiliations."])
    text, removed = clean_text(raw)
    assert text.split("\n")[: len(keep)] == keep, removed
    assert removed == {}


def test_shipped_guides_lose_only_their_furniture():
    """The shape rules fire on the bundled guides exactly where the old string rules did."""
    expected = {
        "non-us-img-radiology-red-flags": {"logo": 1, "keyword-line": 1, "image-caption": 3, "page-furniture": 1, "advertisement": 5},
    }
    expected["non-us-img-medical-genetics-step-scores"] = {"advertisement": 4, "repeated-lead-in": 4}  # flattened nested lists
    expected["us-img-medical-genetics-program-research"] = {"advertisement": 4, "repeated-lead-in": 8}
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        _, removed = clean_text(path.read_text(encoding="utf-8"))
        assert removed == expected.get(path.stem, {"advertisement": 4}), path.stem


def test_a_flattened_list_loses_the_repeated_lead_in_only():
    page = "\n".join([
        "Word of Mouth",
        "- Talk to:",
        "- Residents you meet at conferences",
        "- Alumni who matched in pediatrics",
        "- Talk to:",
        "Later in the season",
        "- Talk to:",  # after other text: a lead-in of its own, with its own items
        "- Your own letter writers",
    ] + ["- filler line number %d" % n for n in range(12)] + ["- Talk to:", "- Program coordinators"])
    text, removed = clean_text(page)
    assert removed == {"repeated-lead-in": 1}, removed
    lines = text.split("\n")
    assert lines[:7] == ["Word of Mouth", "- Talk to:", "- Residents you meet at conferences", "- Alumni who matched in pediatrics",
                         "Later in the season", "- Talk to:", "- Your own letter writers"]
    assert lines[-2:] == ["- Talk to:", "- Program coordinators"]


def test_a_bad_rule_is_one_line_naming_the_file(tmp_path):
    good = json.loads((ROOT / "corpus" / "cleaning.json").read_text(encoding="utf-8"))
    cases = {
        "unknown-kind": lambda d: d["drop_lines"].append({"name": "x", "kind": "sparkle", "comment": "?"}),
        "bad-param": lambda d: next(r for r in d["drop_lines"] if r.get("kind") == "keyword-strip").update(min_words="eight"),
        "bad-regex": lambda d: d["cut_from"].append({"name": "broken", "pattern": "(unclosed"}),
        "unknown-field": lambda d: d["replace"][0].update(patern="x"),
        "no-name": lambda d: d["drop_lines"].append({"pattern": "^x$"}),
    }
    for case, spoil in cases.items():
        data = json.loads(json.dumps(good))
        spoil(data)
        f = tmp_path / f"{case}.json"
        f.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(AdvisorError) as info:
            CleaningRules.load(f)
        msg = str(info.value)
        assert str(f) in msg and "\n" not in msg, (case, msg)
    f = tmp_path / "not-json.json"
    f.write_text("{", encoding="utf-8")
    with pytest.raises(AdvisorError, match="not-json.json"):
        CleaningRules.load(f)


def test_shipped_rules_file_uses_every_shape_kind():
    rules = json.loads((ROOT / "corpus" / "cleaning.json").read_text(encoding="utf-8"))
    kinds = {r.get("kind", "regex") for section in ("cut_from", "drop_lines", "replace", "split_lines") for r in rules.get(section, [])}
    assert {"promo-block", "logo-line", "keyword-strip", "truncated-caption"} <= kinds
    assert glued_rules().split_lines  # the glued-label rule kept ready in the file's comment is valid
    for section in ("cut_from", "drop_lines", "replace", "split_lines"):
        for r in rules.get(section, []):
            assert r.get("name") and r.get("comment"), r
    CleaningRules.load()  # the shipped file validates


def test_ingested_passages_hold_no_furniture(tmp_path, fresh_home):
    from assistant.ingestion import ingest
    from assistant.store import IndexState, expand_copies, load_chunk_table

    folder = tmp_path / "user-guides"
    folder.mkdir()
    (folder / "us-img-pediatrics-letters.txt").write_text(_layout1(PEDS), encoding="utf-8")
    (folder / "non-us-img-internal-medicine-red-flags.txt").write_text(IM_LAYOUT2, encoding="utf-8")
    (folder / "us-img-pediatrics-letters-web.html").write_text(_html(PEDS), encoding="utf-8")
    (folder / "us-img-pediatrics-letters-notes.md").write_text(_markdown(PEDS), encoding="utf-8")
    ingest([folder], settings=fresh_home)
    state = IndexState.read(fresh_home)
    rows = expand_copies(load_chunk_table(state.gen_dir(fresh_home)))
    mine = [r for r in rows if r["source"] in {p.stem for p in folder.iterdir()}]
    assert {r["source"] for r in mine} == {p.stem for p in folder.iterdir()}
    furniture = [t for k, t in PEDS if k == "F"] + IM_FURNITURE
    for r in rows:  # the bundled guides' passages too
        stored = " ".join(str(v) for v in r.values() if isinstance(v, str))
        for mark in FURNITURE_MARKS + ["Residency Advisor"]:
            assert mark not in stored, (r["source"], mark)
    for r in mine:
        stored = " ".join(str(v) for v in r.values() if isinstance(v, str))
        for f in furniture:
            assert f not in stored, (r["source"], f)
    text = "\n".join(r["text"] for r in mine)
    assert "Give each writer your CV" in text and "Needing an H-1B or J-1 visa" in text
