"""CLI commands for the library and retrieval: ``ingest``, ``retrieve``, ``library``, ``remove``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from assistant.errors import InputError


def _settings(chroma_url: Optional[str] = None, home: Optional[Path] = None):
    from assistant.config import get_settings

    return get_settings(chroma_url=chroma_url, home=home)


def read_batch(path: Path) -> list[dict]:
    """Read a JSONL batch file: one ``{"id", "question", "audience"?, "specialty"?}`` per line.

    Blank lines are skipped; anything else that is not such an object is an
    InputError naming the line number.
    """
    from assistant.jsonl import read_objects

    items = []
    allowed = {"id", "question", "audience", "specialty", "history", "turns"}
    for n, obj in read_objects(path, allowed, "batch file"):
        if not isinstance(obj.get("question"), str):
            raise InputError(f"{path}: line {n}: 'question' must be a string")
        for key in ("audience", "specialty"):
            if key in obj and obj[key] is not None and not isinstance(obj[key], str):
                raise InputError(f"{path}: line {n}: '{key}' must be a string")
        if "id" in obj and not isinstance(obj["id"], (str, int)):
            raise InputError(f"{path}: line {n}: 'id' must be a string or number")
        if isinstance(obj.get("id"), str) and any("\ud800" <= ch <= "\udfff" for ch in obj["id"]):  # "\udc80" escapes: not text
            raise InputError(f"{path}: line {n}: 'id' is not valid text")
        from assistant.retrieval import normalize_profile, validate_question

        try:
            validate_question(obj["question"])
            normalize_profile(obj.get("audience"), obj.get("specialty"))
        except InputError as exc:
            raise InputError(f"{path}: line {n}: {exc}") from None
        obj.setdefault("id", n)
        items.append(obj)
    if not items:
        raise InputError(f"{path}: no questions in the batch file")
    return items


def setup(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Prepare the embedding model for fast start: export the packaged model to ONNX (no download) and check it."""
    import time

    from assistant.store import export_onnx, model_dir, onnx_path

    t0 = time.perf_counter()
    existed = onnx_path().exists()
    try:
        path = export_onnx()
    except Exception as exc:  # the torch engine still works; say so instead of failing the install
        msg = f"ONNX export failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); the slower torch engine will be used"
        if as_json:
            from assistant.cli import emit_json

            emit_json({"model": str(model_dir()), "onnx": None, "warning": msg})
        else:
            typer.echo(f"warning: {msg}", err=True)
        return
    info = {"model": str(model_dir()), "onnx": str(path), "exported": not existed, "seconds": round(time.perf_counter() - t0, 2)}
    if as_json:
        from assistant.cli import emit_json

        emit_json(info)
    else:
        typer.echo(f"embedding model ready: {path}" + (" (exported now)" if not existed else " (already exported)"))

