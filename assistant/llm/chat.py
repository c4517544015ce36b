"""Getting and calling a chat model: :func:`get_chat_model` for a spec, :func:`invoke_chat`, :func:`stream_chat`.

The answer stage never needs a language model (the default ``extractive``
backend quotes passages), so :func:`get_chat_model` returns None for it. For
the others it looks the spec's scheme up in :data:`~assistant.llm.registry.BACKENDS`,
runs the backend's offline check and builds its chat model. Calling goes
through :func:`invoke_chat` / :func:`stream_chat` so transport failures become
one-line BackendErrors (see :mod:`assistant.llm.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.errors import BackendError
from assistant.llm.errors import backend_errors
from assistant.llm.messages import text_of
from assistant.llm.options import DEFAULT_MAX_TOKENS, DEFAULT_N_THREADS, DEFAULT_TIMEOUT, ChatOptions
from assistant.llm.registry import BACKENDS
from assistant.llm.specs import SPEC_HINT, parse_spec

if TYPE_CHECKING:  # pragma: no cover - typing only
    from langchain_core.language_models import BaseChatModel

__all__ = ["get_chat_model", "invoke_chat", "stream_chat"]


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
    scheme, target, base_url = parse_spec(spec)
    backend = BACKENDS[scheme]
    options = ChatOptions(n_ctx=n_ctx, n_threads=n_threads, max_tokens=max_tokens, temperature=temperature, timeout=timeout)
    return backend.chat_model(backend.check(target), base_url, options)


def _require_model(model: Any) -> None:
    if model is None:
        raise BackendError(f"no language model configured (ADVISOR_LLM=extractive); {SPEC_HINT}")


def invoke_chat(model: BaseChatModel, messages: Any) -> str:
    """Run one chat turn and return the reply text; transport failures become :class:`BackendError`.

    ``messages`` is anything LangChain accepts: a string, ``(role, text)`` tuples,
    dicts or message objects.
    """
    _require_model(model)
    with backend_errors(model):
        reply = model.invoke(messages)
    return text_of(reply.content)


def stream_chat(model: BaseChatModel, messages: Any) -> Iterator[str]:
    """Yield the reply as text pieces as they are generated (empty pieces skipped).

    Failures, including an unreachable server, are raised as :class:`BackendError`
    from the first ``next()``.
    """
    _require_model(model)
    with backend_errors(model):
        for chunk in model.stream(messages):
            text = text_of(chunk.content)
            if text:
                yield text
