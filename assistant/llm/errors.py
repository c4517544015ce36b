"""Translating library exceptions (openai, httpx, sockets) raised by a chat model into one-line BackendErrors.

Connection problems only show up when a model is called, not when it is built,
so everything that calls a model (:func:`~assistant.llm.invoke_chat`,
:func:`~assistant.llm.stream_chat`, LangChain chains in the answering package)
wraps the call in :func:`backend_errors`. Each message names the setting to
change (``--llm/ADVISOR_LLM``, ``OPENAI_API_KEY``) and where the model runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from assistant.errors import BackendError
from assistant.llm.openai_compat import OPENAI_URL

__all__ = ["backend_errors", "translate_error", "where"]


def where(model: Any) -> str:
    """Best-effort description of where a chat model runs, for error messages."""
    url = getattr(model, "openai_api_base", None)
    if url:
        return str(url)
    path = getattr(model, "model_path", None)
    if path:
        return str(path)
    return OPENAI_URL if type(model).__name__ == "ChatOpenAI" else type(model).__name__


def _openai_error(exc: BaseException, model: Any, place: str) -> BackendError | None:
    """The BackendError for an ``openai`` client exception (None when it is not one)."""
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on openai
        return None
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"LLM server at {place} timed out; check that it is running and fast enough, or fix --llm/ADVISOR_LLM")
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"cannot reach the LLM server at {place}; start it or fix --llm/ADVISOR_LLM")
    if isinstance(exc, openai.AuthenticationError):
        return BackendError(f"LLM server at {place} rejected the API key; set OPENAI_API_KEY or fix --llm/ADVISOR_LLM")
    if isinstance(exc, openai.NotFoundError):
        model_name = getattr(model, "model_name", "?")
        return BackendError(f"LLM server at {place} does not serve model {model_name!r}; fix the model in --llm/ADVISOR_LLM")
    if isinstance(exc, openai.APIStatusError):
        return BackendError(f"LLM server at {place} answered HTTP {exc.status_code}; check the server or fix --llm/ADVISOR_LLM")
    return None


def _transport_error(exc: BaseException, place: str) -> BackendError | None:
    """The BackendError for a socket or httpx transport failure (None when it is not one)."""
    unreachable = f"cannot reach the LLM server at {place} ({type(exc).__name__}); start it or fix --llm/ADVISOR_LLM"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return BackendError(unreachable)
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, httpx.TransportError):
        return BackendError(unreachable)
    return None


def translate_error(exc: BaseException, model: Any) -> BackendError | None:
    """Map a transport/API failure to a one-line BackendError naming ADVISOR_LLM and the URL; None if unknown."""
    place = where(model)
    return _openai_error(exc, model, place) or _transport_error(exc, place)


@contextlib.contextmanager
def backend_errors(model: Any) -> Iterator[None]:
    """Turn transport/API failures raised inside the block into one-line :class:`BackendError`s.

    Shared by :func:`~assistant.llm.invoke_chat`, :func:`~assistant.llm.stream_chat`
    and chains that call the model through LangChain runnables
    (``assistant.answering``). Unknown errors pass through.
    """
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:
        translated = translate_error(exc, model)
        if translated is None:
            raise
        raise translated from exc
