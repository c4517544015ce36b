"""Stage 3: the index: a Chroma collection (dense) plus a BM25 index (lexical), built aside and swapped.

Layout under ``$ADVISOR_HOME/index``::

    state.json        which generation is live, its documents, roots, model
    chroma/           embedded Chroma (PersistentClient), unless ADVISOR_CHROMA_URL
    gen-N/            chunks.json (the chunk table) + bm25/ for generation N
    .lock             one ingest at a time

Ingestion is incremental and crash-safe:

- a document whose bytes (and the cleaning/chunking versions) are unchanged keeps
  its chunks; every passage vector is looked up by content hash in the embedding
  cache, so unchanged text is never embedded again;
- a changed library is written as a *new* generation (new Chroma collection
  ``chunks_gN`` and ``gen-N/``), and only then ``state.json`` is replaced atomically.
  A crash or ``kill -9`` at any point leaves the previous generation live and
  queryable; the next ingest sweeps the half-built one away;
- the previous generation is kept one round, so queries already running during a
  swap finish on a consistent index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings, get_settings
from assistant.errors import DocumentError, IndexMissingError, InputError

STATE_FILE = "state.json"
REBUILD_HINT = "run `advisor ingest --rebuild` to rebuild it"
COLLECTION_PREFIX = "chunks_g"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(path.parent, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


# ---------------------------------------------------------------- chroma


def chroma_client(settings: Settings):
    """Embedded PersistentClient, or HttpClient when a server URL is configured. Telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        u = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        if not u.hostname:
            raise InputError(f"bad Chroma URL '{settings.chroma_url}' (expected http://host:port)")
        try:
            return chromadb.HttpClient(host=u.hostname, port=u.port or 8000, ssl=u.scheme == "https", settings=chroma_settings)
        except Exception as exc:
            raise IndexMissingError(f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); check --chroma-url / ADVISOR_CHROMA_URL") from None
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        with contextlib.suppress(Exception):  # Chroma caches the half-started client per path; drop it so a rebuild can open a new store
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise IndexMissingError(f"the Chroma store at {path} is corrupt or unreadable ({type(exc).__name__}); {REBUILD_HINT}") from None


def _collection_name(settings: Settings, gen: int) -> str:
    # one Chroma server may hold several advisor homes: namespace server collections by home
    if settings.chroma_url:
        import hashlib

        tag = hashlib.sha1(str(settings.home.resolve()).encode()).hexdigest()[:8]
        return f"advisor_{tag}_{COLLECTION_PREFIX}{gen}"
    return f"{COLLECTION_PREFIX}{gen}"


# ---------------------------------------------------------------- state


