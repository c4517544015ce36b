"""Stage 7: the local web UI (Gradio Blocks), served by ``advisor serve``.

Five tabs over the same Python API the CLI uses:

- **Chat**: streaming answers from :func:`assistant.answer.stream`. Every ``[n]``
  marker becomes a link (``<a class="cite" href="#src-T-n">``) to a sources panel
  where each cited passage sits in a ``<details id="src-T-n">`` with its guide
  title and section (``T`` numbers the answers of the conversation, so links in
  older answers still open their own passages). A small script opens and
  highlights the passage on click. The profile (audience, specialty) applies to
  the whole conversation; follow-ups pass the earlier questions as history.
- **Draft**: the facts form of ``advisor draft``; shows the draft (with a copy
  button), the placeholders still to fill, and the guide advice applied with sources.
- **Audit**: an applicant profile in, the audit with citations out.
- **Library**: the indexed guides; upload (.txt/.md/.html/.pdf, copied into
  ``$ADVISOR_HOME/library`` and ingested with a progress bar) and remove.
  Gradio's temporary copy of an upload lives in ``$ADVISOR_HOME/tmp/uploads``
  (never ``/tmp/gradio``) and is deleted once the guide is added or rejected.
- **Evals**: the latest eval report (metrics vs the baseline, charts) and a
  button that runs the suite.

Safety rules kept everywhere in this module:

- every piece of guide text and user text that goes into HTML or Markdown passes
  through :func:`esc` / :func:`md_text` (HTML-escaped; Markdown punctuation
  escaped), so a guide containing ``<script>`` shows as text;
- handlers catch every exception: an :class:`~assistant.errors.AdvisorError`
  shows its one-line message, anything else a one-line "something went wrong"
  (the traceback goes to the server log only);
- the page loads nothing from outside the machine (local fonts, no analytics,
  no share link); it says which answer backend is in use and whether text leaves
  the machine;
- the server refuses a state-changing request sent by another site's page
  (:class:`SameOriginWrites`, 403) and, on a loopback bind, any foreign Host
  header (:func:`host_check`).

API endpoints (for ``gradio_client``): ``/ask`` (answer JSON), ``/draft`` (facts
dict -> draft JSON), ``/audit`` (profile dict -> audit JSON), ``/library``,
``/eval_report``.
"""

from __future__ import annotations

import base64
import contextlib
import html
import logging
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.config import Settings, get_settings
from assistant.errors import AdvisorError, InputError

log = logging.getLogger("assistant.ui")

NOT_SET = "not set"
AUDIENCE_CHOICES = [("Not set", NOT_SET), ("US citizen IMG", "us-img"), ("Non-US citizen IMG", "non-us-img")]
SPECIALTY_CHOICES = [("Not set", NOT_SET), ("Medical genetics", "medical-genetics"), ("Diagnostic radiology", "radiology")]
AUDIENCE_NAMES = {v: k for k, v in AUDIENCE_CHOICES}
SPECIALTY_NAMES = {v: k for k, v in SPECIALTY_CHOICES}

EXAMPLE_QUESTIONS = [
    "I failed Step 1; can I still match into radiology?",
    "How should I explain a gap after graduation?",
    "How do I research medical genetics residency programs?",
    "What Step 2 CK score should I aim for in medical genetics?",
    "What about radiology?",
]

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]

# Fallbacks while assistant.draft is not importable (the real lists come from it).
DRAFT_KINDS = ("exam-failure", "low-score", "gap", "professionalism", "repeated-year", "older-graduation", "visa", "specialty-switch", "study-abroad", "why-specialty")
DRAFT_FORMATS = ("personal-statement", "eras-additional-info", "interview")

SEARCHING = "Searching the guides…"
WARM = threading.Event()  # set once the index and embedding model are loaded in this process
FIRST_LOAD = " (the first question loads the search model; this can take up to a minute)"

CSS = """
#advisor-header h1 {margin: 0 0 .2em 0; font-size: 1.5em;}
#advisor-header .backend {font-size: .92em; opacity: .9;}
#advisor-header .privacy.remote {color: #b45309; font-weight: 600;}
.notice {border-radius: 8px; padding: .6em .9em; margin: .3em 0;}
.notice.abstain {background: #fff7ed; border: 1px solid #fdba74; color: #7c2d12;}
.notice.error {background: #fef2f2; border: 1px solid #fca5a5; color: #7f1d1d;}
.notice.info {background: #eff6ff; border: 1px solid #93c5fd; color: #1e3a8a;}
.notice.ok {background: #f0fdf4; border: 1px solid #86efac; color: #14532d;}
.answer-note {font-size: .85em; opacity: .8; margin-top: .4em;}
a.cite {text-decoration: none; font-weight: 600; color: #2563eb !important; cursor: pointer;}
.sources-panel h3, .panel h3 {margin: .2em 0 .4em 0;}
.sources-panel .turn-q {font-weight: 600; margin: .6em 0 .2em 0;}
details.src {border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: 6px; padding: .3em .6em; margin: .25em 0;}
details.src summary {cursor: pointer;}
details.src .passage {white-space: pre-wrap; margin: .4em 0 .2em 0; padding-left: .6em; border-left: 3px solid #93c5fd;}
details.src .meta {font-size: .85em; opacity: .75;}
details.src.flash {outline: 3px solid #f59e0b; transition: outline .3s;}
table.lib {border-collapse: collapse; width: 100%; font-size: .92em;}
table.lib th, table.lib td {border-bottom: 1px solid var(--border-color-primary, #e5e7eb); padding: .3em .5em; text-align: left; vertical-align: top;}
.placeholders li, .checklist li {margin: .2em 0;}
.charts {display: flex; flex-wrap: wrap; gap: .8em; margin-top: .6em;}
.chart {flex: 1 1 420px; max-width: 100%;}
.chart img {max-width: 100%; border: 1px solid #e5e7eb; border-radius: 6px; margin: .3em 0;}
"""

# Opens and highlights the cited passage when an [n] link is clicked. Event
# delegation on the document, so it works for content rendered after load.
HEAD = """
<script>
(function () {
  var ID = /^(?:src|dsrc|asrc)-\\d+(?:-\\d+)?$/;
  function openSource(id) {
    var el = document.getElementById(id);
    if (!el) return false;
    if (el.tagName === 'DETAILS') el.open = true;
    el.classList.add('flash');
    setTimeout(function () { el.classList.remove('flash'); }, 2500);
    el.scrollIntoView({block: 'center'});
    return true;
  }
  document.addEventListener('click', function (ev) {
    var t = ev.target;
    var a = t && t.closest ? t.closest('a.cite') : null;
    if (!a) return;
    var id = (a.getAttribute('href') || '').replace(/^#/, '');
    if (!ID.test(id)) return;
    if (openSource(id)) { ev.preventDefault(); ev.stopPropagation(); }
  }, true);
})();
</script>
"""


