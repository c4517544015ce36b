"""`advisor`: the command-line interface.

A thin layer over the Python API: each command parses its options, calls the
same functions the tests and the UI call, and prints text or ``--json``. Every
:class:`~assistant.errors.AdvisorError` becomes one line on stderr and exit code 2.
Heavy libraries are imported inside the commands, so ``advisor --help`` is instant.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from assistant.errors import AdvisorError

app = typer.Typer(
    name="advisor",
    help="Offline advising assistant for international medical graduates (IMGs) applying to US residency.\n\n"
    "Answers only from the guide library, cites every passage, and drafts red-flag explanations from your own facts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

AUDIENCE_HELP = "Applicant profile: us-img or non-us-img."
SPECIALTY_HELP = "Specialty, e.g. medical-genetics or radiology."


def emit_json(obj) -> None:
    """Print one JSON document (UTF-8, not ASCII-escaped)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _register_optional_commands() -> None:
    """Commands owned by other modules register themselves here (kept light: no heavy imports)."""
    import importlib

    for mod in ("assistant.cli_index", "assistant.cli_ask", "assistant.cli_draft", "assistant.cli_eval", "assistant.cli_serve"):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a stage not built yet
            if exc.name == mod:
                continue
            raise
        module.register(app)


_register_optional_commands()


def main(argv: Optional[list[str]] = None) -> int:
    """Console-script entry point: run the app, turning user errors into one line + exit 2."""
    try:
        app(args=argv, standalone_mode=False)
    except AdvisorError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (typer.Exit,) as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors and anything unexpected: still one line
        # usage errors (bad option values, missing arguments) from click or typer's bundled click
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            return 2
        if type(exc).__name__ == "Abort":
            typer.echo("aborted", err=True)
            return 1
        typer.echo(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}", err=True)
        return 1
    return 0


def run() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
