"""What every backend's chat model is built with: generation settings and their defaults.

Kept apart from the backends so the registry, the llama.cpp backend and the
OpenAI-compatible backend share one definition without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Threads for local inference (the target machine has 2 cores).
DEFAULT_N_THREADS = 2
#: Upper bound on generated tokens per answer (keeps CPU generation bounded).
DEFAULT_MAX_TOKENS = 512
#: Seconds before an OpenAI-compatible request gives up (CPU servers are slow, so generous).
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class ChatOptions:
    """The tunables of :func:`~assistant.llm.get_chat_model`; each backend reads the ones it uses.

    ``n_ctx`` and ``n_threads`` are llama.cpp's (``n_ctx=None`` means
    ``ADVISOR_LLM_N_CTX`` or the default), ``timeout`` is the OpenAI-compatible
    client's; ``max_tokens`` and ``temperature`` apply to both.
    """

    n_ctx: int | None = None
    n_threads: int = DEFAULT_N_THREADS
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    timeout: float = DEFAULT_TIMEOUT
