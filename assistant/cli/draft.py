"""`advisor draft` and `advisor audit`: the command-line face of assistant.writing (drafts and the audit).

`advisor draft` starts from the saved profile of ``--user`` (``local``; see ``advisor profile``):
every facts field the file and the flags leave out that the profile knows (the exam attempts
and their months, a gap's dates and reason, the graduation year, ...;
:func:`assistant.writing.facts_from_profile`) is filled from it, and stderr says which. The
fact guard checks the draft against those facts like any others. ``--no-profile`` drafts from
the file and flags alone.

Kept light at import time (typer only): the drafting, retrieval and model code is
imported inside the commands. User errors are raised as AdvisorError subclasses;
``assistant.cli.main`` prints them as one line on stderr and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

KIND_HELP = ("Kind: exam-failure, low-score, gap, professionalism, repeated-year, older-graduation, visa, "
             "specialty-switch, study-abroad or why-specialty.")
FORMAT_HELP = "Format: personal-statement, eras-additional-info or interview (default depends on the kind)."


"""Add the ``draft`` and ``audit`` commands to the ``advisor`` app."""

def draft_cmd(
    facts: Optional[Path] = typer.Option(None, "--facts", help="JSON file with your facts (see evals/DRAFTS.md); flags below override its fields."),
    kind: Optional[str] = typer.Option(None, "--kind", help=KIND_HELP),
    what: Optional[str] = typer.Option(None, "--what", help="What happened, in your own words (required)."),
    context: Optional[str] = typer.Option(None, "--context", help="Brief context: what was happening at the time."),
    insight: Optional[str] = typer.Option(None, "--insight", help="What you learned about yourself."),
    changes: Optional[str] = typer.Option(None, "--changes", help="What you changed since (or did during a gap)."),
    evidence: Optional[str] = typer.Option(None, "--evidence", help="Outcomes since: evidence it is resolved."),
    goals: Optional[str] = typer.Option(None, "--goals", help="What you hope to contribute (used by why-specialty)."),
    format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
    specialty: Optional[str] = typer.Option(None, "--specialty", help="medical-genetics or radiology."),
    audience: Optional[str] = typer.Option(None, "--audience", help="us-img or non-us-img."),
    llm: Optional[str] = typer.Option(None, "--llm", help="Polish the wording with a model: llamacpp:PATH.gguf or openai:MODEL@URL (default: ADVISOR_LLM, else none)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    no_profile: bool = typer.Option(False, "--no-profile", help="Do not fill missing facts from your saved profile (`advisor profile show`)."),
    user: str = typer.Option("local", "--user", help="Whose saved profile: local (default), or a user name signed in to `advisor serve --auth`."),
) -> None:
    """Draft a red-flag explanation or a why-this-specialty paragraph from your own facts (nothing invented); starts from your saved profile."""
    from assistant.cli.ask import saved_profile
    from assistant.writing import draft, facts_from_profile, load_facts, parse_facts, with_profile_facts

    flags = {"kind": kind, "what": what, "context": context, "insight": insight, "changes": changes,
             "evidence": evidence, "goals": goals, "format": format, "specialty": specialty, "audience": audience}
    given = {k: v for k, v in flags.items() if v is not None}
    profile = saved_profile(user, not no_profile)
    if facts is not None:
        parsed = load_facts(facts, flags, profile=profile)
    else:
        parsed = parse_facts(with_profile_facts(given, profile))
    if profile is not None:
        known = facts_from_profile(profile, parsed.kind)
        filled = [k for k, v in known.items() if k not in given and k not in ("kind", "specialty", "audience") and getattr(parsed, k) == v]
        if filled:
            typer.echo(f"from your saved profile: {', '.join(filled)} (--no-profile leaves them out)", err=True)
    from assistant.config import get_settings
    from assistant.llm import remote_warning

    warning = remote_warning(llm if llm is not None else get_settings().llm)
    if warning:
        typer.echo(warning, err=True)
    result = draft(parsed, llm=llm)
    if as_json:
        from assistant.cli import emit_json

        emit_json(result.to_json())
        return
    _print_draft(result)

def audit_cmd(
    profile: Path = typer.Option(..., "--profile", help="JSON profile (see evals/DRAFTS.md), or an eval file {\"profile\": ..., \"expected_flags\": ...}."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Audit an application profile: red flags, where to address each, strengths to build, score bands."""
    from assistant.writing import audit, load_profile, render

    result = audit(load_profile(profile))
    if as_json:
        from assistant.cli import emit_json

        emit_json(result.to_json())
        return
    render(result)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``advisor`` app."""
    app.command("draft")(draft_cmd)
    app.command("audit")(audit_cmd)


def _print_draft(result) -> None:
    """Terminal view of a draft: the text (unwrapped, no markup), then questions, checklist and sources."""
    from rich.console import Console
    from rich.text import Text

    from assistant.writing import FORMAT_NAMES

    console = Console(soft_wrap=True)
    length = f"{result.words} words" + (f", about {result.seconds:.0f} s spoken" if result.format == "interview" else "")
    ok = "" if result.length_ok else f" (outside {result.bounds[0]}–{result.bounds[1]})"
    polished = ", polished by the model" if result.polished else ""
    console.print(Text(f"{FORMAT_NAMES[result.format].capitalize()} ({result.kind}, {length}{ok}{polished})", style="bold"))
    console.print(Text(result.text))
    if result.missing:
        console.print(Text("\nTo complete it, answer:", style="bold"))
        for q in result.missing:
            console.print(Text(f"- {q}"))
    if result.warnings:
        console.print(Text("\nWording the guides warn against:", style="bold"))
        for w in result.warnings:
            console.print(Text(f"- {w['field']}: \"{w['text']}\": {w['message']}"))
    console.print(Text("\nChecklist from the guides:", style="bold"))
    for item in result.checklist:
        cite = f" [{item['citation']}]" if item["citation"] else f" ({item['source']})"
        console.print(Text(f"- {item['item']}{cite}"))
    if result.advice:
        console.print(Text("\nSources", style="bold"))
        for c in result.advice:
            console.print(Text(f"[{c.n}] {c.source} > {c.section}"))
    if result.guard:
        console.print(Text("\nFact guard (model wording rejected):", style="bold"))
        for v in result.guard:
            console.print(Text(f"- {v['message']}"))
    if result.note:
        console.print(Text(f"\n{result.note}"))
