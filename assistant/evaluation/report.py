"""The eval report on disk: ``latest.json``, ``report.md`` and PNG charts in the reports folder, and reading it back.

The JSON is what the UI's Evals tab and ``advisor eval --check`` read; the
Markdown is for people (every metric beside the baseline and its definition,
the per-question figures overall and on the tuning and held-out halves, then
each failing case with what was retrieved and answered). Charts need
matplotlib; without it the report is written without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.config import Settings, get_settings
from assistant.evaluation.metrics import DEFINITIONS

__all__ = ["write_report", "charts", "latest_report"]


def _failing_lines(f: dict) -> list[str]:
    """The Markdown section of one failing case."""
    lines = [f"### {f.get('id')}: {f.get('question', f.get('file', ''))}", f"- problems: {', '.join(f.get('problems', []))}"]
    if f.get("expected_source"):
        lines.append(f"- expected: `{f['expected_source']}`; evidence: {f.get('evidence')}; facts: {f.get('facts')}")
    for r in f.get("retrieved", [])[:3]:
        lines.append(f"- retrieved `{r['source']}`: {r['text'][:160]!r}")
    if f.get("answer"):
        lines.append(f"- answer: {f['answer'][:400]!r}")
    lines.append("")
    return lines


def _halves_lines(report: dict) -> list[str]:
    """The per-question figures overall and on each half (tuning / held-out), as a Markdown table."""
    halves = report["metrics"].get("halves") or {}
    if not halves:
        return []
    m = report["metrics"]
    overall = {"cases": report["cases"], "answerable": report["answerable"], "unanswerable": report["unanswerable"], **m}
    t, h = halves.get("tuning", {}), halves.get("heldout", {})

    def cell(v: Any) -> str:
        return "n/a" if v is None else str(v)

    lines = [
        "## Tuning and held-out halves",
        "",
        "Each case's half is fixed by its id (evals/README.md): ids ending in an even number are the tuning half, odd ones are held out.",
        "Constants are tuned on the tuning half and reported on the held-out half; n/a = nothing to measure in that half.",
        "",
        "| metric | overall | tuning | held-out |",
        "|---|---|---|---|",
    ]
    for k in dict.fromkeys([*t, *h]):
        lines.append(f"| {k} | {cell(overall.get(k))} | {cell(t.get(k))} | {cell(h.get(k))} |")
    return [*lines, ""]


def _markdown(report: dict, chart_files: list[Path]) -> str:
    """``report.md``: header, the metrics table beside the baseline, the charts, the failing cases."""
    m, b = report["metrics"], report["baseline"]
    lines = [f"# Eval report ({report['created_at']})", "", f"Dataset: `{report['dataset']}`: {report['cases']} cases ({report['answerable']} answerable, {report['unanswerable']} unanswerable).", ""]
    lines += ["| metric | advisor | baseline | definition |", "|---|---|---|---|"]
    for k, v in m.items():
        if not isinstance(v, dict):  # the halves get their own table
            lines.append(f"| {k} | {v} | {b.get(k, '')} | {DEFINITIONS.get(k, '')} |")
    lines.append("")
    lines += _halves_lines(report)
    for c in chart_files:
        lines.append(f"![{c.stem}]({c.name})")
    lines += ["", f"## Failing cases ({len(report['failing'])})", ""]
    for f in report["failing"]:
        lines += _failing_lines(f)
    return "\n".join(lines)


def write_report(report: dict, folder: Path) -> Path:
    """Write charts, ``latest.json`` and ``report.md`` into ``folder``; return the Markdown file's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chart_files = charts(report, folder)
    (folder / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    out = folder / "report.md"
    out.write_text(_markdown(report, chart_files), encoding="utf-8")
    return out


# ---------------------------------------------------------------- charts


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _per_guide_chart(plt: Any, report: dict, folder: Path) -> Path | None:
    """hit@5 per guide, advisor beside baseline."""
    g = report["per_guide_hit@5"]
    gb = report.get("per_guide_hit@5_baseline", {})
    if not g:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.5))
    names = list(g)
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [g[n] for n in names], 0.4, label="advisor")
    ax.bar([x + 0.2 for x in xs], [gb.get(n, 0) for n in names], 0.4, label="baseline")
    ax.set_xticks(list(xs), [n.replace("-", "\n", 2) for n in names], fontsize=6)
    ax.set_ylim(0, 1.05)
    ax.set_title("hit@5 per guide")
    ax.legend()
    return _save(plt, fig, folder / "per_guide_hit.png")


def _retrieval_chart(plt: Any, report: dict, folder: Path) -> Path | None:
    """hit@5, MRR and nDCG@5, advisor beside baseline."""
    keys = [k for k in ("hit@5", "mrr", "ndcg@5") if k in report["metrics"]]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], [report["metrics"][k] for k in keys], 0.4, label="advisor")
    ax.bar([x + 0.2 for x in xs], [report["baseline"].get(k, 0) for k in keys], 0.4, label="baseline")
    ax.set_xticks(list(xs), keys)
    ax.set_ylim(0, 1.05)
    ax.set_title("retrieval vs tutorial baseline")
    ax.legend()
    return _save(plt, fig, folder / "metrics_vs_baseline.png")


def _latency_chart(plt: Any, report: dict, folder: Path) -> Path | None:
    """Histogram of retrieval and answer times per question."""
    lat = report.get("latency_ms", {})
    if not lat.get("retrieve"):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(lat["retrieve"], bins=30, alpha=0.7, label="retrieve")
    ax.hist(lat.get("answer", []), bins=30, alpha=0.7, label="answer")
    ax.set_xlabel("ms")
    ax.set_title("latency per question")
    ax.legend()
    return _save(plt, fig, folder / "latency_hist.png")


def charts(report: dict, folder: Path) -> list[Path]:
    """The PNG charts of ``report`` written into ``folder`` (none without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = (chart(plt, report, folder) for chart in (_per_guide_chart, _retrieval_chart, _latency_chart))
    return [p for p in made if p is not None]


def latest_report(settings: Settings | None = None) -> dict | None:
    """The last written ``latest.json`` (None when there is none or it cannot be read)."""
    f = (settings or get_settings()).reports_dir / "latest.json"
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None
