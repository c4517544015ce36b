"""The tutorial pipeline the advisor is measured against, as a tutorial would write and run it.

Raw guide files -> LangChain ``RecursiveCharacterTextSplitter`` (1,000 / 200) ->
the same all-MiniLM-L6-v2 weights through sentence-transformers (torch) ->
an embedded Chroma collection -> top-k by cosine. No cleaning, no BM25, no
extras. It deliberately does not import ``assistant`` in the timed commands,
so its cold start pays what a tutorial script pays.

Commands (each prints one JSON line; run by ``bench/run.py`` in fresh processes)::

    python -m bench.baseline ingest --home DIR --corpus DIR --model DIR [--memo]
    python -m bench.baseline query  --home DIR --model DIR "question"
    python -m bench.baseline warm   --home DIR --model DIR --gold FILE [--limit N]

``--memo`` embeds each distinct chunk text once (identical text gives the
identical vector, so the collection is the one a tutorial would build); the
harness uses it only for the synthetic corpus at scale, whose recombined files
repeat the same passages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

COLLECTION = "tutorial"
T0 = time.perf_counter()


def _imports():
    """What a tutorial script imports at the top."""
    import chromadb  # noqa: F401
    import langchain_core.documents  # noqa: F401
    import sentence_transformers  # noqa: F401
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401


def _model(path: str):
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(path, device="cpu", local_files_only=True)
    return m


def _collection(home: str, create: bool = False):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=f"{home}/chroma", settings=Settings(anonymized_telemetry=False))
    if create:
        try:
            client.delete_collection(COLLECTION)
        except Exception:
            pass
        return client.create_collection(COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
    return client.get_collection(COLLECTION, embedding_function=None)


def ingest(args) -> dict:
    from pathlib import Path

    _imports()
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    t_import = time.perf_counter() - T0
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    rows: list[tuple[str, str]] = []
    for f in sorted(Path(args.corpus).glob("*.txt")):
        for piece in splitter.split_text(f.read_text(encoding="utf-8", errors="replace")):
            rows.append((f.stem, piece))
    t = time.perf_counter()
    model = _model(args.model)
    t_model = time.perf_counter() - t
    texts = [p for _, p in rows]
    t = time.perf_counter()
    if args.memo:
        uniq = list(dict.fromkeys(texts))
        vecs_u = model.encode(uniq, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        pos = {u: i for i, u in enumerate(uniq)}
        vecs = vecs_u[[pos[x] for x in texts]]
        embedded = len(uniq)
    else:
        vecs = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        embedded = len(texts)
    t_embed = time.perf_counter() - t
    t = time.perf_counter()
    coll = _collection(args.home, create=True)
    step = 4000
    for i in range(0, len(rows), step):
        coll.add(
            ids=[str(j) for j in range(i, min(i + step, len(rows)))],
            embeddings=vecs[i : i + step],
            documents=texts[i : i + step],
            metadatas=[{"source": s} for s, _ in rows[i : i + step]],
        )
    t_store = time.perf_counter() - t
    return {"chunks": len(rows), "embedded": embedded, "import_s": t_import, "model_s": t_model, "embed_s": t_embed, "store_s": t_store, "seconds": time.perf_counter() - T0}


def query(args) -> dict:
    _imports()
    model = _model(args.model)
    coll = _collection(args.home)
    v = model.encode([args.question], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
    res = coll.query(query_embeddings=[v.tolist()], n_results=args.k, include=["documents", "metadatas"])
    for m, d in zip(res["metadatas"][0], res["documents"][0]):
        print(f"[{m['source']}] {d[:200]!r}", file=sys.stderr)
    return {"results": [m["source"] for m in res["metadatas"][0]], "seconds": time.perf_counter() - T0}


def warm(args) -> dict:
    """Warm retrieval latency and hit@5 over the gold questions (in-process, model loaded once)."""
    _imports()
    import statistics

    from assistant.evaluation.dataset import load_dataset
    from assistant.evaluation.metrics import percentile, retrieval_scores

    from bench.synth import origin_of

    model = _model(args.model)
    coll = _collection(args.home)
    n = coll.count()

    def search(q: str, k: int = 5):
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
        res = coll.query(query_embeddings=[v.tolist()], n_results=min(k, n), include=["documents", "metadatas"])
        return [(origin_of(m["source"]), d) for m, d in zip(res["metadatas"][0], res["documents"][0])]

    import torch

    search("warm-up question about residency applications")
    cases = load_dataset(args.gold)
    if args.limit:
        cases = cases[: args.limit]
    from assistant.answering import condense  # same stand-alone question as the advisor gets

    questions = [condense(c.question, c.history) for c in cases]
    # torch's default (one thread per core) spins badly when the machine is shared: a one-query
    # encode can take ~0.7 s instead of ~30 ms. Time a few queries that way (as a tutorial runs),
    # then give the baseline its best setting (one thread) for the figures we compare against.
    default_threads = torch.get_num_threads()
    t_default: list[float] = []
    for q in questions[: args.default_probe]:
        t = time.perf_counter()
        search(q)
        t_default.append((time.perf_counter() - t) * 1000)
    torch.set_num_threads(1)
    search("warm-up question about residency applications")
    times: list[float] = []
    scores = []
    for c, q in zip(cases, questions):
        t = time.perf_counter()
        res = search(q)
        times.append((time.perf_counter() - t) * 1000)
        if c.answerable:
            scores.append(retrieval_scores(c, res))
    m = max(1, len(scores))
    return {
        "queries": len(times),
        "retrieve_p50_ms": statistics.median(times),
        "retrieve_p95_ms": percentile(times, 95),
        "torch_threads": 1,
        "retrieve_p50_ms_default_threads": statistics.median(t_default) if t_default else None,
        "default_threads": default_threads,
        "default_threads_queries": len(t_default),
        "hit@5": sum(s["hit"] for s in scores) / m,
        "mrr": sum(s["rr"] for s in scores) / m,
        "vectors": n,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.baseline")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ingest")
    a.add_argument("--home", required=True)
    a.add_argument("--corpus", required=True)
    a.add_argument("--model", required=True)
    a.add_argument("--memo", action="store_true")
    q = sub.add_parser("query")
    q.add_argument("--home", required=True)
    q.add_argument("--model", required=True)
    q.add_argument("-k", type=int, default=5)
    q.add_argument("question")
    w = sub.add_parser("warm")
    w.add_argument("--home", required=True)
    w.add_argument("--model", required=True)
    w.add_argument("--gold", required=True)
    w.add_argument("--limit", type=int, default=0)
    w.add_argument("--default-probe", type=int, default=20, help="queries timed with torch's default thread count first")
    for p in (a, q, w):
        p.add_argument("--result", help="write the JSON result here (default: stdout)")
    args = ap.parse_args(argv)
    out = {"ingest": ingest, "query": query, "warm": warm}[args.cmd](args)
    text = json.dumps(out)
    if args.result:
        with open(args.result, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
