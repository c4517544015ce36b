"""The Draft tab: the facts form of ``advisor draft``, started from the saved profile; every draft is saved.

It shows the draft (with a copy button), the placeholders still to fill and the
questions to answer, and the guide advice applied with its sources
(``<details id="dsrc-n">``). The draft kinds and formats are those of
:mod:`assistant.writing`.

Starting from the profile: when the signed-in user has a saved profile, the form is
pre-filled with what it knows for the chosen kind (:func:`assistant.writing.facts_from_profile`:
the exams with their attempts and months, a gap's dates and reason, the graduation year,
the visa history), the kind starts at the profile's first red flag, and a line says which
fields came from the profile and which are still the applicant's to write. The pre-filled
text is ordinary, editable facts text, so the fact guard checks the draft against it like
anything typed. A field the applicant has changed is never overwritten.

Saving: each draft is saved when it is produced (:func:`assistant.workspace.save_draft`, with
the facts it came from); *Save my edits* keeps the edited text in its place. The Saved tab
lists, reopens (:func:`draft_view`), renames and deletes them.

API endpoint ``/draft``: a facts dict (the ``advisor draft`` facts schema; fields it lacks are
filled from the saved profile unless ``use_profile`` is false; ``save`` keeps the draft) ->
the draft JSON.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from assistant.errors import InputError
from assistant.ui.html import cite_link, error_notice, esc, md_text, notice, source_details
from assistant.ui.shared import AUDIENCE_CHOICES, NOT_SET, SPECIALTY_CHOICES, Context, PageLoad, api_error, chosen, error_line, user_of
from assistant.writing import FORMATS, KINDS, draft

FACT_FIELDS = ("what", "context", "insight", "changes", "evidence", "goals")
FIELD_NAMES = {"what": "what happened", "context": "context", "insight": "what you learned", "changes": "what you changed",
               "evidence": "evidence", "goals": "goals"}
#: The fields each kind asks for beyond ``what`` (goals only for why-specialty).
ASKED = ("context", "insight", "changes", "evidence")


def new_state() -> dict:
    """The Draft tab's state: the saved draft on screen, the text each field was pre-filled with, the kind chosen for the user."""
    return {"draft_id": None, "prefilled": {}, "auto_kind": None}


def draft_facts(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals) -> dict:
    """The form's values -> the facts dict :func:`assistant.writing.draft` takes (blank fields left out)."""
    facts: dict[str, Any] = {"kind": kind, "specialty": chosen(specialty)}
    if chosen(fmt) and fmt != "default":
        facts["format"] = fmt
    if chosen(audience):
        facts["audience"] = audience
    for key, val in zip(FACT_FIELDS, (what, context, insight, changes, evidence, goals)):
        if isinstance(val, str) and val.strip():
            facts[key] = val.strip()
    if not facts.get("specialty"):
        raise InputError("choose a specialty (medical genetics or radiology)")
    if not facts.get("what"):
        raise InputError("say what happened (the first text box) before drafting")
    return facts


# --------------------------------------------------------------------------- rendering


def render_draft_todo(res: Any) -> str:
    parts = []
    lo, hi = res.bounds
    length = f"{res.words} words (guide range {lo}–{hi})"
    if res.format == "interview":
        length += f", about {round(res.seconds)} s spoken"
    parts.append(f'<div class="panel" id="draft-meta"><b>{esc(res.kind)}</b> · {esc(res.format)} · {esc(length)}</div>')
    if res.placeholders:
        items = "".join(f"<li><code>{esc(p)}</code></li>" for p in res.placeholders)
        parts.append(f'<div class="panel placeholders" id="draft-placeholders"><h3>Fill these placeholders</h3><ul>{items}</ul></div>')
    if res.missing:
        items = "".join(f"<li>{esc(q)}</li>" for q in res.missing)
        parts.append(f'<div class="panel" id="draft-questions"><h3>Questions to answer</h3><ul>{items}</ul></div>')
    if not res.placeholders and not res.missing:
        parts.append(notice("ok", "No placeholders left: every part of the draft comes from your facts.", "draft-complete"))
    for w in res.warnings or []:
        text = w.get("message") or w.get("text") or "; ".join(f"{k}: {v}" for k, v in w.items()) if isinstance(w, dict) else w
        parts.append(notice("info", f"✍️ {esc(text)}"))
    if res.where:
        parts.append(f"<p>The guides place this in: {esc(', '.join(res.where))}.</p>")
    if res.note:
        parts.append(f'<div class="answer-note">ℹ️ {esc(res.note)}</div>')
    return "\n".join(parts)