# --------------------------------------------------------------------------- escaping


def esc(value: Any) -> str:
    """HTML-escape any value for gr.HTML (quotes too; ``$`` and backtick as entities for template safety)."""
    return html.escape("" if value is None else str(value), quote=True).replace("$", "&#36;").replace("`", "&#96;")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~$])")


def md_text(value: Any) -> str:
    """Text for a Markdown surface (chat messages): Markdown punctuation and HTML escaped, lists kept.

    Markdown escapes go first (backslashes), then ``&``, ``<`` and ``>`` become
    entities, so ``<script>`` is shown as text and ``*`` does not turn into emphasis.
    """
    s = "" if value is None else str(value)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = re.sub(r"(?m)^(\s*)#", r"\1\\#", s)  # no headings from guide text
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_citations(md: str, prefix: str, numbers: set[int]) -> str:
    """Turn escaped ``\\[n\\]`` markers (as produced by :func:`md_text`) into links to ``#prefix-n``."""

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="cite" href="#{prefix}-{n}" title="Show source {n}">&#91;{n}&#93;</a>'

    return re.sub(r"\\\[(\d{1,3})\\\]", repl, md)


def link_citations_html(text_html: str, prefix: str, numbers: set[int]) -> str:
    """Same as :func:`link_citations` for text already escaped with :func:`esc` (``[n]`` unescaped)."""

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="cite" href="#{prefix}-{n}" title="Show source {n}">&#91;{n}&#93;</a>'

    return re.sub(r"\[(\d{1,3})\]", repl, text_html)


def notice(kind: str, text_html: str, elem_id: str | None = None) -> str:
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    return f'<div class="notice {esc(kind)}"{ident}>{text_html}</div>'


def error_line(exc: BaseException) -> str:
    """One line for the user: the AdvisorError message, or a generic line (traceback to the log)."""
    if isinstance(exc, AdvisorError):
        return str(exc)
    log.exception("unexpected error in a UI handler")
    return f"something went wrong ({type(exc).__name__}); the details are in the server log"


def _profile(value: str | None) -> str | None:
    v = (value or "").strip()
    return None if not v or v.lower() in (NOT_SET, "none", "any") else v


def _citation_dict(c: Any) -> dict:
    if isinstance(c, dict):
        return {k: c.get(k) for k in ("n", "source", "title", "section", "text")}
    return {"n": c.n, "source": c.source, "title": c.title, "section": c.section, "text": c.text}


def source_details(citations: list, prefix: str, open_first: bool = False) -> str:
    """``<details id="prefix-n">`` blocks: guide title, section, source id, and the escaped passage."""
    out = []
    for i, c in enumerate(citations):
        c = _citation_dict(c)
        opened = " open" if open_first and i == 0 else ""
        out.append(
            f'<details class="src" id="{esc(prefix)}-{int(c["n"])}"{opened}>'
            f'<summary><b>[{int(c["n"])}]</b> {esc(c["title"])}</summary>'
            f'<div class="meta">Section: {esc(c["section"])} · guide id: {esc(c["source"])}</div>'
            f'<div class="passage">{esc(c["text"])}</div></details>'
        )
    return "\n".join(out)


# --------------------------------------------------------------------------- chat rendering


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
    a = AUDIENCE_NAMES.get(audience or NOT_SET, audience)
    s = SPECIALTY_NAMES.get(specialty or NOT_SET, specialty)
    return f"Profile for this conversation: **{md_text(a)}** · **{md_text(s)}** (change it any time; it applies to the next answers)."


# --------------------------------------------------------------------------- library / evals rendering


def render_library(docs: list[dict]) -> str:
    if not docs:
        return "<p>No guides are indexed yet. Run <code>advisor ingest</code> or add a guide below.</p>"
    rows = "".join(
        f"<tr><td>{esc(d.get('title'))}</td><td><code>{esc(d.get('source'))}</code></td><td>{esc(d.get('audience'))}</td>"
        f"<td>{esc(d.get('specialty'))}</td><td>{esc(d.get('chunks'))}</td><td>{esc(d.get('ingested_at'))}</td></tr>"
        for d in docs
    )
    total = sum(int(d.get("chunks") or 0) for d in docs)
    return (
        f'<div class="panel" id="library-table"><p>{len(docs)} guides, {total} passages.</p>'
        '<table class="lib"><thead><tr><th>Title</th><th>Guide id</th><th>Audience</th><th>Specialty</th><th>Passages</th><th>Ingested</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _fmt_num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return esc(v)


def render_report(report: dict | None, folder: Path | None = None) -> str:
    """Metrics vs baseline, charts (embedded as data URIs) and the failing-case count."""
    if not report:
        return notice("info", "No eval report yet. Run the suite with the button below or <code>advisor eval</code>.", "no-report")
    m = report.get("metrics") or {}
    b = report.get("baseline") or {}
    d = report.get("definitions") or {}
    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td>{_fmt_num(v)}</td><td>{_fmt_num(b[k]) if k in b else ''}</td><td>{esc(d.get(k, ''))}</td></tr>"
        for k, v in m.items()
    )
    head = (
        f"<p>Report of {esc(report.get('created_at', '?'))}: {esc(report.get('cases', '?'))} cases "
        f"({esc(report.get('answerable', '?'))} answerable, {esc(report.get('unanswerable', '?'))} unanswerable); "
        f"{len(report.get('failing') or [])} failing case(s) listed in report.md.</p>"
    )
    table = f'<table class="lib" id="metrics-table"><thead><tr><th>Metric</th><th>Advisor</th><th>Baseline</th><th>Definition</th></tr></thead><tbody>{rows}</tbody></table>'
    charts = []
    if folder is not None and folder.is_dir():
        for png in sorted(folder.glob("*.png")):
            try:
                data = base64.b64encode(png.read_bytes()).decode("ascii")
            except OSError:
                continue
            charts.append(f'<div class="chart"><div>{esc(png.stem.replace("_", " "))}</div><img alt="{esc(png.stem)}" src="data:image/png;base64,{data}"></div>')
    return f'<div class="panel" id="eval-report">{head}{table}<div class="charts">{"".join(charts)}</div></div>'


