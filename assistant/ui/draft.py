"""The Draft tab: the facts form of ``advisor draft``.

It shows the draft (with a copy button), the placeholders still to fill and the
questions to answer, and the guide advice applied with its sources
(``<details id="dsrc-n">``). The draft kinds and formats are those of
:mod:`assistant.writing`.

API endpoint ``/draft``: a facts dict (the ``advisor draft`` facts schema) -> the draft JSON.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.errors import InputError
from assistant.ui.html import cite_link, error_notice, esc, notice, source_details
from assistant.ui.shared import AUDIENCE_CHOICES, NOT_SET, SPECIALTY_CHOICES, Context, api_error, chosen
from assistant.writing import FORMATS, KINDS, draft

FACT_FIELDS = ("what", "context", "insight", "changes", "evidence", "goals")


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


# --------------------------------------------------------------------------- handlers


class DraftHandlers:
    """The Draft tab's form event and its ``/draft`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(self, facts: dict):
        return draft(facts, llm=self.ctx.spec, settings=self.ctx.settings)

    def draft_form(self, kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals):
        try:
            res = self.run(draft_facts(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals))
        except Exception as exc:  # noqa: BLE001
            return "", error_notice(exc, "draft-error"), ""
        return res.text, render_draft_todo(res), render_draft_advice(res)

    def draft_api(self, facts: dict) -> dict:
        """Draft a red-flag explanation from the applicant's facts (the `advisor draft` facts schema)."""
        try:
            if not isinstance(facts, dict):
                raise InputError("facts must be a JSON object")
            return self.run(facts).to_json()
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> None:
    """The Draft tab: kind, format and profile, the facts, and the draft beside the guide advice."""
    h = DraftHandlers(ctx)
    with gr.Tab("Draft", id="draft", elem_id="tab-draft"):
        gr.Markdown(
            "Write the explanation of a red flag (or a *why this specialty* paragraph) **from your own facts**. "
            "Nothing is invented: gaps become visible `[placeholders]` with questions to answer. "
            "What you type stays on this machine unless a remote language model is configured (see the top of the page)."
        )
        with gr.Row():
            kind = gr.Dropdown(list(KINDS), value=KINDS[0], label="What to explain", elem_id="d-kind")
            fmt = gr.Dropdown([("Guide default for this kind", "default")] + [(f, f) for f in FORMATS], value="default", label="Format", elem_id="d-format")
            specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value="medical-genetics", label="Specialty", elem_id="d-specialty")
            audience = gr.Dropdown(AUDIENCE_CHOICES, value=NOT_SET, label="Applicant", elem_id="d-audience")
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
                todo = gr.HTML("", elem_id="d-todo")
            with gr.Column(scale=2):
                advice = gr.HTML("", elem_id="d-advice")
        inputs = [kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals]
        go.click(h.draft_form, inputs, [text, todo, advice], api_visibility="private", concurrency_id="answer")
        gr.api(h.draft_api, api_name="draft", concurrency_id="answer")
