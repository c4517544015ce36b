"""The workspace database: one private SQLite file, ``ADVISOR_HOME/workspace.sqlite3``.

What: :func:`workspace_file` and :func:`workspace_files` (where it lives), :func:`writing` and
:func:`reading` (a connection inside one transaction), :func:`remove_files` and :func:`compact`
(used by ``forget``), the argument checks every public function runs (:func:`check_user`,
:func:`text_arg`, :func:`json_arg`, :func:`id_arg`) and :class:`NotFound`.

Why it is built this way:

- **Private file.** The file is created with ``os.open(..., 0o600)`` before SQLite opens it
  (the umask can only narrow that), and SQLite creates its ``-wal``, ``-shm`` and ``-journal``
  files with the database file's mode, so all of them are 0600 whatever the umask. Group and
  other bits found on an existing file are removed whenever it is opened.
- **Per user.** Every row carries a ``user`` column and every query filters by it; the public
  functions take ``user`` first, so one signed-in user of ``advisor serve --auth`` never reads,
  renames or deletes another's rows (an id of someone else's row is simply not found).
- **Atomic, concurrent writes.** Each change is one ``BEGIN IMMEDIATE`` transaction: the write
  lock is taken before the first read, so concurrent writers (threads or processes) queue on
  the busy timeout instead of failing with "database is locked" when a read would have to
  upgrade to a write. WAL journaling lets readers go on while one writer writes, and a crash or
  ``kill -9`` mid-write leaves the last committed state (SQLite rolls the rest back on next open).
- **Deleted means gone.** ``secure_delete`` is on, so deleted text is overwritten rather than
  left in free pages.
- **A connection per call.** Nothing is shared between threads or held open between commands,
  so the WAL file is folded back and removed when the last connection closes.

A file SQLite cannot read is reported in one line and left where it is: unlike the index and
the embedding cache, the workspace cannot be rebuilt from anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any, Iterator

from assistant.errors import InputError, StorageError, storage_error

FILE_NAME = "workspace.sqlite3"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
SCHEMA_VERSION = 1
#: Seconds a writer waits for another writer's lock before giving up with one line.
BUSY_TIMEOUT_S = 30.0
#: The personal tables; each has a ``user`` column.
TABLES = ("profiles", "conversations", "turns", "drafts")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS profiles (user TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated_at)",
    "CREATE TABLE IF NOT EXISTS turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL,"
    " user TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (user, conversation_id, seq)",
    "CREATE TABLE IF NOT EXISTS drafts (id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,"
    " facts TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS drafts_by_user ON drafts (user, updated_at)",
)

DEFAULT_USER = "local"
MAX_USER_CHARS = 200


class NotFound(InputError):
    """No such conversation or draft for this user (it may belong to another user, or was deleted)."""


def workspace_file(settings=None) -> Path:
    """``ADVISOR_HOME/workspace.sqlite3`` (the file need not exist)."""
    from assistant.config import get_settings

    return (settings or get_settings()).home / FILE_NAME


def workspace_files(settings=None) -> list[Path]:
    """The workspace files that exist now: the database and any of its -wal, -shm, -journal files."""
    path = workspace_file(settings)
    return [p for p in (path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)) if p.exists()]


# -- arguments -------------------------------------------------------------------------------

def check_user(user: Any) -> str:
    """The user name, unchanged; InputError for anything that cannot be one (empty, too long, control characters)."""
    if not isinstance(user, str) or not user or len(user) > MAX_USER_CHARS:
        raise InputError(f"the workspace user must be a name of 1 to {MAX_USER_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 or "\ud800" <= c <= "\udfff" for c in user):
        raise InputError("the workspace user name contains control characters or is not valid text")
    return user


def text_arg(value: Any, what: str, max_chars: int, allow_empty: bool = True) -> str:
    """``value`` if it is text SQLite can store (no lone surrogates) of at most ``max_chars``; else InputError."""
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise InputError(f"the {what} is too long (at most {max_chars} characters)")
    if not allow_empty and not value.strip():
        raise InputError(f"the {what} is empty")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise InputError(f"the {what} is not valid text")
    return value


def json_arg(value: Any, what: str, max_chars: int = 1_000_000) -> str:
    """``value`` as JSON text; InputError if it is not JSON data (text, numbers, true/false/null, lists, objects)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise InputError(f"the {what} must be JSON data (text, numbers, true/false, lists and objects)") from None
    if len(text) > max_chars:
        raise InputError(f"the {what} is too large (at most {max_chars} characters of JSON)")
    return text


