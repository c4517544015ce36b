"""Shared fixtures: one real index of the bundled guides, built once per test session.

Everything is real: the packaged MiniLM model (ONNX export in the user's model
cache, made by `advisor setup`), an embedded Chroma store and a BM25 index in a
temporary ADVISOR_HOME.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADVISOR = [sys.executable, "-m", "assistant.cli"]


@pytest.fixture(scope="session")
def built_home(tmp_path_factory):
    """Settings for a temp ADVISOR_HOME holding an index of the bundled corpus."""
    from assistant.config import get_settings
    from assistant.ingestion.pipeline import ingest

    home = tmp_path_factory.mktemp("advisor-home")
    settings = get_settings(home=home)
    ingest(settings=settings)
    return settings


@pytest.fixture()
def fresh_home(tmp_path, built_home):
    """An ADVISOR_HOME with no index and its own copy of the corpus (safe to edit).

    Its vector cache is seeded from the session index (vectors are keyed by content
    hash), so building it costs seconds, not a full embedding run.
    """
    from assistant.config import get_settings

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = get_settings(home=tmp_path / "home", corpus_dir=corpus)
    settings.cache_dir.mkdir(parents=True)
    shutil.copy(built_home.cache_dir / "embcache.sqlite", settings.cache_dir / "embcache.sqlite")
    return settings


FIGURES = ROOT / "docs" / "SAFETY.md"


def record_figure(key: str, text: str) -> None:
    """Print a figure; with ADVISOR_WRITE_SAFETY_FIGURES=1 also write it into docs/SAFETY.md (between its markers)."""
    print(f"\nFIGURE {key}: {text}")
    if os.environ.get("ADVISOR_WRITE_SAFETY_FIGURES") == "1" and FIGURES.exists():
        doc = FIGURES.read_text(encoding="utf-8")
        new = re.sub(rf"(<!-- fig:{key} -->).*?(<!-- /fig -->)", lambda m: m.group(1) + text + m.group(2), doc, flags=re.S)
        FIGURES.write_text(new, encoding="utf-8")


def run_cli(args, env_home=None, extra_env=None, input_text=None, timeout=300):
    """Run `advisor ARGS` in a subprocess (the way a user does); return CompletedProcess."""
    env = dict(os.environ)
    if env_home is not None:
        env["ADVISOR_HOME"] = str(env_home)
    env.update(extra_env or {})
    return subprocess.run(ADVISOR + list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, input=input_text)


def one_error_line(proc, *needles: str) -> str:
    """Assert a CLI run failed the way a user-fixable fault must: exit 2 and exactly one ``error:`` line.

    No traceback and no "unexpected" on stderr; each of ``needles`` is in the line. Returns the line.
    """
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "unexpected" not in err, proc.stderr
    assert err.count("\n") == 0 and err.startswith("error:"), proc.stderr
    for n in needles:
        assert n in err, (n, err)
    return err

