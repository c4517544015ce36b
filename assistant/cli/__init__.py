"""`advisor`: the command-line interface.

A thin layer over the Python API: each command parses its options, calls the
same functions the tests and the UI call, and prints text or ``--json``. Every
:class:`~assistant.errors.AdvisorError` becomes one line on stderr and exit code 2.
Heavy libraries are imported inside the commands, so ``advisor --help`` is instant.
"""

from __future__ import annotations

import contextlib
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


def _register_commands() -> None:
    """Each command group lives in its own module and registers itself (kept light: no heavy imports)."""
    from assistant.cli import ask, draft, eval, index, serve, workspace

    for module in (index, ask, draft, eval, serve, workspace):
        module.register(app)


_register_commands()


class Interrupted(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM (see :func:`_on_signal`).

    A BaseException of our own, not KeyboardInterrupt: typer turns a
    KeyboardInterrupt into a silent ``Exit(130)`` and library code catches it in
    places (Gradio's server loop), so the CLI would exit 0 without a word.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    @property
    def word(self) -> str:
        import signal

        return "interrupted" if self.signum == signal.SIGINT else "terminated"


def _on_signal(signum, frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_as_interrupted():
    """SIGINT and SIGTERM raise :class:`Interrupted` while a command runs; the old handlers come back after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def main(argv: Optional[list[str]] = None) -> int:
    """Console-script entry point: run the app and return the exit code its command chose.

    0 success; 1 a check that failed (``eval --check`` below a threshold); 2 a user
    error (one ``error:`` line); 130 / 143 interrupted by SIGINT / SIGTERM (one line).
    """
    try:
        with _signals_as_interrupted():
            rv = app(args=argv, standalone_mode=False)  # typer returns the code of a typer.Exit here
    except Interrupted as exc:
        typer.echo(exc.word, err=True)
        return exc.exit_code
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
        from assistant.errors import storage_error

        problem = storage_error(exc)  # a read-only, full or misplaced ADVISOR_HOME met outside the index code
        if problem is not None:
            typer.echo(f"error: {problem}", err=True)
            return problem.exit_code
        if type(exc).__name__ == "Abort":
            typer.echo("aborted", err=True)
            return 1
        typer.echo(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}", err=True)
        return 1
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


def run() -> None:  # pragma: no cover - exercised by the subprocess tests
    """Exit with :func:`main`'s code; after a signal, skip interpreter shutdown.

    Native threads (ONNX Runtime's pool, Chroma's Rust runtime) can abort the
    process during finalization after a signal (``terminate called without an
    active exception``, exit 134). Every write is atomic, so leaving at once is safe.
    """
    import os

    code = main()
    if code in (130, 143):
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
