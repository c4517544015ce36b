"""Stage 4: hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal rank, with a profile boost.

Reciprocal-rank fusion (RRF) needs no score calibration between the two lists:
each passage scores ``sum(1 / (RRF_K + rank))`` over the lists it appears in.
An applicant profile (audience, specialty) multiplies the score of guides
written for that profile and mildly lowers guides written for the *other*
audience or specialty; guides for ``any`` audience are never penalised, so
general advice is not hidden. ``strict=True`` filters instead of boosting.

:func:`get_retriever` returns one process-wide :class:`Retriever` per data
directory; it notices when an ingest swaps in a new index generation and
reloads. The LangChain ``BaseRetriever`` view lives in :mod:`assistant.retrieval.langchain`
so that ``advisor retrieve`` never imports LangChain.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np

from assistant.config import Settings, get_settings
from assistant.errors import IndexMissingError, InputError
from assistant.retrieval.profile import normalize_profile, profile_allows, profile_weight, validate_question
from assistant.store import REBUILD_HINT, IndexState, check_generation_files, chroma_client, load_chunk_table
from assistant.schemas import Hit, PassageRow, TextEmbedder
from assistant.tuning import CANDIDATES, NEAR_DUPLICATE, RRF_K, W_DENSE, W_LEXICAL, W_UNIT

class Retriever:
    """Hybrid search over the live index generation of one data directory."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._lock = threading.RLock()
        self._loaded_gen: int | None = None
        self._state_mtime: float | None = None
        self.rows: list[PassageRow] = []
        self.by_id: dict[str, int] = {}
        self.bm25 = None
        self.collection = None
        self.state: IndexState | None = None
        self._memo: dict[str, tuple[int, object]] = {}
        from assistant.store import get_embedder

        self.embedder: TextEmbedder = get_embedder(self.settings.cache_dir)

    # -- loading
    def _state_file(self) -> Path:
        return self.settings.index_dir / "state.json"

    def ensure_loaded(self) -> None:
        """Load (or reload after an ingest swap) the live generation."""
        f = self._state_file()
        try:
            mtime = f.stat().st_mtime_ns
        except FileNotFoundError:
            raise IndexMissingError(f"no index in {self.settings.index_dir}; run `advisor ingest` to build it") from None
        if mtime == self._state_mtime and self.collection is not None:
            return
        with self._lock:
            if mtime == self._state_mtime and self.collection is not None:
                return
            state = IndexState.read(self.settings)
            if not state.generation:
                raise IndexMissingError(f"the index in {self.settings.index_dir} is empty; run `advisor ingest` to build it")
            gdir = state.gen_dir(self.settings)
            rows = load_chunk_table(gdir)
            unit_vecs = check_generation_files(gdir, rows)
            from assistant.store import BM25Index

            try:
                bm25 = BM25Index.load(gdir / "bm25", len(rows))
            except Exception as exc:
                raise IndexMissingError(f"the BM25 index in {gdir / 'bm25'} is missing or corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None
            if not bm25.current:  # saved before k1/b were re-tuned: rebuilt here (fast; the next ingest saves it)
                bm25 = BM25Index.build([r["embed"] for r in rows])
            client = chroma_client(self.settings)
            try:
                coll = client.get_collection(state.collection, embedding_function=None)
                n = coll.count()
            except Exception as exc:
                raise IndexMissingError(f"the Chroma collection '{state.collection}' is missing or corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None
            if n != len(rows):
                raise IndexMissingError(f"the Chroma collection has {n} passages but the chunk table has {len(rows)}; {REBUILD_HINT}")
            self.unit_vecs = unit_vecs
            self.rows, self.bm25, self.collection, self.state = rows, bm25, coll, state
            self.by_id = {r["id"]: i for i, r in enumerate(rows)}
            self._loaded_gen, self._state_mtime = state.generation, mtime

    @property
    def generation(self) -> int | None:
        """The index generation loaded now (None before the first search)."""
        return self._loaded_gen

    def memo(self, name: str, build):
        """``build(rows)`` computed once per loaded generation (library statistics: vocabulary, idf).

        Loads the live generation first when nothing is loaded yet (a missing index
        then means an empty table: every statistic is built from no rows).
        """
        if not self.rows:
            with contextlib.suppress(IndexMissingError):
                self.ensure_loaded()
        hit = self._memo.get(name)
        if hit is not None and hit[0] == id(self.rows):
            return hit[1]
        value = build(self.rows)
        self._memo[name] = (id(self.rows), value)
        return value

    # -- searching
    def _hit(self, i: int, score: float, dense: float, usims=None, rows=None, copy: dict | None = None) -> Hit:
        r = (self.rows if rows is None else rows)[i]
        if copy is not None:  # the same passage stored once for several guides: report the copy chosen
            r = {**r, **copy}
        usims = list(usims) if usims is not None else []
        return Hit(
            unit_sim=max(usims) if usims else 0.0,
            unit_sims=usims,
            units=r.get("units", []),
            chunk_id=r["id"],
            source=r["source"],
            title=r["title"],
            section=r["section"],
            text=r["text"],
            score=score,
            audience=r.get("audience", "any"),
            specialty=r.get("specialty", "any"),
            dense=dense,
        )

    def dense_search(self, question: str, n: int) -> list[tuple[int, float]]:
        vec = self.embedder.embed_query(question)
        n = min(n, len(self.rows))
        res = self.collection.query(query_embeddings=[vec.tolist()], n_results=n, include=["distances"])
        out = []
        for cid, dist in zip(res["ids"][0], res["distances"][0]):
            i = self.by_id.get(cid)
            if i is not None:
                out.append((i, 1.0 - float(dist)))
        return out

    def search(
        self,
        question: str,
        k: int = 5,
        audience: str | None = None,
        specialty: str | None = None,
        strict: bool = False,
    ) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first (fused RRF score in ``Hit.score``)."""
        q = validate_question(question)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100:
            raise InputError("k must be a whole number between 1 and 100")
        audience, specialty = normalize_profile(audience, specialty)
        self.ensure_loaded()
        with self._lock:
            dense = self.dense_search(q, CANDIDATES)
            lexical = self.bm25.search(q, CANDIDATES)
            rows, unit_vecs = self.rows, self.unit_vecs  # one generation's snapshot: a reload may swap them after the lock
        scores: dict[int, float] = {}
        dense_sim: dict[int, float] = {}
        for rank, (i, sim) in enumerate(dense):
            scores[i] = scores.get(i, 0.0) + W_DENSE / (RRF_K + rank + 1)
            dense_sim[i] = sim
        for rank, (i, _s) in enumerate(lexical):
            scores[i] = scores.get(i, 0.0) + W_LEXICAL / (RRF_K + rank + 1)
        # third list: the candidates re-ranked by their best single sentence (max-sim over units)
        qv = self.embedder.embed_query(q)
        usims: dict[int, object] = {}
        for i in scores:
            r = rows[i]
            usims[i] = np.asarray(unit_vecs[r["u0"] : r["u1"]]) @ qv if r["u1"] > r["u0"] else np.zeros(0)
        by_unit = sorted(scores, key=lambda i: -(float(usims[i].max()) if len(usims[i]) else 0.0))
        for rank, i in enumerate(by_unit):
            scores[i] += W_UNIT / (RRF_K + rank + 1)
        chosen: dict[int, dict] = {}  # row -> the copy of the passage that best fits the profile
        if audience or specialty:
            for i in list(scores):
                copies = [rows[i], *rows[i].get("copies", ())]
                if strict:
                    copies = [c for c in copies if profile_allows(c, audience, specialty)]
                if not copies:
                    del scores[i]
                    continue
                best = max(copies, key=lambda c: profile_weight(c, audience, specialty))  # first copy wins ties
                chosen[i] = best
                scores[i] *= profile_weight(best, audience, specialty)
        # the same passage copied into several guides is returned once (its best-scoring copy)
        ranked: list[tuple[int, float]] = []
        seen_text: set[str] = set()
        kept_words: list[set[str]] = []
        for i, sc in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            key = " ".join(rows[i]["text"].split())
            if key in seen_text:
                continue
            words = set(key.lower().split())
            if any(len(words & w) >= NEAR_DUPLICATE * min(len(words), len(w)) for w in kept_words):
                continue  # mostly inside a passage already ranked (one guide's section merged differently in another)
            seen_text.add(key)
            kept_words.append(words)
            ranked.append((i, sc))
            if len(ranked) == k:
                break
        missing = [i for i, _ in ranked if i not in dense_sim]
        if missing:  # lexical-only hits: compute their cosine too (abstention uses it)
            vecs = self.embedder.embed_documents([rows[i]["embed"] for i in missing])
            for i, v in zip(missing, vecs):
                dense_sim[i] = float(np.dot(qv, v))
        return [self._hit(i, s, dense_sim.get(i, 0.0), usims[i].tolist(), rows, chosen.get(i)) for i, s in ranked]


_RETRIEVERS: dict[str, Retriever] = {}
_GLOBAL_LOCK = threading.Lock()


def get_retriever(settings: Settings | None = None) -> Retriever:
    """The process-wide retriever for this data directory (and Chroma URL)."""
    settings = settings or get_settings()
    key = f"{settings.home.resolve()}|{settings.chroma_url}"
    with _GLOBAL_LOCK:
        if key not in _RETRIEVERS:
            _RETRIEVERS[key] = Retriever(settings)
        return _RETRIEVERS[key]
