"""Cold start: `advisor ask` / `advisor retrieve` stay light (no torch, gradio, LangChain, sentence-transformers).

Each check runs the real CLI entry point in a fresh interpreter on a built index
and then lists what ended up in ``sys.modules``. The ONNX engine must be in use
(`advisor setup` exports it; the fixture makes sure it exists) so no torch is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "gradio", "langchain_core", "sentence_transformers")
# also reported (not asserted): libraries that are slow to import but not forbidden
WATCH = ("langchain", "langchain_text_splitters", "transformers", "sklearn", "scipy", "pandas", "matplotlib", "chromadb", "onnxruntime")

PROBE = r"""
import json, sys
from assistant.cli import main
code = main(sys.argv[1:])
from assistant.store import get_embedder
from assistant.config import get_settings
emb = get_embedder(get_settings().cache_dir)
tops = sorted({m.split(".")[0] for m in sys.modules})
sys.stderr.write("\nPROBE " + json.dumps({"code": code, "modules": tops, "engine": getattr(emb._engine, "name", None)}) + "\n")
"""


@pytest.fixture(scope="module")
def onnx_ready():
    from assistant.store.engines import export_onnx, onnx_path

    if not onnx_path().exists():  # normally made by `advisor setup` (make install)
        export_onnx()
    return onnx_path()


def _probe(args, home) -> dict:
    env = dict(os.environ, ADVISOR_HOME=str(home))
    env.pop("ADVISOR_CHROMA_URL", None)
    env.pop("ADVISOR_EMBEDDINGS", None)
    env.pop("ADVISOR_LLM", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert line, f"probe failed: {proc.stderr[-2000:]}"
    out = json.loads(line[-1][len("PROBE ") :])
    assert out["code"] == 0, proc.stderr[-2000:]
    out["stdout"] = proc.stdout
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "I failed Step 1; can I still match into radiology?"],
        ["ask", "--json", "--audience", "non-us-img", "--specialty", "radiology", "How should I explain a failed Step 1 attempt?"],
        ["retrieve", "How many genetics programs should a US citizen IMG apply to?"],
    ],
    ids=["ask", "ask-json-profile", "retrieve"],
)
def test_cold_cli_does_not_import_heavy_libraries(built_home, onnx_ready, args):
    out = _probe(args, built_home.home)
    assert out["stdout"].strip(), "the command printed nothing"
    assert out["engine"] == "onnx", "the ONNX engine should answer queries (torch is the slow fallback)"
    loaded = [m for m in HEAVY if m in out["modules"]]
    assert not loaded, f"cold `advisor {args[0]}` imported {loaded}"
    print(f"{args[0]}: also loaded {[m for m in WATCH if m in out['modules']]}")
