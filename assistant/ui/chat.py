"""The Chat tab: streaming answers from :func:`assistant.answering.stream`, with their sources.

Every ``[n]`` marker becomes a link (``<a class="cite" href="#src-T-n">``) to a
sources panel where each cited passage sits in a ``<details id="src-T-n">`` with
its guide title and section (``T`` numbers the answers of the conversation, so
links in older answers still open their own passages). The page's click script
(:data:`assistant.ui.html.HEAD`) opens and highlights the passage. The profile
(audience, specialty) applies to the whole conversation; follow-ups pass the
earlier questions as history.

API endpoint ``/ask``: a question (and optional profile and history) -> the Answer JSON.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.errors import AdvisorError
from assistant.ui.html import citation_dict, esc, link_citations, md_text, notice, source_details
from assistant.ui.shared import AUDIENCE_CHOICES, AUDIENCE_LABELS, NOT_SET, SPECIALTY_CHOICES, SPECIALTY_LABELS, WARM, Context, api_error, chosen, error_line

EXAMPLE_QUESTIONS = [
    "I failed Step 1; can I still match into radiology?",
    "How should I explain a gap after graduation?",
    "How do I research medical genetics residency programs?",
    "What Step 2 CK score should I aim for in medical genetics?",
    "What about radiology?",
]

SEARCHING = "Searching the guides…"
FIRST_LOAD = " (the first question loads the search model; this can take up to a minute)"


def new_conversation() -> dict:
    """The conversation state: chat messages, earlier questions (the history) and each answer's citations."""
    return {"messages": [], "history": [], "turns": []}


# --------------------------------------------------------------------------- rendering


def render_answer(ans: Any, turn: int) -> str:
    """The assistant message for a finished Answer: linked citations, notices, and the note line."""
    numbers = {c.n for c in ans.citations}
    body = link_citations(md_text(ans.answer.strip()), f"src-{turn}", numbers)
    parts = []
    if ans.abstained:
        parts.append('<div class="notice abstain abstained">📭 <b>The guides don\'t cover this.</b> No guide passage answers it, so nothing is cited.</div>\n')
    parts.append(body)
    if ans.conflicts:
        parts.append('\n<div class="notice info">⚖️ The guides disagree here; both statements are shown with their sources.</div>\n')
    if ans.unsupported:
        parts.append(f'\n<div class="notice info">✂️ {len(ans.unsupported)} sentence(s) the guides do not support were removed.</div>\n')
    if ans.note:
        parts.append(f'\n<div class="answer-note">ℹ️ {esc(ans.note)}</div>')
    return "\n".join(parts)


def render_sources(turns: list[dict]) -> str:
    """The sources panel: the newest answer's passages first, then the earlier ones."""
    if not any(t["citations"] for t in turns):
        return '<div class="sources-panel" id="sources"><h3>Sources</h3><p>Cited guide passages appear here; click a [n] marker in an answer to open its passage.</p></div>'
    out = ['<div class="sources-panel" id="sources"><h3>Sources</h3>']
    for t in reversed(turns):
        if not t["citations"]:
            continue
        out.append(f'<div class="turn-q">Answer {t["turn"]}: {esc(t["question"])}</div>')
        out.append(source_details(t["citations"], f"src-{t['turn']}"))
    out.append("</div>")
    return "\n".join(out)


def profile_line(audience: str | None, specialty: str | None) -> str:
    a = AUDIENCE_LABELS.get(audience or NOT_SET, audience)
    s = SPECIALTY_LABELS.get(specialty or NOT_SET, specialty)
    return f"Profile for this conversation: **{md_text(a)}** · **{md_text(s)}** (change it any time; it applies to the next answers)."


def answered_status(ans: Any) -> str:
    """The status line under the chat once an answer is complete."""
    if ans.abstained:
        return notice("abstain", "📭 <b>The guides don't cover this.</b> Try a question about red flags, Step scores or researching programs.", "abstain-notice")
    return notice("ok", f"Answered from {len({c.source for c in ans.citations})} guide(s), {len(ans.citations)} passage(s) cited. Click a [n] marker to open its source.", "chat-status")


# --------------------------------------------------------------------------- handlers


