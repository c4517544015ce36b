"""Fault injection: every storage fault, signal and hostile input a user can meet, tried on the real program.

Each test breaks one thing the way it breaks on a user's machine (a truncated or
wrong-shaped file, a read-only bind mount, a full tmpfs, Ctrl-C at several points,
a bad URL or path, someone else's eval dataset, a UTF-16 guide, a web page of
another site posting to the loopback server) and checks the same things:

- the exit code the command chose (1 for a failed check, 2 for a user-fixable
  fault, 130/143 for SIGINT/SIGTERM), with exactly one line on stderr naming the
  file and the fix, and no traceback;
- the index that was live still answers;
- the command named in the message recovers, with no hand edits;
- nothing the user added is lost, and nothing is written outside ADVISOR_HOME.

The read-only and disk-full tests mount a bind mount / tmpfs, so they need root
(CI runs as root); elsewhere they are skipped with the reason. The web-server
tests run a real ``advisor serve`` on loopback with ``TMPDIR`` pointed at a folder
of the test, so "nothing in the system temp folder" is checked on a folder nobody
else writes to. docs/SAFETY.md lists the faults and what each now does.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from assistant.ingestion.corpus import load_document, read_raw
from assistant.errors import DocumentError, InputError
from assistant.evaluation.dataset import GOLD, load_dataset
from tests.conftest import ADVISOR, ROOT, one_error_line, run_cli
from tests.ui_server import CHROMIUM, CHROMIUM_ARGS, HOST, PROJECT_DIR, choose_upload, ingested_home, serve, server_env, tail

QUESTION = "How do I explain a gap after graduation?"
ADDED_GUIDE = """Pediatrics Residency Notes for IMGs

Letters from pediatric wards
- Ask the attending pediatricians who supervised you on US clinical rotations for letters of recommendation.
- Pediatrics program directors read letters for evidence that you communicate well with children and parents.

Choosing pediatrics programs
Apply to community pediatrics programs with a record of matching international graduates, and read each program's eligibility page.
"""
UPLOADED_GUIDE = """Okapi Research Electives