def id_arg(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise NotFound(f"no {what} {value!r} in this workspace")
    return value


def new_id() -> str:
    """A random 16-hex-digit id: not guessable, and says nothing about how many rows other users have."""
    return secrets.token_hex(8)


# -- connections -----------------------------------------------------------------------------

def _private(path: Path) -> None:
    """Remove group/other permission bits from the database and its side files."""
    for p in (path, *(path.with_name(path.name + s) for s in SIDE_SUFFIXES)):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(p.stat().st_mode)
            if mode & 0o077:
                os.chmod(p, mode & 0o700)


def _create(path: Path) -> None:
    """Create the (empty) database file with mode 0600 unless it exists."""
    from assistant.store import ensure_dir

    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # exactly 0600 even under a umask such as 0o277 that would leave it unwritable
    finally:
        os.close(fd)


def _retry_locked(fn):
    """Run ``fn`` again while SQLite says the database is locked (the journal-mode switch does not wait itself)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _open(path: Path) -> sqlite3.Connection:
    _private(path)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA synchronous = FULL")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _retry_locked(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone())
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"the workspace {path} was written by a newer advisor (schema {version}); upgrade the advisor to read it")
        if version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def _errors(path: Path) -> Iterator[None]:
    """SQLite and OS failures as one-line :class:`StorageError` s naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        problem = storage_error(exc, path)
        if problem is not None:
            raise problem from None
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            raise StorageError(f"the workspace {path} stayed locked by another advisor process for {BUSY_TIMEOUT_S:.0f} s; try again") from None
        raise StorageError(f"the workspace {path} cannot be read ({' '.join(str(exc).split())}); it holds your saved profile, "
                           "conversations and drafts, so it was left as it is: move it aside to start a new workspace") from None
    except OSError as exc:
        raise (storage_error(exc, path) or StorageError(f"cannot use the workspace {path}: {exc.strerror or exc}")) from None


@contextlib.contextmanager
def writing(settings=None, create: bool = True) -> Iterator[sqlite3.Connection | None]:
    """A connection inside ``BEGIN IMMEDIATE``: committed if the block returns, rolled back if it raises.

    With ``create=False`` (changes to rows that must exist already) a missing workspace yields None
    instead of creating the file.
    """
    path = workspace_file(settings)
    if not create and not path.exists():
        yield None
        return
    with _errors(path):
        _create(path)
        db = _open(path)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()


@contextlib.contextmanager
def reading(settings=None) -> Iterator[sqlite3.Connection | None]:
    """A connection inside one read transaction (a consistent snapshot), or None when there is no workspace yet.

    Reading never creates the file: looking at an empty workspace leaves nothing on disk.
    """
    path = workspace_file(settings)
    if not path.exists():
        yield None
        return
    with _errors(path):
        db = _open(path)
        try:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")
        finally:
            db.close()


def remove_files(settings=None) -> int:
    """Delete the database and its side files; how many were deleted."""
    removed = 0
    for p in workspace_files(settings):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed += 1
    return removed


def compact(settings=None) -> None:
    """VACUUM (no deleted text left in free pages) and fold the WAL back into the file, truncating it."""
    path = workspace_file(settings)
    if not path.exists():
        return
    with _errors(path):
        db = _open(path)
        try:
            _retry_locked(lambda: db.execute("VACUUM"))
            for _ in range(50):  # busy while another connection reads; that reader's commit ends it soon
                if db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0:
                    break
                time.sleep(0.05)
        finally:
            db.close()
