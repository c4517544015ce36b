"""The Saved tab: the signed-in user's saved conversations and drafts, to reopen, rename or delete.

What: two lists read from :mod:`assistant.workspace` (conversations by last activity, drafts
newest first), each with a picker and *Open*, *Rename* and *Delete*. Opening a conversation
shows it again in the Chat tab (:func:`assistant.ui.chat.conversation_view`: its answers with
their linked sources; a follow-up continues it), opening a draft refills the Draft tab with
the facts and text it was saved with (:func:`assistant.ui.draft.draft_view`).

Why a tab of its own: the Chat tab saves every answer and the Draft tab every draft as they
happen, so this is where the applicant finds them after a reload or a server restart. Every
handler asks the workspace for the signed-in user's rows only
(:func:`~assistant.ui.shared.user_of`); an id of another user's conversation or draft (sent by
a crafted request) is simply not found.

API endpoints: ``/conversations``, ``/conversation`` (id -> its turns), ``/rename_conversation``,
``/delete_conversation``; ``/drafts``, ``/saved_draft`` (id -> facts and text), ``/rename_draft``,
``/delete_draft``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.errors import InputError
from assistant.ui.html import error_notice, esc, notice
from assistant.ui.shared import Context, PageLoad, api_error, user_of


def _when(stamp: str) -> str:
    return (stamp or "").replace("T", " ")[:16]


def render_conversations(items: list) -> str:
    if not items:
        return '<div class="panel" id="saved-conversations"><p>No saved conversations yet: every answer in the Chat tab is saved here as it arrives.</p></div>'
    rows = "".join(f"<tr><td>{esc(c.title)}</td><td>{c.n_turns}</td><td>{esc(_when(c.updated_at))}</td></tr>" for c in items)
    return (f'<div class="panel" id="saved-conversations"><table class="lib"><thead><tr><th>Conversation</th><th>Answers</th><th>Last active</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def render_drafts(items: list) -> str:
    if not items:
        return '<div class="panel" id="saved-drafts"><p>No saved drafts yet: every draft made in the Draft tab is saved here.</p></div>'
    rows = "".join(f"<tr><td>{esc(d.title)}</td><td><code>{esc(d.kind)}</code></td><td>{esc(_when(d.updated_at))}</td></tr>" for d in items)
    return (f'<div class="panel" id="saved-drafts"><table class="lib"><thead><tr><th>Draft</th><th>Kind</th><th>Saved</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _picked(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"pick a {what} first")
    return value


class HistoryHandlers:
    """The Saved tab's events and API endpoints, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context, open_chat, open_draft) -> None:
        self.ctx = ctx
        self.chat_values = open_chat  # conversation -> values for the Chat tab's outputs
        self.draft_values = open_draft  # draft -> values for the Draft tab's outputs

    # -- lists

    def lists(self, user: str) -> tuple:
        from assistant.workspace import list_conversations, list_drafts

        convs, drafts = list_conversations(user, settings=self.ctx.settings), list_drafts(user, settings=self.ctx.settings)
        conv_choices = [(f"{c.title} ({c.n_turns} answer{'s' if c.n_turns != 1 else ''}, {_when(c.updated_at)})", c.id) for c in convs]
        draft_choices = [(f"{d.title} ({_when(d.updated_at)})", d.id) for d in drafts]
        return (render_conversations(convs), gr.update(choices=conv_choices, value=None),
                render_drafts(drafts), gr.update(choices=draft_choices, value=None))

    def refresh(self, request: gr.Request):
        """Both lists for the signed-in user (page load, the tab opened, after a change)."""
        try:
            return self.lists(user_of(request))
        except Exception as exc:  # noqa: BLE001
            line = error_notice(exc, "saved-error")
            return line, gr.skip(), line, gr.skip()

    def _after(self, user: str, line: str) -> tuple:
        return (line, *self.lists(user))

    # -- conversations

    def open_conversation(self, conversation_id: str, request: gr.Request):
        """Show a saved conversation in the Chat tab (and switch to it)."""
        from assistant.workspace import get_conversation

        try:
            c = get_conversation(user_of(request), _picked(conversation_id, "conversation"), settings=self.ctx.settings)
            if c is None:
                raise InputError("that conversation is not in your saved conversations (deleted?)")
        except Exception as exc:  # noqa: BLE001
            return (error_notice(exc, "saved-status"), *[gr.skip()] * 5, gr.skip())
        messages, sources, conv = self.chat_values(c)
        status = notice("info", f"Reopened “{esc(c.title)}”: ask a follow-up to continue it.", "chat-status")
        return (notice("ok", f"Opened “{esc(c.title)}” in the Chat tab.", "saved-status"), messages, sources, status, conv, "", gr.Tabs(selected="chat"))

    def _change(self, action: str, kind: str, item_id: str, request: gr.Request, done: str, *args):
        """Rename or delete one of the signed-in user's conversations or drafts, then refresh both lists."""
        from assistant import workspace

        user = user_of(request)
        try:
            getattr(workspace, f"{action}_{kind}")(user, _picked(item_id, kind), *args, settings=self.ctx.settings)
            return self._after(user, notice("ok", done, "saved-status"))
        except Exception as exc:  # noqa: BLE001
            return (error_notice(exc, "saved-status"), *[gr.skip()] * 4)

    def on_rename_conversation(self, conversation_id: str, title: str, request: gr.Request):
        done = f"Renamed the conversation to “{esc(' '.join(title.split()))}”."
        return self._change("rename", "conversation", conversation_id, request, done, title)

    def on_delete_conversation(self, conversation_id: str, request: gr.Request):
        return self._change("delete", "conversation", conversation_id, request, "Deleted the conversation and its answers.")

    # -- drafts

    def open_draft(self, draft_id: str, request: gr.Request):
        """Refill the Draft tab with a saved draft's facts and text (and switch to it)."""
        from assistant.workspace import get_draft

        try:
            d = get_draft(user_of(request), _picked(draft_id, "draft"), settings=self.ctx.settings)
            if d is None:
                raise InputError("that draft is not in your saved drafts (deleted?)")
        except Exception as exc:  # noqa: BLE001
            return (error_notice(exc, "saved-status"), *[gr.skip()] * 15, gr.skip())
        return (notice("ok", f"Opened “{esc(d.title)}” in the Draft tab.", "saved-status"), *self.draft_values(d), gr.Tabs(selected="draft"))

    def on_rename_draft(self, draft_id: str, title: str, request: gr.Request):
        return self._change("rename", "draft", draft_id, request, f"Renamed the draft to “{esc(' '.join(title.split()))}”.", title)

    def on_delete_draft(self, draft_id: str, request: gr.Request):
        return self._change("delete", "draft", draft_id, request, "Deleted the draft.")

    # -- API

    def _workspace(self, action: str, kind: str, request: gr.Request, *args) -> Any:
        """One workspace call for the signed-in user: ``action`` list/get/rename/delete on a conversation or draft."""
        from assistant import workspace

        name = {"list": f"list_{kind}s", "get": f"get_{kind}", "rename": f"rename_{kind}", "delete": f"delete_{kind}"}[action]
        try:
            out = getattr(workspace, name)(user_of(request), *args, settings=self.ctx.settings)
            if action == "get" and out is None:
                raise InputError(f"no {kind} {args[0]!r} in your workspace")
            return out
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None

    def conversations_api(self, request: gr.Request) -> list:
        """Your saved conversations, most recently active first: id, title, created_at, updated_at, n_turns."""
        return [c.to_json() for c in self._workspace("list", "conversation", request)]

    def conversation_api(self, conversation_id: str, request: gr.Request) -> dict:
        """One of your saved conversations with its turns (question, answer, citations)."""
        return self._workspace("get", "conversation", request, conversation_id).to_json()

    def rename_conversation_api(self, conversation_id: str, title: str, request: gr.Request) -> dict:
        """Give one of your saved conversations a new title."""
        self._workspace("rename", "conversation", request, conversation_id, title)
        return {"id": conversation_id, "renamed": True}

    def delete_conversation_api(self, conversation_id: str, request: gr.Request) -> dict:
        """Delete one of your saved conversations and its turns."""
        self._workspace("delete", "conversation", request, conversation_id)
        return {"id": conversation_id, "deleted": True}

    def drafts_api(self, request: gr.Request) -> list:
        """Your saved drafts, newest first: id, title, kind, created_at, updated_at."""
        return [d.to_json() for d in self._workspace("list", "draft", request)]

    def draft_api(self, draft_id: str, request: gr.Request) -> dict:
        """One of your saved drafts: its kind, the facts it was drafted from, and its text."""
        return self._workspace("get", "draft", request, draft_id).to_json()

    def rename_draft_api(self, draft_id: str, title: str, request: gr.Request) -> dict:
        """Give one of your saved drafts a new title."""
        self._workspace("rename", "draft", request, draft_id, title)
        return {"id": draft_id, "renamed": True}

    def delete_draft_api(self, draft_id: str, request: gr.Request) -> dict:
        """Delete one of your saved drafts."""
        self._workspace("delete", "draft", request, draft_id)
        return {"id": draft_id, "deleted": True}