class ChatHandlers:
    """The Chat tab's events and its ``/ask`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def chat(self, question: str, audience: str, specialty: str, conv: dict):
        """Stream one answer into the chat; updates the sources panel and the conversation state.

        Yields (messages, sources panel, status, conversation state, question box).
        """
        conv = conv or new_conversation()
        messages = conv["messages"]
        q = (question or "").strip()
        if not q:
            yield messages, gr.skip(), notice("info", "Type a question first, or pick an example."), conv, gr.skip()
            return
        turn = len(conv["turns"]) + 1
        hint = "" if WARM.is_set() else FIRST_LOAD
        messages.append({"role": "user", "content": md_text(q)})
        messages.append({"role": "assistant", "content": f"⏳ _{SEARCHING}{hint}_"})
        yield messages, gr.skip(), notice("info", f"⏳ {esc(SEARCHING + hint)}", "chat-status"), conv, ""
        from assistant.answering import stream

        draft_text = ""
        try:
            ans = None
            for ev in stream(q, audience=chosen(audience), specialty=chosen(specialty), history=list(conv["history"]), llm=self.ctx.spec, settings=self.ctx.settings):
                if ev.get("type") == "text":
                    draft_text += ev.get("text", "")
                    messages[-1] = {"role": "assistant", "content": md_text(draft_text) + " ▌"}
                    yield messages, gr.skip(), gr.skip(), conv, gr.skip()
                elif ev.get("type") == "answer":
                    ans = ev["answer"]
            if ans is None:
                raise AdvisorError("the answer stream ended without an answer")
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line in the chat
            line = error_line(exc)
            messages[-1] = {"role": "assistant", "content": f'<div class="notice error chat-error">⚠️ <b>Error:</b> {esc(line)}</div>'}
            yield messages, gr.skip(), notice("error", f"⚠️ {esc(line)}", "chat-status"), conv, gr.skip()
            return
        WARM.set()
        messages[-1] = {"role": "assistant", "content": render_answer(ans, turn)}
        conv["history"].append(ans.question or q)
        conv["turns"].append({"turn": turn, "question": q, "citations": [citation_dict(c) for c in ans.citations]})
        yield messages, render_sources(conv["turns"]), answered_status(ans), conv, gr.skip()

    def reset(self):
        note = notice("info", "New conversation: earlier questions are no longer used as context.", "chat-status")
        return [], render_sources([]), note, new_conversation(), ""

    def on_profile(self, audience: str, specialty: str):
        return profile_line(audience, specialty)

    def ask_api(self, question: str, audience: str = NOT_SET, specialty: str = NOT_SET, history: list | None = None) -> dict:
        """Answer a question from the guides: the Answer JSON (answer with [n] markers, citations, abstained, conflicts, note)."""
        from assistant.answering import ask

        try:
            hist = [h for h in (history or []) if isinstance(h, (str, dict, list, tuple))]
            ans = ask(question, audience=chosen(audience), specialty=chosen(specialty), history=hist or None, llm=self.ctx.spec, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        return ans.to_json()


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> None:
    """The Chat tab: profile dropdowns, the conversation, the question box and examples, and the sources panel."""
    h = ChatHandlers(ctx)
    with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
        conv = gr.State(new_conversation())
        with gr.Row():
            audience = gr.Dropdown(AUDIENCE_CHOICES, value=NOT_SET, label="I am a…", elem_id="audience", scale=1)
            specialty = gr.Dropdown(SPECIALTY_CHOICES, value=NOT_SET, label="Applying to…", elem_id="specialty", scale=1)
        profile_md = gr.Markdown(profile_line(NOT_SET, NOT_SET), elem_id="profile-line")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="chatbot", height=460, latex_delimiters=[], feedback_options=None,
                    buttons=["copy"], placeholder="Ask about red flags, Step scores or researching programs. Every answer cites the guide passages it uses.",
                )
                status = gr.HTML("", elem_id="chat-status-box")
                with gr.Row():
                    question = gr.Textbox(placeholder="Your question, e.g. “I failed Step 1; can I still match into radiology?”", show_label=False, lines=1, max_length=2000, elem_id="question", scale=5, autofocus=True)
                    send = gr.Button("Ask", variant="primary", elem_id="send", scale=1, min_width=80)
                with gr.Row():
                    new_chat = gr.Button("New conversation", elem_id="reset", size="sm")
                gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[question], label="Example questions", elem_id="examples")
            with gr.Column(scale=2):
                sources = gr.HTML(render_sources([]), elem_id="sources-box")
        outs = [chatbot, sources, status, conv, question]
        chat, reset, on_profile = h.chat, h.reset, h.on_profile  # one object each: two events of one handler share its default concurrency group
        send.click(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
        question.submit(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
        new_chat.click(reset, None, outs, api_visibility="private", queue=False)
        chatbot.clear(reset, None, outs, api_visibility="private", queue=False)
        audience.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
        specialty.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
        gr.api(h.ask_api, api_name="ask", concurrency_id="answer")
