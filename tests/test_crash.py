"""Crash safety: ``kill -9`` at random points of a real ``advisor ingest``, and a corrupt Chroma store.

Each trial changes a guide (so the ingest has real work: re-chunk, embed the new
text, write a Chroma collection, BM25, sentence vectors, then swap), starts
``python -m assistant.cli ingest`` the way a user does and SIGKILLs it after a
delay drawn from a seeded RNG over the whole measured ingest duration (imports
included). Afterwards the index that was live answers the probe question with the
same top passage, a user-added guide (ingested from outside the corpus) is still
on disk and in the library, and the next ingest completes and serves the new text.

The vector cache is seeded from the session index (``fresh_home``), so a trial
embeds only the changed passage and takes seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.store.state import IndexState
from assistant.ingestion.pipeline import ingest, library
from assistant.retrieval import Retriever
from tests.conftest import ROOT, record_figure, run_cli

KILLS = 20  # trials whose ingest was really killed mid-way (the rest finished before the signal)
MAX_TRIALS = 32
SEED = 20240917
PROBE = "How do I explain a gap after graduation?"
USER_GUIDE = "my-visa-timeline-notes"
USER_TEXT = "# My Visa Timeline Notes\n\nStart the DS-2019 paperwork early; the quokka rule says plan the visa timeline ahead.\n"


def _env(settings) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_LLM", "ADVISOR_CHROMA_URL", "ADVISOR_TEST_CRASH_AFTER")}
    env.update(ADVISOR_HOME=str(settings.home), ADVISOR_CORPUS=str(settings.corpus_dir), PYTHONUNBUFFERED="1")
    return env


def _top(settings, question: str = PROBE):
    h = Retriever(settings).search(question, k=1)[0]  # a new Retriever: loads whatever is live on disk
    return (h.chunk_id, h.source, h.section)


def _start_ingest(settings, args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", *args], cwd=ROOT, env=_env(settings),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _change(path: Path, token: str) -> None:
    """Add one new sentence with a unique nonsense token just before the guide's last section."""
    text = path.read_text(encoding="utf-8")
    line = f"Applicants who ask about {token} should plan their {token} paperwork months ahead.\n"
    if "SmartPick" in text:
        text = text.replace("SmartPick", line + "SmartPick", 1)
    else:
        text += "\n" + line
    path.write_text(text, encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_kill_9_at_random_points_of_ingest(fresh_home, tmp_path):
    s = fresh_home
    outside = tmp_path / "outside"
    outside.mkdir()
    user_guide = outside / f"{USER_GUIDE}.md"
    user_guide.write_text(USER_TEXT, encoding="utf-8")
    ingest(settings=s)
    ingest([user_guide], settings=s)  # a guide the user added from outside the corpus
    assert USER_GUIDE in {d["source"] for d in library(s)}
    log = tmp_path / "ingest.log"
    targets = [s.corpus_dir / "us-img-medical-genetics-red-flags.txt", s.corpus_dir / "img-medical-genetics-low-step-scores.txt", user_guide]

    # calibrate: one uninterrupted CLI ingest with real work gives the range of kill delays
    _change(targets[0], "calibrationword")
    t0 = time.monotonic()
    proc = _start_ingest(s, [], log)
    assert proc.wait(timeout=300) == 0, log.read_text(errors="replace")[-2000:]
    duration = first = time.monotonic() - t0
    assert _top(s, "calibrationword paperwork")[1] == "us-img-medical-genetics-red-flags"

    rng = random.Random(SEED)
    outcomes = {"killed before the swap": 0, "killed after the swap": 0, "finished before the kill": 0}
    half_built = 0
    trial = 0
    while outcomes["killed before the swap"] + outcomes["killed after the swap"] < KILLS:
        assert trial < MAX_TRIALS, f"only {outcomes} in {trial} trials: the kill delays do not cover the ingest"
        before_state = IndexState.read(s)
        before_top = _top(s)
        user_bytes = user_guide.read_bytes()
        token = f"zorblax{trial}quib"
        target = targets[trial % len(targets)]
        _change(target, token)
        if target == user_guide:
            user_bytes = user_guide.read_bytes()
        args = [str(user_guide)] if trial % 2 else []  # half the trials re-add the user's guide by path
        delay = rng.uniform(0.0, duration)
        proc = _start_ingest(s, args, log)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=60)

        # the index that was live still answers, and nothing of the user's was lost
        after_state = IndexState.read(s)
        if rc == 0:  # this run took less than `delay`: narrow the range, it still covers a whole ingest
            outcomes["finished before the kill"] += 1
            duration = delay
        elif after_state.generation == before_state.generation:
            outcomes["killed before the swap"] += 1
            half_built += any(int(p.name[4:]) > before_state.generation for p in s.index_dir.glob("gen-*") if p.name[4:].isdigit())
        else:
            outcomes["killed after the swap"] += 1
        assert rc in (0, -signal.SIGKILL), (trial, rc, log.read_text(errors="replace")[-2000:])
        assert _top(s) == before_top, f"trial {trial}: killed after {delay:.2f}s, probe answer changed"
        assert user_guide.read_bytes() == user_bytes, "a failed ingest never touches the user's file"
        assert USER_GUIDE in {d["source"] for d in library(s)}

        # the next ingest completes and serves the new text
        rep = ingest(settings=s)
        assert rep.swapped or after_state.generation != before_state.generation  # else the kill came after the swap
        hits = Retriever(s).search(f"{token} paperwork", k=5)
        assert any(h.source == target.stem and token in h.text for h in hits), (trial, [h.source for h in hits])
        assert any(h.source == USER_GUIDE and "quokka" in h.text for h in Retriever(s).search("the quokka rule for DS-2019 paperwork", k=5))
        trial += 1

    killed = outcomes["killed before the swap"] + outcomes["killed after the swap"]
    record_figure("crash", f"{trial} of {trial} kill -9 trials survived ({killed} killed mid-ingest: "
                  f"{outcomes['killed before the swap']} before and {outcomes['killed after the swap']} after the swap, "
                  f"{half_built} leaving a half-built generation; {outcomes['finished before the kill']} finished first; "
                  f"kill delays uniform over 0–{first:.1f} s (the measured ingest, start-up included; narrowed to {duration:.1f} s "
                  f"when a run finished first), seed {SEED})")


