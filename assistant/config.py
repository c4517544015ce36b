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

Read here too, by the functions below (the one place environment variables are read):

- ``ADVISOR_MODEL_CACHE``: machine-wide folder of the exported ONNX model;
- ``ADVISOR_EMBEDDINGS``: embedding engine (``auto``, ``onnx``, ``torch``);
  ``ADVISOR_EMBED_THREADS``: embedding worker threads;
- ``ADVISOR_LLM_N_CTX``: llama.cpp context size; ``OPENAI_API_KEY``: key for an
  OpenAI-compatible server;
- ``ADVISOR_PASSAGE_MAX_WORDS``, ``ADVISOR_EMBED_FORMAT``: passage size and embedded text
  layout, for retrieval studies (defaults in :mod:`assistant.tuning`);
- ``ADVISOR_DOMAIN_FILE``: another vocabulary file (see :mod:`assistant.domain`);
- ``ADVISOR_TEST_CRASH_AFTER``: crash-safety tests only (kill ingest at a step).

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


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def model_cache_override() -> Path | None:
    v = _env("ADVISOR_MODEL_CACHE")
    return Path(v) if v else None


def embeddings_engine() -> str:
    return _env("ADVISOR_EMBEDDINGS") or "auto"


def embed_threads() -> int | None:
    v = _env("ADVISOR_EMBED_THREADS") or ""
    return int(v) if v.isdigit() and int(v) > 0 else None


def llm_spec() -> str | None:
    return _env("ADVISOR_LLM")


def llm_n_ctx() -> str | None:
    return _env("ADVISOR_LLM_N_CTX")


def openai_api_key() -> str | None:
    return _env("OPENAI_API_KEY")


def passage_max_words() -> int:
    from assistant.tuning import PASSAGE_MAX_WORDS

    return int(_env("ADVISOR_PASSAGE_MAX_WORDS") or PASSAGE_MAX_WORDS)


def embed_format() -> str:
    return _env("ADVISOR_EMBED_FORMAT") or "{title}\n{section}\n{text}"


def domain_file() -> Path | None:
    v = _env("ADVISOR_DOMAIN_FILE")
    return Path(v) if v else None


def crash_after() -> str | None:
    """Crash-safety tests only: the ingest step after which to SIGKILL the process."""
    return _env("ADVISOR_TEST_CRASH_AFTER")
