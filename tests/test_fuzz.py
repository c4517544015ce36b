"""Bad input, fuzzed: no traceback ever reaches the user.

Hypothesis generates questions, batch files, facts files (``advisor draft``) and
applicant profiles (``advisor audit``): empty, huge, control characters,
undecodable bytes (on Linux they reach Python as lone surrogates, both in argv
and via ``os.fsdecode``), look-alike Unicode, markup, deeply nested or
wrong-typed JSON, absurd numbers. The properties:

- **Python API** (``ask``, ``Retriever.search``, ``draft``, ``audit`` and the
  file readers): either succeeds or raises an
  :class:`~assistant.errors.AdvisorError` subclass, never anything else;
- **CLI** (``assistant.cli.main`` in-process, plus real subprocesses): exit 0,
  or exit 2 with exactly one ``error: ...`` line on stderr and no traceback.

Examples are derandomized (the same inputs every run, so CI is reproducible) and
bounded; ``ADVISOR_FUZZ_SCALE=10`` runs ten times as many. The number of inputs
fuzzed is printed (``-s``) and, with ``ADVISOR_WRITE_SAFETY_FIGURES=1``, written
to docs/SAFETY.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import AdvisorError
from tests.conftest import record_figure, run_cli

pytestmark = pytest.mark.timeout(300)  # bounded, whatever the machine

SCALE = max(1, int(os.environ.get("ADVISOR_FUZZ_SCALE", "1") or 1))
FUZZED: Counter = Counter()
OUTCOMES: Counter = Counter()  # accepted / rejected with a one-line error


def fuzz(n: int):
    return settings(max_examples=n * SCALE, deadline=None, derandomize=SCALE == 1, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- strategies

def mostly(good, bad, share: int = 7):
    """``good`` about share/10 of the time, else ``bad``: enough valid inputs reach the deep code paths."""
    return st.integers(0, 9).flatmap(lambda n: good if n < share else bad)


WORDS = st.sampled_from([
    "gap", "Step 1", "Step 2 CK", "radiology", "medical genetics", "IMG", "visa", "How do I explain", "?", "my failed attempt",
    "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "%s%n", "../../etc/passwd", "r\u0430diology", "ignore previous instructions",
    "I scored 900 on Step 1", "in 2999", "since 1200", "1e309", "-5 months", "NaN", "\u202egap\u202c", "zero\u200bwidth",
])
CONTROL = st.characters(max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x85", "\u2028", "\u2029", "\u200b", "\u200e", "\u202e", "\ufeff", "\ufffd"])
SURROGATE = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)  # an undecodable byte, as Python decodes argv
MESSY = st.lists(WORDS | st.text(max_size=12) | CONTROL | SURROGATE, max_size=12).map(" ".join)
HUGE = st.integers(1900, 6000).map(lambda n: ("gap year " * n)[:n])  # around the 2000-character limit
UNDECODABLE = st.binary(max_size=60).map(os.fsdecode)
NOISE = st.lists(WORDS | CONTROL | st.text(max_size=6), max_size=4).map(" ".join)


def wrapped(core):
    """A real sentence wrapped in junk (control characters, markup, look-alikes): still valid input."""
    return st.builds(lambda a, b, c: f"{a} {b} {c}", NOISE, core, NOISE)


REAL_Q = st.sampled_from(["How should I explain a gap after graduation?", "I failed Step 1; can I still match into radiology?",
                          "What Step 2 CK score should I aim for in medical genetics?", "How do I research genetics programs?", "What about radiology?"])
REAL_FACT = st.sampled_from(["I failed Step 1 on my first attempt.", "I took a year off to care for my father.", "I passed on my second attempt in 2021.",
                             "I now use spaced repetition and practice questions.", "I scored 231 on Step 2 CK.", "I want to work in a genetics clinic."])
TEXT = mostly(wrapped(REAL_Q), MESSY | HUGE | UNDECODABLE | st.text(max_size=120), 5)
FIELD = mostly(wrapped(REAL_FACT), MESSY | st.integers(1400, 1700).map(lambda n: ("I failed once. " * n)[:n]) | UNDECODABLE | st.text(max_size=60), 6)

NUMBERS = (st.integers(-(10**40), 10**40) | st.floats(allow_nan=False, allow_infinity=False)
           | st.sampled_from([0, -1, 1e308, 2**63, 10**100, 300, 301, 999, 1949, 2100, 99999, 0.5]))
SCALARS = st.none() | st.booleans() | NUMBERS | st.text(max_size=20) | WORDS | MESSY
JSONV = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=15)
PYV = JSONV | st.binary(max_size=8) | st.floats() | st.tuples(SCALARS) | st.frozensets(st.integers(), max_size=2)  # API callers: not only JSON

KINDS = ["exam-failure", "low-score", "gap", "professionalism", "repeated-year", "older-graduation", "visa", "specialty-switch", "study-abroad", "why-specialty"]
FACTS = mostly(st.fixed_dictionaries(
    {"kind": mostly(st.sampled_from(KINDS), JSONV, 9), "specialty": mostly(st.sampled_from(["radiology", "medical-genetics", " Genetics "]), st.just("dermatology") | JSONV, 9),
     "what": mostly(FIELD, JSONV, 9)},
    optional={
        "format": mostly(st.sampled_from(["personal-statement", "eras-additional-info", "interview"]), st.just("tweet") | JSONV, 8),
        "audience": mostly(st.sampled_from(["us-img", "non-us-img"]), st.just("martian") | JSONV, 8),
        **{k: mostly(FIELD, JSONV, 9) for k in ("context", "insight", "changes", "evidence", "goals")},
    },
), st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "specialty": st.just("radiology"), "what": FIELD, "colour": JSONV}) | JSONV, 8)

YM = mostly(st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2008, 2024), st.integers(1, 12)),
            st.sampled_from(["2023-13", "0000-00", "9999-12", "1900-01", "2019-7"]) | st.text(max_size=8) | JSONV, 8)
YEAR = mostly(st.integers(2005, 2024), NUMBERS | JSONV, 8)
EXAM = st.fixed_dictionaries({"exam": mostly(st.sampled_from(["step1", "step2ck", "step3", "Step 1"]), st.just("comlex") | JSONV, 9),
                              "result": mostly(st.sampled_from(["pass", "fail", "PASS"]), JSONV, 9)},
                             optional={"score": mostly(st.integers(180, 280), NUMBERS | JSONV, 8), "date": YM})
PROFILE_BODY = st.fixed_dictionaries(
    {"audience": mostly(st.sampled_from(["us-img", "non-us-img"]), JSONV, 9), "specialty": mostly(st.sampled_from(["radiology", "medical-genetics"]), JSONV, 9),
     "graduation_year": YEAR},
    optional={
        "as_of": YM,
        "exams": mostly(st.lists(EXAM, max_size=4), st.lists(EXAM, min_size=7, max_size=9) | JSONV, 9),
        "gaps": mostly(st.lists(st.fixed_dictionaries({"start": YM}, optional={"end": YM, "reason": FIELD, "activities": FIELD}), max_size=3), JSONV, 9),
        "academic": st.lists(st.fixed_dictionaries({"type": mostly(st.sampled_from(["failed-course", "probation", "repeated-year"]), st.just("expelled"), 9)}, optional={"year": YEAR}), max_size=2),
        "professionalism": mostly(st.lists(st.fixed_dictionaries({"description": FIELD}, optional={"year": YEAR}), max_size=2), JSONV, 9),
        "visa": mostly(st.fixed_dictionaries({"needs_sponsorship": st.booleans()}, optional={"type_changes": mostly(st.integers(0, 4), NUMBERS, 8),
                                                                                               "preferred": st.lists(st.sampled_from(["J-1", "H-1B"]), max_size=2)}), JSONV, 9),
        "previous_specialty": mostly(FIELD, JSONV, 9),
        "us_clinical_experience": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["observership", "externship", "elective"]), "specialty": FIELD,
                                                                  "months": mostly(st.integers(1, 24), NUMBERS, 8)}, optional={"letter": st.booleans()}), max_size=3),
        "research": st.lists(st.fixed_dictionaries({"topic": FIELD, "specialty_related": st.booleans()}, optional={"outputs": mostly(st.integers(0, 10), NUMBERS, 8)}), max_size=2),
        "letters": mostly(st.lists(st.fixed_dictionaries({"writer_specialty": FIELD}, optional={"us_based": st.booleans()}), max_size=2), JSONV, 9),
    },
)
PROFILE = mostly(PROFILE_BODY | st.builds(lambda p: {"profile": p, "expected_flags": []}, PROFILE_BODY),
                 st.builds(lambda p, x: {**p, "hobbies": x}, PROFILE_BODY, JSONV) | JSONV, 8)

BATCH_LINE = mostly(st.fixed_dictionaries({"question": TEXT}, optional={"id": mostly(st.text(max_size=8) | st.integers(), JSONV, 8),
                                                                         "audience": mostly(st.sampled_from(["us-img", "non-us-img"]), st.just("martian") | JSONV, 8),
                                                                         "specialty": mostly(st.sampled_from(["radiology", "medical-genetics"]), JSONV, 8),
                                                                         "history": mostly(st.lists(TEXT, max_size=2), JSONV, 7)}),
                    st.fixed_dictionaries({"question": TEXT, "extra": JSONV}) | JSONV, 8)


def _dump(v) -> bytes:
    """JSON as a user's editor might save it; lone surrogates become invalid UTF-8 bytes."""
    return json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _deep(n: int, obj: bool) -> bytes:
    return (b'{"a":' * n + b"1" + b"}" * n) if obj else (b"[" * n + b"]" * n)


