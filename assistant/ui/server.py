"""Serving the app: ``launch``, the Host and Origin checks, Gradio's upload temp folder, and the warm-up.

The server refuses a state-changing request sent by another site's page
(:class:`SameOriginWrites`, 403) and, on a loopback bind, any foreign Host header
(:func:`host_check`). It loads nothing from outside the machine: no share link,
no analytics, local fonts.

Gradio's temporary copy of an upload lives in ``$ADVISOR_HOME/tmp/uploads``
(:func:`upload_temp_dir`, never ``/tmp/gradio``); the Library tab deletes it once
the guide is added or rejected (:func:`discard_upload`) and ``advisor serve``
empties the folder at start and stop (:func:`clear_upload_temp_dir`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

import gradio as gr

from assistant.config import Settings, get_settings
from assistant.errors import AdvisorError
from assistant.ui.html import CSS, HEAD
from assistant.ui.shared import WARM

log = logging.getLogger("assistant.ui")

# --------------------------------------------------------------------------- upload temp folder


def upload_temp_dir(settings: Settings) -> Path:
    """Where Gradio keeps its temporary copies of uploads: ``$ADVISOR_HOME/tmp/uploads``.

    Inside the advisor's data folder (not ``/tmp/gradio``), so an uploaded guide,
    rejected ones too, never outlives the data it belongs to.
    """
    return settings.home / "tmp" / "uploads"


def use_upload_temp_dir(settings: Settings) -> Path:
    """Point Gradio's upload and cache folder at :func:`upload_temp_dir` (``GRADIO_TEMP_DIR``) and create it.

    Gradio 6 reads ``GRADIO_TEMP_DIR`` (default ``<system temp>/gradio``) through
    ``gradio.utils.get_upload_folder()`` when each component is created (its cache
    folder), when the server app is created (the folder ``/gradio_api/upload``
    writes to) and on every "was this file uploaded here" check, so it is set
    before the Blocks are built and stays set for the process. (Module constants
    read at import, in ``gradio.route_utils`` and ``gradio.mcp``, serve only video
    recording and MCP, which this app does not use.)
    """
    folder = upload_temp_dir(settings).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def clear_upload_temp_dir(settings: Settings) -> None:
    """Delete everything in :func:`upload_temp_dir` (stale copies of a previous run); the server calls it at start and stop."""
    folder = upload_temp_dir(settings)
    if folder.is_symlink() or not folder.is_dir():
        return
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def discard_upload(path: Path, root: Path) -> bool:
    """Delete Gradio's temporary copy of an upload and its emptied ``<sha256>`` folder; True if it was deleted.

    Only a file inside ``root`` (the upload temp folder) is touched, so a guide
    handed to the handler from anywhere else (a user's own file) is never deleted.
    """
    try:
        p, r = Path(path).resolve(), Path(root).resolve()
    except OSError:
        return False
    if p == r or not p.is_relative_to(r) or not p.is_file():
        return False
    try:
        p.unlink()
    except OSError:
        return False
    parent = p.parent
    while parent != r and parent.is_relative_to(r):
        try:
            parent.rmdir()  # only when empty: another upload of the same bytes may share it
        except OSError:
            break
        parent = parent.parent
    return True


# --------------------------------------------------------------------------- launching


def warm_up(settings: Settings | None = None) -> threading.Thread:
    """Load the index and embedding model in the background so the first question is quick.

    Uses the extractive path only (never a language model). A missing index is
    reported as one line on stderr; the UI still starts (guides can be added in
    the Library tab).
    """
    settings = settings or get_settings()

    def run() -> None:
        try:
            from assistant.answering import ask

            ask("How should I explain a gap in my training?", llm="extractive", settings=settings)
            WARM.set()
        except AdvisorError as exc:
            print(f"warning: {exc}", file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - a failed warm-up must not stop the server
            log.exception("warm-up failed")

    t = threading.Thread(target=run, name="advisor-warm-up", daemon=True)
    t.start()
    return t


def host_check(host: str) -> dict:
    """FastAPI kwargs that, on a loopback bind, refuse requests whose Host header is not this machine.

    A web page on another site can make the browser send requests to a server on
    127.0.0.1 by pointing its own domain at that address (DNS rebinding); the
    browser then sends that domain as the Host header, so checking it closes the
    hole. Other binds (``0.0.0.0``, a LAN address) serve names we cannot know, and
    IPv6 literals are left alone (Starlette's check does not parse ``[::1]:port``).
    """
    from assistant.net import is_loopback

    if not is_loopback(host) or ":" in host:
        return {}
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    names = sorted({"localhost", "127.0.0.1", host.strip().lower()})
    return {"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=names)]}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_netloc(netloc: str, scheme: str) -> str:
    """``host[:port]`` lower-cased, without the scheme's default port (browsers omit it in Origin and Host alike)."""
    netloc = netloc.strip().lower()
    default = DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(f":{default}") and not netloc.endswith("]"):
        netloc = netloc[: -len(default) - 1]
    return netloc


def same_origin(origin: str, host: str | None) -> bool:
    """True when an ``Origin`` header names this server as the browser reached it (the request's ``Host``).

    Only ``host:port`` is compared (the scheme only decides the default port): one
    port serves one protocol, and a TLS proxy in front may change the scheme the
    server sees. ``null`` (sandboxed frames, ``file:`` pages) is never this server.
    """
    from urllib.parse import urlsplit

    if not host:
        return False
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc or parts.path or parts.query or "@" in parts.netloc:
        return False
    return _origin_netloc(parts.netloc, parts.scheme) == _origin_netloc(host, parts.scheme)


class SameOriginWrites:
    """ASGI middleware: a state-changing request (not GET/HEAD/OPTIONS) whose ``Origin`` is another site gets 403.

    Any web page the user visits can make the browser POST to the loopback server
    (a multipart upload or a queued event needs no CORS preflight), and CORS only
    hides the answer from that page: the request itself still runs. Browsers send
    ``Origin`` with every such request, the app's own page included, so a foreign
    one is refused; requests without it (``gradio_client``, curl) are not from a
    browser page and pass as before. Hand-written because neither Starlette nor
    Gradio ships a middleware that refuses cross-origin writes (Starlette's
    ``CORSMiddleware`` and Gradio's CORS layer only set response headers).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method", "GET").upper() not in SAFE_METHODS:
            from starlette.datastructures import Headers

            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, headers.get("host")):
                from starlette.responses import PlainTextResponse

                log.warning("refused a %s %s from origin %r", scope.get("method"), scope.get("path"), origin[:200])
                await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def app_middleware(host: str) -> dict:
    """FastAPI kwargs for the server: the Host check of :func:`host_check` (loopback binds) and :class:`SameOriginWrites` (always).

    The Origin check stays on with ``--auth`` too: Gradio's login is a cookie
    (``SameSite=None``, and a second one without the attribute, which pages on
    another port of the same host still receive), so a logged-in browser can
    carry it on another page's POST; the login alone does not stop that write.
    """
    from starlette.middleware import Middleware

    return {"middleware": [*host_check(host).get("middleware", []), Middleware(SameOriginWrites)]}


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | list[tuple[str, str]] | None = None, quiet: bool = False) -> None:
    """Serve ``app`` (blocking): no share link, no analytics, local fonts, our CSS and click script.

    ``auth``: one (user, password) pair or a list of them; each signed-in user has their own workspace
    (the handlers read ``request.username``, :func:`assistant.ui.shared.user_of`).
    """
    app.queue(default_concurrency_limit=1, max_size=64)
    app.launch(
        app_kwargs=app_middleware(host),
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        auth_message="IMG Residency Advisor: sign in with the user and password given to `advisor serve --auth`." if auth else None,
        inbrowser=False,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["api", "settings"],
        max_file_size="25mb",
        theme=gr.themes.Default(),
        css=CSS,
        head=HEAD,
    )