def ingest(
    paths: Optional[list[Path]] = typer.Argument(None, help="Guide files or folders to add (.txt, .md, .html, .pdf). None: re-sync the library (bundled corpus by default)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the index from scratch (cached vectors are still reused)."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Index the guide library: clean, chunk, embed (only new text) and swap in the new index."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.ingestion import ingest as do_ingest

    err = Console(stderr=True)
    warnings: list[str] = []

    def warn(msg: str) -> None:
        warnings.append(msg)
        err.print(f"[yellow]warning:[/] {msg}", highlight=False, markup=True, soft_wrap=True)

    settings = _settings(chroma_url)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task({"embed": "Embedding new passages", "index": "Writing index"}.get(stage, stage), total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        report = do_ingest(paths or None, settings=settings, rebuild=rebuild, progress=progress, warn=warn)
    if as_json:
        from assistant.cli import emit_json

        emit_json({**report.to_json(), "warnings": warnings})
        return
    parts = [f"{report.documents} guides, {report.chunks} passages"]
    if report.distinct and report.distinct < report.chunks:
        parts[0] += f" ({report.distinct} distinct: repeated passages are stored once)"
    for label, items in (("added", report.added), ("updated", report.updated), ("removed", report.removed), ("unchanged", report.unchanged), ("skipped", report.skipped)):
        if items:
            parts.append(f"{len(items)} {label}")
    parts.append(f"{report.embedded} passages embedded")
    state = "new index generation %d live" % report.generation if report.swapped else "index unchanged"
    if rebuild:
        parts[0] = f"rebuilt the index from {report.documents} guides ({report.user_guides} added by you), {report.chunks} passages"
    typer.echo(f"{'; '.join(parts)}; {state} ({report.seconds:.1f} s)")

def retrieve(
    question: Optional[str] = typer.Argument(None, help="The question to search the guides for."),
    k: int = typer.Option(5, "-k", "--k", min=1, max=100, help="How many passages to return."),
    audience: Optional[str] = typer.Option(None, "--audience", help="Applicant profile: us-img or non-us-img."),
    specialty: Optional[str] = typer.Option(None, "--specialty", help="Specialty, e.g. medical-genetics or radiology."),
    strict: bool = typer.Option(False, "--strict", help="Filter out guides written for another profile instead of down-ranking them."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="JSONL file of questions; one result line per input line, in order."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the guide passages that best match a question (hybrid dense + BM25 search)."""
    from assistant.retrieval import get_retriever, validate_question

    if batch is None and question is None:
        raise InputError("give a QUESTION or --batch FILE.jsonl")
    if batch is not None and question is not None:
        raise InputError("give either a QUESTION or --batch, not both")
    items = read_batch(batch) if batch is not None else [{"question": validate_question(question), "audience": audience, "specialty": specialty}]
    r = get_retriever(_settings(chroma_url))
    from assistant.cli import emit_json

    for item in items:
        hits = r.search(item["question"], k=k, audience=item.get("audience"), specialty=item.get("specialty"), strict=strict)
        if batch is not None:
            out = {"id": item["id"], "results": [h.to_json() for h in hits]}
            if as_json:
                emit_json(out)
            else:
                typer.echo(f"# {item['id']}: {item['question']}")
                _print_hits(hits)
        elif as_json:
            emit_json({"question": item["question"], "results": [h.to_json() for h in hits]})
        else:
            _print_hits(hits)

def library_cmd(
    passages: Optional[str] = typer.Option(None, "--passages", metavar="SOURCE", help="Show how one guide (its id, see the list) was cut into passages."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the indexed guides (title, audience, specialty, passages, last ingested), or one guide's passages."""
    if passages is not None:
        _print_passages(passages, _settings(chroma_url), as_json)
        return
    from assistant.ingestion import library

    docs = library(_settings(chroma_url))
    if as_json:
        from assistant.cli import emit_json

        emit_json(docs)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("source", "title", "audience", "specialty", "passages", "ingested")
    for d in docs:
        t.add_row(d["source"], d["title"], d["audience"], d["specialty"], str(d["chunks"]), d["ingested_at"])
    Console().print(t)

def _print_passages(source: str, settings, as_json: bool) -> None:
    """``advisor library --passages SOURCE``: every passage whole, under its heading path, then the summary line."""
    from assistant.ingestion import passage_summary, passage_summary_line, passages

    items = passages(source, settings)
    summary = passage_summary(items)
    if as_json:
        from assistant.cli import emit_json

        emit_json({"source": source, "passages": items, "summary": summary})
        return
    for p in items:
        typer.echo(f"[{p['n']}] {p['section']}  ({p['words']} words)")
        for line in p["text"].splitlines():
            typer.echo(f"    {line}".rstrip())
        typer.echo("")
    typer.echo(passage_summary_line(summary))

def remove(
    source: str = typer.Argument(..., help="The guide id (file stem) to take out of the library."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove a guide from the index (the file itself is not deleted)."""
    from assistant.ingestion import remove as do_remove

    report = do_remove(source, _settings(chroma_url))
    if as_json:
        from assistant.cli import emit_json

        emit_json(report.to_json())
    else:
        typer.echo(f"removed {source}; {report.documents} guides, {report.chunks} passages remain")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``advisor`` app."""
    app.command()(setup)
    app.command()(ingest)
    app.command()(retrieve)
    app.command("library")(library_cmd)
    app.command()(remove)


def _print_hits(hits) -> None:
    for i, h in enumerate(hits, 1):
        typer.echo(f"[{i}] {h.source} — {h.section}  (score {h.score:.4f})")
        text = h.text if len(h.text) <= 600 else h.text[:600].rsplit(" ", 1)[0] + " …"
        for line in text.splitlines():
            typer.echo(f"    {line}")
        typer.echo("")
    sys.stdout.flush()