def render_draft_advice(res: Any) -> str:
    numbers = {c.n for c in res.advice}
    items = []
    for item in res.checklist or []:
        n = item.get("citation")
        cite = " " + cite_link("dsrc", int(n)) if n in numbers else ""
        items.append(f"<li>{esc(item.get('item'))}{cite}</li>")
    out = ['<div class="panel checklist" id="draft-advice"><h3>Guide advice applied</h3>']
    out.append(f"<ul>{''.join(items)}</ul>" if items else "<p>No guide advice for this kind.</p>")
    if res.advice:
        out.append("<h3>Sources</h3>" + source_details(res.advice, "dsrc"))
    out.append("</div>")
    return "\n".join(out)


# --------------------------------------------------------------------------- saved drafts and the profile's facts


def draft_title(facts: dict) -> str:
    """A saved draft's title: its kind and the start of what happened ("gap: I was not in clinical training or work…")."""
    what = " ".join(str(facts.get("what") or "").split())
    short = what if len(what) <= 50 else what[:50].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return f"{facts.get('kind')}: {short}" if short else str(facts.get("kind"))


def prefill_line(facts: dict | None, kind: str) -> str:
    """Which fields the saved profile filled, and which are still the applicant's to write."""
    if facts is None:
        return "No saved profile: fill in the facts yourself, or save your profile in the **My profile** tab to start from it."
    asked = ("what", *ASKED, "goals") if kind == "why-specialty" else ("what", *ASKED)
    filled = [FIELD_NAMES[f] for f in asked if facts.get(f)]
    rest = [FIELD_NAMES[f] for f in asked if not facts.get(f)]
    if not filled:
        return f"Your saved profile has no facts for a **{md_text(kind)}** draft: write them below (still yours: {md_text(', '.join(rest))})."
    return (f"Pre-filled from your saved profile: **{md_text(', '.join(filled))}** (check them; edit freely)."
            + (f" Still yours to write: {md_text(', '.join(rest))}." if rest else ""))


def draft_view(d: Any) -> tuple:
    """A saved :class:`~assistant.workspace.Draft` as the Draft tab shows it: values for :class:`DraftTab`'s ``outputs``."""
    f = d.facts or {}
    kind = f.get("kind") if f.get("kind") in KINDS else (d.kind if d.kind in KINDS else KINDS[0])
    fmt = f.get("format") if f.get("format") in FORMATS else "default"
    fields = [f.get(k) or "" for k in FACT_FIELDS]
    todo = notice("info", f"Reopened your saved draft “{esc(d.title)}” (saved {esc(d.updated_at)}). Press <b>Draft</b> to redraft from these facts; "
                  "<b>Save my edits</b> keeps changes to the text.", "draft-reopened")
    state = {**new_state(), "draft_id": d.id}
    return (kind, fmt, f.get("specialty") or "medical-genetics", f.get("audience") or NOT_SET, *fields, d.text, todo, "", state,
            "Reopened a saved draft: its facts are as you saved them.")


def cleared_view() -> tuple:
    """An empty Draft tab (after Delete my data): values for :class:`DraftTab`'s ``outputs``."""
    return (KINDS[0], "default", "medical-genetics", NOT_SET, *[""] * len(FACT_FIELDS), "", "", "", new_state(), prefill_line(None, KINDS[0]))


# --------------------------------------------------------------------------- handlers


