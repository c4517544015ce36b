"""Embeddings: the ONNX engine matches the reference model, loads once, and never embeds a text twice."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.store import engines
from assistant.store.embeddings import Embedder, get_embedder
from assistant.store.engines import DIM, OnnxEngine, onnx_path

QUESTIONS = [
    "I failed Step 1; can I still match into radiology?",
    "How many medical genetics programs should a US citizen IMG apply to?",
    "What Step 2 CK score is competitive for medical genetics?",
    "Do I need US clinical experience before applying?",
    "How should I explain a gap in my training?",
    "Which visas do radiology programs sponsor?",
    "Are observerships useful for non-US IMGs?",
    "Should I write a letter about my low Step score?",
]


@pytest.fixture(scope="module")
def passages():
    """About a dozen real guide passages of every length (short headings to long paragraphs)."""
    from assistant.config import get_settings
    from assistant.ingestion.corpus import discover, load_document, load_manifest

    from assistant.ingestion.chunking import chunk_document

    corpus = get_settings().corpus_dir
    manifest = load_manifest(corpus)
    chunks = [c for f in discover([corpus]) for c in chunk_document(load_document(f, manifest))]
    chunks.sort(key=lambda c: len(c.embed_text))
    picked = chunks[:: max(1, len(chunks) // 12)][:12]
    return [c.embed_text for c in picked] + [chunks[-1].embed_text]  # include the longest (truncated at 256 tokens)


@pytest.fixture(scope="module")
def onnx_engine():
    if not onnx_path().exists():
        engines.export_onnx()
    return OnnxEngine(onnx_path())


@pytest.fixture(scope="module")
def reference_vectors(passages):
    """The reference: sentence-transformers (torch) on the packaged model, as a tutorial would run it."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(engines.model_dir()), device="cpu", local_files_only=True)
    model.max_seq_length = engines.MAX_SEQ
    texts = passages + QUESTIONS
    return texts, np.asarray(model.encode(texts, normalize_embeddings=True, convert_to_numpy=True), dtype=np.float32)


def test_onnx_vectors_match_sentence_transformers(onnx_engine, reference_vectors):
    texts, ref = reference_vectors
    assert len(texts) >= 20
    got = onnx_engine.encode(texts)
    assert got.shape == (len(texts), DIM) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = (got * ref).sum(1)
    assert cos.min() >= 0.99, f"lowest cosine {cos.min():.4f} for {texts[int(cos.argmin())][:60]!r}"


def _naive(engine: OnnxEngine, texts: list[str]) -> np.ndarray:
    """The engine before the speed work: input order, one text at a time (no sorting, no padding)."""
    return np.stack([engine.encode([t])[0] for t in texts])


def test_length_sorted_batches_keep_input_order_and_vectors(onnx_engine, passages):
    texts = [t for pair in zip(passages, QUESTIONS * 2) for t in pair]  # long and short interleaved
    batched = onnx_engine.encode(texts)
    one_by_one = _naive(onnx_engine, texts)
    assert (batched * one_by_one).sum(1).min() >= 0.999
    single = OnnxEngine(onnx_path(), workers=1).encode(texts)
    assert (single * batched).sum(1).min() >= 0.999
    assert onnx_engine.encode([]).shape == (0, DIM)


def test_get_embedder_is_one_object_and_loads_the_engine_once(tmp_path, monkeypatch):
    loads = []
    real_load = Embedder._load

    def counting_load(self):
        loads.append(self)
        return real_load(self)

    monkeypatch.setattr(Embedder, "_load", counting_load)
    a = get_embedder(tmp_path / "cache")
    b = get_embedder(tmp_path / "cache")
    assert a is b
    assert get_embedder(tmp_path / "other") is not a
    e1 = a.engine
    e2 = b.engine
    assert e1 is e2 and len(loads) == 1
    a.embed_query("warm up the engine")
    a.embed_documents(["one passage", "another passage"])
    assert a.engine is e1 and len(loads) == 1
    if onnx_path().exists():
        assert e1.name == "onnx"


def test_document_vectors_are_cached_by_content_hash(tmp_path, passages):
    emb = get_embedder(tmp_path / "cache")
    texts = passages[:5] + [passages[0]]  # a repeat inside one call is embedded once
    first = emb.embed_documents(texts)
    assert emb.embedded_count == 5
    assert (tmp_path / "cache" / "embcache.sqlite").exists()
    before = emb.embedded_count
    again = emb.embed_documents(list(reversed(texts)))
    assert emb.embedded_count - before == 0, "second call must embed 0 new texts"
    assert np.array_equal(again[::-1], first)
    # a new process (new Embedder) on the same cache directory also embeds nothing
    fresh = Embedder(tmp_path / "cache")
    fresh.embed_documents(texts)
    assert fresh.embedded_count == 0
    # only the new text is embedded
    emb.embed_documents(texts + ["a brand new passage about observerships"])
    assert emb.embedded_count - before == 1


def test_query_cache(tmp_path, monkeypatch):
    emb = get_embedder(tmp_path / "cache")
    engine = emb.engine
    calls = []
    real = engine.encode

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(engine, "encode", counting)
    q = QUESTIONS[0]
    v1 = emb.embed_query(q)
    v2 = emb.embed_query(q)
    assert len(calls) == 1 and v1 is v2
    assert v1.shape == (DIM,) and abs(float(np.linalg.norm(v1)) - 1) < 1e-4
    emb.embed_query(QUESTIONS[1])
    assert len(calls) == 2
