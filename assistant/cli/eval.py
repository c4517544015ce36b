"""CLI command ``eval``: run the eval suite, print a summary beside the baseline, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def eval_cmd(
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="JSONL dataset in the documented format (default: evals/gold.jsonl)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a metric falls below its threshold in evals/thresholds.json."),
    judge: Optional[str] = typer.Option(None, "--judge", help="LLM backend spec for an LLM-judged faithfulness figure (llamacpp:PATH or openai:MODEL@URL)."),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="Skip the tutorial-baseline retriever."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON (flat keys; the baseline under 'baseline')."),
) -> None:
    """Score retrieval, answers, drafts and audits against the guides (offline), beside a tutorial baseline."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from assistant.config import get_settings
    from assistant.evaluation import DEFINITIONS, check as check_report, run

    settings = get_settings(chroma_url=chroma_url)
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("Evaluating", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=f"Evaluating ({label})", completed=done, total=total)

        report = run(dataset=dataset, settings=settings, progress=progress, judge=judge, baseline=not no_baseline)
    failures = check_report(report) if check else []
    if as_json:
        from assistant.cli import emit_json

        emit_json({**report["metrics"], "baseline": report["baseline"], "failing_cases": len(report["failing"]), "check_failures": failures, "report": str(settings.reports_dir / "report.md")})
    else:
        t = Table(title=f"advisor eval: {report['cases']} cases ({report['answerable']} answerable, {report['unanswerable']} unanswerable)")
        halves = report["metrics"].get("halves") or {}
        tuning, heldout = halves.get("tuning") or {}, halves.get("heldout") or {}

        def cell(v) -> str:
            return f"{v:.4f}" if isinstance(v, float) else ("n/a" if v is None else str(v))

        t.add_column("metric")
        t.add_column("advisor", justify="right")
        t.add_column("tuning half", justify="right")
        t.add_column("held-out half", justify="right")
        t.add_column("baseline", justify="right")
        t.add_column("definition", overflow="fold")
        for k, v in report["metrics"].items():
            if k == "halves":  # shown as the two half columns
                continue
            t.add_row(k, cell(v), cell(tuning[k]) if k in tuning else "", cell(heldout[k]) if k in heldout else "", cell(report["baseline"].get(k, "")), DEFINITIONS.get(k, ""))
        Console().print(t)
        typer.echo(f"{len(report['failing'])} failing cases; report: {settings.reports_dir / 'report.md'}")
    if check:
        if failures:
            for f in failures:
                typer.echo(f"below threshold: {f}", err=True)
            raise typer.Exit(1)
        typer.echo("all metrics meet their thresholds (evals/thresholds.json)", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``advisor`` app."""
    app.command("eval")(eval_cmd)