def report_markdown(folder: Path) -> str:
    """report.md with HTML neutralised (it quotes guide text and questions)."""
    f = folder / "report.md"
    try:
        text = f.read_text(encoding="utf-8")
    except OSError:
        return ""
    text = re.sub(r"(?m)^!\[[^\]]*\]\([^)]*\)\s*$", "", text)  # the charts are shown above
    return text.replace("&", "&amp;").replace("<", "&lt;")


# --------------------------------------------------------------------------- the app


def _safe_upload_name(name: str) -> str:
    p = Path(name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", p.stem).strip("-._") or "guide"
    return f"{stem[:100]}{p.suffix.lower()}"


# --------------------------------------------------------------------------- upload temp folder


def upload_temp_dir(settings: Settings) -> Path:
    """Where Gradio keeps its temporary copies of uploads: ``$ADVISOR_HOME/tmp/uploads``.

    Inside the advisor's data folder (not ``/tmp/gradio``), so an uploaded guide,
    rejected ones too, never outlives the data it belongs to.
    """
    return settings.home / "tmp" / "uploads"


def use_upload_temp_dir(settings: Settings) -> Path:
    """Point Gradio's upload and cache folder at :func:`upload_temp_dir` (``GRADIO_TEMP_DIR``) and create it.

    Gradio 6 reads ``GRADIO_TEMP_DIR`` (default ``<system temp>/gradio``) through
    ``gradio.utils.get_upload_folder()`` when each component is created (its cache
    folder), when the server app is created (the folder ``/gradio_api/upload``
    writes to) and on every "was this file uploaded here" check, so it is set
    before the Blocks are built and stays set for the process. (Module constants
    read at import, in ``gradio.route_utils`` and ``gradio.mcp``, serve only video
    recording and MCP, which this app does not use.)
    """
    folder = upload_temp_dir(settings).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def clear_upload_temp_dir(settings: Settings) -> None:
    """Delete everything in :func:`upload_temp_dir` (stale copies of a previous run); the server calls it at start and stop."""
    folder = upload_temp_dir(settings)
    if folder.is_symlink() or not folder.is_dir():
        return
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def discard_upload(path: Path, root: Path) -> bool:
    """Delete Gradio's temporary copy of an upload and its emptied ``<sha256>`` folder; True if it was deleted.

    Only a file inside ``root`` (the upload temp folder) is touched, so a guide
    handed to the handler from anywhere else (a user's own file) is never deleted.
    """
    try:
        p, r = Path(path).resolve(), Path(root).resolve()
    except OSError:
        return False
    if p == r or not p.is_relative_to(r) or not p.is_file():
        return False
    try:
        p.unlink()
    except OSError:
        return False
    parent = p.parent
    while parent != r and parent.is_relative_to(r):
        try:
            parent.rmdir()  # only when empty: another upload of the same bytes may share it
        except OSError:
            break
        parent = parent.parent
    return True


def _upload_path(f: Any) -> Path:
    """The file path of one upload as the Library tab receives it: FileData dict, path string, or file object."""
    if isinstance(f, dict):
        return Path(f.get("path") or "")
    if isinstance(f, (str, os.PathLike)):
        return Path(f)
    return Path(getattr(f, "path", None) or getattr(f, "name", None) or str(f))


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
    spec = (llm or settings.llm or "extractive").strip()
    ingest_guard = threading.Lock()
    uploads_root = use_upload_temp_dir(settings)  # before any component exists: each reads its cache folder once

    try:
        from assistant import draft as draft_mod  # noqa: F401

        kinds, formats = tuple(draft_mod.KINDS), tuple(draft_mod.FORMATS)
    except ImportError:
        kinds, formats = DRAFT_KINDS, DRAFT_FORMATS

    # ------------------------------------------------------------------ handlers: chat

    def chat(question: str, audience: str, specialty: str, conv: dict):
        """Stream one answer into the chat; updates the sources panel and the conversation state."""
        conv = conv or {"messages": [], "history": [], "turns": []}
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
        from assistant.answer import stream

        draft_text = ""
        try:
            ans = None
            for ev in stream(q, audience=_profile(audience), specialty=_profile(specialty), history=list(conv["history"]), llm=spec, settings=settings):
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
        conv["turns"].append({"turn": turn, "question": q, "citations": [_citation_dict(c) for c in ans.citations]})
        if ans.abstained:
            status = notice("abstain", "📭 <b>The guides don't cover this.</b> Try a question about red flags, Step scores or researching programs.", "abstain-notice")
        else:
            status = notice("ok", f"Answered from {len({c.source for c in ans.citations})} guide(s), {len(ans.citations)} passage(s) cited. Click a [n] marker to open its source.", "chat-status")
        yield messages, render_sources(conv["turns"]), status, conv, gr.skip()

    def reset():
        conv = {"messages": [], "history": [], "turns": []}
        return [], render_sources([]), notice("info", "New conversation: earlier questions are no longer used as context.", "chat-status"), conv, ""

    def on_profile(audience: str, specialty: str):
        return profile_line(audience, specialty)

    def ask_api(question: str, audience: str = NOT_SET, specialty: str = NOT_SET, history: list | None = None) -> dict:
        """Answer a question from the guides: the Answer JSON (answer with [n] markers, citations, abstained, conflicts, note)."""
        from assistant.answer import ask

        try:
            hist = [h for h in (history or []) if isinstance(h, (str, dict, list, tuple))]
            ans = ask(question, audience=_profile(audience), specialty=_profile(specialty), history=hist or None, llm=spec, settings=settings)
        except Exception as exc:  # noqa: BLE001
            raise gr.Error(error_line(exc), print_exception=False) from None
        return ans.to_json()

    # ------------------------------------------------------------------ handlers: draft

    def _draft_facts(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals) -> dict:
        facts: dict[str, Any] = {"kind": kind, "specialty": _profile(specialty)}
        if _profile(fmt) and fmt != "default":
            facts["format"] = fmt
        if _profile(audience):
            facts["audience"] = audience
        for key, val in (("what", what), ("context", context), ("insight", insight), ("changes", changes), ("evidence", evidence), ("goals", goals)):
            if isinstance(val, str) and val.strip():
                facts[key] = val.strip()
        if not facts.get("specialty"):
            raise InputError("choose a specialty (medical genetics or radiology)")
        if not facts.get("what"):
            raise InputError("say what happened (the first text box) before drafting")
        return facts

    def _run_draft(facts: dict):
        try:
            from assistant.draft import draft
        except ImportError:
            raise AdvisorError("drafting is not available in this installation yet") from None
        return draft(facts, llm=spec, settings=settings)

    def draft_form(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals):
        try:
            res = _run_draft(_draft_facts(kind, fmt, specialty, audience, what, context, insight, changes, evidence, goals))
        except Exception as exc:  # noqa: BLE001
            return "", notice("error", f"⚠️ {esc(error_line(exc))}", "draft-error"), ""
        return res.text, render_draft_todo(res), render_draft_advice(res)

    def draft_api(facts: dict) -> dict:
        """Draft a red-flag explanation from the applicant's facts (the `advisor draft` facts schema)."""
        try:
            if not isinstance(facts, dict):
                raise InputError("facts must be a JSON object")
            return _run_draft(facts).to_json()
        except Exception as exc:  # noqa: BLE001
            raise gr.Error(error_line(exc), print_exception=False) from None

    # ------------------------------------------------------------------ handlers: audit

    def audit_form(*values):
        try:
            result = run_audit(audit_profile_from_form(*values), settings)
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "audit-error")
        return render_audit(result)

    def audit_api(profile: dict) -> dict:
        """Audit an applicant profile (the `advisor audit` profile schema): red flags, where to address them, strengths, all cited."""
        try:
            if not isinstance(profile, dict):
                raise InputError("profile must be a JSON object")
            return run_audit(profile, settings).to_json()
        except Exception as exc:  # noqa: BLE001
            raise gr.Error(error_line(exc), print_exception=False) from None

    # ------------------------------------------------------------------ handlers: library

    def library_view():
        from assistant.index import library

        try:
            docs = library(settings)
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "library-error"), gr.update(choices=[], value=None)
        choices = [(f"{d.get('title')} ({d.get('source')})", d["source"]) for d in docs]
        return render_library(docs), gr.update(choices=choices, value=None)

    def _add_guides(files, progress) -> tuple[str, bool]:
        """Copy uploaded guides into ``$ADVISOR_HOME/library`` and ingest them: (status HTML, uploads used up).

        Every upload handled here, added or rejected, has its temporary copy in the
        upload temp folder deleted before returning (the library keeps its own
        copy); the second value then says the upload box should be cleared. Only
        "nothing chosen" and "busy" leave the uploads as they are (to try again).
        """
        from assistant.corpus import SUPPORTED_SUFFIXES, load_document, source_id
        from assistant.index import ingest, library

        files = [f for f in (files if isinstance(files, list) else [files]) if f]
        if not files:
            return notice("info", "Choose a .txt, .md, .html or .pdf guide first.", "upload-status"), False
        if not ingest_guard.acquire(blocking=False):
            return notice("error", "⚠️ Another guide is being added; wait for it to finish.", "upload-status"), False
        try:
            dest_dir = settings.home / "library"
            dest_dir.mkdir(parents=True, exist_ok=True)
            try:
                existing = {d["source"]: d.get("path") for d in library(settings)}
            except AdvisorError:
                existing = {}
            progress(0.0, desc="Reading the guide…")
            added: list[Path] = []
            problems: list[str] = []
            for f in files:
                src = _upload_path(f)
                name = _safe_upload_name(src.name)
                if Path(name).suffix not in SUPPORTED_SUFFIXES:
                    problems.append(f"{src.name}: unsupported file type (use .txt, .md, .html or .pdf)")
                    continue
                dest = dest_dir / name
                sid = source_id(dest)
                if sid in existing and Path(existing[sid] or "").resolve() != dest.resolve():
                    problems.append(f"{src.name}: a guide with the id '{sid}' is already in the library; rename the file")
                    continue
                try:
                    load_document(src)  # readable, not empty after cleaning
                except AdvisorError as exc:
                    problems.append(str(exc))
                    continue
                tmp = dest_dir / f".upload-{dest.name}"
                shutil.copyfile(src, tmp)
                tmp.replace(dest)
                added.append(dest)
            if not added:
                return notice("error", "⚠️ " + esc("; ".join(problems) or "nothing to add"), "upload-status"), True
            warnings: list[str] = []

            def cb(stage: str, done: int, total: int) -> None:
                label = {"embed": "Embedding new passages", "index": "Writing the index"}.get(stage, stage)
                progress((int(done), max(int(total), 1)), desc=label)

            report = ingest(added, settings=settings, progress=cb, warn=warnings.append)
            msg = (
                f"✅ Added {', '.join(p.name for p in added)}: {report.embedded} new passages embedded; "
                f"the library now has {report.documents} guides and {report.chunks} passages ({report.seconds:.1f} s)."
            )
            extra = "".join(f"<br>⚠️ {esc(w)}" for w in warnings + problems)
            return notice("ok", esc(msg) + extra, "upload-status"), True
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "upload-status"), True
        finally:
            for f in files:
                discard_upload(_upload_path(f), uploads_root)
            ingest_guard.release()

    def add_guides(files, progress=gr.Progress()):
        status_html, used_up = _add_guides(files, progress)
        return (status_html, *library_view(), None if used_up else gr.skip())

    def remove_guide(source: str, progress=gr.Progress()):
        from assistant.index import remove

        if not source:
            return notice("info", "Pick a guide to remove.", "remove-status"), *library_view()
        if not ingest_guard.acquire(blocking=False):
            return notice("error", "⚠️ The library is being changed; wait for it to finish.", "remove-status"), *library_view()
        try:
            progress(0.0, desc="Rebuilding the index…")
            report = remove(source, settings)
            msg = f"Removed {source}; {report.documents} guides and {report.chunks} passages remain (the file itself was not deleted)."
            return notice("ok", esc(msg), "remove-status"), *library_view()
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "remove-status"), *library_view()
        finally:
            ingest_guard.release()

    def library_api() -> list:
        """The indexed guides: source, title, audience, specialty, passages, last ingested."""
        from assistant.index import library

        try:
            return [{k: v for k, v in d.items() if k != "path"} for d in library(settings)]
        except Exception as exc:  # noqa: BLE001
            raise gr.Error(error_line(exc), print_exception=False) from None

    # ------------------------------------------------------------------ handlers: evals

    def eval_view():
        try:
            from assistant.evaluation import latest_report
        except ImportError:
            return render_report(None), ""
        try:
            report = latest_report(settings)
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "eval-error"), ""
        return render_report(report, settings.reports_dir), (report_markdown(settings.reports_dir) if report else "")

    def run_evals(progress=gr.Progress()):
        try:
            from assistant.evaluation import run
        except ImportError:
            return notice("info", "The eval suite is not available in this installation yet.", "no-report"), ""
        if not ingest_guard.acquire(blocking=False):
            return notice("error", "⚠️ The library is being changed; run the evals when it is done.", "eval-error"), ""
        try:
            progress(0.0, desc="Starting the eval suite…")

            def cb(stage: str, done: int, total: int) -> None:
                progress((int(done), max(int(total), 1)), desc=f"Evaluating: {stage}")

            run(settings=settings, progress=cb)
        except Exception as exc:  # noqa: BLE001
            return notice("error", f"⚠️ {esc(error_line(exc))}", "eval-error"), ""
        finally:
            ingest_guard.release()
        return eval_view()

    def eval_api() -> dict:
        """The latest eval report (metrics, baseline, definitions), or {} when none exists yet."""
        try:
            from assistant.evaluation import latest_report
        except ImportError:
            return {}
        report = latest_report(settings) or {}
        return {k: report[k] for k in ("created_at", "cases", "answerable", "unanswerable", "metrics", "baseline", "definitions") if k in report}

    # ------------------------------------------------------------------ layout

    with gr.Blocks(title="IMG Residency Advisor", analytics_enabled=False) as app:
        gr.HTML(header_html(spec), elem_id="header-block")
        with gr.Tabs(elem_id="tabs"):
            # ---------------------------------------------------------- chat
            with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
                conv = gr.State({"messages": [], "history": [], "turns": []})
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
                send.click(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
                question.submit(chat, [question, audience, specialty, conv], outs, api_visibility="private", concurrency_id="answer", show_progress="minimal")
                new_chat.click(reset, None, outs, api_visibility="private", queue=False)
                chatbot.clear(reset, None, outs, api_visibility="private", queue=False)
                audience.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
                specialty.change(on_profile, [audience, specialty], profile_md, api_visibility="private", queue=False)
                gr.api(ask_api, api_name="ask", concurrency_id="answer")

            # ---------------------------------------------------------- draft
            with gr.Tab("Draft", id="draft", elem_id="tab-draft"):
                gr.Markdown(
                    "Write the explanation of a red flag (or a *why this specialty* paragraph) **from your own facts**. "
                    "Nothing is invented: gaps become visible `[placeholders]` with questions to answer. "
                    "What you type stays on this machine unless a remote language model is configured (see the top of the page)."
                )
                with gr.Row():
                    d_kind = gr.Dropdown(list(kinds), value=kinds[0], label="What to explain", elem_id="d-kind")
                    d_format = gr.Dropdown([("Guide default for this kind", "default")] + [(f, f) for f in formats], value="default", label="Format", elem_id="d-format")
                    d_specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value="medical-genetics", label="Specialty", elem_id="d-specialty")
                    d_audience = gr.Dropdown(AUDIENCE_CHOICES, value=NOT_SET, label="Applicant", elem_id="d-audience")
                d_what = gr.Textbox(label="What happened (required, your own words)", lines=2, max_length=1500, elem_id="d-what", placeholder="e.g. I failed Step 1 on my first attempt.")
                with gr.Row():
                    d_context = gr.Textbox(label="Context (optional)", lines=2, max_length=1500, elem_id="d-context")
                    d_insight = gr.Textbox(label="What you learned (optional)", lines=2, max_length=1500, elem_id="d-insight")
                with gr.Row():
                    d_changes = gr.Textbox(label="What you changed (optional)", lines=2, max_length=1500, elem_id="d-changes")
                    d_evidence = gr.Textbox(label="Evidence it is resolved (optional)", lines=2, max_length=1500, elem_id="d-evidence")
                d_goals = gr.Textbox(label="Goals in the specialty (optional)", lines=1, max_length=1500, elem_id="d-goals")
                d_go = gr.Button("Draft", variant="primary", elem_id="d-go")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        d_text = gr.Textbox(label="Your draft (edit it, then copy)", lines=8, max_lines=30, buttons=["copy"], elem_id="d-text", interactive=True)
                        d_todo = gr.HTML("", elem_id="d-todo")
                    with gr.Column(scale=2):
                        d_advice = gr.HTML("", elem_id="d-advice")
                d_inputs = [d_kind, d_format, d_specialty, d_audience, d_what, d_context, d_insight, d_changes, d_evidence, d_goals]
                d_go.click(draft_form, d_inputs, [d_text, d_todo, d_advice], api_visibility="private", concurrency_id="answer")
                gr.api(draft_api, api_name="draft", concurrency_id="answer")

            # ---------------------------------------------------------- audit
            with gr.Tab("Audit", id="audit", elem_id="tab-audit"):
                gr.Markdown(
                    "Describe your application. The audit lists only what the guides call red flags, where each should be addressed, "
                    "and the strengths that offset it, citing the passages. Your profile stays on this machine."
                )
                with gr.Row():
                    a_audience = gr.Dropdown(AUDIENCE_CHOICES[1:], value="non-us-img", label="Applicant", elem_id="a-audience")
                    a_specialty = gr.Dropdown(SPECIALTY_CHOICES[1:], value="medical-genetics", label="Specialty", elem_id="a-specialty")
                    a_year = gr.Number(None, label="Graduation year", precision=0, elem_id="a-year")
                    a_asof = gr.Textbox(label="Applying in (YYYY-MM, optional)", max_length=7, elem_id="a-asof")
                with gr.Row():
                    a_s1f = gr.Number(0, label="Step 1 failed attempts", precision=0, elem_id="a-s1-fails")
                    a_s1p = gr.Checkbox(True, label="Step 1 passed", elem_id="a-s1-passed")
                    a_s2f = gr.Number(0, label="Step 2 CK failed attempts", precision=0, elem_id="a-s2-fails")
                    a_s2p = gr.Checkbox(True, label="Step 2 CK passed", elem_id="a-s2-passed")
                    a_s2s = gr.Number(None, label="Step 2 CK score", precision=0, elem_id="a-s2-score")
                with gr.Row():
                    a_gaps = gr.Textbox(label="Gaps without clinical work, one per line: 2022-08 to 2023-03: reason (or 'to now')", lines=2, max_length=2000, elem_id="a-gaps")
                    a_academic = gr.CheckboxGroup(ACADEMIC_TYPES, label="Academic issues", elem_id="a-academic")
                    a_prof = gr.Textbox(label="Professionalism note (optional)", lines=2, max_length=1000, elem_id="a-prof")
                with gr.Row():
                    a_visa = gr.Checkbox(False, label="Needs visa sponsorship", elem_id="a-visa")
                    a_denial = gr.Checkbox(False, label="Prior visa denial", elem_id="a-visa-denial")
                    a_violation = gr.Checkbox(False, label="Visa status violation", elem_id="a-visa-violation")
                    a_changes = gr.Number(0, label="Visa type changes", precision=0, elem_id="a-visa-changes")
                    a_prev = gr.Textbox(label="Previous specialty (if switching)", max_length=80, elem_id="a-prev")
                with gr.Row():
                    a_usce_type = gr.Dropdown([("None", NOT_SET)] + [(t, t) for t in USCE_TYPES], value=NOT_SET, label="US clinical experience", elem_id="a-usce-type")
                    a_usce_spec = gr.Textbox(label="USCE specialty", max_length=80, elem_id="a-usce-specialty")
                    a_usce_months = gr.Number(None, label="USCE months", elem_id="a-usce-months")
                    a_usce_letter = gr.Checkbox(False, label="USCE letter", elem_id="a-usce-letter")
                with gr.Row():
                    a_res_topic = gr.Textbox(label="Research topic (optional)", max_length=300, elem_id="a-research")
                    a_res_out = gr.Number(0, label="Research outputs (papers, posters)", precision=0, elem_id="a-research-outputs")
                    a_res_rel = gr.Checkbox(True, label="Research in the specialty", elem_id="a-research-related")
                    a_let_spec = gr.Number(0, label="US letters from the specialty", precision=0, elem_id="a-letters-specialty")
                    a_let_other = gr.Number(0, label="Other US letters", precision=0, elem_id="a-letters-other")
                with gr.Accordion("Advanced: paste a profile JSON (as for `advisor audit --profile`); it replaces the form", open=False):
                    a_json = gr.Code("", language="json", label="Profile JSON", elem_id="a-json", lines=6)
                a_go = gr.Button("Audit my profile", variant="primary", elem_id="a-go")
                a_out = gr.HTML("", elem_id="a-out")
                a_inputs = [a_audience, a_specialty, a_year, a_asof, a_s1f, a_s1p, a_s2f, a_s2p, a_s2s, a_gaps, a_academic, a_prof, a_visa, a_denial,
                            a_violation, a_changes, a_prev, a_usce_type, a_usce_spec, a_usce_months, a_usce_letter, a_res_topic, a_res_out, a_res_rel,
                            a_let_spec, a_let_other, a_json]
                a_go.click(audit_form, a_inputs, a_out, api_visibility="private", concurrency_id="answer")
                gr.api(audit_api, api_name="audit", concurrency_id="answer")

            # ---------------------------------------------------------- library
            with gr.Tab("Library", id="library", elem_id="tab-library"):
                gr.Markdown("The guides the advisor answers from. Added guides are copied into the advisor's data folder and indexed on this machine.")
                lib_table = gr.HTML("", elem_id="library-box")
                with gr.Row(equal_height=False):
                    with gr.Column():
                        upload = gr.File(label="Add a guide (.txt, .md, .html, .pdf)", file_count="multiple", file_types=UPLOAD_TYPES, elem_id="upload")
                        add_btn = gr.Button("Add to library", variant="primary", elem_id="add-guide")
                        up_status = gr.HTML("", elem_id="upload-status-box")
                    with gr.Column():
                        rm_choice = gr.Dropdown([], label="Remove a guide", elem_id="remove-choice")
                        rm_btn = gr.Button("Remove from library", variant="stop", elem_id="remove-guide")
                        rm_status = gr.HTML("", elem_id="remove-status-box")
                # preprocess=False: the handler gets the uploads' FileData as they are. gr.File's own
                # preprocess would refuse a wrong type before the handler runs (so its temp copy
                # could not be deleted) and leaves an empty temp file behind on every call. Gradio
                # still checks that each path was uploaded to this server (only its upload folder).
                add_btn.click(add_guides, [upload], [up_status, lib_table, rm_choice, upload], api_visibility="private", concurrency_id="library", preprocess=False)
                rm_btn.click(remove_guide, [rm_choice], [rm_status, lib_table, rm_choice], api_visibility="private", concurrency_id="library")
                gr.api(library_api, api_name="library")

            # ---------------------------------------------------------- evals
            with gr.Tab("Evals", id="evals", elem_id="tab-evals"):
                ev_html = gr.HTML("", elem_id="eval-box")
                ev_run = gr.Button("Run the eval suite (a few minutes)", elem_id="run-evals")
                with gr.Accordion("Full report (report.md)", open=False):
                    ev_md = gr.Markdown("", elem_id="eval-md", sanitize_html=True)
                ev_run.click(run_evals, None, [ev_html, ev_md], api_visibility="private", concurrency_id="evals")
                gr.api(eval_api, api_name="eval_report")

        app.load(library_view, None, [lib_table, rm_choice], api_visibility="private", queue=False)
        app.load(eval_view, None, [ev_html, ev_md], api_visibility="private", queue=False)
    return app


