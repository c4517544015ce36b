"""The applicant's workspace: one saved profile, saved conversations and saved drafts, per user, on this machine.

Everything lives in one SQLite file, ``ADVISOR_HOME/workspace.sqlite3`` (mode 0600), with one
row set per ``user``: the CLI's user is ``"local"`` (:data:`DEFAULT_USER`); ``advisor serve
--auth`` passes the signed-in user name. Every function takes ``user`` first and touches only
that user's rows; every change is one transaction (see :mod:`.db` for why the file is safe
against crashes, concurrent writers and other users).

- :mod:`.profile`: :func:`get_profile`, :func:`set_profile`, :func:`edit_profile`, :func:`clear_profile`
  (the audit's :class:`~assistant.writing.ApplicantProfile`, validated on the way in);
- :mod:`.conversations`: :func:`create_conversation`, :func:`append_turn`, :func:`list_conversations`,
  :func:`get_conversation`, :func:`rename_conversation`, :func:`delete_conversation`;
- :mod:`.drafts`: :func:`save_draft`, :func:`list_drafts`, :func:`get_draft`, :func:`rename_draft`,
  :func:`delete_draft`;
- :mod:`.privacy`: :func:`export`, :func:`export_file` and :func:`forget`;
- :mod:`.db`: :func:`workspace_file`, :func:`workspace_files` and :class:`NotFound` (an id the user
  does not have: an :class:`~assistant.errors.InputError`).

Bad input is an :class:`~assistant.errors.InputError`, an unusable file a
:class:`~assistant.errors.StorageError`: one line each.
"""

from assistant.workspace.conversations import (
    Conversation,
    ConversationSummary,
    Turn,
    append_turn,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    rename_conversation,
)
from assistant.workspace.db import DEFAULT_USER, NotFound, workspace_file, workspace_files
from assistant.workspace.drafts import Draft, DraftSummary, delete_draft, get_draft, list_drafts, rename_draft, save_draft
from assistant.workspace.privacy import counts, export, export_file, forget
from assistant.workspace.profile import clear_profile, edit_profile, get_profile, set_profile

__all__ = [
    "Conversation", "ConversationSummary", "DEFAULT_USER", "Draft", "DraftSummary", "NotFound", "Turn",
    "append_turn", "clear_profile", "counts", "create_conversation", "delete_conversation", "delete_draft",
    "edit_profile", "export", "export_file", "forget", "get_conversation", "get_draft", "get_profile",
    "list_conversations", "list_drafts", "rename_conversation", "rename_draft", "save_draft", "set_profile",
    "workspace_file", "workspace_files",
]
