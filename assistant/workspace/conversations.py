"""Saved conversations: each a titled list of turns (the question, the answer text, its citations).

What: :func:`create_conversation` (titled from its first question), :func:`append_turn`,
:func:`list_conversations`, :func:`get_conversation`, :func:`rename_conversation`,
:func:`delete_conversation`; the values :class:`Turn`, :class:`Conversation` and
:class:`ConversationSummary`.

Why: the applicant can come back to an answer and the passages behind it. A turn is appended
in one transaction that also moves the conversation's ``updated_at``, so concurrent appends
(two tabs, two processes) each land exactly once, in the order they committed. Another user's
conversation id is "not found" (:class:`~assistant.workspace.db.NotFound`), never an error
that would tell the caller it exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from assistant.config import MAX_QUESTION_CHARS
from assistant.errors import InputError
from assistant.store import now_utc
from assistant.workspace.db import NotFound, check_user, id_arg, json_arg, new_id, reading, text_arg, writing

MAX_TITLE_CHARS = 200
TITLE_FROM_QUESTION_CHARS = 60
#: Generous bounds for stored text (an answer with every passage quoted is far below them).
MAX_STORED_QUESTION_CHARS = max(MAX_QUESTION_CHARS, 10_000)
MAX_ANSWER_CHARS = 200_000
UNTITLED = "New conversation"


@dataclass(frozen=True)
class Turn:
    """One question and the answer it got, with the answer's citations (``Citation.to_json()`` dicts)."""

    question: str
    answer: str
    citations: list[dict] = field(default_factory=list)
    created_at: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as listed: no turns, only how many."""

    id: str
    title: str
    created_at: str
    updated_at: str
    n_turns: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def n_turns(self) -> int:
        return len(self.turns)

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "created_at": self.created_at, "updated_at": self.updated_at,
                "turns": [t.to_json() for t in self.turns]}


def title_from(question: str) -> str:
    """A title from the first question: its words, cut at a word boundary after about 60 characters."""
    words = " ".join(question.split())
    if not words:
        return UNTITLED
    if len(words) <= TITLE_FROM_QUESTION_CHARS:
        return words
    cut = words[:TITLE_FROM_QUESTION_CHARS].rsplit(" ", 1)[0] or words[:TITLE_FROM_QUESTION_CHARS]
    return cut.rstrip(" ,;:") + "…"


def _title(title: Any) -> str:
    return " ".join(text_arg(title, "title", MAX_TITLE_CHARS, allow_empty=False).split())


def _citations(citations: Iterable[Any] | None) -> str:
    """Citations as JSON: dicts, or objects with ``to_json()`` (:class:`assistant.schemas.Citation`)."""
    if citations is None:
        return "[]"
    if isinstance(citations, (str, bytes, dict)) or not isinstance(citations, Iterable):
        raise InputError("the citations must be a list of objects")
    items = [c.to_json() if hasattr(c, "to_json") else c for c in citations]
    if not all(isinstance(c, dict) for c in items):
        raise InputError("each citation must be an object (a dict, or a Citation)")
    return json_arg(items, "citations")


def create_conversation(user: str, question: str = "", *, title: str | None = None, settings=None) -> Conversation:
    """A new, empty conversation titled from ``question`` (its first question) unless ``title`` is given.

    The question itself is not stored here: :func:`append_turn` stores it with its answer.
    """
    check_user(user)
    text_arg(question, "question", MAX_STORED_QUESTION_CHARS)
    name = _title(title) if title is not None else title_from(question)
    cid, now = new_id(), now_utc()
    with writing(settings) as db:
        db.execute("INSERT INTO conversations (id, user, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                   (cid, user, name, now, now))
    return Conversation(cid, name, now, now, [])


def append_turn(user: str, conversation_id: str, question: str, answer: str, citations: Iterable[Any] | None = None,
                *, settings=None) -> Turn:
    """Add one turn at the end of the user's conversation; NotFound if the user has no such conversation."""
    check_user(user)
    id_arg(conversation_id, "conversation")
    text_arg(question, "question", MAX_STORED_QUESTION_CHARS)
    text_arg(answer, "answer", MAX_ANSWER_CHARS)
    cites = _citations(citations)
    now = now_utc()
    with writing(settings, create=False) as db:
        if db is None or db.execute("UPDATE conversations SET updated_at = ? WHERE id = ? AND user = ?", (now, conversation_id, user)).rowcount == 0:
            raise NotFound(f"no conversation {conversation_id!r} in this workspace")
        db.execute("INSERT INTO turns (conversation_id, user, question, answer, citations, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (conversation_id, user, question, answer, cites, now))
    return Turn(question, answer, json.loads(cites), now)


def list_conversations(user: str, *, settings=None) -> list[ConversationSummary]:
    """The user's conversations, most recently updated first."""
    check_user(user)
    with reading(settings) as db:
        if db is None:
            return []
        return _summaries(db, user)


def _summaries(db, user: str) -> list[ConversationSummary]:
    rows = db.execute(
        "SELECT c.id, c.title, c.created_at, c.updated_at,"
        " (SELECT COUNT(*) FROM turns t WHERE t.user = c.user AND t.conversation_id = c.id)"
        " FROM conversations c WHERE c.user = ? ORDER BY c.updated_at DESC, c.rowid DESC", (user,)).fetchall()
    return [ConversationSummary(*row) for row in rows]


def get_conversation(user: str, conversation_id: str, *, settings=None) -> Conversation | None:
    """The user's conversation with all its turns in order, or None (no such id for this user)."""
    check_user(user)
    if not isinstance(conversation_id, str):
        return None
    with reading(settings) as db:
        return _load(db, user, conversation_id) if db is not None else None


def _load(db, user: str, conversation_id: str) -> Conversation | None:
    row = db.execute("SELECT id, title, created_at, updated_at FROM conversations WHERE id = ? AND user = ?",
                     (conversation_id, user)).fetchone()
    if row is None:
        return None
    turns = [Turn(q, a, json.loads(c), t) for q, a, c, t in db.execute(
        "SELECT question, answer, citations, created_at FROM turns WHERE user = ? AND conversation_id = ? ORDER BY seq",
        (user, conversation_id))]
    return Conversation(*row, turns)


def _all(db, user: str) -> list[Conversation]:
    """Every conversation of the user with its turns (for the export), oldest first."""
    ids = [r[0] for r in db.execute("SELECT id FROM conversations WHERE user = ? ORDER BY created_at, rowid", (user,))]
    return [c for c in (_load(db, user, i) for i in ids) if c is not None]


def rename_conversation(user: str, conversation_id: str, title: str, *, settings=None) -> None:
    """Give the user's conversation a new title (its place in the list, by last activity, stays); NotFound if none."""
    check_user(user)
    id_arg(conversation_id, "conversation")
    name = _title(title)
    with writing(settings, create=False) as db:
        if db is None or db.execute("UPDATE conversations SET title = ? WHERE id = ? AND user = ?",
                                    (name, conversation_id, user)).rowcount == 0:
            raise NotFound(f"no conversation {conversation_id!r} in this workspace")


def delete_conversation(user: str, conversation_id: str, *, settings=None) -> None:
    """Delete the user's conversation and its turns; NotFound if the user has no such conversation."""
    check_user(user)
    id_arg(conversation_id, "conversation")
    with writing(settings, create=False) as db:
        if db is None or db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conversation_id, user)).rowcount == 0:
            raise NotFound(f"no conversation {conversation_id!r} in this workspace")
        db.execute("DELETE FROM turns WHERE conversation_id = ? AND user = ?", (conversation_id, user))