# --------------------------------------------------------------------------- a corrupt Chroma store


def _garble(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how == "truncate":
        db.write_bytes(data[: len(data) // 2])
    else:  # overwrite the header and scattered pages
        b = bytearray(data)
        rng = random.Random(7)
        b[:100] = b"\xde\xad" * 50
        for i in range(4096, len(b) - 64, 4096):
            b[i : i + 64] = bytes(rng.randrange(256) for _ in range(64))
        db.write_bytes(bytes(b))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["truncate", "garble"])
def test_corrupt_chroma_store_is_reported_and_rebuilt(fresh_home, how):
    ingest(settings=fresh_home)
    want = _top(fresh_home)
    db = fresh_home.index_dir / "chroma" / "chroma.sqlite3"
    _garble(db, how)
    env = {"ADVISOR_HOME": str(fresh_home.home), "ADVISOR_CORPUS": str(fresh_home.corpus_dir)}
    proc = run_cli(["retrieve", PROBE, "-k", "1"], extra_env=env)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "advisor ingest --rebuild" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert "Chroma" in lines[0]
    proc = run_cli(["ingest", "--rebuild"], extra_env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    aside = list(fresh_home.index_dir.glob("chroma.corrupt-*"))
    if aside:  # the unreadable store is kept aside (not deleted) and the user is told where
        assert str(aside[0]) in proc.stderr
    proc = run_cli(["retrieve", PROBE, "-k", "1", "--json"], extra_env=env)
    assert proc.returncode == 0, proc.stderr
    import json

    top = json.loads(proc.stdout)["results"][0]
    assert (top["source"], top["section"]) == want[1:]
