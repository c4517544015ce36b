"""Cleaning and metadata: web-page furniture never reaches the index; rules are data, not code."""

import json

import pytest

from assistant.ingestion.corpus import CleaningRules, clean_text, infer_metadata, load_corpus, load_document, read_raw
from assistant.errors import DocumentError
from tests.conftest import ROOT

FURNITURE = ["SmartPick", "Residency Advisor Logo", "Related Articles", "100% free to try", "with mentor - non-US citizen IMG for"]


def test_bundled_guides_have_manifest_metadata():
    docs = {d.source: d for d in load_corpus([ROOT / "corpus"])}
    assert set(docs) == {p.stem for p in (ROOT / "corpus").glob("*.txt")}
    assert len(docs) == 5
    r = docs["non-us-img-radiology-red-flags"]
    assert (r.audience, r.specialty) == ("non-us-img", "radiology")
    assert r.title.startswith("Essential Guide for Non-US Citizen IMGs")
    assert docs["img-medical-genetics-low-step-scores"].audience == "any"


@pytest.mark.parametrize("name", [p.name for p in sorted((ROOT / "corpus").glob("*.txt"))])
def test_cleaning_removes_furniture_and_keeps_content(name):
    raw = (ROOT / "corpus" / name).read_text(encoding="utf-8")
    text, removed = clean_text(raw)
    for junk in FURNITURE:
        assert junk not in text
    assert removed.get("advertisement", 0) >= 3
    # content survives: the last FAQ heading of every guide is still there
    last_question = [l for l in raw.splitlines() if l.strip().endswith("?")][-1].strip()
    assert last_question.lstrip("0123456789. ") in text


def test_radiology_page_furniture_rules_each_fire():
    raw = (ROOT / "corpus" / "non-us-img-radiology-red-flags.txt").read_text(encoding="utf-8")
    _, removed = clean_text(raw)
    for rule in ("logo", "keyword-line", "image-caption", "advertisement"):
        assert removed.get(rule, 0) >= 1, rule
    assert removed["image-caption"] == 3
    text, removed = clean_text("Advice line.\nRelated Articles\nAnother page title")
    assert text == "Advice line." and removed == {"related-articles": 2}


def test_rules_are_data(tmp_path):
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"version": 9, "cut_from": [{"name": "footer", "pattern": "^FOOTER$"}], "drop_lines": [{"name": "promo", "pattern": "^BUY NOW"}]}))
    text, removed = clean_text("Keep me.\nBUY NOW cheap!\nAlso keep.\nFOOTER\nGone.", CleaningRules.load(rules_file))
    assert text == "Keep me.\nAlso keep."
    assert removed == {"promo": 1, "footer": 2}


def test_metadata_inferred_for_new_guides():
    m = infer_metadata("non-us-img-internal-medicine-visas", "A Visa Guide for IMGs\nSome text.")
    assert (m["audience"], m["specialty"], m["title"]) == ("non-us-img", "internal-medicine", "A Visa Guide for IMGs")
    m = infer_metadata("notes", "Interview tips\nFor every applicant.")
    assert (m["audience"], m["specialty"]) == ("any", "any")


def test_unreadable_documents_raise_document_error(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "x.docx").write_text("hi")
    for name in ("bin.txt", "latin1.txt", "x.docx"):
        with pytest.raises(DocumentError):
            read_raw(tmp_path / name)


def test_html_guides_drop_scripts(tmp_path):
    f = tmp_path / "page.html"
    f.write_text("<html><head><script>alert(1)</script><style>p{}</style></head><body><h1>Gap Guide</h1><p>Explain gaps &amp; show <b>growth</b>.</p></body></html>")
    doc = load_document(f)
    assert "alert" not in doc.text and "p{}" not in doc.text
    assert "Explain gaps & show growth." in doc.text
    assert doc.title == "Gap Guide"


def test_load_corpus_skips_bad_files_with_warning(tmp_path):
    (tmp_path / "good.md").write_text("# Good Guide\nUseful advice about interviews.\n")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    warnings = []
    docs = load_corpus([tmp_path], warn=warnings.append)
    assert [d.source for d in docs] == ["good"]
    assert len(warnings) == 1 and "bad.txt" in warnings[0]


def test_markdown_title_loses_its_heading_marker():
    m = infer_metadata("peds-interviews", "# Pediatrics Interviews for IMGs\n\nSome advice.")
    assert m["title"] == "Pediatrics Interviews for IMGs"
