"""Which index generation is live (``state.json``), which guides make up the library (``library.json``), one ingest at a time.

Layout under ``$ADVISOR_HOME``::

    library.json          the library's folders/files and removed guides (outside index/, survives a rebuild)
    library/              guides uploaded from the UI (always part of the library)
    index/state.json      which generation is live, its documents, roots, model
    index/chroma/         embedded Chroma (PersistentClient), unless ADVISOR_CHROMA_URL
    index/gen-N/          chunks.json (the chunk table), bm25/, units.npy for generation N
    index/.lock           one ingest at a time
"""

from __future__ import annotations

import contextlib
import fcntl
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.errors import IndexMissingError, InputError, storage_error
from assistant.store.files import atomic_write_json, ensure_dir, move_aside, read_json

STATE_FILE = "state.json"
MEMBERSHIP_FILE = "library.json"  # in ADVISOR_HOME, outside index/: which folders and files the library holds
UPLOADS_DIR = "library"  # ADVISOR_HOME/library: guides added from the UI, always part of the library


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
            data = read_json(f, "state", "index state file")
        except FileNotFoundError:
            if required:
                raise IndexMissingError(f"no index in {settings.index_dir}; run `advisor ingest` to build it") from None
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def write(self, settings: Settings) -> None:
        ensure_dir(settings.index_dir)
        atomic_write_json(settings.index_dir / STATE_FILE, self.__dict__)

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
            data = read_json(f, "membership", "library list")
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
        atomic_write_json(settings.home / MEMBERSHIP_FILE, {"roots": self.roots, "excluded": sorted(set(self.excluded))})

def membership_stale(settings: Settings, members: Membership) -> bool:
    try:
        data = read_json(settings.home / MEMBERSHIP_FILE, "membership", "library list")
    except (FileNotFoundError, IndexMissingError):
        return True
    return (data.get("roots"), sorted(data.get("excluded", []))) != (members.roots, members.excluded)

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
