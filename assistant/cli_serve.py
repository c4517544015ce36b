"""CLI command ``serve``: the local web UI (see :mod:`assistant.ui`).

Bound to 127.0.0.1 unless ``--host`` says otherwise; binding any other address
without ``--auth`` prints a warning, because the UI then answers anyone who can
reach the port. ``--auth USER:PASS`` is enforced by Gradio's login page and API.
Only typer is imported at module level (``advisor --help`` stays instant);
gradio is imported when the command runs.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Optional

import typer

from assistant.errors import InputError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    """True only for addresses that other machines cannot reach (127.0.0.0/8, ::1, localhost).

    ``0.0.0.0`` and ``::`` are *not* loopback here: they listen on every interface.
    """
    h = (host or "").strip().strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def parse_auth(value: Optional[str]) -> Optional[tuple[str, str]]:
    """``USER:PASS`` -> (user, password); raises InputError for anything else (exit code 2)."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise InputError("--auth must be USER:PASS (a user name, a colon, and a non-empty password)")
    if any(c.isspace() for c in user):
        raise InputError("--auth: the user name must not contain spaces")
    return user, password


def host_warning(host: str, auth: Optional[tuple[str, str]]) -> Optional[str]:
    """The stderr warning for a non-loopback bind without --auth (None when there is nothing to say)."""
    if is_loopback(host) or auth:
        return None
    return (
        f"warning: serving on {host}, which other machines can reach, without --auth: "
        "anyone on the network can use the advisor and change its library. Add --auth USER:PASS or use --host 127.0.0.1."
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Default 127.0.0.1 (this machine only)."),
        port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
        auth: Optional[str] = typer.Option(None, "--auth", help="Require a login: USER:PASS."),
        llm: Optional[str] = typer.Option(None, "--llm", envvar="ADVISOR_LLM", help="Answer backend: extractive (default, no model), llamacpp:PATH.gguf, or openai:MODEL@BASE_URL."),
        chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
    ) -> None:
        """Start the web UI: chat with cited answers, drafts, audit, guide library and eval report."""
        credentials = parse_auth(auth)
        if not host.strip():
            raise InputError("--host must not be empty")
        warning = host_warning(host, credentials)
        if warning:
            typer.echo(warning, err=True)
        from assistant.llm import describe_backend, parse_spec

        if llm:
            parse_spec(llm)  # a malformed spec fails now, with exit code 2

        from assistant.config import get_settings

        settings = get_settings(chroma_url=chroma_url, llm=llm)
        backend = describe_backend(settings.llm)
        typer.echo(f"answer backend: {backend['name']} ({backend['detail']})", err=True)
        if not backend["local"]:
            typer.echo("warning: a remote LLM is configured: questions and guide passages are sent off this machine", err=True)

        from assistant.ui import build_app, launch, warm_up

        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"IMG Residency Advisor on http://{shown}:{port}" + (" (login required)" if credentials else ""), err=True)
        sys.stderr.flush()
        app_ = build_app(settings=settings, llm=settings.llm)
        warm_up(settings)
        launch(app_, host=host, port=port, auth=credentials)
