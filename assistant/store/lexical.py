"""The lexical half of hybrid retrieval: a BM25 index (``bm25s``) built once per index generation and persisted.

Tokens are lower-cased words with English stop words removed and a Snowball
stem (``PyStemmer``), so "failed", "failure" and "failures" meet. Numbers and
short exam names ("step", "ck", "usmle") are kept: applicants ask about them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.text import tokenize
from assistant.tuning import BM25_B, BM25_K1


class BM25Index:
    """bm25s over chunk texts; positions map to the chunk table stored beside it."""

    def __init__(self, retriever, n_docs: int) -> None:
        self.retriever = retriever
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str]) -> "BM25Index":
        import bm25s

        corpus_tokens = [tokenize(t) or ["_empty_"] for t in texts]
        r = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        r.index(corpus_tokens, show_progress=False)
        return cls(r, len(texts))

    @property
    def current(self) -> bool:
        """Built with today's k1 and b (:mod:`assistant.tuning`)? An index saved before they changed is not."""
        return (float(self.retriever.k1), float(self.retriever.b)) == (float(BM25_K1), float(BM25_B))

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder))

    @staticmethod
    def check(folder: Path, n_docs: int) -> None:
        """Validate the saved files' shape without importing bm25s (ValueError/OSError if they are not ours).

        bm25s loads whatever JSON it finds (``params.index.json = {}`` loads, then
        fails at search time with a TypeError), so the shape is checked first.
        """
        import json

        params = json.loads((Path(folder) / "params.index.json").read_text(encoding="utf-8"))
        if not isinstance(params, dict) or not isinstance(params.get("num_docs"), int) or params["num_docs"] != n_docs:
            raise ValueError(f"params.index.json does not describe {n_docs} passages")
        if not all(isinstance(params.get(k), (int, float)) for k in ("k1", "b")) or not isinstance(params.get("method"), str):
            raise ValueError("params.index.json lacks k1, b or method")
        vocab = json.loads((Path(folder) / "vocab.index.json").read_text(encoding="utf-8"))
        if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
            raise ValueError("vocab.index.json is not a token -> id table")
        for name in ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"):
            if not (Path(folder) / name).is_file():
                raise ValueError(f"{name} is missing")

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> "BM25Index":
        """Load a saved index; callers validate it with :meth:`check` first (``index.check_generation_files``)."""
        import bm25s

        r = bm25s.BM25.load(str(folder))
        return cls(r, n_docs)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(position, score) pairs, best first; only positive scores."""
        toks = [t for t in tokenize(query) if t in self.retriever.vocab_dict]
        if not toks or self.n_docs == 0:
            return []
        k = min(k, self.n_docs)
        scores = self.retriever.get_scores(toks)
        scores = np.asarray(scores)
        if k < len(scores):
            idx = np.argpartition(-scores, k - 1)[:k]
        else:
            idx = np.arange(len(scores))
        idx = idx[np.argsort(-scores[idx])]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]
