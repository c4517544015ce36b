"""The ingest pipeline: plan (scan the library) -> embed -> write a new generation aside -> swap.

The index is a Chroma collection (dense) plus a BM25 index (lexical) and sentence
vectors; see :mod:`assistant.store.state` for the layout on disk. (About 400 lines: the
plan and the build share one report and one lock, and read best as one module.)

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
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings, crash_after, get_settings
from assistant.errors import AdvisorError, DocumentError, IndexMissingError, InputError, storage_error
from assistant.store import (
    STATE_FILE,
    UPLOADS_DIR,
    IndexState,
    Membership,
    atomic_write_json,
    chroma_client,
    collapse_copies,
    collection_name,
    ensure_dir,
    expand_copies,
    ingest_lock,
    live_files_ok,
    load_chunk_table,
    membership_stale,
    move_aside,
    now_utc,
    sweep,
)


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
    from assistant.ingestion.chunking import CHUNKER_VERSION
    from assistant.store import MODEL_ID

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

    from assistant.ingestion.chunking import chunk_document, split_units
    from assistant.ingestion.corpus import default_rules, discover, load_document, load_manifest, source_id

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
                "ingested_at": now_utc(),
            }
            scan.accepted.add(key)
            (report.updated if (old and sid in old.docs) else report.added).append(sid)
    return scan

def _refuse_rejected_paths(given: list[Path], scan: _Scan) -> None:
    """A file or folder named on the command line that yields no guide is an input error (and is not recorded)."""
    from assistant.ingestion.corpus import discover

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
    from assistant.ingestion.corpus import discover, source_id

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
    if not changed and not live_files_ok(settings, old):
        warn("the live index is incomplete or damaged; rebuilding it from the vector cache")
        changed = report.rebuilt = True
    if not changed:  # nothing to embed or swap; still record new roots / paths
        if membership_stale(settings, new_members):
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

def _build_generation(rows, docs_state, members: Membership, prev: IndexState | None, settings: Settings, report: IngestReport, progress, warn, _crash_after, rebuild: bool) -> None:
    """Embed (cache first), write generation N+1 aside (Chroma collection, BM25, sentence vectors, rows), then swap."""
    from assistant.ingestion.chunking import CHUNKER_VERSION, unit_embed_text
    from assistant.store import MODEL_ID, get_embedder

    _crash_after = _crash_after or crash_after()  # crash-safety tests only

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
        collection=collection_name(settings, gen),
        docs=docs_state,
        roots=members.roots,
        excluded=members.excluded,
        chunker=CHUNKER_VERSION,
        model=MODEL_ID,
        chroma_url=settings.chroma_url,
        created_at=now_utc(),
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
    from assistant.store import BM25Index

    BM25Index.build([r["embed"] for r in rows]).save(gdir / "bm25")
    import numpy as np

    np.save(gdir / "units.npy", np.asarray(unit_vecs, dtype=np.float32).reshape(-1, vecs.shape[1] if len(vecs) else 384))
    atomic_write_json(gdir / "chunks.json", rows)
    crash("before-swap")
    members.write(settings)  # first the library list, then the swap: a crash between them loses no guide
    new.write(settings)  # the swap: from here on the new generation is live
    crash("after-swap")
    report.generation = gen
    report.swapped = True
    sweep(settings, client, keep={gen, prev.generation if prev else -1})

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
