"""What an applicant can take away and what they can erase: :func:`export`, :func:`export_file`, :func:`forget`.

Why: the workspace holds personal data (scores, gaps, visa history, the questions asked), so
the applicant can take a complete copy of it and have it deleted.

- :func:`export` reads the profile, every conversation with its turns and every draft in one
  read transaction, so the copy is consistent even while another process writes.
  :func:`export_file` writes it atomically (temporary file, fsync, rename; the project's
  :func:`assistant.store.atomic_write_json`) with mode 0600.
- :func:`forget` deletes the user's rows in one transaction. If no other user has data in the
  workspace, the database and its -wal/-shm/-journal files are deleted; otherwise the file is
  VACUUMed and its WAL truncated, so the deleted text is not left in free pages.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from assistant.errors import InputError, storage_error
from assistant.store import now_utc
from assistant.workspace import conversations, drafts
from assistant.workspace.db import TABLES, check_user, compact, reading, remove_files, writing
from assistant.workspace.profile import _raw

EXPORT_FORMAT = "img-advisor-workspace"
EXPORT_VERSION = 1


def export(user: str, *, settings=None) -> dict:
    """The user's whole workspace as one JSON-ready dict: ``profile`` (or None), ``conversations`` with turns, ``drafts``."""
    check_user(user)
    out = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "user": user, "exported_at": now_utc(),
           "profile": None, "conversations": [], "drafts": []}
    with reading(settings) as db:
        if db is not None:
            out["profile"] = _raw(db, user)  # as stored: a copy must not depend on today's checks
            out["conversations"] = [c.to_json() for c in conversations._all(db, user)]
            out["drafts"] = [d.to_json() for d in drafts._all(db, user)]
    return out


def counts(data: dict) -> dict[str, int]:
    """How much an export holds: profile (0/1), conversations, turns, drafts."""
    convs = data.get("conversations") or []
    return {"profile": int(data.get("profile") is not None), "conversations": len(convs),
            "turns": sum(len(c.get("turns") or []) for c in convs), "drafts": len(data.get("drafts") or [])}


def export_file(user: str, path: str | Path, *, settings=None) -> dict:
    """Write :func:`export` to ``path`` atomically, readable by its owner only (0600); returns its :func:`counts`.

    The process umask is narrowed to 077 while the temporary file is created, so the file is
    never readable by others, not even for an instant (in a threaded server another thread
    creating a file in that instant also gets owner-only permissions, which is harmless).
    """
    from assistant.store import atomic_write_json

    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write the export to {path}: it is a folder; give a file name, e.g. {path / 'workspace.json'}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write the export to {path}: the folder {path.parent} does not exist")
    data = export(user, settings=settings)
    old = os.umask(0o077)
    try:
        atomic_write_json(path, data)
    except OSError as exc:
        raise (storage_error(exc, path) or InputError(f"cannot write the export to {path}: {exc.strerror or exc}")) from None
    finally:
        os.umask(old)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return counts(data)


def forget(user: str, *, settings=None) -> dict[str, int]:
    """Delete everything the workspace holds for ``user``; how many rows of each kind went, and ``files`` deleted.

    When no user has rows left, the workspace files themselves are deleted (``files`` counts them);
    otherwise the file is compacted so nothing of the deleted text stays on disk.
    """
    check_user(user)
    removed = {"profile": 0, "conversations": 0, "turns": 0, "drafts": 0, "files": 0}
    with writing(settings, create=False) as db:
        if db is None:
            return removed
        for table in TABLES:
            key = "profile" if table == "profiles" else table
            removed[key] = db.execute(f"DELETE FROM {table} WHERE user = ?", (user,)).rowcount
        left = sum(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES)
    if left == 0:
        removed["files"] = remove_files(settings)
    else:
        compact(settings)
    return removed

