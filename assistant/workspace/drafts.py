"""Saved drafts: a paragraph the applicant kept, with the kind (or audit flag) and the facts it was drafted from.

What: :func:`save_draft`, :func:`list_drafts`, :func:`get_draft`, :func:`rename_draft`,
:func:`delete_draft`; the values :class:`Draft` and :class:`DraftSummary`.

Why the facts are kept: a draft is only as true as the facts behind it, so the applicant (and a
later redraft) can see exactly what it was written from. The text is stored as given: it is the
applicant's own paragraph, perhaps edited after :func:`assistant.writing.draft` wrote it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.errors import InputError
from assistant.store import now_utc
from assistant.workspace.db import NotFound, check_user, id_arg, json_arg, new_id, reading, text_arg, writing

MAX_KIND_CHARS = 80
MAX_TITLE_CHARS = 200
MAX_DRAFT_CHARS = 100_000


@dataclass(frozen=True)
class DraftSummary:
    """A draft as listed: no text, no facts."""

    id: str
    title: str
    kind: str
    created_at: str
    updated_at: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Draft:
    id: str
    title: str
    kind: str
    facts: dict = field(default_factory=dict)
    text: str = ""
    created_at: str = ""
    updated_at: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _facts(facts: Any) -> str:
    """Facts as JSON: a dict, or a pydantic model (:class:`DraftFacts`), dumped without empty fields."""
    if hasattr(facts, "model_dump"):
        facts = facts.model_dump(mode="json", exclude_none=True)
    if facts is None:
        facts = {}
    if not isinstance(facts, dict):
        raise InputError(f"the draft's facts must be an object, got {type(facts).__name__}")
    return json_arg(facts, "draft's facts")


def _title(title: Any) -> str:
    return " ".join(text_arg(title, "title", MAX_TITLE_CHARS, allow_empty=False).split())


def save_draft(user: str, kind: str, facts: Any, text: str, *, title: str | None = None, settings=None) -> Draft:
    """Save a new draft: ``kind`` is the draft kind (``exam-failure``) or audit flag (``low-score:step2ck``)."""
    check_user(user)
    kind = text_arg(kind, "draft kind", MAX_KIND_CHARS, allow_empty=False).strip()
    facts_json = _facts(facts)
    text_arg(text, "draft text", MAX_DRAFT_CHARS)
    name = _title(title) if title is not None else kind
    did, now = new_id(), now_utc()
    with writing(settings) as db:
        db.execute("INSERT INTO drafts (id, user, title, kind, facts, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (did, user, name, kind, facts_json, text, now, now))
    return Draft(did, name, kind, json.loads(facts_json), text, now, now)


def list_drafts(user: str, *, settings=None) -> list[DraftSummary]:
    """The user's drafts, newest first."""
    check_user(user)
    with reading(settings) as db:
        if db is None:
            return []
        rows = db.execute("SELECT id, title, kind, created_at, updated_at FROM drafts WHERE user = ? "
                          "ORDER BY updated_at DESC, rowid DESC", (user,)).fetchall()
    return [DraftSummary(*row) for row in rows]


def get_draft(user: str, draft_id: str, *, settings=None) -> Draft | None:
    """The user's draft, or None (no such id for this user)."""
    check_user(user)
    if not isinstance(draft_id, str):
        return None
    with reading(settings) as db:
        if db is None:
            return None
        row = db.execute("SELECT id, title, kind, facts, text, created_at, updated_at FROM drafts WHERE id = ? AND user = ?",
                         (draft_id, user)).fetchone()
    return _draft(row) if row else None


def _draft(row) -> Draft:
    did, title, kind, facts, text, created, updated = row
    return Draft(did, title, kind, json.loads(facts), text, created, updated)


def _all(db, user: str) -> list[Draft]:
    """Every draft of the user (for the export), oldest first."""
    return [_draft(r) for r in db.execute("SELECT id, title, kind, facts, text, created_at, updated_at FROM drafts "
                                          "WHERE user = ? ORDER BY created_at, rowid", (user,))]


def rename_draft(user: str, draft_id: str, title: str, *, settings=None) -> None:
    """Give the user's draft a new title; NotFound if the user has no such draft."""
    check_user(user)
    id_arg(draft_id, "draft")
    name = _title(title)
    with writing(settings, create=False) as db:
        if db is None or db.execute("UPDATE drafts SET title = ? WHERE id = ? AND user = ?", (name, draft_id, user)).rowcount == 0:
            raise NotFound(f"no draft {draft_id!r} in this workspace")


def delete_draft(user: str, draft_id: str, *, settings=None) -> None:
    """Delete the user's draft; NotFound if the user has no such draft."""
    check_user(user)
    id_arg(draft_id, "draft")
    with writing(settings, create=False) as db:
        if db is None or db.execute("DELETE FROM drafts WHERE id = ? AND user = ?", (draft_id, user)).rowcount == 0:
            raise NotFound(f"no draft {draft_id!r} in this workspace")
