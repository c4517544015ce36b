"""The lexical half of hybrid retrieval: a BM25 index (``bm25s``) built once per index generation and persisted.

Tokens are lower-cased words with English stop words removed and a Snowball
stem (``PyStemmer``), so "failed", "failure" and "failures" meet. Numbers and
short exam names ("step", "ck", "usmle") are kept: applicants ask about them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers herself him himself
    his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves i'm i've i'd it's don't can't let's also may might much many still get got really""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - dependency; fall back to no stemming
        return None


def tokenize(text: str) -> list[str]:
    text = text.lower().replace("‑", "-").replace("–", "-")
    words = [w.replace("’", "'") for w in _TOKEN.findall(text)]
    words = [w for w in words if w not in STOPWORDS]
    st = _stemmer()
    return st.stemWords(words) if st else words


class BM25Index:
    """bm25s over chunk texts; positions map to the chunk table stored beside it."""

    def __init__(self, retriever, n_docs: int) -> None:
        self.retriever = retriever
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str]) -> "BM25Index":
        import bm25s

        corpus_tokens = [tokenize(t) or ["_empty_"] for t in texts]
        r = bm25s.BM25()
        r.index(corpus_tokens, show_progress=False)
        return cls(r, len(texts))

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> "BM25Index":
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