class DraftHandlers:
    """The Draft tab's events and its ``/draft`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(self, facts: dict):
        return draft(facts, llm=self.ctx.spec, settings=self.ctx.settings)

    def saved_profile(self, user: str):
        from assistant.ui.profile import saved_profile

        return saved_profile(self.ctx, user)

    def draft_form(self, kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals, state, request: gr.Request):
        """Draft from the form, then save the draft with its facts; returns (text, todo, advice, state)."""
        from assistant.workspace import save_draft

        state = state or new_state()
        try:
            facts = draft_facts(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals)
            res = self.run(facts)
        except Exception as exc:  # noqa: BLE001
            return "", error_notice(exc, "draft-error"), "", state
        try:
            saved = save_draft(user_of(request), facts["kind"], facts, res.text, title=draft_title(facts), settings=self.ctx.settings)
            state = {**state, "draft_id": saved.id}
            kept = notice("ok", f"Saved as “{esc(saved.title)}” (the Saved tab lists your drafts).", "draft-saved")
        except Exception as exc:  # noqa: BLE001 - the draft stays on screen; the line says it was not saved
            kept = notice("error", f"⚠️ This draft was not saved: {esc(error_line(exc))}", "draft-save-error")
        return res.text, kept + render_draft_todo(res), render_draft_advice(res), state

    def save_edits(self, text: str, state: dict, request: gr.Request):
        """Keep the edited text of the draft on screen in place of its saved text (same title and facts)."""
        from assistant.workspace import delete_draft, get_draft, save_draft

        state = state or new_state()
        user = user_of(request)
        try:
            old = get_draft(user, state["draft_id"], settings=self.ctx.settings) if state.get("draft_id") else None
            if old is None:
                return notice("info", "Press <b>Draft</b> first (or reopen a saved draft in the Saved tab): there is no saved draft to update.", "draft-edit-status"), state
            if not isinstance(text, str) or not text.strip():
                raise InputError("the draft is empty; write or draft it first")
            # the workspace has no update: save the new text, then drop the old row
            new = save_draft(user, old.kind, old.facts, text, title=old.title, settings=self.ctx.settings)
            delete_draft(user, old.id, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "draft-edit-status"), state
        return notice("ok", f"Saved your edits to “{esc(new.title)}”.", "draft-edit-status"), {**state, "draft_id": new.id}

    def prefill(self, request: gr.Request, kind, specialty, audience, what, context, insight, changes, evidence, goals, state, auto: bool = True):
        """Fill the form from the saved profile: the kind (its first red flag, unless the user chose one), specialty, audience and facts.

        A field is replaced only when it is empty or still holds what the profile put there,
        so nothing the applicant typed is lost. Returns values for the form, the line and the state.
        """
        from assistant.writing import facts_from_profile, suggested_kind

        state = state or new_state()
        current = dict(zip(FACT_FIELDS, (what, context, insight, changes, evidence, goals)))
        untouched = {f for f in FACT_FIELDS if not (current[f] or "").strip() or current[f] == state["prefilled"].get(f)}
        profile = self.saved_profile(user_of(request))
        if profile is None:
            fields = ["" if f in untouched and f in state["prefilled"] else gr.skip() for f in FACT_FIELDS]
            return (gr.skip(), gr.skip(), gr.skip(), *fields, prefill_line(None, kind), {**state, "prefilled": {}, "auto_kind": None})
        if auto and (state["auto_kind"] is None or kind == state["auto_kind"]):
            kind = suggested_kind(profile)
            state = {**state, "auto_kind": kind}
        try:
            facts = facts_from_profile(profile, kind)
        except Exception as exc:  # noqa: BLE001
            return (gr.skip(),) * 9 + (f"⚠️ {md_text(error_line(exc))}", state)
        fields = [(facts.get(f) or "") if f in untouched else gr.skip() for f in FACT_FIELDS]
        prefilled = {f: facts[f] for f in FACT_FIELDS if f in untouched and facts.get(f)}
        return (kind, facts["specialty"], facts["audience"], *fields, prefill_line(facts, kind), {**state, "prefilled": prefilled})

    def on_kind(self, request: gr.Request, kind, specialty, audience, what, context, insight, changes, evidence, goals, state):
        """The user chose a kind: pre-fill what the profile knows for it (their own text stays)."""
        return self.prefill(request, kind, specialty, audience, what, context, insight, changes, evidence, goals, state, auto=False)

    def draft_api(self, facts: dict, request: gr.Request, use_profile: bool = True, save: bool = False) -> dict:
        """Draft a red-flag explanation from the applicant's facts (the `advisor draft` facts schema).

        Fields the facts lack are filled from your saved profile unless use_profile is false; save keeps the
        draft in your saved drafts (the reply then carries its draft_id).
        """
        from assistant.workspace import save_draft
        from assistant.writing import with_profile_facts

        user = user_of(request)
        try:
            if not isinstance(facts, dict):
                raise InputError("facts must be a JSON object")
            if use_profile is not False:
                facts = with_profile_facts(facts, self.saved_profile(user))
            res = self.run(facts)
            out = res.to_json()
            if save:
                out["draft_id"] = save_draft(user, res.kind, facts, res.text, title=draft_title(facts), settings=self.ctx.settings).id
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        return out


# --------------------------------------------------------------------------- layout


class DraftTab(NamedTuple):
    """What :func:`assistant.ui.app.build_app` wires to the other tabs."""

    load: PageLoad  # pre-fill from the saved profile (page load, and after the profile changes)
    outputs: list  # what opening a saved draft fills (the values of :func:`draft_view`)


def build(ctx: Context) -> DraftTab:
    """The Draft tab: kind, format and profile, the facts (pre-filled from the saved profile), and the draft beside the guide advice."""
    h = DraftHandlers(ctx)
    with gr.Tab("Draft", id="draft", elem_id="tab-draft"):
        gr.Markdown(
            "Write the explanation of a red flag (or a *why this specialty* paragraph) **from your own facts**. "
            "Nothing is invented: gaps become visible `[placeholders]` with questions to answer. "
            "What you type stays on this machine unless a remote language model is configured (see the top of the page)."
        )
        state = gr.State(new_state())
        with gr.Row():
            kind = gr.Dropdown(list(KINDS), value=KINDS[0], label="What to explain", elem_id="d-kind")
            fmt = gr.Dropdown([("Guide default for this kind", "default")] + [(f, f) for f in FORMATS], value="default", label="Format", elem_id="d-format")
            specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value="medical-genetics", label="Specialty", elem_id="d-specialty")
            audience = gr.Dropdown(AUDIENCE_CHOICES, value=NOT_SET, label="Applicant", elem_id="d-audience")
        prefilled = gr.Markdown(prefill_line(None, KINDS[0]), elem_id="d-prefill")
        what = gr.Textbox(label="What happened (required, your own words)", lines=2, max_length=1500, elem_id="d-what", placeholder="e.g. I failed Step 1 on my first attempt.")
        with gr.Row():
            context = gr.Textbox(label="Context (optional)", lines=2, max_length=1500, elem_id="d-context")
            insight = gr.Textbox(label="What you learned (optional)", lines=2, max_length=1500, elem_id="d-insight")
        with gr.Row():
            changes = gr.Textbox(label="What you changed (optional)", lines=2, max_length=1500, elem_id="d-changes")
            evidence = gr.Textbox(label="Evidence it is resolved (optional)", lines=2, max_length=1500, elem_id="d-evidence")
        goals = gr.Textbox(label="Goals in the specialty (optional)", lines=1, max_length=1500, elem_id="d-goals")
        go = gr.Button("Draft", variant="primary", elem_id="d-go")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                text = gr.Textbox(label="Your draft (edit it, then copy)", lines=8, max_lines=30, buttons=["copy"], elem_id="d-text", interactive=True)
                with gr.Row():
                    keep = gr.Button("Save my edits", elem_id="d-save-edits", size="sm")
                edit_status = gr.HTML("", elem_id="d-edit-status")
                todo = gr.HTML("", elem_id="d-todo")
            with gr.Column(scale=2):
                advice = gr.HTML("", elem_id="d-advice")
        inputs = [kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals]
        go.click(h.draft_form, [*inputs, state], [text, todo, advice, state], api_visibility="private", concurrency_id="answer")
        keep.click(h.save_edits, [text, state], [edit_status, state], api_visibility="private")
        form = [kind, specialty, audience, what, context, insight, changes, evidence, goals]
        kind.input(h.on_kind, [*form, state], [*form, prefilled, state], api_visibility="private", queue=False)
        gr.api(h.draft_api, api_name="draft", concurrency_id="answer")
    return DraftTab(PageLoad(h.prefill, [*form, prefilled, state], [*form, state]), [*inputs, text, todo, advice, state, prefilled])
