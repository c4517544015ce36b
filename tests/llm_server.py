"""Test helper: run a real OpenAI-compatible server (``python -m llama_cpp.server``) on loopback.

Tests that exercise the ``openai:MODEL@URL`` backend need a real server rather
than a mock, and the only one available offline is llama-cpp-python's own
server serving the bundled SmolLM2 GGUF. This module starts it on a free
127.0.0.1 port, waits (bounded) until ``/v1/models`` answers, and always stops
it. It also hands out a *closed* loopback port for "unreachable server" tests.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    return free_port()


def server_missing_modules() -> list[str]:
    """Python modules that ``llama_cpp.server`` needs and this interpreter lacks (empty when runnable)."""
    import importlib.util

    needed = ["llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"]
    return [name for name in needed if importlib.util.find_spec(name) is None]


def _models_answer(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
            return resp.status == 200 and "data" in json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextlib.contextmanager
def serve_llama(model: Path, *, n_ctx: int = 2048, n_threads: int = 2, startup_timeout: float = 180.0) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` for ``model`` and yield its base URL (``http://127.0.0.1:PORT/v1``).

    Output goes to a temp file (a full pipe would block the server); when the
    server exits early or does not answer within ``startup_timeout`` seconds the
    log tail is included in the raised ``RuntimeError``. The process is
    terminated (then killed) on exit, whatever happened.
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}/v1"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", HOST,
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
    ]
    with tempfile.TemporaryFile(mode="w+b") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def log_tail() -> str:
            log.flush()
            log.seek(0)
            return log.read().decode("utf-8", "replace")[-2000:]

        try:
            deadline = time.monotonic() + startup_timeout
            while not _models_answer(base_url):
                if proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited with code {proc.returncode}:\n{log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not answer within {startup_timeout:.0f}s:\n{log_tail()}")
                time.sleep(0.5)
            yield base_url
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)
