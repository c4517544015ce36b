"""Settings: where data lives, which Chroma and LLM to use, and the privacy switches.

Everything is read from environment variables with sensible defaults so the CLI,
the UI and the tests share one source of truth:

- ``ADVISOR_HOME``: data directory (index, caches, eval reports). Default: the
  platform's user data dir (``~/.local/share/img-advisor`` on Linux).
- ``ADVISOR_CHROMA_URL``: use a Chroma server (``http://host:port``) instead of
  the embedded ``PersistentClient``.
- ``ADVISOR_LLM``: answer backend (``extractive`` default, ``llamacpp:PATH``,
  ``openai:MODEL@BASE_URL``).
- ``ADVISOR_CORPUS``: the bundled guide folder (default: ``corpus/`` of the checkout).

:func:`offline_env` is called at import time of the package so that no library
phones home: Chroma telemetry, Gradio analytics and the Hugging Face hub are off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent

#: Longest question accepted anywhere (CLI, API, UI).
MAX_QUESTION_CHARS = 2000

OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime: else every import writes a device id and an event store under ~/.cache/Microsoft
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_env() -> None:
    """Force every privacy/offline switch on (a user cannot turn telemetry back on by accident)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def _default_home() -> Path:
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("img-advisor", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".local" / "share" / "img-advisor"


def _default_corpus() -> Path:
    env = os.environ.get("ADVISOR_CORPUS")
    if env:
        return Path(env)
    return PROJECT_DIR / "corpus"


@dataclass
class Settings:
    home: Path = field(default_factory=lambda: Path(os.environ.get("ADVISOR_HOME") or _default_home()))
    chroma_url: str | None = field(default_factory=lambda: os.environ.get("ADVISOR_CHROMA_URL") or None)
    llm: str = field(default_factory=lambda: os.environ.get("ADVISOR_LLM") or "extractive")
    corpus_dir: Path = field(default_factory=_default_corpus)

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def get_settings(**overrides) -> Settings:
    s = Settings()
    for k, v in overrides.items():
        if v is not None:
            setattr(s, k, Path(v) if k in ("home", "corpus_dir") else v)
    return s