# --------------------------------------------------------------------------- layout


def build(ctx: Context, tabs: gr.Tabs, chat_tab: Any, draft_tab: Any) -> PageLoad:
    """The Saved tab; opening fills ``chat_tab.outputs`` / ``draft_tab.outputs`` and selects that tab. Returns the lists' refresh."""
    from assistant.ui.chat import conversation_view
    from assistant.ui.draft import draft_view

    h = HistoryHandlers(ctx, conversation_view, draft_view)
    with gr.Tab("Saved", id="saved", elem_id="tab-saved") as tab:
        gr.Markdown("Your saved conversations and drafts (yours alone; kept on this machine). Open one to continue it, or rename or delete it.")
        status = gr.HTML("", elem_id="h-status")
        with gr.Row(equal_height=False):
            with gr.Column():
                gr.Markdown("### Conversations")
                conv_list = gr.HTML(render_conversations([]), elem_id="h-conv-list")
                conv_pick = gr.Dropdown([], label="Pick a conversation", elem_id="h-conv")
                with gr.Row():
                    conv_open = gr.Button("Open in Chat", variant="primary", elem_id="h-conv-open", size="sm")
                    conv_delete = gr.Button("Delete", variant="stop", elem_id="h-conv-delete", size="sm")
                with gr.Row():
                    conv_title = gr.Textbox(label="New title", max_length=200, elem_id="h-conv-title", scale=3)
                    conv_rename = gr.Button("Rename", elem_id="h-conv-rename", size="sm", scale=1)
            with gr.Column():
                gr.Markdown("### Drafts")
                draft_list = gr.HTML(render_drafts([]), elem_id="h-draft-list")
                draft_pick = gr.Dropdown([], label="Pick a draft", elem_id="h-draft")
                with gr.Row():
                    draft_open = gr.Button("Open in Draft", variant="primary", elem_id="h-draft-open", size="sm")
                    draft_delete = gr.Button("Delete", variant="stop", elem_id="h-draft-delete", size="sm")
                with gr.Row():
                    draft_title = gr.Textbox(label="New title", max_length=200, elem_id="h-draft-title", scale=3)
                    draft_rename = gr.Button("Rename", elem_id="h-draft-rename", size="sm", scale=1)
        lists = [conv_list, conv_pick, draft_list, draft_pick]
        tab.select(h.refresh, None, lists, api_visibility="private", queue=False)
        conv_open.click(h.open_conversation, [conv_pick], [status, *chat_tab.outputs, tabs], api_visibility="private")
        conv_rename.click(h.on_rename_conversation, [conv_pick, conv_title], [status, *lists], api_visibility="private")
        conv_delete.click(h.on_delete_conversation, [conv_pick], [status, *lists], api_visibility="private")
        draft_open.click(h.open_draft, [draft_pick], [status, *draft_tab.outputs, tabs], api_visibility="private")
        draft_rename.click(h.on_rename_draft, [draft_pick, draft_title], [status, *lists], api_visibility="private")
        draft_delete.click(h.on_delete_draft, [draft_pick], [status, *lists], api_visibility="private")
        gr.api(h.conversations_api, api_name="conversations")
        gr.api(h.conversation_api, api_name="conversation")
        gr.api(h.rename_conversation_api, api_name="rename_conversation")
        gr.api(h.delete_conversation_api, api_name="delete_conversation")
        gr.api(h.drafts_api, api_name="drafts")
        gr.api(h.draft_api, api_name="saved_draft")
        gr.api(h.rename_draft_api, api_name="rename_draft")
        gr.api(h.delete_draft_api, api_name="delete_draft")
    return PageLoad(h.refresh, lists)