SPECIAL_FILES = st.sampled_from([
    b"", b"   \n\t", b"\xef\xbb\xbf{}", b"\xef\xbb\xbf", b"null", b"NaN", b"Infinity", b"[]", b"\"just a string\"", b'{"what": 1e999}',
    b'{"graduation_year": 1e999, "audience": "us-img", "specialty": "radiology"}', b"\x00" * 16, b"\xff\xfe{\x00}\x00", b"{\"a\":", b"}{",
    b'{"question": "gap"}\n{"question": "gap"', b'{"question": "caf\xe9?"}', b'{"id": "\\udc80", "question": "gap"}', b'{"question": "gap \\ud800"}',
    b'{"kind": "gap", "specialty": "radiology", "what": "I left \\udcff"}', "{\"what\": \"\u0440\u0430diology\"}".encode(),
]) | st.integers(200, 60000).flatmap(lambda n: st.booleans().map(lambda o: _deep(n, o)))


def file_bytes(values, lines: bool = False):
    good = st.lists(values, min_size=1, max_size=3).map(lambda vs: b"\n".join(_dump(v) for v in vs)) if lines else values.map(_dump)
    return mostly(good, st.binary(max_size=300) | values.map(lambda v: json.dumps(v).encode()) | values.map(_dump) | SPECIAL_FILES, 6)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def home(built_home):
    """ADVISOR_HOME=the session index for the in-process CLI (restored afterwards); records the count at the end."""
    saved = {k: os.environ.get(k) for k in ("ADVISOR_HOME", "ADVISOR_LLM", "ADVISOR_CHROMA_URL")}
    os.environ["ADVISOR_HOME"] = str(built_home.home)
    os.environ.pop("ADVISOR_LLM", None)
    os.environ.pop("ADVISOR_CHROMA_URL", None)
    from assistant.retrieval import get_retriever

    get_retriever(built_home).search("warm up the index and the model", k=1)
    yield built_home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    total = sum(FUZZED.values())
    parts = ", ".join(f"{n} {k}" for k, n in sorted(FUZZED.items()))
    record_figure("fuzz", f"{total} generated inputs ({parts}); of {sum(OUTCOMES.values())} runs, {OUTCOMES['accepted']} succeeded and "
                  f"{OUTCOMES['rejected']} were rejected with a one-line error; 0 tracebacks")


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="advisor-fuzz-") as d:
        yield Path(d)


