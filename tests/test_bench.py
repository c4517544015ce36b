"""`python -m bench.run --tiny` runs end to end and writes well-formed JSON (not a timed test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_tiny_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    for k in ("ADVISOR_HOME", "ADVISOR_CHROMA_URL", "ADVISOR_CORPUS", "ADVISOR_LLM", "ADVISOR_EMBEDDINGS"):
        env.pop(k, None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--tiny", "--quiet", "--out", str(out), "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "targets" in proc.stdout  # the rich table was printed
    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["schema"] == 1 and r["mode"] == "tiny" and r["scale"] >= 2
    assert {"machine", "process_start_s", "corpus", "small", "scale_results", "scale_corpus", "targets", "notes", "total_s"} <= set(r)
    assert not (tmp_path / "work").exists(), "the work folder is removed unless --keep"

    for block in (r["small"], r["scale_results"]):
        a, b = block["advisor"], block["baseline"]
        assert {"ingest", "reingest", "cold_ask", "warm"} <= set(a)
        assert {"ingest", "cold_start", "warm"} <= set(b)
        assert a["ingest"]["chunks"] > 0 and a["ingest"]["chunks_per_s"] > 0
        assert a["cold_ask"]["median_s"] > 0 and a["cold_ask"]["peak_rss_mb"] > 0
        for k in ("retrieve_p50_ms", "retrieve_p95_ms", "warm_ask_p50_ms", "warm_ask_p95_ms", "hit@5", "mrr", "peak_rss_mb"):
            assert isinstance(a["warm"][k], (int, float)), k
        assert 0.0 <= a["warm"]["hit@5"] <= 1.0 and 0.0 <= b["warm"]["hit@5"] <= 1.0
        assert a["warm"]["engine"] == "onnx"
        assert {"cold_speedup", "retrieve_p50_speedup", "ingest_chunks_per_s_ratio", "hit@5_delta"} <= set(block["ratios"])

    small = r["small"]
    assert small["advisor"]["ingest"]["vector_cache"] == "empty"
    assert small["advisor"]["ingest"]["embedded_texts"] > small["advisor"]["ingest"]["chunks"]  # passages and sentences
    assert small["advisor"]["reingest"]["wall_s"] > 0 and "net_s" in small["advisor"]["reingest"]
    assert small["baseline"]["cold_start"]["median_s"] > 0
    scale = r["scale_results"]
    assert scale["advisor"]["ingest"]["vector_cache"] == "seeded"
    assert scale["advisor"]["ingest"]["documents"] == r["scale_corpus"]["documents"] == 5 * r["scale"]
    assert scale["advisor"]["ingest"]["embedded_texts"] <= 10, "recombined guides reuse cached vectors"
    assert scale["peak_rss_mb"] > 0

    names = {t["name"] for t in r["targets"]}
    assert {"cold_ask_s", "cold_speedup_vs_baseline", "warm_ask_p50_ms", "retrieve_p50_ms", "scale_retrieve_p50_ms", "scale_hit@5_drop", "ingest_chunks_per_s", "reingest_net_s", "scale_peak_rss_mb"} <= names
    assert all(t["met"] in (True, False, None) for t in r["targets"])


def test_synthetic_copies_map_back_to_their_guide(tmp_path):
    from assistant.ingestion.chunking import chunk_document
    from assistant.ingestion.corpus import discover, load_document, load_manifest

    from bench.synth import make_scale_corpus, origin_of

    stats = make_scale_corpus(ROOT / "corpus", tmp_path, 3)
    files = discover([tmp_path])
    assert stats["documents"] == len(files) == 15
    manifest = load_manifest(tmp_path)
    originals = {f.stem for f in (ROOT / "corpus").glob("*.txt")}
    assert {origin_of(f.stem) for f in files} == originals
    assert origin_of("non-us-img-radiology-red-flags--syn0042") == "non-us-img-radiology-red-flags"
    # a copy's passages are the original's passages (so the vector cache serves them), except where a short
    # top-level section joins the next one: in a shuffled copy its neighbour differs (about one passage in ten)
    orig = {c.embed_text for f in (ROOT / "corpus").glob("*.txt") for c in chunk_document(load_document(f, load_manifest(ROOT / "corpus")))}
    copies = [c for f in files if "--syn" in f.stem for c in chunk_document(load_document(f, manifest))]
    assert copies and sum(c.embed_text in orig for c in copies) / len(copies) > 0.85
    assert all(c.audience == "non-us-img" for c in copies if c.source.startswith("non-us-img-radiology"))
