"""LLM backends, chosen by one spec string (``--llm`` / ``ADVISOR_LLM``): specs, the registry, llama.cpp, OpenAI-compatible servers, error translation.

Every choice stays offline unless the user points it at a remote server, and
every problem a user can fix (bad spec, missing or non-GGUF file, missing extra,
unreachable server) is a one-line :class:`~assistant.errors.BackendError`.
Heavy imports (langchain_core, llama_cpp, langchain_openai, openai) happen on
first use, so importing this package is instant.

Modules: :mod:`~assistant.llm.specs` (the spec grammar, describing a backend),
:mod:`~assistant.llm.registry` (scheme -> :class:`Backend`),
:mod:`~assistant.llm.llamacpp` and :mod:`~assistant.llm.chat_llamacpp` (local
GGUF models), :mod:`~assistant.llm.openai_compat` (OpenAI-compatible servers),
:mod:`~assistant.llm.chat` (getting and calling a model),
:mod:`~assistant.llm.errors` (library exceptions -> BackendError).
Callers import from this package (``from assistant.llm import get_chat_model``),
so tests can replace a function here.
"""

from assistant.llm.chat import get_chat_model, invoke_chat, stream_chat
from assistant.llm.errors import backend_errors
from assistant.llm.llamacpp import DEFAULT_N_CTX, smollm2_path
from assistant.llm.registry import BACKENDS, Backend
from assistant.llm.specs import DEFAULT_SPEC, describe_backend, is_remote, parse_spec, remote_warning

__all__ = [
    "BACKENDS",
    "Backend",
    "DEFAULT_N_CTX",
    "DEFAULT_SPEC",
    "backend_errors",
    "describe_backend",
    "get_chat_model",
    "invoke_chat",
    "is_remote",
    "parse_spec",
    "remote_warning",
    "smollm2_path",
    "stream_chat",
]