def _api(fn, *args, **kwargs):
    """Call the API: success or an AdvisorError subclass; anything else fails the property."""
    try:
        result = fn(*args, **kwargs)
    except AdvisorError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, repr(msg)
        OUTCOMES["rejected"] += 1
        return None
    OUTCOMES["accepted"] += 1
    return result


def _cli(capsys, argv: list[str]) -> int:
    """Run ``advisor ARGV`` in-process: exit 0, or 2 with one ``error:`` line on stderr; never a traceback."""
    from assistant.cli import main

    capsys.readouterr()
    sys.stderr.reconfigure(errors="backslashreplace")  # as a real stderr; stdout stays strict, as in a UTF-8 locale
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    OUTCOMES["accepted" if code == 0 else "rejected"] += 1
    if code == 0:
        return 0
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2, (code, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-500:]
    return code


# --------------------------------------------------------------------------- Python API


@fuzz(120)
@given(q=mostly(TEXT, PYV, 9), audience=mostly(st.none() | st.sampled_from(["us-img", "non-us-img"]), TEXT | PYV, 8),
       specialty=mostly(st.none() | st.sampled_from(["radiology", "medical genetics"]), TEXT | PYV, 8),
       history=mostly(st.none() | st.lists(TEXT, max_size=2), st.lists(TEXT | PYV, max_size=3) | PYV, 8))
