"""Integrity checks for the gold evaluation dataset (evals/gold.jsonl).

Stdlib + pytest only: this test deliberately does not import the project, so the
dataset can be validated even when the application code is broken.
See evals/README.md for the format.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold.jsonl"
CORPUS = ROOT / "corpus"

AUDIENCES = {"us-img", "non-us-img"}
SPECIALTIES = {"medical-genetics", "radiology"}

# Keys allowed per record kind (required ⊆ allowed).
REQUIRED = {
    "single": {"id", "question", "source", "evidence", "facts", "answerable"},
    "multi": {"id", "turns", "source", "evidence", "facts", "answerable"},
    "conflict": {"id", "question", "answerable", "conflict", "sources", "source", "evidence", "facts"},
    "unanswerable": {"id", "question", "answerable"},
}
OPTIONAL = {"audience", "specialty"}
ID_PREFIX = {"single": "g", "multi": "m", "conflict": "c", "unanswerable": "u"}

MIN_ANSWERABLE = 80
MIN_UNANSWERABLE = 10
MIN_CONFLICT = 1
MIN_MULTI = 6
MIN_PER_GUIDE = 14
MIN_PROFILE_SHARE = 0.25
EVIDENCE_WORDS = (4, 20)  # 6-20 is the target; 4 allowed where the source line itself is that short

# Lines that are page furniture (logo, keyword strip, image captions, advert, related links):
# evidence must never come from them.
FURNITURE = re.compile(
    r"SmartPick|Take the guesswork|100% free to try|^Related Articles$|^overview$|"
    r"Residency Advisor Logo|^non-US citizen IMG foreign national medical graduate radiology residency|"
    r" - non-US citizen IMG for Addressing"
)

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_TRANS = {ord(c): "-" for c in _DASHES}
_TRANS.update({ord(c): "'" for c in "\u2018\u2019\u201a\u201b"})
_TRANS.update({ord(c): '"' for c in "\u201c\u201d\u201e\u201f"})


def norm(text: str) -> str:
    """Fact matching normalisation: unicode dashes/hyphens -> '-', curly -> straight
    quotes, whitespace collapsed, lower-cased."""
    return re.sub(r"\s+", " ", text.translate(_TRANS)).strip().lower()


def kind_of(rec: dict) -> str:
    if rec.get("answerable") is False:
        return "unanswerable"
    if rec.get("conflict"):
        return "conflict"
    if "turns" in rec:
        return "multi"
    return "single"


def load_records() -> list[dict]:
    records = []
    for lineno, line in enumerate(GOLD.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - reported by the test
            pytest.fail(f"gold.jsonl line {lineno} is not valid JSON: {exc}")
        assert isinstance(rec, dict), f"line {lineno}: not a JSON object"
        records.append(rec)
    return records


@pytest.fixture(scope="module")
def records() -> list[dict]:
    assert GOLD.is_file(), f"missing {GOLD}"
    return load_records()


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    files = sorted(CORPUS.glob("*.txt"))
    assert files, f"no corpus files in {CORPUS}"
    return {p.stem: p.read_text(encoding="utf-8") for p in files}


def rec_sources(rec: dict) -> list[str]:
    return list(rec["sources"]) if rec.get("conflict") else [rec["source"]]


def lines_containing(text: str, phrase: str) -> list[str]:
    return [ln for ln in text.split("\n") if phrase in ln]


# --------------------------------------------------------------------------- structure


def test_file_is_utf8_jsonl_without_blank_lines():
    raw = GOLD.read_bytes()
    raw.decode("utf-8")  # raises if not UTF-8
    lines = raw.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    assert all(ln.strip() for ln in lines), "blank lines in gold.jsonl"
    for i, ln in enumerate(lines, 1):
        json.loads(ln)  # one complete JSON object per line


def test_required_and_known_fields(records):
    for rec in records:
        rid = rec.get("id", "<no id>")
        kind = kind_of(rec)
        keys = set(rec)
        missing = REQUIRED[kind] - keys
        unknown = keys - REQUIRED[kind] - OPTIONAL
        assert not missing, f"{rid} ({kind}): missing fields {sorted(missing)}"
        assert not unknown, f"{rid} ({kind}): unknown fields {sorted(unknown)}"

        assert isinstance(rec["id"], str) and rec["id"].strip(), f"{rid}: id must be a non-empty string"
        assert rec["id"].startswith(ID_PREFIX[kind]), f"{rid}: {kind} ids start with {ID_PREFIX[kind]!r}"
        assert isinstance(rec["answerable"], bool), f"{rid}: answerable must be a boolean"
        if "question" in rec:
            assert isinstance(rec["question"], str) and rec["question"].strip(), f"{rid}: empty question"
        if kind == "multi":
            turns = rec["turns"]
            assert isinstance(turns, list) and len(turns) >= 2, f"{rid}: turns needs >= 2 user turns"
            assert all(isinstance(t, str) and t.strip() for t in turns), f"{rid}: empty turn"
            assert "question" not in rec, f"{rid}: multi-turn records use 'turns', not 'question'"
        if "audience" in rec:
            assert rec["audience"] in AUDIENCES, f"{rid}: audience {rec['audience']!r}"
        if "specialty" in rec:
            assert rec["specialty"] in SPECIALTIES, f"{rid}: specialty {rec['specialty']!r}"

        if kind == "unanswerable":
            continue
        assert rec["answerable"] is True
        assert isinstance(rec["source"], str) and rec["source"], f"{rid}: source"
        ev, facts = rec["evidence"], rec["facts"]
        assert isinstance(ev, list) and ev, f"{rid}: evidence must be a non-empty list"
        assert all(isinstance(e, str) and e.strip() for e in ev), f"{rid}: empty evidence phrase"
        assert isinstance(facts, list) and 1 <= len(facts) <= 3, f"{rid}: facts must be a list of 1-3 strings"
        assert all(isinstance(f, str) and f.strip() for f in facts), f"{rid}: empty fact"
        if kind == "conflict":
            assert rec["conflict"] is True
            srcs = rec["sources"]
            assert isinstance(srcs, list) and len(srcs) >= 2, f"{rid}: conflict needs >= 2 sources"
            assert len(set(srcs)) == len(srcs), f"{rid}: duplicate sources"
            assert rec["source"] in srcs, f"{rid}: source must be one of sources"
            assert len(ev) >= len(srcs), f"{rid}: need an evidence phrase per source"
        else:
            assert len(ev) <= 2, f"{rid}: at most 2 evidence phrases"


def test_ids_unique(records):
    dupes = [i for i, n in Counter(r["id"] for r in records).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_questions_unique(records):
    qs = [norm(r.get("question") or " / ".join(r["turns"])) for r in records]
    dupes = [q for q, n in Counter(qs).items() if n > 1]
    assert not dupes, f"duplicate questions: {dupes}"


def test_minimum_counts(records):
    kinds = Counter(kind_of(r) for r in records)
    answerable = sum(1 for r in records if r["answerable"])
    assert answerable >= MIN_ANSWERABLE, f"{answerable} answerable < {MIN_ANSWERABLE}"
    assert kinds["unanswerable"] >= MIN_UNANSWERABLE, kinds
    assert kinds["conflict"] >= MIN_CONFLICT, kinds
    assert kinds["multi"] >= MIN_MULTI, kinds


# --------------------------------------------------------------------------- grounding


def test_sources_exist(records, corpus):
    for rec in records:
        if not rec["answerable"]:
            continue
        for src in rec_sources(rec) + [rec["source"]]:
            assert src in corpus, f"{rec['id']}: unknown source {src!r} (corpus: {sorted(corpus)})"


def test_evidence_is_verbatim_single_line_and_not_furniture(records, corpus):
    lo, hi = EVIDENCE_WORDS
    for rec in records:
        if not rec["answerable"]:
            continue
        srcs = rec_sources(rec)
        covered = set()
        for phrase in rec["evidence"]:
            assert "\n" not in phrase, f"{rec['id']}: evidence spans lines: {phrase!r}"
            assert lo <= len(phrase.split()) <= hi, f"{rec['id']}: evidence should be {lo}-{hi} words: {phrase!r}"
            hits = [s for s in srcs if phrase in corpus[s]]
            assert hits, f"{rec['id']}: evidence not verbatim in {srcs}: {phrase!r}"
            covered.update(hits)
            content_lines = [
                ln for s in hits for ln in lines_containing(corpus[s], phrase) if not FURNITURE.search(ln.strip())
            ]
            assert content_lines, f"{rec['id']}: evidence only found in page furniture: {phrase!r}"
        if rec.get("conflict"):
            assert covered == set(srcs), f"{rec['id']}: every conflicting source needs evidence (got {covered})"


def test_facts_in_source_and_evidence(records, corpus):
    for rec in records:
        if not rec["answerable"]:
            continue
        srcs = rec_sources(rec)
        norm_sources = " ".join(norm(corpus[s]) for s in srcs)
        # the evidence phrases and the full source lines they sit on
        context = []
        for phrase in rec["evidence"]:
            context.append(norm(phrase))
            for s in srcs:
                context.extend(norm(ln) for ln in lines_containing(corpus[s], phrase))
        for fact in rec["facts"]:
            nf = norm(fact)
            assert nf in norm_sources, f"{rec['id']}: fact {fact!r} not in {srcs}"
            assert any(nf in c for c in context), f"{rec['id']}: fact {fact!r} not in evidence or its line"


def test_questions_are_paraphrased(records, corpus):
    everything = " ".join(norm(t) for t in corpus.values())
    for rec in records:
        for q in [rec["question"]] if "question" in rec else rec["turns"]:
            core = norm(q).rstrip("?.! ")
            assert core not in everything, f"{rec['id']}: question copied verbatim from a guide: {q!r}"


# --------------------------------------------------------------------------- coverage


def test_every_guide_is_covered(records, corpus):
    per_guide = Counter()
    for rec in records:
        if rec["answerable"]:
            for s in set(rec_sources(rec)):
                per_guide[s] += 1
    for stem in corpus:
        assert per_guide[stem] >= MIN_PER_GUIDE, f"{stem}: only {per_guide[stem]} questions"


def test_profile_specific_share(records):
    answerable = [r for r in records if r["answerable"]]
    profiled = [r for r in answerable if r.get("audience") or r.get("specialty")]
    share = len(profiled) / len(answerable)
    assert share >= MIN_PROFILE_SHARE, f"only {share:.0%} of answerable records carry audience/specialty"
