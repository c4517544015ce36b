"""The Library tab: the indexed guides; upload (.txt/.md/.html/.pdf) and remove.

An added guide is copied into ``$ADVISOR_HOME/library`` and ingested with a
progress bar; removing one rebuilds the index without it (the file stays).
Gradio's temporary copy of an upload lives in ``$ADVISOR_HOME/tmp/uploads``
(never ``/tmp/gradio``) and is deleted once the guide is added or rejected
(:func:`assistant.ui.server.discard_upload`). One change to the library at a
time: the context's ``ingest_lock``.

"Show passages" lists how one guide was cut (each passage under its heading path,
with its word count, and a summary line), as ``advisor library --passages`` does.

API endpoints ``/library``: the indexed guides (source, title, audience, specialty, passages, last ingested);
``/passages``: one guide's passages and their summary.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AdvisorError
from assistant.ui.html import error_notice, esc, notice
from assistant.ui.server import discard_upload
from assistant.ui.shared import Context, PageLoad, api_error

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]


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


def render_passages(source: str, title: str | None, items: list[dict], summary: dict) -> str:
    """One guide's passages in guide order: ``[n]`` section path and word count over the whole passage text, escaped."""
    from assistant.ingestion import passage_summary_line

    head = f"<h3>{esc(title or source)} <code>{esc(source)}</code></h3><p class=\"summary\">{esc(passage_summary_line(summary))}</p>"
    if not items:
        return f'<div class="panel" id="passages-view">{head}<p>This guide has no passages in the index.</p></div>'
    rows = "".join(
        f'<li><details class="src" id="psg-{int(p["n"])}" open>'
        f'<summary><b>[{int(p["n"])}]</b> {esc(p["section"])} <span class="meta">({esc(p["words"])} words)</span></summary>'
        f'<div class="passage">{esc(p["text"])}</div></details></li>'
        for p in items
    )
    return f'<div class="panel" id="passages-view">{head}<ol class="passages" style="list-style: none; padding-left: 0;">{rows}</ol></div>'


# --------------------------------------------------------------------------- uploads


