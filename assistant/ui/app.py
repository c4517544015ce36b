"""The Blocks app: the header (which answer backend, whether text leaves the machine) and the tabs.

Besides building the tabs, this is where they are wired to each other around the saved
profile: every page load, and every event that changes the saved profile (the My profile
form, the Chat dropdowns, Delete my data), refreshes what the other tabs show of it (the
form, the Chat dropdowns, the Draft pre-fill, the Audit summary, the Saved lists); Delete
my data also empties the Chat and Draft tabs.
"""

from __future__ import annotations

import gradio as gr

from assistant.config import Settings, get_settings
from assistant.errors import AdvisorError
from assistant.ui import audit, chat, draft, evals, history, library, profile
from assistant.ui.html import esc
from assistant.ui.server import use_upload_temp_dir
from assistant.ui.shared import Context


def _describe(spec: str) -> dict:
    try:
        from assistant.llm import describe_backend

        return describe_backend(spec)
    except AdvisorError as exc:
        return {"name": spec, "local": True, "detail": f"unusable backend: {exc}"}


def header_html(spec: str) -> str:
    info = _describe(spec)
    if info.get("local", True):
        privacy = '<span class="privacy local">🔒 Everything runs on this machine: nothing you type leaves it.</span>'
    else:
        privacy = '<span class="privacy remote">⚠️ A remote language model is configured: your questions, draft facts and the guide passages are sent to it.</span>'
    return (
        '<div id="advisor-header"><h1>IMG Residency Advisor</h1>'
        "<div>Answers only from the guide library, with every passage cited. Advice, not official policy.</div>"
        f'<div class="backend" id="backend-info">Answer backend: <b>{esc(info.get("name"))}</b> ({esc(info.get("detail"))}). {privacy}</div></div>'
    )


def build_app(settings: Settings | None = None, llm: str | None = None) -> gr.Blocks:
    """Build the Gradio Blocks app (not launched). ``llm`` overrides ``settings.llm``."""
    settings = settings or get_settings()
    ctx = Context(
        settings=settings,
        spec=(llm or settings.llm or "extractive").strip(),
        uploads_root=use_upload_temp_dir(settings),  # before any component exists: each reads its cache folder once
    )
    with gr.Blocks(title="IMG Residency Advisor", analytics_enabled=False) as app:
        gr.HTML(header_html(ctx.spec), elem_id="header-block")
        with gr.Tabs(elem_id="tabs") as tabs:
            chat_tab = chat.build(ctx)
            draft_tab = draft.build(ctx)
            audit_load = audit.build(ctx)
            profile_tab = profile.build(ctx)
            saved_load = history.build(ctx, tabs, chat_tab, draft_tab)
            page_loads = [library.build(ctx), evals.build(ctx)]
        # what shows the saved profile (or the user's saved data), refreshed on load and whenever it changes
        views = [profile_tab.load, chat_tab.load, draft_tab.load, audit_load, saved_load]
        for load in [*views, *page_loads]:  # every page shows the user's data, the library and the report as they are now
            app.load(load.fn, load.inputs, load.outputs, api_visibility="private", queue=False)
        for event in chat_tab.profile_changed:
            for load in (profile_tab.load, draft_tab.load, audit_load):
                event.then(load.fn, load.inputs, load.outputs, api_visibility="private", queue=False)
        for event in profile_tab.changed:
            for load in views[1:]:
                event.then(load.fn, load.inputs, load.outputs, api_visibility="private", queue=False)
        profile_tab.forgotten.then(profile_tab.load.fn, None, profile_tab.load.outputs, api_visibility="private", queue=False)
        profile_tab.forgotten.then(chat_tab.reset, None, chat_tab.outputs, api_visibility="private", queue=False)
        profile_tab.forgotten.then(draft.cleared_view, None, draft_tab.outputs, api_visibility="private", queue=False)
    return app
