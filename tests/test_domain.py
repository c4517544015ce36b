"""One vocabulary: a third specialty added through the data file alone reaches every stage that takes a profile.

The test writes its own copy of ``assistant/data/domain.json`` with a pediatrics
entry and points ``ADVISOR_DOMAIN_FILE`` at it (no code is changed), then shows that
the retrieval profile accepts "Pediatrics" and its aliases, a guide about pediatrics
is tagged with it at ingest, and a strict profile filter keeps only that guide and
the guides written for every specialty. Drafting and the audit are covered in
tests/test_writing_rules.py.
"""

from __future__ import annotations

import json

import pytest

from assistant import domain
from assistant.domain import DATA_DIR

PEDS_GUIDE = """Pediatrics Residency Guide for International Medical Graduates

Letters for pediatrics
Pediatrics program directors want letters from US pediatric attendings who watched you examine children and talk with their parents.

Choosing pediatrics programs
Apply broadly to community pediatrics programs that have matched international graduates before, and check each program's visa policy.
"""


@pytest.fixture()
def with_pediatrics(tmp_path, monkeypatch):
    data = json.loads((DATA_DIR / "domain.json").read_text(encoding="utf-8"))
    data["specialties"]["pediatrics"] = {
        "name": "Pediatrics",
        "aliases": ["peds", "general pediatrics"],
        "question_words": ["pediatrics", "peds", "pediatrician"],
        "pattern": "(?:general\\s+)?pediatrics",
        "guide_keys": ["pediatrics", "pediatric"],
    }
    data["other_specialties"].pop("pediatrics", None)
    f = tmp_path / "domain.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("ADVISOR_DOMAIN_FILE", str(f))
    domain.load.cache_clear()
    yield domain.vocabulary()
    monkeypatch.delenv("ADVISOR_DOMAIN_FILE")
    domain.load.cache_clear()


def test_the_shipped_vocabulary_has_two_specialties_and_two_audiences():
    v = domain.vocabulary()
    assert list(v.specialties) == ["medical-genetics", "radiology"]
    assert [s.name for s in v.specialties.values()] == ["Medical genetics", "Diagnostic radiology"]
    assert list(v.audiences) == ["us-img", "non-us-img"]
    assert v.canonical_specialty("Diagnostic Radiology") == "radiology" and v.canonical_specialty("genetics") == "medical-genetics"
    assert v.canonical_specialty("pediatrics") is None


def test_a_third_specialty_is_accepted_by_the_retrieval_profile(with_pediatrics):
    from assistant.retrieval import normalize_profile

    assert "pediatrics" in with_pediatrics.specialties
    assert normalize_profile("non-us", "Peds") == ("non-us-img", "pediatrics")
    assert normalize_profile(None, "General Pediatrics") == (None, "pediatrics")


def test_a_third_specialty_tags_its_guide_and_filters_search(with_pediatrics, fresh_home, tmp_path):
    from assistant.ingestion import ingest, library
    from assistant.retrieval import Retriever

    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "img-pediatrics-letters.txt").write_text(PEDS_GUIDE, encoding="utf-8")
    ingest([folder], settings=fresh_home)
    docs = {d["source"]: d for d in library(fresh_home)}
    assert docs["img-pediatrics-letters"]["specialty"] == "pediatrics"
    hits = Retriever(fresh_home).search("who should write my letters of recommendation", k=8, specialty="peds", strict=True)
    assert hits and hits[0].source == "img-pediatrics-letters"
    assert {h.specialty for h in hits} <= {"pediatrics", "any"}


def test_a_malformed_domain_file_is_one_line(tmp_path, monkeypatch):
    from assistant.errors import InputError

    f = tmp_path / "domain.json"
    f.write_text('{"audiences": {}, "specialties": {"x": {"name": "X", "pattern": "("}}}', encoding="utf-8")
    monkeypatch.setenv("ADVISOR_DOMAIN_FILE", str(f))
    domain.load.cache_clear()
    try:
        with pytest.raises(InputError, match="domain file"):
            domain.vocabulary()
    finally:
        monkeypatch.delenv("ADVISOR_DOMAIN_FILE")
        domain.load.cache_clear()