# --------------------------------------------------------------------------- draft rendering


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
        cite = f' <a class="cite" href="#dsrc-{int(n)}">&#91;{int(n)}&#93;</a>' if n in numbers else ""
        items.append(f"<li>{esc(item.get('item'))}{cite}</li>")
    out = ['<div class="panel checklist" id="draft-advice"><h3>Guide advice applied</h3>']
    out.append(f"<ul>{''.join(items)}</ul>" if items else "<p>No guide advice for this kind.</p>")
    if res.advice:
        out.append("<h3>Sources</h3>" + source_details(res.advice, "dsrc"))
    out.append("</div>")
    return "\n".join(out)


# --------------------------------------------------------------------------- audit form and rendering

USCE_TYPES = ("observership", "externship", "elective", "sub-internship", "clinical-job", "residency")
ACADEMIC_TYPES = [("Failed a course", "failed-course"), ("Failed a clerkship", "failed-clerkship"), ("Repeated a year", "repeated-year"), ("Academic probation", "probation")]
_GAP_LINE = re.compile(r"^\s*(\d{4}-\d{2})\s*(?:(?:to|-|–|—|until)\s*(\d{4}-\d{2}|now|ongoing|present))?\s*(?:[:,;]\s*(.*))?$", re.I)


def _int_or_none(v: Any, what: str) -> int | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number") from None
    if f != int(f):
        raise InputError(f"{what} must be a whole number")
    return int(f)


