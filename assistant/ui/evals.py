"""The Evals tab: the latest eval report (metrics vs the baseline, charts) and a button that runs the suite.

The charts are the report folder's PNGs, embedded as data URIs (nothing is
fetched); ``report.md`` is shown with its HTML neutralised, since it quotes guide
text and questions. A run holds the context's ``ingest_lock`` (the library must
not change under it).

API endpoint ``/eval_report``: the latest report's metrics, baseline and definitions, or ``{}``.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.evaluation import latest_report, run as run_suite
from assistant.ui.html import error_notice, esc, notice
from assistant.ui.shared import Context, PageLoad

REPORT_KEYS = ("created_at", "cases", "answerable", "unanswerable", "metrics", "baseline", "definitions")


def _fmt_num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return esc(v)


def _charts(folder: Path | None) -> str:
    charts = []
    if folder is not None and folder.is_dir():
        for png in sorted(folder.glob("*.png")):
            try:
                data = base64.b64encode(png.read_bytes()).decode("ascii")
            except OSError:
                continue
            charts.append(f'<div class="chart"><div>{esc(png.stem.replace("_", " "))}</div><img alt="{esc(png.stem)}" src="data:image/png;base64,{data}"></div>')
    return "".join(charts)


def render_report(report: dict | None, folder: Path | None = None) -> str:
    """Metrics vs baseline, charts (embedded as data URIs) and the failing-case count."""
    if not report:
        return notice("info", "No eval report yet. Run the suite with the button below or <code>advisor eval</code>.", "no-report")
    m = report.get("metrics") or {}
    b = report.get("baseline") or {}
    d = report.get("definitions") or {}
    halves = m.get("halves") or {}
    tuning, heldout = halves.get("tuning") or {}, halves.get("heldout") or {}

    def half(part: dict, k: str) -> str:
        return (_fmt_num(part[k]) if part[k] is not None else "n/a") if k in part else ""

    rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td>{_fmt_num(v)}</td><td>{half(tuning, k)}</td><td>{half(heldout, k)}</td>"
        f"<td>{_fmt_num(b[k]) if k in b else ''}</td><td>{esc(d.get(k, ''))}</td></tr>"
        for k, v in m.items()
        if k != "halves"  # shown as the two half columns
    )
    head = (
        f"<p>Report of {esc(report.get('created_at', '?'))}: {esc(report.get('cases', '?'))} cases "
        f"({esc(report.get('answerable', '?'))} answerable, {esc(report.get('unanswerable', '?'))} unanswerable); "
        f"{len(report.get('failing') or [])} failing case(s) listed in report.md.</p>"
    )
    table = f'<table class="lib" id="metrics-table"><thead><tr><th>Metric</th><th>Advisor</th><th>Tuning half</th><th>Held-out half</th><th>Baseline</th><th>Definition</th></tr></thead><tbody>{rows}</tbody></table>'
    return f'<div class="panel" id="eval-report">{head}{table}<div class="charts">{_charts(folder)}</div></div>'


def report_markdown(folder: Path) -> str:
    """report.md with HTML neutralised (it quotes guide text and questions)."""
    f = folder / "report.md"
    try:
        text = f.read_text(encoding="utf-8")
    except OSError:
        return ""
    text = re.sub(r"(?m)^!\[[^\]]*\]\([^)]*\)\s*$", "", text)  # the charts are shown above
    return text.replace("&", "&amp;").replace("<", "&lt;")


# --------------------------------------------------------------------------- handlers


class EvalHandlers:
    """The Evals tab's events and its ``/eval_report`` endpoint, bound to the app's :class:`~assistant.ui.shared.Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def eval_view(self):
        """The report panel and report.md."""
        settings = self.ctx.settings
        try:
            report = latest_report(settings)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "eval-error"), ""
        return render_report(report, settings.reports_dir), (report_markdown(settings.reports_dir) if report else "")

    def run_evals(self, progress=gr.Progress()):
        if not self.ctx.ingest_lock.acquire(blocking=False):
            return notice("error", "⚠️ The library is being changed; run the evals when it is done.", "eval-error"), ""
        try:
            progress(0.0, desc="Starting the eval suite…")

            def cb(stage: str, done: int, total: int) -> None:
                progress((int(done), max(int(total), 1)), desc=f"Evaluating: {stage}")

            run_suite(settings=self.ctx.settings, progress=cb)
        except Exception as exc:  # noqa: BLE001
            return error_notice(exc, "eval-error"), ""
        finally:
            self.ctx.ingest_lock.release()
        return self.eval_view()

    def eval_api(self) -> dict:
        """The latest eval report (metrics, baseline, definitions), or {} when none exists yet."""
        report = latest_report(self.ctx.settings) or {}
        return {k: report[k] for k in REPORT_KEYS if k in report}


# --------------------------------------------------------------------------- layout


def build(ctx: Context) -> PageLoad:
    """The Evals tab: the report panel, the run button and report.md; returns its refresh on page load."""
    h = EvalHandlers(ctx)
    with gr.Tab("Evals", id="evals", elem_id="tab-evals"):
        report_html = gr.HTML("", elem_id="eval-box")
        run_btn = gr.Button("Run the eval suite (a few minutes)", elem_id="run-evals")
        with gr.Accordion("Full report (report.md)", open=False):
            report_md = gr.Markdown("", elem_id="eval-md", sanitize_html=True)
        run_btn.click(h.run_evals, None, [report_html, report_md], api_visibility="private", concurrency_id="evals")
        gr.api(h.eval_api, api_name="eval_report")
    return PageLoad(h.eval_view, [report_html, report_md])