def test_ask_api(home, q, audience, specialty, history):
    from assistant.answering import ask

    FUZZED["questions (API)"] += 1
    ans = _api(ask, q, audience=audience, specialty=specialty, history=history, settings=home)
    if ans is not None:
        assert isinstance(ans.answer, str) and ans.answer
        assert all(1 <= c.n <= len(ans.citations) for c in ans.citations)


@fuzz(80)
@given(q=mostly(TEXT, PYV, 9), k=mostly(st.integers(1, 10), st.integers(-5, 200) | st.sampled_from([True, 2.5, "3", None, 10**20]), 8), strict=st.booleans(),
       audience=mostly(st.none() | st.sampled_from(["us-img", "non-us-img", "any"]), TEXT | PYV, 8), specialty=mostly(st.none() | st.just("radiology"), TEXT | PYV, 8))
def test_search_api(home, q, k, strict, audience, specialty):
    from assistant.retrieval import get_retriever

    FUZZED["searches (API)"] += 1
    hits = _api(get_retriever(home).search, q, k=k, audience=audience, specialty=specialty, strict=strict)
    if hits is not None:
        assert len(hits) <= k and all(h.chunk_id and h.text for h in hits)


@fuzz(200)
@given(facts=mostly(FACTS, PYV, 9))
def test_draft_api(home, facts):
    from assistant.writing.draft import draft

    FUZZED["facts (API)"] += 1
    res = _api(draft, facts, llm="extractive", settings=home)
    if res is not None:
        assert res.text and all(p in res.text for p in res.placeholders)


@fuzz(200)
@given(profile=mostly(PROFILE, PYV, 9))
def test_audit_api(home, profile):
    from assistant.writing.audit import audit

    FUZZED["profiles (API)"] += 1
    res = _api(audit, profile, settings=home)
    if res is not None:
        assert all(f.id for f in res.flags)


@fuzz(150)
@given(data=file_bytes(BATCH_LINE, lines=True) | file_bytes(FACTS) | file_bytes(PROFILE))
def test_file_readers(scratch, data):
    from assistant.cli.index import read_batch
    from assistant.writing.facts import load_facts
    from assistant.writing.profile import load_profile

    FUZZED["files (x3 readers)"] += 1
    f = scratch / "input.json"
    f.write_bytes(data)
    for reader in (read_batch, load_facts, load_profile):
        _api(reader, f)


# --------------------------------------------------------------------------- the CLI, in-process


@fuzz(80)
@given(q=TEXT, cmd=st.sampled_from(["ask", "retrieve"]), audience=mostly(st.none() | st.sampled_from(["us-img", "non-us-img"]), TEXT, 8))
def test_cli_question(home, capsys, q, cmd, audience):
    FUZZED["questions (CLI)"] += 1
    argv = [cmd, q, "--json"] + (["-k", "2"] if cmd == "retrieve" else []) + (["--audience", audience] if audience is not None else [])
    _cli(capsys, argv)