A research elective in the okapi conservation lab gives applicants a project to describe at interview.
Keep a short log of what you did each week, so the experience section of your application stays specific.
"""


# ------------------------------------------------------------------ helpers


def env_for(settings, **extra) -> dict:
    return {"ADVISOR_HOME": str(settings.home), "ADVISOR_CORPUS": str(settings.corpus_dir), **extra}


def cli(settings, *args, **extra):
    return run_cli(list(args), extra_env=env_for(settings, **extra))


def answers(settings) -> str:
    """The top passage id for QUESTION from `advisor retrieve --json` (the live index answers)."""
    proc = cli(settings, "retrieve", QUESTION, "-k", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["results"][0]["text"]


@pytest.fixture()
def home(fresh_home):
    """A built index of the bundled corpus in a temporary home (vectors from the session cache)."""
    from assistant.ingestion.pipeline import ingest

    ingest(settings=fresh_home)
    return fresh_home


@pytest.fixture()
def user_guides(home, tmp_path):
    """One guide added from outside the corpus with `advisor ingest DIR`, one uploaded into ADVISOR_HOME/library."""
    extra = tmp_path / "my-guides"
    extra.mkdir()
    (extra / "peds-letters.md").write_text(ADDED_GUIDE, encoding="utf-8")
    assert cli(home, "ingest", str(extra)).returncode == 0
    uploads = home.home / "library"
    uploads.mkdir()
    (uploads / "okapi-electives.txt").write_text(UPLOADED_GUIDE, encoding="utf-8")
    assert cli(home, "ingest", str(uploads / "okapi-electives.txt")).returncode == 0
    return home


def library_ids(settings) -> set[str]:
    proc = cli(settings, "library", "--json")
    assert proc.returncode == 0, proc.stderr
    return {d["source"] for d in json.loads(proc.stdout)}


def needs_root_mounts():
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a read-only bind mount / a small tmpfs")


@contextlib.contextmanager
def mounted(*args: str, target: Path):
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"mount not permitted here: {proc.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


# ------------------------------------------------------------------ 1. exit codes, the eval gate


PLANTED = [
    {"id": "p1", "question": "What should I do about a failed Step 1?", "source": "no-such-guide", "evidence": ["a sentence no guide has"], "facts": ["zebra"], "answerable": True},
    {"id": "p2", "question": "How do I explain a gap year?", "source": "no-such-guide", "evidence": ["another sentence no guide has"], "facts": ["okapi"], "answerable": True},
]


def planted_dataset(tmp_path) -> Path:
    f = tmp_path / "planted.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in PLANTED), encoding="utf-8")
    return f


def test_eval_check_below_threshold_exits_1(home, tmp_path):
    proc = cli(home, "eval", "--dataset", str(planted_dataset(tmp_path)), "--check", "--no-baseline")
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "below threshold: hit@5" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_make_gate_fails_on_a_planted_dataset(home, tmp_path):
    """`make test` ends with `make gate`; on a dataset planted to fail it must fail."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    env = {**os.environ, **env_for(home)}
    proc = subprocess.run(["make", "-s", "--no-print-directory", "gate", f"EVAL_DATASET={planted_dataset(tmp_path)}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "below threshold" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "args, code",
    [
        (["--help"], 0),
        (["ask", "--no-such-option"], 2),
        (["retrieve", "gap", "-k", "zero"], 2),
        (["ask", ""], 2),
    ],
)
def test_exit_codes_are_the_commands_own(home, args, code):
    proc = cli(home, *args)
    assert proc.returncode == code, (args, proc.returncode, proc.stderr)
    if code == 2:
        one_error_line(proc)


# ------------------------------------------------------------------ 2. signals


def _start(settings, *args) -> subprocess.Popen:
    env = {**os.environ, **env_for(settings)}
    return subprocess.Popen(ADVISOR + list(args), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _embedding_ingest(settings) -> None:
    """Make the next ingest slow enough to interrupt: an empty vector cache means every passage is embedded."""
    (settings.cache_dir / "embcache.sqlite").unlink()


@pytest.mark.parametrize("delay", [0.3, 1.5, 3.0])
def test_ctrl_c_during_ingest_says_interrupted_and_exits_130(home, delay):
    before = answers(home)
    _embedding_ingest(home)
    proc = _start(home, "ingest", "--rebuild")
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip(f"ingest finished before the signal at {delay} s")
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip() == "interrupted", err
    assert answers(home) == before  # the live index is untouched
    rec = cli(home, "ingest")
    assert rec.returncode == 0, rec.stderr
    assert answers(home) == before


def test_sigterm_during_ingest_exits_143_and_the_index_stays_live(home):
    before = answers(home)
    _embedding_ingest(home)
    proc = _start(home, "ingest", "--rebuild")
    time.sleep(1.5)
    assert proc.poll() is None, "ingest finished before the signal"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, (proc.returncode, err)
    assert err.strip() == "terminated", err
    assert answers(home) == before


def test_ctrl_c_during_eval_exits_130(home):
    proc = _start(home, "eval", "--no-baseline")
    time.sleep(4.0)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err and "terminate called" not in err


# ------------------------------------------------------------------ 3. rebuilds keep the user's guides


@pytest.mark.parametrize("damage", ["truncate", "null", "list", "bad-generation"])
def test_rebuild_after_a_damaged_state_keeps_every_user_guide(user_guides, damage):
    home = user_guides
    ids = library_ids(home)
    assert {"peds-letters", "okapi-electives"} <= ids and len(ids) == 7
    state = home.index_dir / "state.json"
    if damage == "truncate":
        state.write_bytes(state.read_bytes()[:40])
    else:
        state.write_text({"null": "null", "list": "[1, 2, 3]", "bad-generation": '{"generation": "abc"}'}[damage])
    proc = cli(home, "ask", "Who should write my pediatrics letters?")
    assert proc.returncode == 2
    one_error_line(proc, str(state), "advisor ingest --rebuild")
    rebuilt = cli(home, "ingest", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt the index from 7 guides (2 added by you)" in rebuilt.stdout
    assert "moved it aside" in rebuilt.stderr and "Traceback" not in rebuilt.stderr
    assert library_ids(home) == ids
    ans = cli(home, "ask", "Who should write my pediatrics letters?", "--json")
    assert ans.returncode == 0 and not json.loads(ans.stdout)["abstained"], ans.stdout
    assert any(c["source"] == "peds-letters" for c in json.loads(ans.stdout)["citations"])


def test_plain_ingest_also_recovers_a_wrong_shape_state(user_guides):
    (user_guides.index_dir / "state.json").write_text('{"docs": [1]}')
    proc = cli(user_guides, "ingest")
    assert proc.returncode == 0, proc.stderr
    assert {"peds-letters", "okapi-electives"} <= library_ids(user_guides)


def test_a_damaged_library_list_is_restored_from_the_index(user_guides):
    f = user_guides.home / "library.json"
    f.write_text('{"roots": 5}')
    proc = cli(user_guides, "ingest")
    assert proc.returncode == 0, proc.stderr
    assert "library list" in proc.stderr and "moved it aside" in proc.stderr
    assert {"peds-letters", "okapi-electives"} <= library_ids(user_guides)
    assert any("my-guides" in r for r in json.loads(f.read_text())["roots"])


def test_uploaded_guides_come_back_even_when_both_records_are_lost(user_guides):
    (user_guides.home / "library.json").unlink()
    (user_guides.index_dir / "state.json").write_text("garbage")
    proc = cli(user_guides, "ingest", "--rebuild")
    assert proc.returncode == 0, proc.stderr
    assert "okapi-electives" in library_ids(user_guides)  # recovered from ADVISOR_HOME/library


def test_removed_guide_stays_removed_after_a_rebuild(user_guides):
    assert cli(user_guides, "remove", "peds-letters").returncode == 0
    (user_guides.index_dir / "state.json").write_text("[]")
    assert cli(user_guides, "ingest", "--rebuild").returncode == 0
    ids = library_ids(user_guides)
    assert "peds-letters" not in ids and "okapi-electives" in ids


# ------------------------------------------------------------------ 4. derived files: validated, moved aside, rebuilt


def test_corrupt_embedding_cache_is_moved_aside_and_rebuilt(home):
    cache = home.cache_dir / "embcache.sqlite"
    cache.write_bytes(cache.read_bytes()[:5000])
    proc = cli(home, "ingest", "--rebuild")
    assert proc.returncode == 0, proc.stderr
    assert "embedding cache" in proc.stderr and "moved it aside" in proc.stderr and "Traceback" not in proc.stderr
    assert list(home.cache_dir.glob("embcache.sqlite.corrupt-*"))
    assert answers(home)
    again = cli(home, "ingest", "--rebuild")  # the new cache is used: nothing to embed
    assert again.returncode == 0 and "; 0 passages embedded" in again.stdout, again.stdout


@pytest.mark.parametrize(
    "target, content, needle",
    [
        ("chunks.json", '{"a": 1}', "chunk table"),
        ("chunks.json", "[1, 2]", "chunk table"),
        ("chunks.json", "\x00garbage", "chunk table"),
        ("bm25/params.index.json", "{}", "BM25 index"),
        ("bm25/vocab.index.json", "[]", "BM25 index"),
        ("units.npy", "not numpy", "sentence vectors"),
    ],
)
def test_damaged_generation_file_is_named_and_plain_ingest_repairs_it(home, target, content, needle):
    from assistant.store.state import IndexState

    before = answers(home)
    gdir = IndexState.read(home).gen_dir(home)
    (gdir / target).write_text(content)
    proc = cli(home, "retrieve", QUESTION)
    assert proc.returncode == 2
    one_error_line(proc, needle, "advisor ingest --rebuild")
    fix = cli(home, "ingest")
    assert fix.returncode == 0, fix.stderr
    assert "Traceback" not in fix.stderr
    assert answers(home) == before


def test_corrupt_chroma_store_is_moved_aside_by_rebuild(home):
    before = answers(home)
    db = home.index_dir / "chroma" / "chroma.sqlite3"
    db.write_bytes(b"\x00" * 4096)
    proc = cli(home, "retrieve", QUESTION)
    assert proc.returncode == 2
    one_error_line(proc, "Chroma", "advisor ingest --rebuild")
    fix = cli(home, "ingest", "--rebuild")
    assert fix.returncode == 0, fix.stderr
    assert list(home.index_dir.glob("chroma.corrupt-*"))
    assert answers(home) == before


# ------------------------------------------------------------------ 5. read-only home, not a folder, disk full


def test_read_only_home_is_named_and_the_index_stays_live(home, tmp_path):
    needs_root_mounts()
    before = answers(home)
    view = tmp_path / "ro-home"
    with mounted("--bind", str(home.home), target=view):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        ro = type(home)(home=view, chroma_url=None, llm="extractive", corpus_dir=home.corpus_dir)
        for args in (["ask", QUESTION], ["ingest"], ["ingest", "--rebuild"]):
            proc = cli(ro, *args)
            assert proc.returncode == 2, (args, proc.stderr)
            one_error_line(proc, str(view), "writable")
    assert answers(home) == before
    assert cli(home, "ingest").returncode == 0


def test_home_that_is_a_file_is_named(tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    proc = run_cli(["ingest"], extra_env={"ADVISOR_HOME": str(f)})
    assert proc.returncode == 2
    one_error_line(proc, str(f), "not a folder")


def test_full_disk_during_ingest_is_named_and_loses_nothing(home, tmp_path):
    needs_root_mounts()
    size_mb = 64
    with mounted("-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", target=tmp_path / "small-disk") as disk:
        small = type(home)(home=disk / "home", chroma_url=None, llm="extractive", corpus_dir=home.corpus_dir)
        shutil.copytree(home.home, small.home)
        before = answers(small)
        # fill the disk, leaving a few KB: the next generation cannot be written
        with open(disk / "filler", "wb") as fh:
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * (1 << 20))
            fh.flush()
        with contextlib.suppress(OSError):
            with open(disk / "filler2", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        with contextlib.suppress(OSError):
            (disk / "filler2").unlink()
        new = tmp_path / "new-guide"
        new.mkdir()
        (new / "peds-letters.md").write_text(ADDED_GUIDE * 40, encoding="utf-8")
        proc = cli(small, "ingest", str(new))
        assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
        one_error_line(proc, "no space left", "free some space")
        (disk / "filler").unlink()
        assert answers(small) == before  # the live generation was never replaced
        rec = cli(small, "ingest", str(new))
        assert rec.returncode == 0, rec.stderr
        assert "peds-letters" in library_ids(small)


# ------------------------------------------------------------------ 6. telemetry and files outside ADVISOR_HOME


def test_ask_writes_nothing_outside_the_home_and_queues_no_telemetry(home, tmp_path):
    from assistant.store.engines import model_cache_dir

    fake_home = tmp_path / "user-home"
    tmp = tmp_path / "tmp"
    fake_home.mkdir()
    tmp.mkdir()
    extra = {"HOME": str(fake_home), "TMPDIR": str(tmp), "ADVISOR_MODEL_CACHE": str(model_cache_dir()), "XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""}
    extra = {k: v for k, v in extra.items() if v}
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(env_for(home, **extra))
    for q in (QUESTION, "Is 238 on Step 2 CK good enough for genetics?"):
        proc = subprocess.run(ADVISOR + ["ask", q], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    written = sorted(str(p.relative_to(tmp_path)) for p in [*fake_home.rglob("*"), *tmp.rglob("*")])
    assert written == [], written  # onnxruntime's ~/.cache/Microsoft event store among them


# ------------------------------------------------------------------ 7. specific one-liners


@pytest.mark.parametrize("url", ["http://[::1", "http://localhost:notaport", "http://"])
def test_bad_chroma_url_is_one_line(home, url):
    proc = cli(home, "retrieve", QUESTION, "--chroma-url", url)
    assert proc.returncode == 2
    one_error_line(proc, "Chroma URL")


def test_oversized_guide_is_refused_and_not_remembered(home, tmp_path):
    big = tmp_path / "huge-guide.txt"
    with open(big, "wb") as fh:
        fh.write(b"Residency advice line.\n" * (21 * 1024 * 1024 // 23 + 10))
    proc = cli(home, "ingest", str(big))
    assert proc.returncode == 2
    one_error_line(proc, "huge-guide.txt", "larger than 20 MB")
    state = json.loads((home.index_dir / "state.json").read_text())
    members = json.loads((home.home / "library.json").read_text()) if (home.home / "library.json").exists() else {"roots": []}
    assert not any("huge-guide" in r for r in state["roots"] + members["roots"])
    again = cli(home, "ingest")
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


def test_remove_reads_the_state_under_the_ingest_lock(home):
    """While another ingest holds the lock, `remove` changes nothing and says why in one line."""
    import fcntl

    state_before = (home.index_dir / "state.json").read_bytes()
    with open(home.index_dir / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        proc = cli(home, "remove", "us-img-medical-genetics-red-flags")
    assert proc.returncode == 2
    one_error_line(proc, "another `advisor ingest` is running")
    assert (home.index_dir / "state.json").read_bytes() == state_before
    assert not (home.home / "library.json").exists() or "us-img-medical-genetics-red-flags" not in (home.home / "library.json").read_text()


# ------------------------------------------------------------------ 8. someone else's eval dataset, guides in other encodings

GOOD_ROW = {
    "id": "ok1",
    "question": "Which Step 2 CK range is strongly competitive for medical genetics?",
    "audience": "non-us-img",
    "source": "non-us-img-medical-genetics-step-scores",
    "evidence": ["≥245: Strongly competitive for many programs"],
    "facts": ["245"],
    "answerable": True,
}
CONFLICT_SOURCES = ["img-medical-genetics-low-step-scores", "us-img-medical-genetics-program-research"]


def _without(row: dict, key: str) -> dict:
    return {k: v for k, v in row.items() if k != key}


#: (bad second line, words the one-line error must contain). Every one of these got past
#: the loader before it validated rows: a crash after the whole run, or wrong figures.
BAD_LINES = {
    # the case: a conflict row that lists its guides but not 'source' -> TypeError in the per-guide table
    "missing-source": (json.dumps({"id": "c9", "question": "How long is a categorical genetics residency?", "answerable": True, "conflict": True, "sources": CONFLICT_SOURCES, "evidence": ["x y z w"], "facts": ["years"]}), ["'source'", "required"]),
    "source-not-a-string": (json.dumps({**GOOD_ROW, "id": "s5", "source": 5}), ["'source'", "must be"]),
    "conflict-not-a-bool": (json.dumps({**GOOD_ROW, "id": "b1", "conflict": "no"}), ["'conflict'", "true or false"]),
    "sources-a-string": (json.dumps({**GOOD_ROW, "id": "b2", "sources": "non-us-img-medical-genetics-step-scores"}), ["'sources'", "list"]),
    "empty-fact": (json.dumps({**GOOD_ROW, "id": "b3", "facts": [""]}), ["'facts'", "empty"]),
    "unknown-audience": (json.dumps({**GOOD_ROW, "id": "b4", "audience": "martian"}), ["'audience'", "us-img"]),
    "duplicate-id": (json.dumps({**GOOD_ROW}), ["'id'", "ok1", "line 1"]),
}

#: Shapes the line reader already rejected with the line number; kept here as guards.
GUARDED_LINES = {
    "json-array": (json.dumps([GOOD_ROW]), ["JSON object"]),
    "unknown-field": (json.dumps({**GOOD_ROW, "id": "b5", "speciality": "radiology"}), ["speciality"]),
    "answerable-not-a-bool": (json.dumps({**GOOD_ROW, "id": "b6", "answerable": "yes"}), ["'answerable'", "true or false"]),
}


def _dataset(tmp_path, second_line: str):
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(GOOD_ROW, ensure_ascii=False) + "\n" + second_line + "\n", encoding="utf-8")
    return f


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_advisor_eval_rejects_a_malformed_dataset_line(built_home, tmp_path, case):
    line, words = BAD_LINES[case]
    proc = run_cli(["eval", "--dataset", str(_dataset(tmp_path, line)), "--no-baseline"], env_home=built_home.home)
    one_error_line(proc, "bad.jsonl", "line 2", *words)
    assert not (built_home.reports_dir / "latest.json").exists() or "bad.jsonl" not in (built_home.reports_dir / "latest.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", list(GUARDED_LINES))
def test_advisor_eval_rejects_shapes_the_reader_catches(built_home, tmp_path, case):
    line, words = GUARDED_LINES[case]
    proc = run_cli(["eval", "--dataset", str(_dataset(tmp_path, line)), "--no-baseline"], env_home=built_home.home)
    one_error_line(proc, "bad.jsonl", "line 2", *words)


@pytest.mark.parametrize(
    "row, words",
    [
        ({"id": "t1", "turns": ["How many programs?", 7], "source": "x"}, ["'turns'", "list of strings"]),
        ({"id": "t2", "turns": [], "source": "x"}, ["'turns'", "empty"]),
        ({"id": "t3", "question": "Q?", "turns": ["Q?", "And radiology?"], "source": "x"}, ["'question'", "'turns'"]),
        ({"id": "t4", "source": "x"}, ["'question'", "required"]),
        ({"id": "t5", "question": "Q?", "source": "x", "sources": ["a", "b"]}, ["'source'", "one of 'sources'"]),
        ({"id": "t6", "question": "Q?", "source": "a", "sources": ["a", "a"]}, ["'sources'", "twice"]),
        ({"id": "t7", "question": "Q?", "source": "a", "conflict": True}, ["conflict", "'sources'"]),
        ({"id": "t8", "question": "Q?", "source": "x", "evidence": "one phrase"}, ["'evidence'", "list of strings"]),
        ({"id": ["t9"], "question": "Q?", "source": "x"}, ["'id'", "string"]),
        ({"id": "t10", "question": "Q?", "source": "x", "specialty": "radiology!"}, ["'specialty'"]),
    ],
    ids=lambda v: v["id"] if isinstance(v, dict) and isinstance(v.get("id"), str) else None,
)
def test_load_dataset_names_the_line_and_the_field(tmp_path, row, words):
    f = _dataset(tmp_path, json.dumps(row))
    with pytest.raises(InputError) as info:
        load_dataset(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}: line 2: "), msg
    for w in words:
        assert w in msg, (w, msg)


def test_load_dataset_keeps_the_loaders_leniencies(tmp_path):
    """Files written against the loader keep loading: no id (line number), no 'answerable' (true), no evidence/facts."""
    f = tmp_path / "lenient.jsonl"
    f.write_text(json.dumps({"question": "ok?", "source": "x"}) + "\n" + json.dumps({"id": 7, "question": "Pasta?", "answerable": False}) + "\n", encoding="utf-8")
    a, b = load_dataset(f)
    assert (a.id, a.answerable, a.source, a.evidence, a.facts) == ("1", True, "x", [], [])
    assert (b.id, b.answerable, b.source) == ("7", False, None)


@pytest.mark.parametrize("path", sorted((ROOT / "evals").glob("*.jsonl")), ids=lambda p: p.name)
def test_gold_files_load_to_the_same_cases(path):
    """Every accepted gold file maps to exactly the Cases the raw JSON says (eval figures must not move)."""
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = load_dataset(path)
    assert len(cases) == len(raw)
    for o, c in zip(raw, cases):
        turns = o.get("turns") or [o["question"]]
        expected = {
            "id": o["id"], "question": turns[-1], "history": turns[:-1], "audience": o.get("audience"), "specialty": o.get("specialty"),
            "answerable": o.get("answerable", True), "source": o.get("source"), "sources": o.get("sources", []),
            "evidence": o.get("evidence", []), "facts": o.get("facts", []), "conflict": o.get("conflict", False),
        }
        assert dataclasses.asdict(c) == expected
    assert path != GOLD or len(cases) >= 150


# ---------------------------------------------------------------- guide encodings

#: A small original guide (not from the shipped corpus), with non-ASCII punctuation
#: and a character outside the BMP (a surrogate pair in UTF-16).
PEDIATRICS_GUIDE = """Pediatrics Residency Roadmap for International Medical Graduates

Why pediatrics programs interview IMGs
Many community pediatrics programs value applicants who have cared for children in resource‑limited settings.
- Programs look for warmth with families, not only test scores.
- A steady record of child‑health work counts more than one flashy project.

Building US clinical experience with children
Hands‑on pediatric observerships or externships in a US children’s clinic are the strongest way to show readiness.
- Aim for 2–3 months of US pediatric clinical experience before you apply.
- Ask the attending who supervised you to write a letter that describes how you talked with parents.

Preparing for the pediatrics interview 🩺
- Prepare a short story about a child whose care taught you something about teamwork.
- Know the program’s patient population: rural clinics, a children’s hospital, or a mixed community site.

FAQs
Do I need a pediatrics letter of recommendation?
Yes – most programs expect at least one “pediatrics-specific” letter from a US physician.
"""

ENCODINGS = {
    "utf-16-le-bom": codecs.BOM_UTF16_LE + PEDIATRICS_GUIDE.encode("utf-16-le"),
    "utf-16-be-bom": codecs.BOM_UTF16_BE + PEDIATRICS_GUIDE.encode("utf-16-be"),
    "utf-8-bom": codecs.BOM_UTF8 + PEDIATRICS_GUIDE.encode("utf-8"),
}
QUESTION = "How much hands-on US pediatric clinical experience should I get before applying to pediatrics?"


@pytest.fixture()
def utf8_doc(tmp_path):
    f = tmp_path / "utf8" / "img-pediatrics-roadmap.txt"
    f.parent.mkdir()
    f.write_bytes(PEDIATRICS_GUIDE.encode("utf-8"))
    return load_document(f)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_bom_encoded_guide_loads_like_utf8(tmp_path, utf8_doc, encoding):
    f = tmp_path / "img-pediatrics-roadmap.txt"
    f.write_bytes(ENCODINGS[encoding])
    doc = load_document(f)
    assert doc.text == utf8_doc.text
    assert (doc.source, doc.title, doc.specialty) == (utf8_doc.source, "Pediatrics Residency Roadmap for International Medical Graduates", "pediatrics")
    assert "\ufeff" not in doc.text and "🩺" in doc.text
    assert doc.sha256 != utf8_doc.sha256  # the content hash stays on the raw bytes


def test_utf16_html_guide_loads(tmp_path):
    f = tmp_path / "peds.html"
    f.write_bytes(codecs.BOM_UTF16_LE + "<html><body><h1>Peds Guide</h1><p>Children’s clinics – apply early.</p></body></html>".encode("utf-16-le"))
    doc = load_document(f)
    assert doc.title == "Peds Guide" and "Children’s clinics – apply early." in doc.text


@pytest.mark.parametrize(
    "name, data",
    [
        ("utf16-no-bom.txt", PEDIATRICS_GUIDE.encode("utf-16-le")),
        ("utf16be-no-bom.txt", PEDIATRICS_GUIDE.encode("utf-16-be")),
        ("zip-after-bom.txt", codecs.BOM_UTF16_LE + b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(0, 200, 3))),
        ("nul-after-bom.txt", codecs.BOM_UTF16_BE + b"\x00\x00\x00\x01\x00\x02 binary"),
        ("utf32-bom.txt", codecs.BOM_UTF32_LE + "Guide text\n".encode("utf-32-le")),
        ("png.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ],
)
def test_utf16_without_bom_and_binaries_are_still_rejected(tmp_path, name, data):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(DocumentError) as info:
        read_raw(f)
    assert str(info.value) == f"{name}: looks like a binary file, not text"


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("cut.txt", codecs.BOM_UTF16_LE + "Pediatrics guide\n".encode("utf-16-le")[:-1], "looks like a binary file, not text"),  # odd length
        ("one-word.txt", codecs.BOM_UTF16_LE + b"\x00bad", "looks like a binary file, not text"),  # decodes, but to two CJK ideographs and no space
        ("ff-fe-no-nul.txt", codecs.BOM_UTF16_LE + b"abc", "not valid UTF-8 (byte 0)"),
    ],
)
def test_bytes_that_only_start_like_a_bom_keep_todays_error(tmp_path, name, data, message):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(DocumentError) as info:
        read_raw(f)
    assert str(info.value) == f"{name}: {message}"


def test_utf16_guide_is_found_after_ingest(fresh_home, tmp_path):
    from assistant.ingestion.pipeline import ingest
    from assistant.retrieval import get_retriever

    guide = tmp_path / "mine" / "img-pediatrics-roadmap.txt"
    guide.parent.mkdir()
    guide.write_bytes(ENCODINGS["utf-16-le-bom"])
    warnings: list[str] = []
    report = ingest(paths=[guide], settings=fresh_home, warn=warnings.append)
    assert not any("pediatrics" in w for w in warnings), warnings
    assert "img-pediatrics-roadmap" in report.added
    hits = get_retriever(fresh_home).search(QUESTION, k=3)
    assert hits[0].source == "img-pediatrics-roadmap", [(h.source, h.text[:60]) for h in hits]
    assert "2–3 months" in " ".join(h.text for h in hits if h.source == "img-pediatrics-roadmap")
    assert all("\ufeff" not in h.text and "\x00" not in h.text for h in hits)
    proc = run_cli(["retrieve", QUESTION, "-k", "3", "--json"], env_home=fresh_home.home)
    assert proc.returncode == 0, proc.stderr
    assert "img-pediatrics-roadmap" in proc.stdout


# ------------------------------------------------------------------ 9. the web server: uploads, cross-site writes, a busy port

UI_GUIDE = """Axolotl Research Elective for IMGs

What is the Axolotl Research Elective?
The Axolotl Research Elective is a six-week research block in which international medical graduates study limb regeneration in axolotls. Applicants to the Axolotl Research Elective send a short proposal and one letter from a laboratory mentor. The Axolotl Research Elective starts every March.
"""


def _files(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative paths, sorted); [] when it does not exist."""
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def ui_home(built_home, tmp_path_factory) -> Path:
    return ingested_home(tmp_path_factory.mktemp("faults-ui-home"), built_home.cache_dir)


@pytest.fixture(scope="module")
def system_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("faults-ui-system-tmp")


@pytest.fixture(scope="module")
def server(ui_home, system_tmp, tmp_path_factory) -> str:
    with serve(ui_home, log_dir=tmp_path_factory.mktemp("faults-ui-logs"), startup_timeout=180.0, env={"TMPDIR": str(system_tmp)}) as url:
        yield url


def _upload(url: str, name: str, data: bytes, headers: dict | None = None) -> httpx.Response:
    """POST one file to Gradio's upload route, multipart, as a browser or gradio_client does."""
    return httpx.post(url + "/gradio_api/upload", files={"files": (name, data, "text/plain")}, headers=headers or {}, timeout=30)


def _written_anywhere(name: str, *folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob(name)]


# --------------------------------------------------------------------------- (a) where the upload copy lands


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_upload_copy_lives_under_advisor_home(server, ui_home, system_tmp):
    name = f"upload-{uuid.uuid4().hex[:8]}.txt"
    r = _upload(server, name, UI_GUIDE.encode())
    assert r.status_code == 200, r.text
    [path] = r.json()
    copy = Path(path).resolve()
    assert copy.is_relative_to((ui_home / "tmp" / "uploads").resolve()), copy
    assert copy.read_bytes() == UI_GUIDE.encode()
    assert _files(system_tmp / "gradio") == [], "an upload copy was written to the system temp folder"


# --------------------------------------------------------------------------- (b) cross-origin writes


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_foreign_origin_cannot_upload(server, ui_home, system_tmp, origin):
    name = f"foreign-{uuid.uuid4().hex[:8]}.txt"
    r = _upload(server, name, UI_GUIDE.encode(), headers={"Origin": origin})
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.text.strip() and "\n" not in r.text.strip() and len(r.text) < 200, r.text
    assert _written_anywhere(name, ui_home, system_tmp) == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_foreign_origin_cannot_join_the_queue(server):
    """Any state-changing route is covered, not just uploads: a queued event from another site is refused too."""
    body = {"data": [], "fn_index": 0, "session_hash": uuid.uuid4().hex, "event_data": None, "trigger_id": None}
    r = httpx.post(server + "/gradio_api/queue/join", json=body, headers={"Origin": "http://evil.example"}, timeout=30)
    assert r.status_code == 403, (r.status_code, r.text)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_own_origin_and_no_origin_may_upload(server, ui_home):
    port = server.rsplit(":", 1)[1]
    ok = [
        _upload(server, "own-origin.txt", UI_GUIDE.encode(), headers={"Origin": server}),
        _upload(server, "no-origin.txt", UI_GUIDE.encode()),
        # the same server reached as localhost: the browser's Origin matches that Host header
        httpx.post(f"http://localhost:{port}/gradio_api/upload", files={"files": ("localhost.txt", UI_GUIDE.encode(), "text/plain")},
                   headers={"Origin": f"http://localhost:{port}"}, timeout=30),
    ]
    for r in ok:
        assert r.status_code == 200, (r.status_code, r.text)
    # reading stays possible from anywhere (GET is not state-changing; CORS keeps the answer from other sites' scripts)
    assert httpx.get(server + "/config", headers={"Origin": "http://evil.example"}, timeout=30).status_code == 200


# --------------------------------------------------------------------------- (c) the Library tab deletes the temp copy


def _event_index(config: dict, elem_id: str) -> int:
    """The ``fn_index`` of the click event of the button with ``elem_id`` (as the page finds it in /config)."""
    ids = {c["id"] for c in config["components"] if (c.get("props") or {}).get("elem_id") == elem_id}
    for i, dep in enumerate(config["dependencies"]):
        if any(t[0] in ids and t[1] == "click" for t in dep.get("targets") or []):
            return dep.get("id", i)
    raise AssertionError(f"no click event on #{elem_id} in /config")


def _run_event(url: str, fn_index: int, data: list, timeout: float = 240) -> list:
    """Run one UI event the way the web page does: POST queue/join, then read the SSE stream until it completes."""
    session = uuid.uuid4().hex
    join = httpx.post(url + "/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}, timeout=30)
    assert join.status_code == 200, join.text
    with httpx.stream("GET", url + "/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                assert msg.get("success"), msg
                return msg["output"]["data"]
    raise AssertionError("the event stream ended without process_completed")


def _file_data(path: str, name: str) -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_library_upload_deletes_its_temp_copy(server, ui_home, system_tmp):
    config = httpx.get(server + "/config", timeout=30).json()
    add = _event_index(config, "add-guide")
    uploads = ui_home / "tmp" / "uploads"

    # a guide that is ingested
    name = f"axolotl-elective-{uuid.uuid4().hex[:6]}.txt"
    r = _upload(server, name, UI_GUIDE.encode())
    assert r.status_code == 200, r.text
    [tmp_copy] = r.json()
    assert Path(tmp_copy).exists()
    status = _run_event(server, add, [[_file_data(tmp_copy, name)]])[0]
    assert "Added" in status and name in status, status
    assert (ui_home / "library" / name).read_text(encoding="utf-8") == UI_GUIDE
    assert not Path(tmp_copy).exists(), "the temporary upload copy is still there after the guide was ingested"

    # a guide that is rejected (a type the library does not read)
    r = _upload(server, "notes.docx", b"PK\x03\x04 not a guide")
    assert r.status_code == 200, r.text
    [rejected] = r.json()
    status = _run_event(server, add, [[_file_data(rejected, "notes.docx")]])[0]
    assert "unsupported file type" in status, status
    assert not Path(rejected).exists(), "the temporary copy of a rejected upload is still there"
    assert not (ui_home / "library" / "notes.docx").exists()

    assert not [f for f in _files(uploads) if name in f or "notes.docx" in f], _files(uploads)
    assert _files(system_tmp / "gradio") == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_upload_folder_is_emptied_at_start_and_stop(ui_home, tmp_path):
    """A copy a killed server left behind is gone once a server starts; one never added is gone when it stops."""
    uploads = ui_home / "tmp" / "uploads"
    stale = uploads / ("0" * 64) / "left-by-a-killed-server.txt"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text(UI_GUIDE, encoding="utf-8")
    (tmp_path / "system-tmp").mkdir()
    with serve(ui_home, log_dir=tmp_path, startup_timeout=180.0, env={"TMPDIR": str(tmp_path / "system-tmp")}) as url:
        assert not stale.exists(), _files(uploads)
        r = _upload(url, "chosen-but-never-added.txt", UI_GUIDE.encode())
        assert r.status_code == 200, r.text
        assert Path(r.json()[0]).exists()
    assert not url.killed, f"the server ignored SIGTERM for a minute and was killed (so it never cleaned up):\n{tail(url.log_path)}"
    assert _files(uploads) == [], f"{_files(uploads)} (server exit status {url.returncode}):\n{tail(url.log_path)}"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_browser_upload_works_and_leaves_no_temp_copy(server, ui_home, system_tmp, tmp_path):
    """The app's own page (Chromium, which sends Origin on every POST) still uploads and adds a guide."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make browser installs Debian's chromium)")
    guide = tmp_path / f"browser-axolotl-{uuid.uuid4().hex[:6]}.txt"
    guide.write_text(UI_GUIDE.replace("Axolotl", "Salamander"), encoding="utf-8")
    requests: list = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r) if r.method == "POST" else None)
            page.goto(server + "/", timeout=60_000)
            page.get_by_role("tab", name="Library", exact=True).click()
            page.wait_for_selector("#library-table", timeout=60_000)
            choose_upload(page, guide, playwright_api.TimeoutError)
            page.click("#add-guide")
            page.wait_for_function(
                f"() => {{ const s = document.querySelector('#upload-status'); return s && (s.innerText.includes({guide.name!r}) || s.innerText.includes('⚠')); }}",
                timeout=240_000,
            )
            status = page.locator("#upload-status").inner_text()
            posts = [(r.url, r.all_headers().get("origin")) for r in requests]  # the headers as sent, Origin included
        finally:
            browser.close()
    assert "Added" in status and guide.name in status, status
    assert any(u.endswith("/gradio_api/upload") or "/gradio_api/upload?" in u for u, _ in posts), posts
    assert all(o == server for _, o in posts), posts  # the page did send its Origin, and it was accepted
    assert (ui_home / "library" / guide.name).exists()
    assert not [f for f in _files(ui_home / "tmp" / "uploads") if guide.name in f], _files(ui_home / "tmp" / "uploads")
    assert _files(system_tmp / "gradio") == []


# --------------------------------------------------------------------------- (d) a busy port


@pytest.mark.timeout(120)
def test_busy_port_is_one_line_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind((HOST, 0))
        holder.listen()
        port = holder.getsockname()[1]
        start = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", HOST, "--port", str(port)],
            cwd=PROJECT_DIR, env=server_env(tmp_path / "home", TMPDIR=str(tmp_path)), capture_output=True, text=True,
            timeout=90, stdin=subprocess.DEVNULL,
        )
        took = time.monotonic() - start
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    errors = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "--port" in errors[0] and str(port) in errors[0], r.stderr
    assert "Traceback" not in r.stderr and "GRADIO_SERVER_PORT" not in r.stderr, r.stderr
    assert took < 20, f"took {took:.1f} s: the port should be checked before the app is built"