def _safe_upload_name(name: str) -> str:
    p = Path(name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", p.stem).strip("-._") or "guide"
    return f"{stem[:100]}{p.suffix.lower()}"


def _upload_path(f: Any) -> Path:
    """The file path of one upload as the Library tab receives it: FileData dict, path string, or file object."""
    if isinstance(f, dict):
        return Path(f.get("path") or "")
    if isinstance(f, (str, os.PathLike)):
        return Path(f)
    return Path(getattr(f, "path", None) or getattr(f, "name", None) or str(f))


def copy_uploads(files: list, dest_dir: Path, existing: dict[str, Any]) -> tuple[list[Path], list[str]]:
    """Copy each readable upload of a supported type into ``dest_dir``: (the copies, one line per upload refused).

    ``existing`` maps the library's guide ids to their files: an upload whose id
    names another file is refused (rename it), one that replaces its own file is not.
    """
    from assistant.ingestion import SUPPORTED_SUFFIXES, load_document, source_id

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
    return added, problems


# --------------------------------------------------------------------------- handlers


class LibraryHandlers:
    """The Library tab's events and its ``/library`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def library_view(self, show: str | None = None):
        """The guides table, the remove list's choices and the passages list's choices (``show`` chosen in it)."""
        from assistant.ingestion import library

        try:
            docs = library(self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "library-error"), gr.update(choices=[], value=None), gr.update(choices=[], value=None)
        choices = [(f"{d.get('title')} ({d.get('source')})", d["source"]) for d in docs]
        shown = show if show in {d["source"] for d in docs} else None
        return render_library(docs), gr.update(choices=choices, value=None), gr.update(choices=choices, value=shown)

    def show_passages(self, source: str | None) -> str:
        """How the chosen guide was cut: its passages (section path, word count, text) and the summary line."""
        from assistant.ingestion import library, passage_summary, passages

        if not source:
            return notice("info", "Pick a guide to show its passages.", "passages-view")
        try:
            items = passages(source, self.ctx.settings)
            title = next((d.get("title") for d in library(self.ctx.settings) if d["source"] == source), None)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "passages-view")
        return render_passages(source, title, items, passage_summary(items))

    def passages_api(self, source: str) -> dict:
        """One guide's passages in guide order (n, id, section, words, chars, text) and their summary."""
        from assistant.ingestion import passage_summary, passages

        try:
            items = passages(source, self.ctx.settings)
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        return {"source": source, "passages": items, "summary": passage_summary(items)}

    def _existing(self) -> dict[str, Any]:
        from assistant.ingestion import library

        try:
            return {d["source"]: d.get("path") for d in library(self.ctx.settings)}
        except AdvisorError:
            return {}

    def _ingest(self, added: list[Path], problems: list[str], progress) -> str:
        """Ingest the copied guides with a progress bar: the status line (and the refused uploads' lines)."""
        from assistant.ingestion import ingest

        warnings: list[str] = []

        def cb(stage: str, done: int, total: int) -> None:
            label = {"embed": "Embedding new passages", "index": "Writing the index"}.get(stage, stage)
            progress((int(done), max(int(total), 1)), desc=label)

        report = ingest(added, settings=self.ctx.settings, progress=cb, warn=warnings.append)
        msg = (
            f"✅ Added {', '.join(p.name for p in added)}: {report.embedded} new passages embedded; "
            f"the library now has {report.documents} guides and {report.chunks} passages ({report.seconds:.1f} s)."
        )
        extra = "".join(f"<br>⚠️ {esc(w)}" for w in warnings + problems)
        return notice("ok", esc(msg) + extra, "upload-status")

    def _add_guides(self, files, progress) -> tuple[str, bool, str | None]:
        """Copy uploaded guides into ``$ADVISOR_HOME/library`` and ingest them: (status HTML, uploads used up, guide added).

        Every upload handled here, added or rejected, has its temporary copy in the
        upload temp folder deleted before returning (the library keeps its own
        copy); the second value then says the upload box should be cleared. Only
        "nothing chosen" and "busy" leave the uploads as they are (to try again).
        The third value is the id of the first guide added (None if none was): the
        passages list offers it.
        """
        files = [f for f in (files if isinstance(files, list) else [files]) if f]
        if not files:
            return notice("info", "Choose a .txt, .md, .html or .pdf guide first.", "upload-status"), False, None
        if not self.ctx.ingest_lock.acquire(blocking=False):
            return notice("error", "⚠️ Another guide is being added; wait for it to finish.", "upload-status"), False, None
        try:
            dest_dir = self.ctx.settings.home / "library"
            dest_dir.mkdir(parents=True, exist_ok=True)
            existing = self._existing()
            progress(0.0, desc="Reading the guide…")
            added, problems = copy_uploads(files, dest_dir, existing)
            if not added:
                return notice("error", "⚠️ " + esc("; ".join(problems) or "nothing to add"), "upload-status"), True, None
            from assistant.ingestion import source_id

            return self._ingest(added, problems, progress), True, source_id(added[0])
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "upload-status"), True, None
        finally:
            for f in files:
                discard_upload(_upload_path(f), self.ctx.uploads_root)
            self.ctx.ingest_lock.release()

    def add_guides(self, files, progress=gr.Progress()):
        status_html, used_up, added = self._add_guides(files, progress)
        return (status_html, *self.library_view(show=added), None if used_up else gr.skip())

    def remove_guide(self, source: str, progress=gr.Progress()):
        from assistant.ingestion import remove

        if not source:
            return notice("info", "Pick a guide to remove.", "remove-status"), *self.library_view()
        if not self.ctx.ingest_lock.acquire(blocking=False):
            return notice("error", "⚠️ The library is being changed; wait for it to finish.", "remove-status"), *self.library_view()
        try:
            progress(0.0, desc="Rebuilding the index…")
            report = remove(source, self.ctx.settings)
            msg = f"Removed {source}; {report.documents} guides and {report.chunks} passages remain (the file itself was not deleted)."
            return notice("ok", esc(msg), "remove-status"), *self.library_view()
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "remove-status"), *self.library_view()
        finally:
            self.ctx.ingest_lock.release()

    def library_api(self) -> list:
        """The indexed guides: source, title, audience, specialty, passages, last ingested."""
        from assistant.ingestion import library

        try:
            return [{k: v for k, v in d.items() if k != "path"} for d in library(self.ctx.settings)]
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> PageLoad:
    """The Library tab: the guides table, the upload box, the remove list and the passages view; returns its refresh on page load."""
    h = LibraryHandlers(ctx)
    with gr.Tab("Library", id="library", elem_id="tab-library"):
        gr.Markdown("The guides the advisor answers from. Added guides are copied into the advisor's data folder and indexed on this machine.")
        table = gr.HTML("", elem_id="library-box")
        with gr.Row(equal_height=False):
            with gr.Column():
                upload = gr.File(label="Add a guide (.txt, .md, .html, .pdf)", file_count="multiple", file_types=UPLOAD_TYPES, elem_id="upload")
                add_btn = gr.Button("Add to library", variant="primary", elem_id="add-guide")
                up_status = gr.HTML("", elem_id="upload-status-box")
            with gr.Column():
                rm_choice = gr.Dropdown([], label="Remove a guide", elem_id="remove-choice")
                rm_btn = gr.Button("Remove from library", variant="stop", elem_id="remove-guide")
                rm_status = gr.HTML("", elem_id="remove-status-box")
        with gr.Row(equal_height=False):
            ps_choice = gr.Dropdown([], label="Show how a guide was cut into passages", elem_id="passages-choice", scale=3)
            ps_btn = gr.Button("Show passages", elem_id="show-passages", scale=1)
        ps_view = gr.HTML("", elem_id="passages-box")
        # preprocess=False: the handler gets the uploads' FileData as they are. gr.File's own
        # preprocess would refuse a wrong type before the handler runs (so its temp copy
        # could not be deleted) and leaves an empty temp file behind on every call. Gradio
        # still checks that each path was uploaded to this server (only its upload folder).
        add_btn.click(h.add_guides, [upload], [up_status, table, rm_choice, ps_choice, upload], api_visibility="private", concurrency_id="library", preprocess=False)
        rm_btn.click(h.remove_guide, [rm_choice], [rm_status, table, rm_choice, ps_choice], api_visibility="private", concurrency_id="library")
        ps_btn.click(h.show_passages, [ps_choice], [ps_view], api_visibility="private")
        gr.api(h.library_api, api_name="library")
        gr.api(h.passages_api, api_name="passages")
    return PageLoad(h.library_view, [table, rm_choice, ps_choice])
