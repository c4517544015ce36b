"""The Chat tab: streaming answers from :func:`assistant.answering.stream`, with their sources.

Every ``[n]`` marker becomes a link (``<a class="cite" href="#src-T-n">``) to a
sources panel where each cited passage sits in a ``<details id="src-T-n">`` with
its guide title and section (``T`` numbers the answers of the conversation, so
links in older answers still open their own passages). The page's click script
(:data:`assistant.ui.html.HEAD`) opens and highlights the passage. The profile
(audience, specialty) applies to the whole conversation; follow-ups pass the
earlier questions as history.

The signed-in user's saved profile (:mod:`assistant.ui.profile`) goes into every answer
(``profile=``: its Step 2 CK score, graduation year, gaps and visa are matched to the
guides' bands, and the answer ends with the facts it used). The two dropdowns show
the saved profile's audience and specialty, and changing one changes the saved profile;
without a saved profile they apply to this conversation only. Each answer is saved as
it arrives (:func:`assistant.workspace.append_turn`: the question, the answer text and
its citations; the conversation is created with the first answer), so a reload or a
server restart loses nothing; :func:`conversation_view` shows a saved conversation again.

API endpoint ``/ask``: a question (and optional profile, history, ``conversation_id`` to
save the turn in, ``"new"`` to start one, and ``use_profile``) -> the Answer JSON.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from assistant.errors import AdvisorError, InputError
from assistant.ui.html import citation_dict, esc, link_citations, md_text, notice, source_details
from assistant.ui.shared import AUDIENCE_CHOICES, AUDIENCE_LABELS, NOT_SET, SPECIALTY_CHOICES, SPECIALTY_LABELS, WARM, Context, PageLoad, api_error, chosen, error_line, user_of

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
    """The conversation state: chat messages, earlier questions (the history), each answer's citations, the saved conversation's id."""
    return {"messages": [], "history": [], "turns": [], "id": None}


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


def profile_line(audience: str | None, specialty: str | None, saved: bool = False) -> str:
    a = AUDIENCE_LABELS.get(audience or NOT_SET, audience)
    s = SPECIALTY_LABELS.get(specialty or NOT_SET, specialty)
    if saved:
        return (f"Your saved profile: **{md_text(a)}** · **{md_text(s)}**. Answers use it, with the scores and dates of the "
                "My profile tab; changing it here changes your saved profile.")
    return f"Profile for this conversation: **{md_text(a)}** · **{md_text(s)}** (change it any time; it applies to the next answers)."


def render_saved_answer(turn: Any, n: int) -> str:
    """A saved answer shown again: its text with linked citations, and when it was given."""
    numbers = {int(c["n"]) for c in turn.citations if isinstance(c, dict) and isinstance(c.get("n"), int)}
    body = link_citations(md_text(turn.answer.strip()), f"src-{n}", numbers)
    return body + f'\n<div class="answer-note saved-note">ℹ️ Saved answer ({esc(turn.created_at)}).</div>'


def conversation_view(conversation: Any) -> tuple[list, str, dict]:
    """A saved :class:`~assistant.workspace.Conversation` as the chat shows it: (messages, sources panel, conversation state).

    Its questions become the history, so a follow-up asked after reopening it reads as one.
    """
    conv = new_conversation()
    conv["id"] = conversation.id
    for n, turn in enumerate(conversation.turns, start=1):
        conv["messages"] += [{"role": "user", "content": md_text(turn.question)}, {"role": "assistant", "content": render_saved_answer(turn, n)}]
        conv["history"].append(turn.question)
        conv["turns"].append({"turn": n, "question": turn.question, "citations": [citation_dict(c) for c in turn.citations if isinstance(c, dict)]})
    return conv["messages"], render_sources(conv["turns"]), conv


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

    def saved_profile(self, user: str) -> tuple[Any, str | None]:
        """(the user's saved profile or None, a warning line when it could not be read)."""
        from assistant.workspace import get_profile

        try:
            return get_profile(user, settings=self.ctx.settings), None
        except Exception as exc:  # noqa: BLE001 - answer without it, and say why
            return None, error_line(exc)

    def save_turn(self, user: str, conv: dict, question: str, ans: Any) -> str | None:
        """Append the answer to the user's saved conversation (created with its first answer); a line saying why not, if not."""
        from assistant.workspace import NotFound, append_turn, create_conversation

        settings = self.ctx.settings
        try:
            if conv.get("id"):
                try:
                    append_turn(user, conv["id"], question, ans.answer, ans.citations, settings=settings)
                    return None
                except NotFound:  # deleted meanwhile (the Saved tab, Delete my data, another tab): start a new one
                    conv["id"] = None
            conv["id"] = create_conversation(user, question, settings=settings).id
            append_turn(user, conv["id"], question, ans.answer, ans.citations, settings=settings)
        except Exception as exc:  # noqa: BLE001 - the answer stays on screen; the line says it was not saved
            return error_line(exc)
        return None

    def chat(self, question: str, audience: str, specialty: str, conv: dict, request: gr.Request):
        """Stream one answer into the chat, with the saved profile; save it; update the sources panel and the conversation state.

        Yields (messages, sources panel, status, conversation state, question box).
        """
        conv = conv or new_conversation()
        messages = conv["messages"]
        q = (question or "").strip()
        if not q:
            yield messages, gr.skip(), notice("info", "Type a question first, or pick an example."), conv, gr.skip()
            return
        user = user_of(request)
        profile, problem = self.saved_profile(user)
        turn = len(conv["turns"]) + 1
        hint = "" if WARM.is_set() else FIRST_LOAD
        messages.append({"role": "user", "content": md_text(q)})
        messages.append({"role": "assistant", "content": f"⏳ _{SEARCHING}{hint}_"})
        yield messages, gr.skip(), notice("info", f"⏳ {esc(SEARCHING + hint)}", "chat-status"), conv, ""
        from assistant.answering import stream

        # with a saved profile the dropdowns show its values: leave them to the profile, so the answer names what it used
        aud = None if profile is not None and chosen(audience) == profile.audience else chosen(audience)
        spec = None if profile is not None and chosen(specialty) == profile.specialty else chosen(specialty)
        draft_text = ""
        try:
            ans = None
            for ev in stream(q, audience=aud, specialty=spec, history=list(conv["history"]), llm=self.ctx.spec, settings=self.ctx.settings, profile=profile):
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
        unsaved = self.save_turn(user, conv, q, ans)
        status = answered_status(ans)
        if problem:
            status += notice("error", f"⚠️ Your saved profile was not used: {esc(problem)}", "chat-profile-error")
        if unsaved:
            status += notice("error", f"⚠️ This answer was not saved: {esc(unsaved)}", "chat-save-error")
        yield messages, render_sources(conv["turns"]), status, conv, gr.skip()

    def reset(self):
        note = notice("info", "New conversation: earlier questions are no longer used as context.", "chat-status")
        return [], render_sources([]), note, new_conversation(), ""

    def on_profile(self, audience: str, specialty: str, request: gr.Request):
        return profile_line(audience, specialty, saved=self.saved_profile(user_of(request))[0] is not None)

    def on_profile_input(self, audience: str, specialty: str, request: gr.Request):
        """The user picked an audience or specialty: with a saved profile, save the change into it."""
        from assistant.workspace import edit_profile

        user = user_of(request)
        profile, _ = self.saved_profile(user)
        if profile is None:
            return profile_line(audience, specialty)
        changes = {k: v for k, v in (("audience", chosen(audience)), ("specialty", chosen(specialty))) if v and v != getattr(profile, k)}
        if not changes:
            return profile_line(audience, specialty, saved=True)
        try:
            edit_profile(user, changes, settings=self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return profile_line(profile.audience, profile.specialty, saved=True) + f"\n\n⚠️ Not saved: {md_text(error_line(exc))}"
        return profile_line(audience, specialty, saved=True)

    def load(self, request: gr.Request):
        """The dropdowns and the profile line for the signed-in user's saved profile (page load, and after it changes)."""
        profile, _ = self.saved_profile(user_of(request))
        if profile is None:
            return (gr.update(choices=AUDIENCE_CHOICES), gr.update(choices=SPECIALTY_CHOICES), profile_line(NOT_SET, NOT_SET))
        return (gr.update(choices=AUDIENCE_CHOICES[1:], value=profile.audience), gr.update(choices=SPECIALTY_CHOICES[1:], value=profile.specialty),
                profile_line(profile.audience, profile.specialty, saved=True))

    def ask_api(self, question: str, request: gr.Request, audience: str = NOT_SET, specialty: str = NOT_SET, history: list | None = None,
                conversation_id: str | None = None, use_profile: bool = True) -> dict:
        """Answer a question from the guides: the Answer JSON (answer with [n] markers, citations, abstained, conflicts, note).

        Uses your saved profile unless use_profile is false. conversation_id: save the question and answer in that saved
        conversation of yours ("new" starts one); the reply then carries the conversation_id.
        """
        from assistant.answering import ask
        from assistant.workspace import append_turn, create_conversation

        user = user_of(request)
        try:
            hist = [h for h in (history or []) if isinstance(h, (str, dict, list, tuple))]
            if conversation_id is not None and not isinstance(conversation_id, str):
                raise InputError("conversation_id must be text: a conversation id, or \"new\"")
            profile = self.saved_profile(user)[0] if use_profile is not False else None
            ans = ask(question, audience=chosen(audience), specialty=chosen(specialty), history=hist or None, llm=self.ctx.spec, settings=self.ctx.settings, profile=profile)
            out = ans.to_json()
            if conversation_id and conversation_id.strip():
                cid = conversation_id.strip()
                if cid == "new":
                    cid = create_conversation(user, question, settings=self.ctx.settings).id
                append_turn(user, cid, question, ans.answer, ans.citations, settings=self.ctx.settings)
                out["conversation_id"] = cid
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        return out


# --------------------------------------------------------------------------- layout


class ChatTab(NamedTuple):
    """What :func:`assistant.ui.app.build_app` wires to the other tabs."""

    load: PageLoad  # the dropdowns and profile line for the saved profile
    profile_changed: list  # events that may have changed the saved profile (a dropdown picked)
    outputs: list  # [chatbot, sources, status, conversation state, question box]: what opening a saved conversation fills
    reset: Any  # () -> values for ``outputs``: a new, empty conversation


def build(ctx: Context) -> ChatTab:
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
        chat, reset, on_profile, on_input = h.chat, h.reset, h.on_profile, h.on_profile_input  # one object each: two events of one handler share its default concurrency group
        send.click(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
        question.submit(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
        new_chat.click(reset, None, outs, api_visibility="private", queue=False)
        chatbot.clear(reset, None, outs, api_visibility="private", queue=False)
        audience.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
        specialty.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
        picked = [audience.input(on_input, [audience, specialty], profile_md, api_visibility="private", queue=False),
                  specialty.input(on_input, [audience, specialty], profile_md, api_visibility="private", queue=False)]
        gr.api(h.ask_api, api_name="ask", concurrency_id="answer")
    return ChatTab(PageLoad(h.load, [audience, specialty, profile_md]), picked, outs, h.reset)