@dataclass
class IndexState:
    generation: int = 0
    collection: str = ""
    docs: dict = field(default_factory=dict)  # source -> {sha256, path, title, audience, specialty, chunks, ingested_at}
    roots: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    chunker: int = 0
    model: str = ""
    chroma_url: str | None = None
    created_at: str = ""

    @classmethod
    def read(cls, settings: Settings, required: bool = True) -> "IndexState | None":
        f = settings.index_dir / STATE_FILE
        if not f.exists():
            if required:
                raise IndexMissingError(f"no index in {settings.index_dir}; run `advisor ingest` to build it")
            return None
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError, OSError) as exc:
            raise IndexMissingError(f"the index state file {f} is corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None

    def write(self, settings: Settings) -> None:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(settings.index_dir / STATE_FILE, self.__dict__)

    def gen_dir(self, settings: Settings) -> Path:
        return settings.index_dir / f"gen-{self.generation}"


@contextlib.contextmanager
def ingest_lock(settings: Settings):
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another `advisor ingest` is running on this index; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- ingest


@dataclass
class IngestReport:
    generation: int
    documents: int
    chunks: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    distinct: int = 0  # passages stored (identical passages in several guides are stored once)
    embedded: int = 0  # passages run through the model this time
    swapped: bool = False  # a new generation went live
    seconds: float = 0.0

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _resolve_roots(paths, state: IndexState | None, settings: Settings) -> list[str]:
    """The library's folders/files: this install's bundled corpus, the ones added before, then ``paths``.

    The bundled corpus is always included, so a project folder that was moved (or a
    data directory first used by another checkout) still indexes its own guides; a
    recorded root that no longer exists is skipped with a warning by :func:`ingest`.
    """
    bundled = str(settings.corpus_dir.resolve())
    roots = [bundled] + [r for r in (state.roots if state else []) if r != bundled]
    for p in paths or []:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        rp = str(p.resolve())
        if rp not in roots:
            roots.append(rp)
    return roots


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


def _load_chunk_table(gen_dir: Path) -> list[dict]:
    f = gen_dir / "chunks.json"
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMissingError(f"the chunk table {f} is missing; {REBUILD_HINT}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexMissingError(f"the chunk table {f} is corrupt ({type(exc).__name__}); {REBUILD_HINT}") from None


def ingest(
    paths: list | None = None,
    settings: Settings | None = None,
    rebuild: bool = False,
    progress=None,
    warn=None,
    _crash_after: str | None = None,
) -> IngestReport:
    """Bring the index in line with the library's roots (plus ``paths``), re-embedding only new text.

    ``progress(stage, done, total)`` is called while embedding/indexing; ``warn(msg)``
    for each skipped document. ``_crash_after`` is a test hook that kills the process
    at a named step, to prove crash safety.
    """
    from assistant.chunking import CHUNKER_VERSION, Chunk, chunk_document, split_units, unit_embed_text
    import hashlib

    from assistant.corpus import default_rules, discover, load_document, load_manifest, source_id
    from assistant.embeddings import MODEL_ID, get_embedder

    settings = settings or get_settings()
    t0 = time.perf_counter()
    warn = warn or (lambda m: None)
    _crash_after = _crash_after or os.environ.get("ADVISOR_TEST_CRASH_AFTER")  # crash-safety tests only

    def crash(step: str) -> None:
        if _crash_after == step:
            os.kill(os.getpid(), 9)

    with ingest_lock(settings):
        try:
            prev = IndexState.read(settings, required=False)
        except IndexMissingError:
            prev = None  # a corrupt state is replaced by this build
        roots = _resolve_roots(paths, prev, settings)
        excluded = set(prev.excluded) if prev else set()
        old = None if rebuild else prev
        for p in paths or []:  # re-adding a guide un-removes it
            for f in discover([Path(p)]):
                excluded.discard(source_id(f))
        reusable = bool(old and old.chunker == CHUNKER_VERSION and old.model == MODEL_ID and (old.chroma_url or None) == (settings.chroma_url or None))
        old_table: dict[str, list[dict]] = {}
        if reusable and old and old.generation:
            try:
                for row in expand_copies(_load_chunk_table(old.gen_dir(settings))):
                    old_table.setdefault(row["source"], []).append(row)
            except IndexMissingError:
                reusable = False

        report = IngestReport(generation=old.generation if old else 0, documents=0, chunks=0)
        rows: list[dict] = []
        docs_state: dict[str, dict] = {}
        live_roots = []
        for root in roots:
            rp = Path(root)
            if not rp.exists():
                if str(rp) == str(settings.corpus_dir.resolve()):
                    raise InputError(f"the bundled corpus folder {rp} is missing")
                warn(f"skipped {rp}: no longer exists (removed from the library)")
                continue
            live_roots.append(root)
            manifest = load_manifest(rp if rp.is_dir() else rp.parent)
            for f in discover([rp]):
                sid = source_id(f)
                if sid in excluded or sid in docs_state:
                    if sid in docs_state:
                        warn(f"skipped {f.name}: another guide already has the id '{sid}'")
                    continue
                prev_doc = old.docs.get(sid) if (old and reusable) else None
                try:
                    raw = f.read_bytes()
                except OSError as exc:
                    warn(f"skipped {f.name}: cannot read ({exc.strerror})")
                    report.skipped.append(f.name)
                    continue
                digest = hashlib.sha256(raw + f"|rules={default_rules().version}".encode()).hexdigest()
                meta_override = manifest.get(sid, {})
                if prev_doc and prev_doc["sha256"] == digest and sid in old_table and all(prev_doc.get(k) == v for k, v in meta_override.items() if k in ("title", "audience", "specialty")):
                    rows.extend(old_table[sid])
                    docs_state[sid] = dict(prev_doc, path=str(f))
                    report.unchanged.append(sid)
                    continue
                try:
                    doc = load_document(f, manifest)
                except DocumentError as exc:
                    warn(f"skipped {exc}")
                    report.skipped.append(f.name)
                    continue
                chunks: list[Chunk] = chunk_document(doc)
                if not chunks:
                    warn(f"skipped {f.name}: no passages after cleaning")
                    report.skipped.append(f.name)
                    continue
                for c in chunks:
                    rows.append({"id": c.chunk_id, "embed": c.embed_text, "text": c.text, "units": split_units(c.text, c.section), **c.metadata})
                docs_state[sid] = {
                    "sha256": doc.sha256,
                    "path": str(f),
                    "title": doc.title,
                    "audience": doc.audience,
                    "specialty": doc.specialty,
                    "chunks": len(chunks),
                    "ingested_at": _now(),
                }
                (report.updated if (old and sid in old.docs) else report.added).append(sid)
        report.removed = sorted(set(old.docs) - set(docs_state)) if old else []
        report.documents = len(docs_state)
        report.chunks = len(rows)
        report.distinct = len({r["embed"] for r in rows})
        if not rows:
            raise InputError("no readable guides to index (nothing left after skipping bad files)")

        changed = rebuild or not old or not old.generation or report.added or report.updated or report.removed or not reusable
        if not changed and not _live_files_ok(settings, old):
            warn("the live index is incomplete or damaged; rebuilding it from the vector cache")
            changed = True
        if not changed:
            # nothing to embed or swap; still record new roots / paths
            if old and (old.roots != live_roots or sorted(old.excluded) != sorted(excluded)):
                old.roots, old.excluded = live_roots, sorted(excluded)
                for sid, d in docs_state.items():
                    old.docs[sid] = d
                old.write(settings)
            report.seconds = time.perf_counter() - t0
            return report

        # -- embed (cache first), build the next generation aside
        rows = collapse_copies(rows)
        embedder = get_embedder(settings.cache_dir)
        before = embedder.embedded_count
        unit_texts: list[str] = []
        for r in rows:
            r["u0"] = len(unit_texts)
            unit_texts.extend(unit_embed_text(u, r["section"]) for u in r["units"])
            r["u1"] = len(unit_texts)
        all_vecs = embedder.embed_documents([r["embed"] for r in rows] + unit_texts, progress=(lambda d, t: progress("embed", d, t)) if progress else None)
        vecs, unit_vecs = all_vecs[: len(rows)], all_vecs[len(rows) :]
        report.embedded = embedder.embedded_count - before
        crash("embed")

        gen = (prev.generation if prev else 0) + 1
        # never reuse a generation number that a crashed build left behind
        while (settings.index_dir / f"gen-{gen}").exists():
            gen += 1
        new = IndexState(
            generation=gen,
            collection=_collection_name(settings, gen),
            docs=docs_state,
            roots=live_roots,
            excluded=sorted(excluded),
            chunker=CHUNKER_VERSION,
            model=MODEL_ID,
            chroma_url=settings.chroma_url,
            created_at=_now(),
        )
        gdir = new.gen_dir(settings)
        gdir.mkdir(parents=True, exist_ok=True)
        try:
            client = chroma_client(settings)
        except IndexMissingError:
            if not rebuild or settings.chroma_url:
                raise
            # --rebuild over an embedded store Chroma cannot open: keep it aside (never delete data), start a new one
            aside = settings.index_dir / f"chroma.corrupt-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}"
            (settings.index_dir / "chroma").rename(aside)
            warn(f"the Chroma store could not be opened; moved it aside to {aside} and rebuilt it")
            client = chroma_client(settings)
        with contextlib.suppress(Exception):
            client.delete_collection(new.collection)
        coll = client.create_collection(new.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        step = 2000
        for i in range(0, len(rows), step):
            part = rows[i : i + step]
            coll.add(
                ids=[r["id"] for r in part],
                embeddings=vecs[i : i + step],
                documents=[r["text"] for r in part],
                metadatas=[{k: r[k] for k in ("source", "title", "audience", "specialty", "section", "ordinal")} for r in part],
            )
            if progress:
                progress("index", min(i + step, len(rows)), len(rows))
            crash("chroma-batch")
        from assistant.lexical import BM25Index

        BM25Index.build([r["embed"] for r in rows]).save(gdir / "bm25")
        import numpy as np

        np.save(gdir / "units.npy", np.asarray(unit_vecs, dtype=np.float32).reshape(-1, vecs.shape[1] if len(vecs) else 384))
        _atomic_write_json(gdir / "chunks.json", rows)
        crash("before-swap")
        new.write(settings)  # the swap: from here on the new generation is live
        crash("after-swap")
        report.generation = gen
        report.swapped = True
        _sweep(settings, client, keep={gen, prev.generation if prev else -1})
        report.seconds = time.perf_counter() - t0
        return report


def _live_files_ok(settings: Settings, state: IndexState) -> bool:
    """Cheap health check of the live generation for an ingest that has nothing new to index.

    The generation's files must be there and, for the embedded store, Chroma's
    SQLite file must open and list the live collection. Reading that one table
    directly avoids importing chromadb (~0.5 s) on a no-op ingest; a schema we do
    not recognise counts as healthy (the retriever still checks everything).
    """
    gdir = state.gen_dir(settings)
    if not (gdir / "chunks.json").is_file() or not (gdir / "units.npy").is_file() or not any((gdir / "bm25").glob("*")):
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


def _sweep(settings: Settings, client, keep: set[int]) -> None:
    """Drop generations other than ``keep`` (half-built ones from crashes, and older ones)."""
    for d in settings.index_dir.glob("gen-*"):
        with contextlib.suppress(ValueError):
            if int(d.name.split("-", 1)[1]) not in keep:
                shutil.rmtree(d, ignore_errors=True)
    prefix = _collection_name(settings, 0)[: -1]
    with contextlib.suppress(Exception):
        for c in client.list_collections():
            name = c if isinstance(c, str) else c.name
            if name.startswith(prefix):
                with contextlib.suppress(ValueError):
                    if int(name[len(prefix) :]) not in keep:
                        client.delete_collection(name)


def remove(source: str, settings: Settings | None = None) -> IngestReport:
    """Take one guide out of the library (its file is left alone) and rebuild the live generation."""
    settings = settings or get_settings()
    state = IndexState.read(settings)
    if source not in state.docs:
        raise InputError(f"no guide with id '{source}' in the library (see `advisor library`)")
    with ingest_lock(settings):
        state.excluded = sorted(set(state.excluded) | {source})
        doc_path = state.docs[source].get("path", "")
        state.roots = [r for r in state.roots if r != doc_path]
        state.write(settings)
    return ingest(settings=settings)


def library(settings: Settings | None = None) -> list[dict]:
    """The indexed guides: source, title, audience, specialty, chunk count, last ingested."""
    state = IndexState.read(settings or get_settings())
    return [{"source": sid, **{k: d.get(k) for k in ("title", "audience", "specialty", "chunks", "ingested_at", "path")}} for sid, d in sorted(state.docs.items())]
