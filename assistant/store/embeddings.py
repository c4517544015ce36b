"""Embeddings for the index and for queries: one :class:`Embedder` per process and cache folder.

Document vectors are cached on disk by content hash (``embcache.sqlite``), so a
passage is never embedded twice; the cache is disposable (a damaged file is moved
aside and started anew). Query vectors are cached in memory. The model and its
engines are in :mod:`assistant.store.engines`.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.config import embeddings_engine
from assistant.store.engines import BATCH_SIZE, DIM, MODEL_ID, OnnxEngine, TorchEngine, export_onnx, onnx_path


def text_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_ID}|{text}".encode("utf-8")).hexdigest()

class Embedder:
    """One per process (see :func:`get_embedder`): engine + on-disk document cache + in-memory query cache."""

    def __init__(self, cache_dir: Path, engine: str | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.engine_name = engine or embeddings_engine()
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
    @property
    def cache_file(self) -> Path:
        return self.cache_dir / "embcache.sqlite"

    def _db(self) -> sqlite3.Connection:
        from assistant.store.files import ensure_dir

        ensure_dir(self.cache_dir)
        db = sqlite3.connect(self.cache_file, timeout=30)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        except BaseException:
            db.close()
            raise
        return db

    def _cached(self, db: sqlite3.Connection, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):
            part = uniq[i : i + 500]
            q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(part))})"
            for k, v in db.execute(q, part):
                vec = np.frombuffer(v, dtype=np.float32)
                if vec.shape == (DIM,):  # a damaged row is embedded again
                    found[k] = vec
        return found

    def _open_cache(self, keys: list[str], warn=None) -> tuple[sqlite3.Connection, dict[str, np.ndarray]]:
        """Open the cache and read the vectors it has for ``keys`` (a damaged cache is replaced, see :meth:`_reset`)."""
        try:
            db = self._db()
            try:
                return db, self._cached(db, keys)
            except BaseException:
                db.close()
                raise
        except sqlite3.DatabaseError as exc:
            return self._reset(exc, warn), {}

    def _reset(self, exc: sqlite3.DatabaseError, warn=None) -> sqlite3.Connection:
        """The cache is disposable (every vector can be computed again): a file SQLite cannot read is
        moved aside with a warning and a new, empty cache is started. A full or read-only disk is re-raised."""
        from assistant.errors import storage_error
        from assistant.store.files import move_aside

        if storage_error(exc, self.cache_file) is not None or not self.cache_file.exists():
            raise exc
        move_aside(self.cache_file, warn, "embedding cache")
        for extra in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                self.cache_file.with_name(self.cache_file.name + extra).unlink()
        return self._db()

    def embed_documents(self, texts: list[str], progress=None, warn=None) -> np.ndarray:
        """Vectors for ``texts`` (L2-normalised); only texts never seen before hit the model."""
        keys = [text_key(t) for t in texts]
        db, found = self._open_cache(keys, warn)
        try:
            todo = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
            # similar lengths together: each step's batches are then padded only a little
            todo.sort(key=lambda kt: len(kt[1]))
            if progress:
                progress(0, len(todo))
            step = BATCH_SIZE * 8
            for i in range(0, len(todo), step):
                part = todo[i : i + step]
                vecs = self.engine.encode([t for _, t in part])
                self.embedded_count += len(part)
                rows = [(k, v.tobytes()) for (k, _), v in zip(part, vecs)]
                try:
                    with db:
                        db.executemany("INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)", rows)
                except sqlite3.DatabaseError as exc:  # damage found only on write: start a new cache, keep going
                    db.close()
                    db = self._reset(exc, warn)
                    with db:
                        db.executemany("INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)", rows)
                for (k, _), v in zip(part, vecs):
                    found[k] = v
                if progress:
                    progress(min(i + step, len(todo)), len(todo))
        finally:
            db.close()
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)

    def forget_queries(self) -> None:
        """Empty the in-memory query cache (the eval suite times query embedding, not the cache)."""
        self._queries.clear()

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
    key = (str(Path(cache_dir).resolve()), engine or embeddings_engine())
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = Embedder(cache_dir, engine)
    return _EMBEDDERS[key]
