"""Stage 3, storage: what the index keeps on disk and how it is kept safe.

- :mod:`~assistant.store.files`: atomic JSON writes, shape-validated reads, damaged files moved aside;
- :mod:`~assistant.store.state`: which generation is live (``state.json``), which guides make up the
  library (``library.json``), the ingest lock;
- :mod:`~assistant.store.generation`: one generation's chunk table, BM25 files and sentence vectors;
- :mod:`~assistant.store.chroma`: the dense store (embedded or a server);
- :mod:`~assistant.store.lexical`: the BM25 index;
- :mod:`~assistant.store.engines` and :mod:`~assistant.store.embeddings`: the embedding model and the
  per-process embedder with its disposable on-disk cache.
"""

from assistant.store.chroma import chroma_client, collection_name
from assistant.store.embeddings import get_embedder
from assistant.store.engines import MODEL_ID, export_onnx, model_dir, onnx_path
from assistant.store.files import REBUILD_HINT, atomic_write_json, ensure_dir, move_aside, now_utc
from assistant.store.generation import check_generation_files, collapse_copies, expand_copies, live_files_ok, load_chunk_table, sweep
from assistant.store.lexical import BM25Index
from assistant.store.state import STATE_FILE, UPLOADS_DIR, IndexState, Membership, ingest_lock, membership_stale

__all__ = [
    "BM25Index", "IndexState", "MODEL_ID", "Membership", "REBUILD_HINT", "STATE_FILE", "UPLOADS_DIR",
    "atomic_write_json", "check_generation_files", "chroma_client", "collapse_copies", "collection_name",
    "ensure_dir", "expand_copies", "export_onnx", "get_embedder", "ingest_lock", "live_files_ok",
    "load_chunk_table", "membership_stale", "model_dir", "move_aside", "now_utc", "onnx_path", "sweep",
]
