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


#: General English words (the Glasgow IR stop list, as shipped by scikit-learn; copied to keep imports light).
GENERAL_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone anything
    anyway anywhere are around as at back be became because become becomes becoming been before
    beforehand behind being below beside besides between beyond bill both bottom but by call can
    cannot cant co con could couldnt cry de describe detail do done down due during each eg eight
    either eleven else elsewhere empty enough etc even ever every everyone everything everywhere
    except few fifteen fifty fill find fire first five for former formerly forty found four from
    front full further get give go had has hasnt have he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if in inc indeed interest into
    is it its itself keep last latter latterly least less ltd made many may me meanwhile might mill
    mine more moreover most mostly move much must my myself name namely neither never nevertheless
    next nine no nobody none noone nor not nothing now nowhere of off often on once one only onto
    or other others otherwise our ours ourselves out over own part per perhaps please put rather re
    same see seem seemed seeming seems serious several she should show side since sincere six sixty
    so some somehow someone something sometime sometimes somewhere still such system take ten than
    that the their them themselves then thence there thereafter thereby therefore therein thereupon
    these they thick thin third this those though three through throughout thru thus to together
    too top toward towards twelve twenty two un under until up upon us very via was we well were
    what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without would yet
    you your yours yourself yourselves
    """.split()
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
