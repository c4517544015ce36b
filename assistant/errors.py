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
