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
from assistant.errors import AdvisorError, DocumentError, IndexMissingError, InputError, storage_error

STATE_FILE = "state.json"
MEMBERSHIP_FILE = "library.json"  # in ADVISOR_HOME, outside index/: which folders and files the library holds
UPLOADS_DIR = "library"  # ADVISOR_HOME/library: guides added from the UI, always part of the library
REBUILD_HINT = "run `advisor ingest --rebuild` to rebuild it"
COLLECTION_PREFIX = "chunks_g"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _atomic_write_json(path: Path, obj) -> None:
    """Write JSON to a temporary file, fsync, then rename over ``path``: a crash or full disk leaves the old file."""
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(path.parent, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def move_aside(path: Path, warn=None, what: str = "file") -> Path:
    """Rename a damaged file or folder to ``NAME.corrupt-TIME`` (kept for inspection, never deleted)."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}")
    path.rename(aside)
    if warn:
        warn(f"the {what} {path} could not be read; moved it aside to {aside} and rebuilt it")
    return aside


# ---------------------------------------------------------------- chroma


def chroma_client(settings: Settings):
    """Embedded PersistentClient, or HttpClient when a server URL is configured. Telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        try:
            u = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
            host, port = u.hostname, u.port
        except ValueError as exc:  # "Invalid IPv6 URL", a port that is not a number
            raise InputError(f"bad Chroma URL '{settings.chroma_url}' ({exc}; expected http://host:port)") from None
        if not host:
            raise InputError(f"bad Chroma URL '{settings.chroma_url}' (expected http://host:port)")
        try:
            return chromadb.HttpClient(host=host, port=port or 8000, ssl=u.scheme == "https", settings=chroma_settings)
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
        problem = storage_error(exc, path)
        if problem is None and not os.access(path, os.W_OK):  # Chroma opens its store read-write, even to search
            problem = storage_error(PermissionError(13, "read-only", str(path)))
        if problem is not None:
            raise problem from None
        raise IndexMissingError(f"the Chroma store at {path} is corrupt or unreadable ({type(exc).__name__}); {REBUILD_HINT}") from None


def _collection_name(settings: Settings, gen: int) -> str:
    # one Chroma server may hold several advisor homes: namespace server collections by home
    if settings.chroma_url:
        import hashlib

        tag = hashlib.sha1(str(settings.home.resolve()).encode()).hexdigest()[:8]
        return f"advisor_{tag}_{COLLECTION_PREFIX}{gen}"
    return f"{COLLECTION_PREFIX}{gen}"


# ---------------------------------------------------------------- state


def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` that reports a read-only, not-a-folder or full home as one :class:`StorageError` line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (storage_error(exc, path) or exc) from None
    if not path.is_dir():
        raise storage_error(NotADirectoryError(20, "not a folder", str(path)))
    return path


def _file_models():
    """Pydantic models of the JSON files under ADVISOR_HOME (built on first use: pydantic is not on ``--help``'s path)."""
    global _MODELS
    if _MODELS is None:
        from pydantic import BaseModel, ConfigDict, TypeAdapter

        class DocRecord(BaseModel):
            model_config = ConfigDict(extra="allow", strict=True)
            sha256: str
            path: str = ""
            title: str = ""
            audience: str = "any"
            specialty: str = "any"
            chunks: int = 0
            ingested_at: str = ""

        class StateFile(BaseModel):
            model_config = ConfigDict(extra="ignore", strict=True)
            generation: int = 0
            collection: str = ""
            docs: dict[str, DocRecord] = {}
            roots: list[str] = []
            excluded: list[str] = []
            chunker: int = 0
            model: str = ""
            chroma_url: str | None = None
            created_at: str = ""

        class MembershipFile(BaseModel):
            model_config = ConfigDict(extra="ignore", strict=True)
            roots: list[str] = []
            excluded: list[str] = []

        class PassageRow(BaseModel):
            """One row of a generation's chunk table (``gen-N/chunks.json``)."""

            model_config = ConfigDict(extra="allow", strict=True)
            id: str
            embed: str
            text: str
            units: list[dict]
            source: str
            title: str
            audience: str
            specialty: str
            section: str
            ordinal: int
            u0: int
            u1: int
            copies: list[dict] = []

        _MODELS = {"state": TypeAdapter(StateFile), "membership": TypeAdapter(MembershipFile), "rows": TypeAdapter(list[PassageRow])}
    return _MODELS


_MODELS = None


def _read_json(f: Path, model: str, what: str):
    """Parse and validate one JSON file (shape, not only syntax); IndexMissingError naming the file and the fix."""
    try:
        data = json.loads(f.read_bytes().decode("utf-8"))
        _file_models()[model].validate_python(data)
        return data
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise (storage_error(exc, f) or IndexMissingError(f"the {what} {f} cannot be read ({exc.strerror}); {REBUILD_HINT}")) from None
    except Exception as exc:  # JSONDecodeError, UnicodeDecodeError, pydantic's ValidationError
        kind = "has the wrong shape" if type(exc).__name__ == "ValidationError" else f"is corrupt ({type(exc).__name__})"
        raise IndexMissingError(f"the {what} {f} {kind}; {REBUILD_HINT}") from None


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
        try:
            data = _read_json(f, "state", "index state file")
        except FileNotFoundError:
            if required:
                raise IndexMissingError(f"no index in {settings.index_dir}; run `advisor ingest` to build it") from None
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def write(self, settings: Settings) -> None:
        ensure_dir(settings.index_dir)
        _atomic_write_json(settings.index_dir / STATE_FILE, self.__dict__)

    def gen_dir(self, settings: Settings) -> Path:
        return settings.index_dir / f"gen-{self.generation}"


@dataclass
class Membership:
    """Which folders and files make up the user's library, and which guides were removed from it.

    Kept in ``ADVISOR_HOME/library.json``, apart from the index's ``state.json``, so a
    damaged index (and the ``--rebuild`` that replaces it) cannot lose the guides a
    user added. ``state.json`` keeps a copy: each file can restore the other.
    """

    roots: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, settings: Settings, state: IndexState | None, warn=None) -> "Membership":
        f = settings.home / MEMBERSHIP_FILE
        try:
            data = _read_json(f, "membership", "library list")
            return cls(roots=list(data.get("roots", [])), excluded=list(data.get("excluded", [])))
        except FileNotFoundError:
            pass
        except IndexMissingError:
            if warn and f.exists():
                move_aside(f, warn, "library list")
        if state is not None:  # an older home, or a damaged library.json: take the index's copy
            return cls(roots=list(state.roots), excluded=list(state.excluded))
        return cls()

    def write(self, settings: Settings) -> None:
        ensure_dir(settings.home)
        _atomic_write_json(settings.home / MEMBERSHIP_FILE, {"roots": self.roots, "excluded": sorted(set(self.excluded))})


@contextlib.contextmanager
def ingest_lock(settings: Settings):
    ensure_dir(settings.index_dir)
    try:
        fh = open(settings.index_dir / ".lock", "a")
    except OSError as exc:
        raise (storage_error(exc, settings.index_dir / ".lock") or exc) from None
    with fh:
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
    rebuilt: bool = False  # built from scratch (--rebuild, or the previous index could not be reused)
    user_guides: int = 0  # guides from outside the bundled corpus (added by the user)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _resolve_roots(paths, members: Membership, state: IndexState | None, settings: Settings) -> list[str]:
    """The library's folders/files: the bundled corpus, the uploads folder, the recorded roots, then ``paths``.

    The bundled corpus is always included, so a project folder that was moved (or a
    data directory first used by another checkout) still indexes its own guides; so
    is ``ADVISOR_HOME/library`` (UI uploads), so they survive any damage to the
    records. Recorded roots are the union of ``library.json`` and ``state.json``
    (a crash between writing the two loses neither). A recorded root that no longer
    exists is skipped with a warning by :func:`ingest`.
    """
    bundled = str(settings.corpus_dir.resolve())
    roots = [bundled]
    uploads = settings.home / UPLOADS_DIR
    recorded = [*members.roots, *(state.roots if state else [])]
    if uploads.is_dir():
        recorded.append(str(uploads.resolve()))
    for p in [*recorded, *(paths or [])]:
        rp = str(Path(p).resolve())
        if rp not in roots:
            roots.append(rp)
    return roots


def _check_paths(paths) -> list[Path]:
    out = []
    for p in paths or []:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        out.append(p)
    return out


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
        return _read_json(f, "rows", "chunk table")
    except FileNotFoundError:
        raise IndexMissingError(f"the chunk table {f} is missing; {REBUILD_HINT}") from None


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
    for each skipped document or repaired file. ``_crash_after`` is a test hook that
    kills the process at a named step, to prove crash safety. A write that fails
    (read-only home, full disk) raises a one-line :class:`StorageError`; the live
    generation is untouched, since it is only replaced by the last rename.
    """
    settings = settings or get_settings()
    given = _check_paths(paths)
    with ingest_lock(settings):
        return _guarded(settings, lambda: _ingest_locked(given, settings, rebuild, progress, warn or (lambda m: None), _crash_after))


def _guarded(settings: Settings, fn):
    """Run an index write, turning OS/SQLite/Chroma write failures into one StorageError line."""
    try:
        return fn()
    except AdvisorError:
        raise
    except Exception as exc:
        problem = storage_error(exc, settings.home)
        if problem is None:
            raise
        raise problem from None


@dataclass
class _Scan:
    """What one pass over the library's files found (see :func:`_scan`)."""

    rows: list[dict] = field(default_factory=list)
    docs: dict[str, dict] = field(default_factory=dict)
    live_roots: list[str] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)  # resolved paths of the guides kept
    skips: dict[str, str] = field(default_factory=dict)  # resolved path -> why it was skipped


def _read_previous(settings: Settings, warn) -> IndexState | None:
    """The live state, or None; a damaged ``state.json`` is moved aside (this ingest replaces it)."""
    try:
        return IndexState.read(settings, required=False)
    except IndexMissingError:
        move_aside(settings.index_dir / STATE_FILE, warn, "index state file")
        return None


def _reusable_table(old: IndexState | None, settings: Settings) -> dict[str, list[dict]] | None:
    """The previous generation's rows by guide, if they can be reused as they are (None otherwise)."""
    from assistant.chunking import CHUNKER_VERSION
    from assistant.embeddings import MODEL_ID

    if not (old and old.generation and old.chunker == CHUNKER_VERSION and old.model == MODEL_ID and (old.chroma_url or None) == (settings.chroma_url or None)):
        return None
    table: dict[str, list[dict]] = {}
    try:
        for row in expand_copies(load_chunk_table(old.gen_dir(settings))):
            table.setdefault(row["source"], []).append(row)
    except IndexMissingError:
        return None
    return table


def _scan(roots: list[str], excluded: set[str], old: IndexState | None, old_table, settings: Settings, report: IngestReport, warn) -> _Scan:
    """Read every guide under ``roots``: reuse the rows of unchanged ones, clean and chunk the rest."""
    import hashlib

    from assistant.chunking import chunk_document, split_units
    from assistant.corpus import default_rules, discover, load_document, load_manifest, source_id

    scan = _Scan()
    seen_files: set[str] = set()
    rules_tag = f"|rules={default_rules().version}".encode()
    for root in roots:
        rp = Path(root)
        if not rp.exists():
            if str(rp) == str(settings.corpus_dir.resolve()):
                raise InputError(f"the bundled corpus folder {rp} is missing")
            warn(f"skipped {rp}: no longer exists (removed from the library)")
            continue
        scan.live_roots.append(root)
        manifest = load_manifest(rp if rp.is_dir() else rp.parent)
        for f in discover([rp]):
            key = str(f.resolve())
            if key in seen_files:  # the same file reached through two roots (a folder and a file in it)
                continue
            seen_files.add(key)
            sid = source_id(f)
            if sid in excluded:
                continue
            if sid in scan.docs:
                scan.skips[key] = f"skipped {f.name}: another guide already has the id '{sid}'"
                continue
            try:
                raw = f.read_bytes()
            except OSError as exc:
                scan.skips[key] = f"skipped {f.name}: cannot read ({exc.strerror})"
                report.skipped.append(f.name)
                continue
            digest = hashlib.sha256(raw + rules_tag).hexdigest()
            prev_doc = old.docs.get(sid) if (old and old_table is not None) else None
            meta_override = manifest.get(sid, {})
            if prev_doc and prev_doc["sha256"] == digest and sid in old_table and all(prev_doc.get(k) == v for k, v in meta_override.items() if k in ("title", "audience", "specialty")):
                scan.rows.extend(old_table[sid])
                scan.docs[sid] = dict(prev_doc, path=str(f))
                scan.accepted.add(key)
                report.unchanged.append(sid)
                continue
            try:
                doc = load_document(f, manifest)
            except DocumentError as exc:
                scan.skips[key] = f"skipped {exc}"
                report.skipped.append(f.name)
                continue
            chunks = chunk_document(doc)
            if not chunks:
                scan.skips[key] = f"skipped {f.name}: no passages after cleaning"
                report.skipped.append(f.name)
                continue
            for c in chunks:
                scan.rows.append({"id": c.chunk_id, "embed": c.embed_text, "text": c.text, "units": split_units(c.text, c.section), **c.metadata})
            scan.docs[sid] = {
                "sha256": doc.sha256,
                "path": str(f),
                "title": doc.title,
                "audience": doc.audience,
                "specialty": doc.specialty,
                "chunks": len(chunks),
                "ingested_at": _now(),
            }
            scan.accepted.add(key)
            (report.updated if (old and sid in old.docs) else report.added).append(sid)
    return scan


def _refuse_rejected_paths(given: list[Path], scan: _Scan) -> None:
    """A file or folder named on the command line that yields no guide is an input error (and is not recorded)."""
    from assistant.corpus import discover

    for p in given:
        files = [str(f.resolve()) for f in discover([p])]
        if not any(f in scan.accepted for f in files):
            reasons = [scan.skips[f] for f in files if f in scan.skips]
            raise InputError(reasons[0].removeprefix("skipped ") if reasons else f"{p}: no guides in it (.txt, .md, .html, .pdf)")


def _ingest_locked(given: list[Path], settings: Settings, rebuild: bool, progress, warn, _crash_after) -> IngestReport:
    t0 = time.perf_counter()
    prev = _read_previous(settings, warn)
    members = Membership.read(settings, prev, warn)
    excluded = set(members.excluded)
    from assistant.corpus import discover, source_id

    for p in given:  # re-adding a guide un-removes it
        for f in discover([p]):
            excluded.discard(source_id(f))
    roots = _resolve_roots(given, members, prev, settings)
    old = None if rebuild else prev
    old_table = _reusable_table(old, settings)
    report = IngestReport(generation=old.generation if old else 0, documents=0, chunks=0)
    scan = _scan(roots, excluded, old, old_table, settings, report, warn)
    _refuse_rejected_paths(given, scan)
    for msg in scan.skips.values():
        warn(msg)
    bundled = settings.corpus_dir.resolve()
    report.removed = sorted(set(old.docs) - set(scan.docs)) if old else []
    report.documents = len(scan.docs)
    report.user_guides = sum(1 for d in scan.docs.values() if bundled not in Path(d.get("path", "")).resolve().parents)
    report.chunks = len(scan.rows)
    report.distinct = len({r["embed"] for r in scan.rows})
    if not scan.rows:
        raise InputError("no readable guides to index (nothing left after skipping bad files)")
    new_members = Membership(roots=scan.live_roots, excluded=sorted(excluded))
    report.rebuilt = old_table is None
    changed = rebuild or old_table is None or report.added or report.updated or report.removed
    if not changed and not _live_files_ok(settings, old):
        warn("the live index is incomplete or damaged; rebuilding it from the vector cache")
        changed = report.rebuilt = True
    if not changed:  # nothing to embed or swap; still record new roots / paths
        if _membership_stale(settings, new_members):
            new_members.write(settings)
        if (old.roots, sorted(old.excluded)) != (new_members.roots, new_members.excluded):
            old.roots, old.excluded = new_members.roots, new_members.excluded
            old.docs.update(scan.docs)
            old.write(settings)
        report.seconds = time.perf_counter() - t0
        return report
    _build_generation(scan.rows, scan.docs, new_members, prev, settings, report, progress, warn, _crash_after, rebuild)
    report.seconds = time.perf_counter() - t0
    return report


def _membership_stale(settings: Settings, members: Membership) -> bool:
    try:
        data = _read_json(settings.home / MEMBERSHIP_FILE, "membership", "library list")
    except (FileNotFoundError, IndexMissingError):
        return True
    return (data.get("roots"), sorted(data.get("excluded", []))) != (members.roots, members.excluded)


def _build_generation(rows, docs_state, members: Membership, prev: IndexState | None, settings: Settings, report: IngestReport, progress, warn, _crash_after, rebuild: bool) -> None:
    """Embed (cache first), write generation N+1 aside (Chroma collection, BM25, sentence vectors, rows), then swap."""
    from assistant.chunking import CHUNKER_VERSION, unit_embed_text
    from assistant.embeddings import MODEL_ID, get_embedder

    _crash_after = _crash_after or os.environ.get("ADVISOR_TEST_CRASH_AFTER")  # crash-safety tests only

    def crash(step: str) -> None:
        if _crash_after == step:
            os.kill(os.getpid(), 9)

    rows = collapse_copies(rows)
    embedder = get_embedder(settings.cache_dir)
    before = embedder.embedded_count
    unit_texts: list[str] = []
    for r in rows:
        r["u0"] = len(unit_texts)
        unit_texts.extend(unit_embed_text(u, r["section"]) for u in r["units"])
        r["u1"] = len(unit_texts)
    all_vecs = embedder.embed_documents([r["embed"] for r in rows] + unit_texts, progress=(lambda d, t: progress("embed", d, t)) if progress else None, warn=warn)
    vecs, unit_vecs = all_vecs[: len(rows)], all_vecs[len(rows) :]
    report.embedded = embedder.embedded_count - before
    crash("embed")

    gen = (prev.generation if prev else 0) + 1
    # never reuse a generation number that a crashed build (or a state file moved aside) left behind
    while (settings.index_dir / f"gen-{gen}").exists():
        gen += 1
    new = IndexState(
        generation=gen,
        collection=_collection_name(settings, gen),
        docs=docs_state,
        roots=members.roots,
        excluded=members.excluded,
        chunker=CHUNKER_VERSION,
        model=MODEL_ID,
        chroma_url=settings.chroma_url,
        created_at=_now(),
    )
    gdir = ensure_dir(new.gen_dir(settings))
    client = _open_chroma_for_write(settings, rebuild, warn)
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
    members.write(settings)  # first the library list, then the swap: a crash between them loses no guide
    new.write(settings)  # the swap: from here on the new generation is live
    crash("after-swap")
    report.generation = gen
    report.swapped = True
    _sweep(settings, client, keep={gen, prev.generation if prev else -1})


def _open_chroma_for_write(settings: Settings, rebuild: bool, warn):
    """The Chroma client; ``--rebuild`` over an embedded store Chroma cannot open moves that store aside.

    Only an explicit ``--rebuild`` does: a plain ingest names that command instead of
    setting a whole store aside on its own.
    """
    try:
        return chroma_client(settings)
    except IndexMissingError:
        if not rebuild or settings.chroma_url:
            raise
        move_aside(settings.index_dir / "chroma", warn, "Chroma store")
        return chroma_client(settings)


def check_generation_files(gdir: Path, rows: list[dict]):
    """Check a generation's BM25 files and sentence vectors against its chunk table; return the vectors (mmap).

    Raises IndexMissingError naming the file and ``--rebuild``. Used by the
    retriever when it loads a generation and by a no-op ingest's health check.
    """
    import numpy as np

    from assistant.lexical import BM25Index

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


def _live_files_ok(settings: Settings, state: IndexState) -> bool:
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


def remove(source: str, settings: Settings | None = None, warn=None) -> IngestReport:
    """Take one guide out of the library (its file is left alone) and rebuild the live generation.

    The state is read, the guide excluded and the index rebuilt under one hold of
    the ingest lock, so a concurrent ingest can neither be lost nor lose this removal.
    """
    settings = settings or get_settings()
    warn = warn or (lambda m: None)
    with ingest_lock(settings):

        def run() -> IngestReport:
            state = IndexState.read(settings)
            if source not in state.docs:
                raise InputError(f"no guide with id '{source}' in the library (see `advisor library`)")
            doc_path = state.docs[source].get("path", "")
            members = Membership.read(settings, state, warn)
            for rec in (members, state):
                rec.excluded = sorted(set(rec.excluded) | {source})
                rec.roots = [r for r in rec.roots if r != doc_path]
            members.write(settings)
            state.write(settings)
            return _ingest_locked([], settings, False, None, warn, None)

        return _guarded(settings, run)


def library(settings: Settings | None = None) -> list[dict]:
    """The indexed guides: source, title, audience, specialty, chunk count, last ingested."""
    state = IndexState.read(settings or get_settings())
    return [{"source": sid, **{k: d.get(k) for k in ("title", "audience", "specialty", "chunks", "ingested_at", "path")}} for sid, d in sorted(state.docs.items())]
