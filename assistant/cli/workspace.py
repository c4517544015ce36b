"""`advisor profile ...`, `advisor export`, `advisor forget`: the command-line face of assistant.workspace.

The applicant's saved profile (``profile show | set | edit | clear``), a complete copy of their
workspace (``export FILE.json``, mode 0600) and its deletion (``forget``). Every command takes
``--json``; ``--user`` picks another user's workspace (those of ``advisor serve --auth``'s
signed-in users), default ``local``. Kept light at import time (typer only); errors are
AdvisorError subclasses, which ``assistant.cli.main`` prints as one line (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from assistant.errors import InputError

USER_HELP = "Whose workspace: local (default), or a user name signed in to `advisor serve --auth`."
JSON_HELP = "Print one JSON document."
_USER = typer.Option("local", "--user", help=USER_HELP)
_JSON = typer.Option(False, "--json", help=JSON_HELP)


def _emit(obj) -> None:
    from assistant.cli import emit_json

    emit_json(obj)


def _show_profile(profile) -> str:
    return json.dumps(profile.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2)


def profile_show(user: str = _USER, as_json: bool = _JSON) -> None:
    """Show your saved applicant profile (the one `advisor audit` reads)."""
    from assistant.workspace import get_profile

    profile = get_profile(user)
    if as_json:
        _emit({"user": user, "profile": profile.model_dump(mode="json", exclude_none=True) if profile else None})
    elif profile is None:
        typer.echo(f"no profile saved for {user}; save one with `advisor profile set FILE.json` (fields: evals/DRAFTS.md)")
    else:
        typer.echo(_show_profile(profile))


def profile_set(
    file: Path = typer.Argument(..., help="JSON profile (fields: evals/DRAFTS.md), or an eval file {\"profile\": ...}."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Save a profile from a JSON file in place of the saved one (checked first, as `advisor audit` checks it)."""
    from assistant.workspace import set_profile
    from assistant.writing import load_profile

    profile = set_profile(user, load_profile(file))
    if as_json:
        _emit({"user": user, "profile": profile.model_dump(mode="json", exclude_none=True)})
    else:
        typer.echo(f"saved the profile for {user} ({profile.audience}, {profile.specialty}, graduated {profile.graduation_year})")


def parse_assignments(items: list[str]) -> dict:
    """``KEY=VALUE`` arguments -> ``{KEY: value}``; a value is JSON when it parses as JSON (2019, true, null), else text."""
    changes: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad change {item!r}: write KEY=VALUE, e.g. graduation_year=2019 or visa.needs_sponsorship=true")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            value = raw
        changes[key.strip()] = value
    return changes


def profile_edit(
    changes: list[str] = typer.Argument(..., help="KEY=VALUE changes: graduation_year=2019, visa.needs_sponsorship=true, exams.0.score=231; KEY=null removes a field."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Change fields of your saved profile (or start one); the result is checked before it is saved."""
    from assistant.workspace import edit_profile

    parsed = parse_assignments(changes)
    profile = edit_profile(user, parsed)
    if as_json:
        _emit({"user": user, "changed": sorted(parsed), "profile": profile.model_dump(mode="json", exclude_none=True)})
    else:
        typer.echo(f"saved the profile for {user}: changed {', '.join(sorted(parsed))}")


def profile_clear(user: str = _USER, as_json: bool = _JSON) -> None:
    """Delete your saved profile (conversations and drafts stay; `advisor forget` deletes everything)."""
    from assistant.workspace import clear_profile

    cleared = clear_profile(user)
    if as_json:
        _emit({"user": user, "cleared": cleared})
    else:
        typer.echo(f"deleted the saved profile of {user}" if cleared else f"no profile saved for {user}; nothing to delete")


def _summary(c: dict) -> str:
    return f"{c['profile']} profile, {c['conversations']} conversation(s) with {c['turns']} turn(s), {c['drafts']} draft(s)"


def export_cmd(
    file: Path = typer.Argument(..., help="Where to write the JSON copy (replaced atomically; readable by you only)."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Write a complete copy of your workspace (profile, conversations, drafts) to a JSON file."""
    from assistant.workspace import export_file

    c = export_file(user, file)
    if as_json:
        _emit({"user": user, "file": str(file), **c})
    else:
        typer.echo(f"exported {user}'s workspace to {file}: {_summary(c)} (file readable by you only)")


def forget_cmd(
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    user: str = _USER,
    as_json: bool = _JSON,
) -> None:
    """Delete your saved profile, conversations and drafts from this machine (`advisor export` first to keep a copy)."""
    from assistant.workspace import forget, workspace_file

    if not yes:
        if not sys.stdin.isatty():
            raise InputError("`advisor forget` deletes your saved profile, conversations and drafts; add --yes to confirm")
        typer.confirm(f"Delete {user}'s saved profile, conversations and drafts? This cannot be undone", abort=True)
    removed = forget(user)
    if as_json:
        _emit({"user": user, **removed})
        return
    if not any(removed[k] for k in ("profile", "conversations", "drafts")):
        typer.echo(f"nothing saved for {user}; nothing deleted")
        return
    where = (f"deleted {workspace_file()} (no other user's data was in it)" if removed["files"]
             else "the workspace file stays for other users, compacted so no deleted text remains")
    typer.echo(f"deleted for {user}: {_summary(removed)}; {where}")


def register(app: typer.Typer) -> None:
    """Add ``profile`` (show, set, edit, clear), ``export`` and ``forget`` to the ``advisor`` app."""
    profile = typer.Typer(help="Your saved applicant profile (kept in ADVISOR_HOME/workspace.sqlite3, readable by you only).",
                          no_args_is_help=True)
    profile.command("show")(profile_show)
    profile.command("set")(profile_set)
    profile.command("edit")(profile_edit)
    profile.command("clear")(profile_clear)
    app.add_typer(profile, name="profile")
    app.command("export")(export_cmd)
    app.command("forget")(forget_cmd)
