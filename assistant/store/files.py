"""Files under ADVISOR_HOME: atomic JSON writes, validated JSON reads, damaged files moved aside.

Every JSON file the index writes is checked on load for its *shape* (pydantic
models), not only its syntax, so a wrong-shaped file is reported in one line
naming it and the command that rebuilds it, instead of failing later as an
``AttributeError``. A damaged file is never deleted: it is renamed aside.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from assistant.errors import IndexMissingError, storage_error

REBUILD_HINT = "run `advisor ingest --rebuild` to rebuild it"


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

def atomic_write_json(path: Path, obj) -> None:
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

def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` that reports a read-only, not-a-folder or full home as one :class:`StorageError` line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (storage_error(exc, path) or exc) from None
    if not path.is_dir():
        raise storage_error(NotADirectoryError(20, "not a folder", str(path)))
    return path

def file_models():
    """Pydantic models of the JSON files under ADVISOR_HOME (built on first use: pydantic is not on ``--help``'s path)."""
    global _MODELS
    if _MODELS is None:
        from pydantic import BaseModel, ConfigDict, TypeAdapter, with_config

        from assistant.schemas import PassageRow  # the chunk table's row: one definition, validated here

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

        _MODELS = {"state": TypeAdapter(StateFile), "membership": TypeAdapter(MembershipFile), "rows": TypeAdapter(list[with_config(ConfigDict(strict=True))(PassageRow)])}
    return _MODELS

_MODELS = None

def read_json(f: Path, model: str, what: str):
    """Parse and validate one JSON file (shape, not only syntax); IndexMissingError naming the file and the fix."""
    try:
        data = json.loads(f.read_bytes().decode("utf-8"))
        file_models()[model].validate_python(data)
        return data
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise (storage_error(exc, f) or IndexMissingError(f"the {what} {f} cannot be read ({exc.strerror}); {REBUILD_HINT}")) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and pydantic's ValidationError are ValueErrors
        kind = "has the wrong shape" if type(exc).__name__ == "ValidationError" else f"is corrupt ({type(exc).__name__})"
        raise IndexMissingError(f"the {what} {f} {kind}; {REBUILD_HINT}") from None
