"""CLI command ``ask``: a grounded answer with numbered sources, matched to your saved profile.

By default the answer uses the saved profile of ``--user`` (``local``; see ``advisor profile``):
its audience and specialty when the command gives none, and its Step 2 CK score, graduation
year, gaps and visa for the guides' bands; the answer then ends with the facts it used.
``--no-profile`` answers from the question alone (the evals and the benchmark call the Python
API, which takes a profile only when given one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from assistant.errors import InputError


def print_answer(ans) -> None:
    """Readable terminal output: the answer, then each cited source (its own heading and guide id, one short line), then the note."""
    from assistant.schemas import section_label

    typer.echo(ans.answer)
    if ans.conflicts:
        typer.echo("\n(The guides disagree here; both statements are shown with their sources.)")
    if ans.unsupported:
        typer.echo(f"\nRemoved {len(ans.unsupported)} sentence(s) the guides do not support:")
        for s in ans.unsupported:
            typer.echo(f"  x {s}")
    if ans.citations:
        typer.echo("\nSources:")
        for c in ans.citations:
            typer.echo(f"  [{c.n}] {section_label(c.section)}  ({c.source})")
    typer.echo(f"\nNote: {ans.note}")


def _remote_notice(spec: str | None) -> None:
    """One stderr line when the backend sends text off this machine (the UI header says the same)."""
    from assistant.llm import remote_warning

    line = remote_warning(spec)
    if line:
        typer.echo(line, err=True)


def saved_profile(user: str, use: bool):
    """The saved profile of ``user`` (None with ``--no-profile`` or when none is saved).

    A profile that cannot be read is the usual one-line error (exit 2), which names the way
    out: fix it with ``advisor profile``, or ask without it.
    """
    if not use:
        return None
    from assistant.errors import AdvisorError
    from assistant.workspace import get_profile

    try:
        return get_profile(user)
    except AdvisorError as exc:
        raise type(exc)(f"{exc} (or leave your profile out: --no-profile)") from None


def ask(
    question: Optional[str] = typer.Argument(None, help="Your question, e.g. \"I failed Step 1; can I still match into radiology?\""),
    audience: Optional[str] = typer.Option(None, "--audience", help="Applicant profile: us-img or non-us-img."),
    specialty: Optional[str] = typer.Option(None, "--specialty", help="Specialty, e.g. medical-genetics or radiology."),
    llm: Optional[str] = typer.Option(None, "--llm", envvar="ADVISOR_LLM", help="Backend: extractive (default, no model), llamacpp:PATH.gguf, or openai:MODEL@BASE_URL."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="JSONL file of questions (as for `advisor retrieve --batch`); one JSON answer per line."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: answer, citations, abstained, conflicts, unsupported."),
    no_profile: bool = typer.Option(False, "--no-profile", help="Do not use your saved profile (`advisor profile show`); answer from the question alone."),
    user: str = typer.Option("local", "--user", help="Whose saved profile: local (default), or a user name signed in to `advisor serve --auth`."),
) -> None:
    """Answer a question from the guides, citing every passage used (or say the guides don't cover it); uses your saved profile."""
    from assistant.answering import ask as do_ask
    from assistant.cli import emit_json
    from assistant.cli.index import read_batch
    from assistant.config import get_settings
    from assistant.retrieval import validate_question

    if batch is None and question is None:
        raise InputError("give a QUESTION or --batch FILE.jsonl")
    if batch is not None and question is not None:
        raise InputError("give either a QUESTION or --batch, not both")
    settings = get_settings(chroma_url=chroma_url, llm=llm)
    if batch is None:
        validate_question(question)
        profile = saved_profile(user, not no_profile)
        _remote_notice(settings.llm)
        ans = do_ask(question, audience=audience, specialty=specialty, llm=llm, settings=settings, profile=profile)
        if as_json:
            emit_json(ans.to_json())
        else:
            print_answer(ans)
        return
    items = read_batch(batch)
    profile = saved_profile(user, not no_profile)
    _remote_notice(settings.llm)
    for item in items:
        ans = do_ask(item["question"], audience=item.get("audience"), specialty=item.get("specialty"), history=item.get("history"), llm=llm, settings=settings, profile=profile)
        if as_json:
            emit_json({"id": item["id"], **ans.to_json()})
        else:
            typer.echo(f"# {item['id']}: {item['question']}")
            print_answer(ans)
            typer.echo("")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``advisor`` app."""
    app.command()(ask)
