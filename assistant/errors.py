"""The project's own error types.

Every error a user can cause (bad input, a missing index, an unreachable model)
is raised as a subclass of :class:`AdvisorError`. The CLI prints its message as
one line on stderr and exits with code 2; the UI shows it as a message. Nothing
else (a bare traceback) should ever reach a user.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """Base class: a problem the user can fix, with a one-line message."""

    exit_code = 2

    def __str__(self) -> str:  # keep messages to a single line
        msg = super().__str__()
        return " ".join(msg.split())


class InputError(AdvisorError, ValueError):
    """Bad user input: empty/oversized question, malformed JSON, unknown field, absurd value."""


class IndexMissingError(AdvisorError):
    """The index does not exist yet or is corrupt; the message names the command that rebuilds it."""


class DocumentError(AdvisorError):
    """A guide document could not be read (binary, not UTF-8, unreadable)."""


class BackendError(AdvisorError):
    """An LLM backend could not be used (bad spec, missing model file, unreachable server)."""


class StorageError(AdvisorError):
    """A file under ADVISOR_HOME could not be written: read-only, not a folder, no permission, disk full."""


_DISK_FULL = ("database or disk is full", "no space left", "disk full", "error in compaction")
_READ_ONLY = ("readonly database", "read-only file system", "attempt to write a readonly")


def storage_error(exc: BaseException, path=None) -> StorageError | None:
    """The one-line :class:`StorageError` for an OS/SQLite/Chroma write failure, or None if it is not one.

    Chroma and SQLite report a full disk or a read-only file in their own exception
    types and words, so the text is matched as well as ``errno``.
    """
    import errno as E

    where = getattr(exc, "filename", None) or path or "ADVISOR_HOME"
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    if code in (E.ENOSPC, E.EDQUOT) or any(w in text for w in _DISK_FULL):
        return StorageError(f"no space left on the disk holding {where}; free some space, then run the command again (the live index is unchanged)")
    if code in (E.EROFS, E.EACCES, E.EPERM) or any(w in text for w in _READ_ONLY):
        return StorageError(f"cannot write {where} (read-only or no permission); make it writable, or set ADVISOR_HOME to a folder you can write")
    if code in (E.ENOTDIR, E.EEXIST) and isinstance(exc, OSError):
        return StorageError(f"{where} is not a folder (a file is in the way); set ADVISOR_HOME to a folder")
    return None
