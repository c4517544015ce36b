"""Server mode: a real `chroma run` on loopback holds the index; ingest and retrieve go through it."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.config import get_settings
from assistant.ingestion.pipeline import ingest
from assistant.retrieval import Retriever


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        exe = shutil.which("chroma")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen([str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited")
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_ingest_and_retrieve_through_a_chroma_server(chroma_server, fresh_home):
    settings = get_settings(home=fresh_home.home, corpus_dir=fresh_home.corpus_dir, chroma_url=chroma_server)
    rep = ingest(settings=settings)
    assert rep.swapped and rep.documents == 5
    assert not (settings.index_dir / "chroma").exists(), "nothing written to the embedded store"
    import chromadb

    host, port = chroma_server.rsplit(":", 1)
    names = [c if isinstance(c, str) else c.name for c in chromadb.HttpClient(host="127.0.0.1", port=int(port)).list_collections()]
    assert any(n.endswith("chunks_g1") for n in names)
    hits = Retriever(settings).search("What Step 2 CK score range is competitive for medical genetics?", k=5, audience="non-us-img")
    assert any("245" in h.text for h in hits)
    again = ingest(settings=settings)
    assert again.embedded == 0 and not again.swapped


def test_unreachable_chroma_server_is_one_line_error(fresh_home):
    from tests.conftest import run_cli

    proc = run_cli(["ingest", "--chroma-url", f"http://127.0.0.1:{_free_port()}"], env_home=fresh_home.home, extra_env={"ADVISOR_CORPUS": str(fresh_home.corpus_dir)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "ADVISOR_CHROMA_URL" in proc.stderr
