"""What the tabs share: the app's context, the profile dropdowns' vocabulary, who is signed in, and how a failure reaches the user.

The audience and specialty choices come from :func:`assistant.domain.vocabulary`
(the domain file's order), each after a "Not set" entry; the label maps turn a
dropdown value back into its display name ("Diagnostic radiology").

:func:`user_of` is the one place a handler learns whose workspace it touches:
the name Gradio's login put on the request (``advisor serve --auth``), else
``local``. Never a value the page or an API caller sends, so no request can
name another user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import gradio as gr

from assistant.config import Settings
from assistant.domain import vocabulary
from assistant.errors import AdvisorError

log = logging.getLogger("assistant.ui")

NOT_SET = "not set"
AUDIENCE_CHOICES = [("Not set", NOT_SET), *((a.name, a.id) for a in vocabulary().audiences.values())]
SPECIALTY_CHOICES = [("Not set", NOT_SET), *((s.name, s.id) for s in vocabulary().specialties.values())]
AUDIENCE_LABELS = {v: k for k, v in AUDIENCE_CHOICES}
SPECIALTY_LABELS = {v: k for k, v in SPECIALTY_CHOICES}  # display names; prose uses the lower-case noun (domain.Specialty.noun)

WARM = threading.Event()  # set once the index and embedding model are loaded in this process


@dataclass(frozen=True)
class Context:
    """What every tab's handlers need: the settings, the answer backend and the library's one-at-a-time lock."""

    settings: Settings
    spec: str  # the answer backend spec ("extractive", "llamacpp:…", "openai:…")
    uploads_root: Path  # Gradio's upload temp folder (see assistant.ui.server.upload_temp_dir)
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)  # held while guides are added or removed, or the evals run


class PageLoad(NamedTuple):
    """A tab's refresh when a page opens: ``fn`` fills ``outputs`` (wired with ``app.load`` by :func:`assistant.ui.app.build_app`).

    ``inputs``, when given, are the components whose values ``fn`` reads (e.g. what the user already typed).
    """

    fn: Callable
    outputs: list
    inputs: list | None = None


def user_of(request: gr.Request | None) -> str:
    """The workspace user of a request: the name signed in to ``advisor serve --auth``, else ``local``."""
    from assistant.workspace import DEFAULT_USER

    name = getattr(request, "username", None) if request is not None else None
    return name if isinstance(name, str) and name else DEFAULT_USER


def chosen(value: str | None) -> str | None:
    """A profile dropdown's value, or None for "not set" (also blank, ``none``, ``any``)."""
    v = (value or "").strip()
    return None if not v or v.lower() in (NOT_SET, "none", "any") else v


def error_line(exc: BaseException) -> str:
    """One line for the user: the AdvisorError message, or a generic line (traceback to the log)."""
    if isinstance(exc, AdvisorError):
        return str(exc)
    log.exception("unexpected error in a UI handler")
    return f"something went wrong ({type(exc).__name__}); the details are in the server log"


def api_error(exc: BaseException) -> gr.Error:
    """The error an API endpoint raises: :func:`error_line`, no traceback printed."""
    return gr.Error(error_line(exc), print_exception=False)

