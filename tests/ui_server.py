"""Test helper: an ingested ADVISOR_HOME and a real ``advisor serve`` subprocess on loopback.

The UI tests drive the app the way a user (browser) or an API user
(``gradio_client``) would, so they need the real server rather than an
in-process ``Blocks``. :func:`ingested_home` builds the index once in a temp
home (the embedding model loads from ``ADVISOR_MODEL_CACHE`` as usual);
:func:`serve` starts ``python -m assistant.cli serve`` on a free 127.0.0.1 port,
waits (bounded) until the page answers, yields its URL and always stops it.
Server output goes to a log file whose tail is included in any startup error.
``serve(home, users=[("alice", "pw-a"), ("bob", "pw-b")])`` starts the same command
with ``--auth`` once per user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class ServerURL(str):
    """The URL :func:`serve` yields; after the ``with`` block, how the server ended.

    ``killed``: SIGTERM was not enough (the server was SIGKILLed and skipped its
    clean-up); ``returncode``: its exit status; ``log_path``: its output.
    """

    killed: bool = False
    returncode: int | None = None
    log_path: Path | None = None


_EMBEDDING_CACHE: list[Path] = []  # the first ingested home's embedding cache, reused by later homes


def ingested_home(path: Path, seed_cache: Path | None = None) -> Path:
    """Build the index of the bundled corpus in ``path`` (a fresh ADVISOR_HOME) and return it.

    The first home of a test session embeds everything (tens of seconds on two
    cores); later homes start from a copy of its embedding cache (vectors keyed
    by text hash, as ``advisor ingest`` reuses them), so they are indexed in
    seconds but are otherwise built from scratch.
    """
    from assistant.config import get_settings
    from assistant.ingestion.pipeline import ingest

    settings = get_settings(home=path)
    path.mkdir(parents=True, exist_ok=True)
    if seed_cache is not None and seed_cache.is_dir() and not _EMBEDDING_CACHE:
        _EMBEDDING_CACHE.append(seed_cache)  # e.g. the session index of tests/conftest.py
    if _EMBEDDING_CACHE and _EMBEDDING_CACHE[0].is_dir() and not settings.cache_dir.exists():
        shutil.copytree(_EMBEDDING_CACHE[0], settings.cache_dir)
    ingest(settings=settings)
    if not _EMBEDDING_CACHE and settings.cache_dir.is_dir():
        _EMBEDDING_CACHE.append(settings.cache_dir)
    return path


def server_env(home: Path, **extra: str) -> dict:
    """The environment for a server: this one (ADVISOR_MODEL_CACHE kept), a temp home, offline switches."""
    env = dict(os.environ)
    for key in ("ADVISOR_CHROMA_URL", "ADVISOR_LLM"):  # the tests use the embedded store and extractive answers
        env.pop(key, None)
    env.update(
        ADVISOR_HOME=str(home),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:  # a login page still means the server is up
        return exc.code in (401, 403)
    except (urllib.error.URLError, OSError):
        return False


def tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def serve(home: Path, *args: str, startup_timeout: float = 120.0, log_dir: Path | None = None, env: dict | None = None,
          users: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """Run ``advisor serve --port FREE *args`` with ADVISOR_HOME=home (and ``env`` on top); yield ``http://127.0.0.1:PORT``.

    ``users``: sign in with any of these (user, password) pairs (``--auth USER:PASS`` for each).
    """
    port = free_port()
    log_dir = log_dir or home
    log_path = log_dir / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--host", HOST, "--port", str(port), *args]
    for user in users or []:
        cmd += ["--auth", ":".join(user)]  # `advisor serve --auth` repeated: one login per user
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=server_env(home, **(env or {})), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://{HOST}:{port}"
    served = ServerURL(url)
    served.log_path = log_path
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"advisor serve exited with {proc.returncode} before answering:\n{tail(log_path)}")
            if _answers(url + "/"):
                if proc.poll() is not None:  # the page came from another process on this port, not ours
                    raise RuntimeError(f"advisor serve exited with {proc.returncode} although {url} answers:\n{tail(log_path)}")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"advisor serve did not answer within {startup_timeout:.0f} s:\n{tail(log_path)}")
            time.sleep(0.5)
        yield served
    finally:
        served.killed = stop(proc)
        served.returncode = proc.returncode


def stop(proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """SIGTERM the server's process group (it was started in its own session), then SIGKILL if needed; True if killed.

    The minute is for a loaded machine: a server that is SIGKILLed skips its own
    clean-up (the upload folder), which the tests that check it must be able to tell.
    """
    if proc.poll() is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
        return True


def server_log(home: Path) -> str:
    """Every server log written under ``home`` (for assertion messages)."""
    return "\n".join(f"--- {p.name}\n{tail(p, 60)}" for p in sorted(home.glob("serve-*.log")))


def choose_upload(pg, path: Path, timeout_error: type[Exception]) -> None:
    """Set ``path`` in the Library tab's upload widget of Playwright page ``pg`` and wait until the widget shows it.

    A file set before Gradio has wired the widget up is dropped, so it is set again
    (three tries); ``timeout_error`` is Playwright's TimeoutError.
    """
    shown = f"() => document.querySelector('#upload').innerText.includes({path.name!r})"
    for attempt in range(3):
        pg.set_input_files("#upload input[type=file]", str(path))
        try:
            pg.wait_for_function(shown, timeout=10_000)
            return
        except timeout_error:
            if attempt == 2:
                raise AssertionError(f"the upload widget never showed {path.name}: {pg.locator('#upload').inner_text()!r}") from None