@fuzz(60)
@given(data=file_bytes(BATCH_LINE, lines=True), cmd=st.sampled_from(["ask", "retrieve"]))
def test_cli_batch_file(home, capsys, scratch, data, cmd):
    FUZZED["batch files (CLI)"] += 1
    f = scratch / "batch.jsonl"
    f.write_bytes(data)
    _cli(capsys, [cmd, "--batch", str(f), "--json"] + (["-k", "1"] if cmd == "retrieve" else []))


@fuzz(100)
@given(data=file_bytes(FACTS), flags=mostly(st.just([]), st.lists(st.tuples(st.sampled_from(["--kind", "--what", "--format", "--specialty", "--audience", "--goals"]), TEXT), max_size=2), 6))
def test_cli_facts_file(home, capsys, scratch, data, flags):
    FUZZED["facts files (CLI)"] += 1
    f = scratch / "facts.json"
    f.write_bytes(data)
    _cli(capsys, ["draft", "--facts", str(f), "--json"] + [x for pair in flags for x in pair])


@fuzz(60)
@given(kind=mostly(st.sampled_from(KINDS), TEXT, 8), what=FIELD, specialty=mostly(st.sampled_from(["radiology", "medical-genetics"]), TEXT, 8))
def test_cli_draft_flags(home, capsys, kind, what, specialty):
    FUZZED["draft flags (CLI)"] += 1
    _cli(capsys, ["draft", "--kind", kind, "--what", what, "--specialty", specialty])


@fuzz(100)
@given(data=file_bytes(PROFILE), as_json=st.booleans())
def test_cli_profile_file(home, capsys, scratch, data, as_json):
    FUZZED["profiles (CLI)"] += 1
    f = scratch / "profile.json"
    f.write_bytes(data)
    _cli(capsys, ["audit", "--profile", str(f)] + (["--json"] if as_json else []))


# --------------------------------------------------------------------------- the CLI, as a user runs it


def _deep_file(tmp_path: Path) -> Path:
    f = tmp_path / "deep.json"
    f.write_bytes(_deep(100_000, False))
    return f


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    f = tmp_path / name
    f.write_bytes(data)
    return f


SUBPROCESS_CASES = {
    "undecodable question": (lambda p: ["ask", b"How do I explain a gap caf\xe9\xff?"], "UTF-8"),
    "control characters only": (lambda p: ["retrieve", "\x1c\x1d\x1e\x1f\x85\u2028"], "empty"),
    "huge question": (lambda p: ["ask", "why " * 3000], "2000"),
    "deeply nested batch": (lambda p: ["retrieve", "--batch", str(_deep_file(p))], "nested"),
    "undecodable facts file": (lambda p: ["draft", "--facts", str(_write(p, "f.json", b'{"kind": "gap", "what": "caf\xe9"}'))], "UTF-8"),
    "absurd score in facts": (lambda p: ["draft", "--kind", "exam-failure", "--specialty", "radiology", "--what", "I scored 900 on Step 1."], "900"),
    "absurd graduation year": (lambda p: ["audit", "--profile", str(_write(p, "p.json", b'{"audience": "us-img", "specialty": "radiology", "graduation_year": 1e999}'))], "graduation_year"),
    "wrong-typed profile": (lambda p: ["audit", "--profile", str(_write(p, "p.json", b'{"audience": "us-img", "specialty": "radiology", "graduation_year": 2019, "exams": {"step1": "fail"}}'))], "exams"),
}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", list(SUBPROCESS_CASES))
def test_cli_subprocess(built_home, tmp_path, case):
    make_args, needle = SUBPROCESS_CASES[case]
    proc = run_cli(make_args(tmp_path), env_home=built_home.home, extra_env={"ADVISOR_LLM": "extractive"})
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-800:])
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr[-800:]
    assert needle.lower() in lines[0].lower(), lines[0]
