"""CLI command ``serve``: the local web UI (see :mod:`assistant.ui`).

Bound to 127.0.0.1 unless ``--host`` says otherwise; binding any other address
without ``--auth`` prints a warning, because the UI then answers anyone who can
reach the port. ``--auth USER:PASS`` is enforced by Gradio's login page and API.
A port that is already taken is reported (one ``error:`` line, exit code 2)
before the app is built. Uploads are kept in ``$ADVISOR_HOME/tmp/uploads``,
emptied when the server starts and stops.
Only typer is imported at module level (``advisor --help`` stays instant);
gradio is imported when the command runs.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Optional

import typer

from assistant.errors import InputError
from assistant.net import is_loopback

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


GRADIO_PRECHECK = "127.0.0.1"  # Gradio's launch() test-binds this address first, whatever --host is


def _bind_error(family: int, kind: int, proto: int, address: tuple) -> OSError | None:
    """Bind (and release) one socket as the server would; the OSError, or None when the bind worked."""
    with socket.socket(family, kind, proto) as sock:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return exc
    return None


def check_port_free(host: str, port: int) -> None:
    """Raise InputError unless the server will be able to listen on ``host:port``; binds and releases test sockets.

    Binds the way the real server does: Gradio first test-binds 127.0.0.1:port
    (for any ``--host``), then uvicorn listens through asyncio's ``create_server``
    on every address ``host`` resolves to, with ``SO_REUSEADDR`` on (POSIX; a port
    still in TIME_WAIT after a restart is free, one with a listening socket is
    not), IPv6 sockets IPv6-only, and an address family the machine lacks
    skipped. Without this, a busy port shows up only after the app is built, as
    Gradio's advice to set GRADIO_SERVER_PORT, an option this CLI does not read.
    """
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        addresses = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"cannot listen on {host}: the name does not resolve ({getattr(exc, 'strerror', None) or exc}); check --host") from None
    bound = 0
    for family, kind, proto, _, address in dict.fromkeys(addresses):
        exc = _bind_error(family, kind, proto, address)
        if exc is None:
            bound += 1
        elif exc.errno == errno.EADDRINUSE:
            raise InputError(f"port {port} on {host} is already in use; choose another with --port")
        elif exc.errno == errno.EACCES:
            raise InputError(f"port {port} on {host} needs administrator rights; choose one above 1023 with --port")
        elif exc.errno != errno.EADDRNOTAVAIL:  # EADDRNOTAVAIL: that address family is not enabled here (asyncio skips it too)
            raise InputError(f"cannot listen on {host} port {port} ({exc.strerror or exc}); check --host and --port")
    if not bound:
        raise InputError(f"cannot listen on {host}: it is not an address of this machine; check --host")
    exc = _bind_error(socket.AF_INET, socket.SOCK_STREAM, 0, (GRADIO_PRECHECK, port))
    if exc is not None and exc.errno == errno.EADDRINUSE:
        raise InputError(f"port {port} on {GRADIO_PRECHECK} is already in use; choose another with --port")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Default 127.0.0.1 (this machine only)."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    auth: Optional[list[str]] = typer.Option(None, "--auth", help="Require a login: USER:PASS. Repeat it for several users; each has their own profile, conversations and drafts."),
    llm: Optional[str] = typer.Option(None, "--llm", envvar="ADVISOR_LLM", help="Answer backend: extractive (default, no model), llamacpp:PATH.gguf, or openai:MODEL@BASE_URL."),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", envvar="ADVISOR_CHROMA_URL", help="Use a Chroma server instead of the embedded store."),
) -> None:
    """Start the web UI: chat with cited answers, drafts, audit, guide library and eval report."""
    logins = [parse_auth(a) for a in auth or []]
    if len({u for u, _ in logins}) < len(logins):
        raise InputError("--auth: each user name may be given once")
    credentials = logins[0] if len(logins) == 1 else (logins or None)
    if not host.strip():
        raise InputError("--host must not be empty")
    warning = host_warning(host, credentials)
    if warning:
        typer.echo(warning, err=True)
    from assistant.llm import describe_backend, parse_spec

    if llm:
        parse_spec(llm)  # a malformed spec fails now, with exit code 2
    check_port_free(host, port)  # in a second, not after the app is built

    from assistant.config import get_settings

    settings = get_settings(chroma_url=chroma_url, llm=llm)
    backend = describe_backend(settings.llm)
    typer.echo(f"answer backend: {backend['name']} ({backend['detail']})", err=True)
    if not backend["local"]:
        typer.echo("warning: a remote LLM is configured: questions and guide passages are sent off this machine", err=True)

    from assistant.ui import build_app, clear_upload_temp_dir, launch, warm_up

    shown = f"[{host.strip('[]')}]" if ":" in host else host
    typer.echo(f"IMG Residency Advisor on http://{shown}:{port}" + (" (login required)" if credentials else ""), err=True)
    sys.stderr.flush()
    clear_upload_temp_dir(settings)  # copies a previous run left (it was killed, or the upload never added)
    try:
        app_ = build_app(settings=settings, llm=settings.llm)
        warm_up(settings)
        launch(app_, host=host, port=port, auth=credentials)
    finally:
        clear_upload_temp_dir(settings)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``advisor`` app."""
    app.command()(serve)
