"""One index generation on disk (``gen-N/``): the chunk table, the BM25 files, the sentence vectors.

A generation is written aside and made live by the swap of ``state.json``
(:mod:`assistant.ingestion.pipeline`); these helpers load and check one, collapse
passages copied into several guides, and sweep generations no longer needed.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from assistant.config import Settings
from assistant.errors import IndexMissingError
from assistant.store.chroma import collection_name
from assistant.store.files import REBUILD_HINT, read_json
from assistant.store.state import IndexState


COPY_FIELDS = ("id", "source", "title", "audience", "specialty", "section", "ordinal")

def collapse_copies(rows: list[dict]) -> list[dict]:
    """One row per distinct embedded text; the other guides holding the same passage go in its ``copies``.

    A passage copied verbatim into many guides (boilerplate, a reused section) would
    otherwise fill every candidate list with copies of itself and push other
    passages out of the top k; stored once, it is searched once, and the retriever
    picks the copy that best fits the applicant's profile.
    """
    first: dict[str, dict] = {}
    out: list[dict] = []
    for r in rows:
        rep = first.get(r["embed"])
        if rep is None:
            first[r["embed"]] = r
            out.append(r)
        else:
            rep.setdefault("copies", []).append({k: r.get(k) for k in COPY_FIELDS})
    return out

def expand_copies(rows: list[dict]) -> list[dict]:
    """Inverse of :func:`collapse_copies`: one flat row per (guide, passage)."""
    out: list[dict] = []
    for r in rows:
        base = {k: v for k, v in r.items() if k != "copies"}
        out.append(base)
        out.extend({**base, **c} for c in r.get("copies", ()))
    return out

def load_chunk_table(gen_dir: Path) -> list[dict]:
    """The generation's passage rows, validated (a wrong shape is reported like a corrupt file)."""
    f = gen_dir / "chunks.json"
    try:
        return read_json(f, "rows", "chunk table")
    except FileNotFoundError:
        raise IndexMissingError(f"the chunk table {f} is missing; {REBUILD_HINT}") from None

def check_generation_files(gdir: Path, rows: list[dict]):
    """Check a generation's BM25 files and sentence vectors against its chunk table; return the vectors (mmap).

    Raises IndexMissingError naming the file and ``--rebuild``. Used by the
    retriever when it loads a generation and by a no-op ingest's health check.
    """
    import numpy as np

    from assistant.store.lexical import BM25Index

    try:
        BM25Index.check(gdir / "bm25", len(rows))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise IndexMissingError(f"the BM25 index in {gdir / 'bm25'} is missing or corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None
    try:
        unit_vecs = np.load(gdir / "units.npy", mmap_mode="r")
        if unit_vecs.ndim != 2 or (rows and unit_vecs.shape[0] != rows[-1]["u1"]):
            raise ValueError("unit count mismatch")
    except (OSError, ValueError) as exc:
        raise IndexMissingError(f"the sentence vectors {gdir / 'units.npy'} are missing or corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None
    return unit_vecs

def live_files_ok(settings: Settings, state: IndexState) -> bool:
    """Cheap health check of the live generation for an ingest that has nothing new to index.

    The generation's files must be there and, for the embedded store, Chroma's
    SQLite file must open and list the live collection. Reading that one table
    directly avoids importing chromadb (~0.5 s) on a no-op ingest; a schema we do
    not recognise counts as healthy (the retriever still checks everything).
    """
    gdir = state.gen_dir(settings)
    try:
        check_generation_files(gdir, load_chunk_table(gdir))
    except IndexMissingError:
        return False
    if settings.chroma_url:
        return True
    import sqlite3

    db = settings.index_dir / "chroma" / "chroma.sqlite3"
    if not db.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return con.execute("SELECT count(*) FROM collections WHERE name = ?", (state.collection,)).fetchone()[0] == 1
    except sqlite3.OperationalError as exc:
        return "no such" in str(exc)  # another Chroma schema: not ours to judge
    except sqlite3.DatabaseError:
        return False

def sweep(settings: Settings, client, keep: set[int]) -> None:
    """Drop generations other than ``keep`` (half-built ones from crashes, and older ones)."""
    for d in settings.index_dir.glob("gen-*"):
        with contextlib.suppress(ValueError):
            if int(d.name.split("-", 1)[1]) not in keep:
                shutil.rmtree(d, ignore_errors=True)
    prefix = collection_name(settings, 0)[: -1]
    with contextlib.suppress(Exception):
        for c in client.list_collections():
            name = c if isinstance(c, str) else c.name
            if name.startswith(prefix):
                with contextlib.suppress(ValueError):
                    if int(name[len(prefix) :]) not in keep:
                        client.delete_collection(name)