def parse_gap_lines(text: str) -> list[dict]:
    """``YYYY-MM to YYYY-MM: reason`` (or ``to now``), one gap per line -> the audit's gap objects."""
    gaps = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _GAP_LINE.match(line)
        if not m:
            raise InputError(f"gaps, line {n}: write 'YYYY-MM to YYYY-MM: reason' (or 'YYYY-MM to now')")
        gap: dict[str, Any] = {"start": m.group(1)}
        if m.group(2) and m.group(2)[0].isdigit():
            gap["end"] = m.group(2)
        if m.group(3) and m.group(3).strip():
            gap["reason"] = m.group(3).strip()
        gaps.append(gap)
    return gaps


def _exam_attempts(exam: str, fails: Any, passed: bool, score: Any) -> list[dict]:
    nfail = _int_or_none(fails, f"{exam} failed attempts") or 0
    if nfail < 0:
        raise InputError(f"{exam} failed attempts must not be negative")
    attempts = [{"exam": exam, "result": "fail"} for _ in range(nfail)]
    s = _int_or_none(score, f"{exam} score") or None  # 0 / empty: not given
    if passed or s is not None:
        a: dict[str, Any] = {"exam": exam, "result": "pass"}
        if s is not None:
            a["score"] = s
        attempts.append(a)
    return attempts


