"""The tutorial baseline the advisor's retrieval is compared with: the pipeline most RAG tutorials build.

Raw files, 1,000/200 recursive character chunks, the same embedding model,
Chroma top-k, nothing else (no sections, no keyword search, no fusion, no
profile filters). Its index lives in ``ADVISOR_HOME/baseline`` and is rebuilt
only when the chunks change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation.metrics import K

__all__ = ["BaselineRetriever"]


def _chunks(corpus_dir: Path) -> list[tuple[str, str]]:
    """``(guide stem, chunk text)`` of every ``*.txt`` guide, 1,000-character chunks overlapping by 200."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    files = sorted(p for p in corpus_dir.glob("*.txt"))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    rows: list[tuple[str, str]] = []
    for f in files:
        for piece in splitter.split_text(f.read_text(encoding="utf-8", errors="replace")):
            rows.append((f.stem, piece))
    return rows


class BaselineRetriever:
    """1,000/200 recursive character chunks of the raw files, same embedding model, Chroma top-k."""

    def __init__(self, settings: Settings, corpus_dir: Path | None = None) -> None:
        from assistant.store import get_embedder

        self.rows = _chunks(Path(corpus_dir or settings.corpus_dir))
        self.embedder = get_embedder(settings.cache_dir)
        self.coll = self._collection(settings)

    def _collection(self, settings: Settings) -> Any:
        """The Chroma collection of :attr:`rows`, reused when its name (a hash of the chunks) and size match."""
        import hashlib

        import chromadb
        from chromadb.config import Settings as ChromaSettings

        tag = hashlib.sha1("".join(t for _, t in self.rows).encode()).hexdigest()[:10]
        client = chromadb.PersistentClient(path=str(settings.home / "baseline" / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
        name = f"baseline_{tag}"
        try:
            coll = client.get_collection(name, embedding_function=None)
            if coll.count() != len(self.rows):
                raise ValueError
            return coll
        except Exception:
            for c in client.list_collections():
                client.delete_collection(c if isinstance(c, str) else c.name)
            coll = client.create_collection(name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
            vecs = self.embedder.embed_documents([t for _, t in self.rows])
            coll.add(ids=[str(i) for i in range(len(self.rows))], embeddings=vecs, documents=[t for _, t in self.rows], metadatas=[{"source": s} for s, _ in self.rows])
            return coll

    def search(self, question: str, k: int = K) -> list[tuple[str, str]]:
        res = self.coll.query(query_embeddings=[self.embedder.embed_query(question).tolist()], n_results=k, include=["documents", "metadatas"])
        return [(m["source"], d) for m, d in zip(res["metadatas"][0], res["documents"][0])]  # raw text keeps headings
