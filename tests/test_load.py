"""Load: 20 concurrent API clients against a real ``advisor serve``, and queries during a concurrent ingest.

1. Twenty ``gradio_client`` clients ask ten questions each, all at once, through
   the server's ``/ask`` endpoint on loopback: no errors, every answer identical
   to the one a single user gets, and the p95 latency (queueing included) is
   reported.
2. While ``advisor ingest`` (a real subprocess) swaps in new generations of the
   index, threads keep calling :meth:`Retriever.search` on one shared in-process
   retriever: no exceptions, and every result list is exactly the result of one
   generation (its chunk ids, texts and order come from a single chunk table).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.store.state import IndexState
from assistant.ingestion.pipeline import ingest
from assistant.retrieval import Retriever
from tests.conftest import ROOT, record_figure

try:
    from tests.ui_server import ingested_home, serve, server_log
except ImportError:  # pytest's rootdir-relative import of tests/
    from ui_server import ingested_home, serve, server_log

CLIENTS = 20
QUESTIONS = [
    ("I failed Step 1; can I still match into radiology?", "non-us-img", "radiology"),
    ("How should I explain a gap after graduation?", "not set", "not set"),
    ("How do I research medical genetics residency programs?", "us-img", "medical-genetics"),
    ("What Step 2 CK score should I aim for in medical genetics?", "non-us-img", "medical-genetics"),
    ("How many programs should I apply to?", "us-img", "medical-genetics"),
    ("Should I mention my red flags in my personal statement?", "not set", "radiology"),
    ("Do US clinical experience and letters matter for genetics?", "not set", "medical-genetics"),
    ("How many years does a categorical medical genetics program last?", "not set", "not set"),
    ("What is a good recipe for sourdough bread?", "not set", "not set"),
    ("Can research offset a low Step 1 score?", "us-img", "medical-genetics"),
]


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _ask(client, q, audience, specialty) -> dict:
    return client.predict(q, audience, specialty, api_name="/ask")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_twenty_concurrent_clients_get_the_single_user_answers(tmp_path, built_home):
    home = ingested_home(tmp_path / "load-home", built_home.cache_dir)  # vectors seeded by content hash: indexed in seconds
    with serve(home) as url:
        single = _client(url)
        expected = {q: _ask(single, q, a, s) for q, a, s in QUESTIONS}
        assert sum(not e["abstained"] for e in expected.values()) >= 8, server_log(home)

        barrier = threading.Barrier(CLIENTS)
        latencies: list[float] = []
        errors: list[str] = []
        mismatches: list[str] = []
        lock = threading.Lock()

        def user(n: int) -> None:
            try:
                client = _client(url)
                barrier.wait(timeout=120)
                order = QUESTIONS[n % len(QUESTIONS):] + QUESTIONS[: n % len(QUESTIONS)]  # everyone asks all ten, in a rotated order
                for q, a, s in order:
                    t0 = time.perf_counter()
                    got = _ask(client, q, a, s)
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        if got != expected[q]:
                            mismatches.append(f"client {n}: {q}")
            except Exception as exc:  # noqa: BLE001 - every error is counted and shown
                with lock:
                    errors.append(f"client {n}: {type(exc).__name__}: {exc}")

        t0 = time.perf_counter()
        threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=480)
        wall = time.perf_counter() - t0
        assert not any(t.is_alive() for t in threads), "clients still waiting after 480 s"
        assert not errors, errors[:5] + [server_log(home)]
        assert not mismatches, mismatches[:5]
        assert len(latencies) == CLIENTS * len(QUESTIONS)
        lat = sorted(latencies)
        p95 = lat[int(0.95 * (len(lat) - 1))]
        record_figure("load", f"{CLIENTS} concurrent clients × {len(QUESTIONS)} questions = {len(lat)} answers, 0 errors, "
                      f"all identical to the single-user answers; latency p50 {statistics.median(lat):.2f} s, p95 {p95:.2f} s, "
                      f"max {lat[-1]:.2f} s (queueing included; {wall:.0f} s in all, {len(lat) / wall:.1f} answers/s on 2 shared cores)")


# --------------------------------------------------------------------------- queries during an ingest

PROBES = [
    "How do I explain a gap after graduation?",
    "What Step 2 CK score should I aim for in medical genetics?",
    "How many radiology programs should a non-US IMG apply to?",
    "Can research offset a low Step 1 score?",
]
GUIDE = "img-medical-genetics-low-step-scores.txt"  # sorted first: new passages here shift every later row of the chunk table


def _insert_early(path: Path, n: int) -> None:
    """Insert a long new section right after the title, so the chunk table gains rows near its start."""
    lines = path.read_text(encoding="utf-8").split("\n")
    para = " ".join(f"Round {n} note {i}: wombat{n} electives help applicants build a steady wombat{n} portfolio over many months." for i in range(14))
    lines[1:1] = ["", f"Wombat{n} Electives for Applicants", para]
    path.write_text("\n".join(lines), encoding="utf-8")


def _table(settings, gen: int) -> dict[str, dict]:
    rows = json.loads((settings.index_dir / f"gen-{gen}" / "chunks.json").read_text(encoding="utf-8"))
    return {r["id"]: r for r in rows}


def _run(r: Retriever, q: str) -> tuple:
    return tuple((h.chunk_id, h.text) for h in r.search(q, k=5))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_queries_during_ingest_see_one_generation(fresh_home, tmp_path):
    s = fresh_home
    ingest(settings=s)
    r = Retriever(s)  # one retriever shared by every thread, as in the server
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_LLM", "ADVISOR_CHROMA_URL", "ADVISOR_TEST_CRASH_AFTER")}
    env.update(ADVISOR_HOME=str(s.home), ADVISOR_CORPUS=str(s.corpus_dir))
    results: list[tuple[int, str, tuple]] = []  # (round, question, result)
    errors: list[str] = []
    expected: dict[int, dict] = {}  # generation -> question -> result on a quiet index
    tables: dict[int, dict] = {}
    rounds = []
    for n in range(3):
        gen_before = IndexState.read(s).generation
        expected[gen_before] = {q: _run(r, q) for q in PROBES}
        tables[gen_before] = _table(s, gen_before)
        _insert_early(s.corpus_dir / GUIDE, n)
        stop = threading.Event()

        def worker(w: int, rnd: int = n) -> None:
            i = w
            while not stop.is_set():
                q = PROBES[i % len(PROBES)]
                i += 1
                try:
                    res = _run(r, q)
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return
                results.append((rnd, q, res))

        threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(3)]
        for t in threads:
            t.start()
        proc = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        time.sleep(1.0)  # keep querying across the swap and the reload
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert proc.returncode == 0, proc.stderr
        gen_after = IndexState.read(s).generation
        assert gen_after > gen_before
        tables[gen_after] = _table(s, gen_after)
        expected[gen_after] = {q: _run(r, q) for q in PROBES}
        rounds.append((gen_before, gen_after))
        assert len(tables[gen_after]) > len(tables[gen_before])  # the new rows really shift the table

    assert not errors, errors[:5]
    assert len(results) >= 20, len(results)
    bad = []
    for rnd, q, res in results:
        before, after = rounds[rnd]
        if res not in (expected[before][q], expected[after][q]):
            bad.append((rnd, q, [cid for cid, _ in res]))
        # every passage of one result comes from one generation's chunk table, with that table's text
        assert any(all(cid in tables[g] and tables[g][cid]["text"] == text for cid, text in res) for g in (before, after)), (rnd, q)
    assert not bad, f"{len(bad)} of {len(results)} results mixed two generations, e.g. {bad[0]}"


@pytest.mark.timeout(300)
def test_query_in_flight_during_a_reload_finishes_on_its_generation(fresh_home):
    """Deterministic version of the race above: pause one search right after it read the index, reload, resume."""
    s = fresh_home
    ingest(settings=s)
    r = Retriever(s)
    q = PROBES[0]
    before = _run(r, q)
    _insert_early(s.corpus_dir / GUIDE, 99)
    real = r.embedder.embed_query
    paused, resume = threading.Event(), threading.Event()
    calls = {"n": 0}

    def embed_query(text):  # the search's second query embedding comes after it released the index lock
        if threading.current_thread().name == "in-flight":
            calls["n"] += 1
            if calls["n"] == 2:
                paused.set()
                resume.wait(60)
        return real(text)

    out: dict = {}

    def in_flight() -> None:
        try:
            out["res"] = _run(r, q)
        except Exception as exc:  # noqa: BLE001
            out["err"] = f"{type(exc).__name__}: {exc}"

    r.embedder.embed_query = embed_query
    try:
        t = threading.Thread(target=in_flight, name="in-flight", daemon=True)
        t.start()
        assert paused.wait(60), "the search no longer embeds the query after reading the index; move the pause"
        ingest(settings=s)  # a new generation goes live ...
        r.ensure_loaded()  # ... and another request reloads the shared retriever
        resume.set()
        t.join(60)
    finally:
        r.embedder.embed_query = real
        resume.set()
    after = _run(r, q)
    assert "err" not in out, out
    assert out["res"] in (before, after), "a search in flight during a reload mixed two generations"
