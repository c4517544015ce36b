"""Backend specs: the one string (``--llm`` / ``ADVISOR_LLM``) that chooses the LLM backend, and what it means.

The grammar is ``SCHEME[:TARGET]``, the scheme case-insensitive and both parts
stripped of surrounding spaces:

- ``extractive`` (default): no model, answers quote passages; takes no target.
- ``llamacpp:PATH.gguf``: a local GGUF model run in-process by llama-cpp-python.
- ``openai:MODEL@BASE_URL``: any OpenAI-compatible server (the URL starts
  ``http://`` or ``https://``; the model name may contain ``:``, as Ollama tags
  do). ``openai:MODEL`` without ``@URL`` means OpenAI itself.

Each scheme's TARGET grammar is its backend's ``parse`` (see
:mod:`assistant.llm.registry`). Nothing here touches disk or network, so the CLI
can reject a bad spec, and say whether text leaves the machine, before anything
loads.
"""

from __future__ import annotations

from assistant.config import llm_spec
from assistant.errors import BackendError
from assistant.llm.registry import BACKENDS

__all__ = ["DEFAULT_SPEC", "SPEC_HINT", "resolve_spec", "parse_spec", "describe_backend", "remote_warning", "is_remote"]

#: Backend used when neither ``--llm`` nor ``ADVISOR_LLM`` is set.
DEFAULT_SPEC = "extractive"
#: The end of every "bad spec" message: the three spec shapes.
SPEC_HINT = "set --llm/ADVISOR_LLM to extractive, llamacpp:PATH.gguf or openai:MODEL@URL"


def resolve_spec(spec: str | None) -> str:
    """The effective spec: the argument, else ``ADVISOR_LLM``, else ``extractive``."""
    if spec is None:
        spec = llm_spec() or DEFAULT_SPEC
    spec = spec.strip()
    return spec or DEFAULT_SPEC


def parse_spec(spec: str | None) -> tuple[str, str, str | None]:
    """Split a spec into ``(scheme, target, base_url)`` without touching disk or network.

    ``target`` is the GGUF path for ``llamacpp`` and the model name for ``openai``;
    ``base_url`` is only set for ``openai:MODEL@URL``. Raises :class:`BackendError`
    for an unknown scheme or a malformed spec.
    """
    spec = resolve_spec(spec)
    scheme, _sep, rest = spec.partition(":")
    scheme = scheme.strip().lower()
    backend = BACKENDS.get(scheme)
    parsed = backend.parse(rest.strip(), spec) if backend is not None else None
    if parsed is None:
        raise BackendError(f"unknown LLM backend {spec!r}; {SPEC_HINT}")
    target, base_url = parsed
    return scheme, target, base_url


def describe_backend(spec: str | None = None) -> dict:
    """``{"name", "local", "detail"}`` for the UI/CLI: which backend, and whether text leaves the machine.

    ``local`` is False only for ``openai`` backends whose host is not loopback
    (including OpenAI itself); a LAN address counts as remote. Does not load
    models or contact servers.
    """
    scheme, target, base_url = parse_spec(spec)
    local, detail = BACKENDS[scheme].describe(target, base_url)
    return {"name": scheme, "local": local, "detail": detail}


def remote_warning(spec: str | None = None) -> str | None:
    """The one stderr line the CLI prints when the backend sends text off this machine (None when local)."""
    backend = describe_backend(spec)
    return None if backend["local"] else f"warning: remote LLM backend: {backend['detail']}"


def is_remote(spec: str | None = None) -> bool:
    """True when the backend sends text off this machine (see :func:`describe_backend`)."""
    return not describe_backend(spec)["local"]