def audit_profile_from_form(
    audience, specialty, graduation_year, as_of, s1_fails, s1_passed, s2_fails, s2_passed, s2_score, gaps_text,
    academic, professionalism, visa_needed, visa_denial, visa_violation, visa_changes, previous_specialty,
    usce_type, usce_specialty, usce_months, usce_letter, research_topic, research_outputs, research_related,
    letters_specialty, letters_other, profile_json,
) -> dict:
    """The audit tab's form -> an ``ApplicantProfile`` mapping (pasted JSON, when given, wins)."""
    import json

    if isinstance(profile_json, str) and profile_json.strip():
        try:
            data = json.loads(profile_json)
        except json.JSONDecodeError as exc:
            raise InputError(f"profile JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise InputError("profile JSON must be an object")
        return data
    if not _profile(audience):
        raise InputError("choose whether you are a US citizen or a non-US citizen IMG")
    year = _int_or_none(graduation_year, "graduation year") or None
    if year is None:
        raise InputError("enter your graduation year")
    p: dict[str, Any] = {"audience": audience, "specialty": specialty, "graduation_year": year}
    if isinstance(as_of, str) and as_of.strip():
        p["as_of"] = as_of.strip()
    p["exams"] = _exam_attempts("step1", s1_fails, bool(s1_passed), None) + _exam_attempts("step2ck", s2_fails, bool(s2_passed), s2_score)
    p["gaps"] = parse_gap_lines(gaps_text)
    p["academic"] = [{"type": t} for t in (academic or [])]
    if isinstance(professionalism, str) and professionalism.strip():
        p["professionalism"] = [{"description": professionalism.strip()}]
    changes = _int_or_none(visa_changes, "visa changes") or 0
    if visa_needed or visa_denial or visa_violation or changes:
        p["visa"] = {"needs_sponsorship": bool(visa_needed), "prior_denial": bool(visa_denial), "status_violation": bool(visa_violation), "type_changes": changes}
    if isinstance(previous_specialty, str) and previous_specialty.strip():
        p["previous_specialty"] = previous_specialty.strip()
    months = usce_months if usce_months not in (None, "") else None
    if _profile(usce_type) and months:
        p["us_clinical_experience"] = [{"type": usce_type, "specialty": (usce_specialty or "").strip() or SPECIALTY_NAMES.get(specialty, specialty).lower(), "months": float(months), "letter": bool(usce_letter)}]
    outputs = _int_or_none(research_outputs, "research outputs") or 0
    if isinstance(research_topic, str) and research_topic.strip():
        p["research"] = [{"topic": research_topic.strip(), "specialty_related": bool(research_related), "outputs": outputs}]
    n_spec = _int_or_none(letters_specialty, "letters from the specialty") or 0
    n_other = _int_or_none(letters_other, "other US letters") or 0
    if n_spec < 0 or n_other < 0 or n_spec + n_other > 20:
        raise InputError("letters: give a count between 0 and 20")
    spec_name = SPECIALTY_NAMES.get(specialty, specialty).lower()
    p["letters"] = [{"writer_specialty": spec_name, "us_based": True}] * n_spec + [{"writer_specialty": "other", "us_based": True}] * n_other
    return {k: v for k, v in p.items() if v not in ([], None)}


def run_audit(profile: dict, settings: Settings) -> Any:
    try:
        from assistant.audit import audit
    except ImportError:
        raise AdvisorError("the profile audit is not available in this installation yet") from None
    return audit(profile, settings=settings)


def _cite(n: Any, prefix: str, numbers: set[int]) -> str:
    return f' <a class="cite" href="#{prefix}-{int(n)}">&#91;{int(n)}&#93;</a>' if isinstance(n, int) and n in numbers else ""


def render_audit(result: Any) -> str:
    """Flags (where to address them, why, what offsets them), strengths, score bands, considerations, sources."""
    data = result.to_json() if hasattr(result, "to_json") else dict(result)
    cits = data.get("citations") or []
    numbers = {int(c["n"]) for c in cits if isinstance(c, dict) and isinstance(c.get("n"), int)}
    out = [f'<div class="panel" id="audit-result"><p>Profile: <b>{esc(AUDIENCE_NAMES.get(data.get("audience"), data.get("audience")))}</b> applying to <b>{esc(SPECIALTY_NAMES.get(data.get("specialty"), data.get("specialty")))}</b>.</p>']
    flags = data.get("flags") or []
    out.append(f"<h3>Red flags the guides would see ({len(flags)})</h3>")
    if not flags:
        out.append(notice("ok", "None of the red flags the guides describe shows in this profile.", "audit-no-flags"))
    for f in flags:
        where = ", ".join(FORMAT_LABELS.get(w, w) for w in f.get("where") or [])
        why = "".join(f"<li>{esc(r.get('text'))}{_cite(r.get('citation'), 'asrc', numbers)}</li>" for r in f.get("why") or [])
        offs = "".join(f"<li>{esc(r.get('text'))}{_cite(r.get('citation'), 'asrc', numbers)}</li>" for r in f.get("strengths") or [])
        out.append(
            f'<div class="notice {"abstain" if f.get("severity") == "major" else "info"} audit-flag"><b>{esc(f.get("title"))}</b> '
            f'({esc(f.get("severity"))}; {esc(f.get("detail"))})<br>Address it in: {esc(where)} · draft it with the Draft tab, kind <code>{esc(f.get("draft_kind"))}</code>'
            f"<div>Why it matters:<ul>{why}</ul></div>" + (f"<div>What offsets it:<ul>{offs}</ul></div>" if offs else "") + "</div>"
        )
    strengths = data.get("strengths") or []
    if strengths:
        rows = "".join(
            f"<tr><td>{esc(s.get('text'))}{_cite(s.get('citation'), 'asrc', numbers)}</td><td><b>{esc(s.get('status'))}</b></td><td>{esc(s.get('detail'))}</td></tr>" for s in strengths
        )
        out.append(f'<h3>Strengths the guides recommend</h3><table class="lib"><thead><tr><th>Strength</th><th>Status</th><th>From your profile</th></tr></thead><tbody>{rows}</tbody></table>')
    bands = data.get("score_bands") or {}
    if bands.get("bands") or bands.get("note"):
        items = "".join(
            f"<li>{'➡️ <b>' if b.get('applicant') else ''}{esc(b.get('text'))}{'</b> (your score)' if b.get('applicant') else ''}{_cite(b.get('citation'), 'asrc', numbers)}</li>"
            for b in bands.get("bands") or []
        )
        out.append(f"<h3>Step 2 CK ranges</h3><ul>{items}</ul>" + (f"<p>{esc(bands.get('note'))}</p>" if bands.get("note") else ""))
    cons = data.get("considerations") or []
    if cons:
        items = "".join(f"<li>{esc(c.get('text'))}{_cite(c.get('citation'), 'asrc', numbers)}</li>" for c in cons)
        out.append(f"<h3>Worth knowing (not red flags)</h3><ul>{items}</ul>")
    if data.get("note"):
        out.append(f'<div class="answer-note">ℹ️ {esc(data["note"])}</div>')
    if cits:
        out.append("<h3>Sources</h3>" + source_details(cits, "asrc"))
    out.append("</div>")
    return "\n".join(out)


FORMAT_LABELS = {"personal-statement": "personal statement", "eras-additional-info": "ERAS additional information", "interview": "interview"}


# --------------------------------------------------------------------------- launching


def warm_up(settings: Settings | None = None) -> threading.Thread:
    """Load the index and embedding model in the background so the first question is quick.

    Uses the extractive path only (never a language model). A missing index is
    reported as one line on stderr; the UI still starts (guides can be added in
    the Library tab).
    """
    import sys

    settings = settings or get_settings()

    def run() -> None:
        try:
            from assistant.answer import ask

            ask("How should I explain a gap in my training?", llm="extractive", settings=settings)
            WARM.set()
        except AdvisorError as exc:
            print(f"warning: {exc}", file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - a failed warm-up must not stop the server
            log.exception("warm-up failed")

    t = threading.Thread(target=run, name="advisor-warm-up", daemon=True)
    t.start()
    return t


def host_check(host: str) -> dict:
    """FastAPI kwargs that, on a loopback bind, refuse requests whose Host header is not this machine.

    A web page on another site can make the browser send requests to a server on
    127.0.0.1 by pointing its own domain at that address (DNS rebinding); the
    browser then sends that domain as the Host header, so checking it closes the
    hole. Other binds (``0.0.0.0``, a LAN address) serve names we cannot know, and
    IPv6 literals are left alone (Starlette's check does not parse ``[::1]:port``).
    """
    from assistant.cli_serve import is_loopback

    if not is_loopback(host) or ":" in host:
        return {}
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    names = sorted({"localhost", "127.0.0.1", host.strip().lower()})
    return {"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=names)]}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_netloc(netloc: str, scheme: str) -> str:
    """``host[:port]`` lower-cased, without the scheme's default port (browsers omit it in Origin and Host alike)."""
    netloc = netloc.strip().lower()
    default = DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(f":{default}") and not netloc.endswith("]"):
        netloc = netloc[: -len(default) - 1]
    return netloc


def same_origin(origin: str, host: str | None) -> bool:
    """True when an ``Origin`` header names this server as the browser reached it (the request's ``Host``).

    Only ``host:port`` is compared (the scheme only decides the default port): one
    port serves one protocol, and a TLS proxy in front may change the scheme the
    server sees. ``null`` (sandboxed frames, ``file:`` pages) is never this server.
    """
    from urllib.parse import urlsplit

    if not host:
        return False
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc or parts.path or parts.query or "@" in parts.netloc:
        return False
    return _origin_netloc(parts.netloc, parts.scheme) == _origin_netloc(host, parts.scheme)


class SameOriginWrites:
    """ASGI middleware: a state-changing request (not GET/HEAD/OPTIONS) whose ``Origin`` is another site gets 403.

    Any web page the user visits can make the browser POST to the loopback server
    (a multipart upload or a queued event needs no CORS preflight), and CORS only
    hides the answer from that page: the request itself still runs. Browsers send
    ``Origin`` with every such request, the app's own page included, so a foreign
    one is refused; requests without it (``gradio_client``, curl) are not from a
    browser page and pass as before. Hand-written because neither Starlette nor
    Gradio ships a middleware that refuses cross-origin writes (Starlette's
    ``CORSMiddleware`` and Gradio's CORS layer only set response headers).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method", "GET").upper() not in SAFE_METHODS:
            from starlette.datastructures import Headers

            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, headers.get("host")):
                from starlette.responses import PlainTextResponse

                log.warning("refused a %s %s from origin %r", scope.get("method"), scope.get("path"), origin[:200])
                await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def app_middleware(host: str) -> dict:
    """FastAPI kwargs for the server: the Host check of :func:`host_check` (loopback binds) and :class:`SameOriginWrites` (always).

    The Origin check stays on with ``--auth`` too: Gradio's login is a cookie
    (``SameSite=None``, and a second one without the attribute, which pages on
    another port of the same host still receive), so a logged-in browser can
    carry it on another page's POST; the login alone does not stop that write.
    """
    from starlette.middleware import Middleware

    return {"middleware": [*host_check(host).get("middleware", []), Middleware(SameOriginWrites)]}


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None, quiet: bool = False) -> None:
    """Serve ``app`` (blocking): no share link, no analytics, local fonts, our CSS and click script."""
    app.queue(default_concurrency_limit=1, max_size=64)
    app.launch(
        app_kwargs=app_middleware(host),
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        auth_message="IMG Residency Advisor: sign in with the user and password given to `advisor serve --auth`." if auth else None,
        inbrowser=False,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["api", "settings"],
        max_file_size="25mb",
        theme=gr.themes.Default(),
        css=CSS,
        head=HEAD,
    )
