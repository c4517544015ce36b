"""The ``openai:MODEL[@BASE_URL]`` backend: any OpenAI-compatible server through ``langchain_openai.ChatOpenAI``.

Ollama, vLLM, LM Studio and llama.cpp's own server all speak this protocol, so
one backend covers them; without ``@URL`` it means OpenAI itself, and then
questions and passages leave the machine (:func:`describe` says so). Building
the client never contacts the server: an unreachable one surfaces when the model
is called (see :mod:`assistant.llm.errors`). ``langchain_openai`` is imported on
first use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.config import openai_api_key
from assistant.errors import BackendError
from assistant.net import is_loopback

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.llm.options import ChatOptions

__all__ = ["OPENAI_URL", "parse_target", "check", "chat_model", "describe"]

#: Where ``openai:MODEL`` (no ``@URL``) sends requests.
OPENAI_URL = "https://api.openai.com/v1"

_BAD_URL = "bad OpenAI-compatible URL in {spec!r}: set --llm/ADVISOR_LLM to openai:MODEL@http://HOST:PORT/v1"


def parse_target(rest: str, spec: str) -> tuple[str, str | None]:
    """``MODEL[@http(s)://URL]`` -> ``(model, base_url or None)``; :class:`BackendError` when malformed."""
    # The model name may contain ':' (Ollama tags like llama3.2:1b); the URL starts after '@http'.
    match = re.fullmatch(r"(?P<model>.*?)@(?P<url>https?://\S+)", rest)
    if match:
        model, url = match.group("model").strip(), match.group("url").rstrip("/")
        if not url.isprintable():  # control characters or undecodable bytes (lone surrogates) in the URL
            raise BackendError(_BAD_URL.format(spec=spec))
    elif "@" in rest:
        raise BackendError(_BAD_URL.format(spec=spec))
    else:
        model, url = rest, None
    if not model:
        raise BackendError(f"openai backend needs a model name: set --llm/ADVISOR_LLM to openai:MODEL@URL (got {spec!r})")
    return model, url


def check(target: str) -> str:
    """Nothing to check offline: whether the server serves ``target`` is only known when it is called."""
    return target


def chat_model(target: str, base_url: str | None, options: ChatOptions) -> Any:
    """A ``ChatOpenAI`` for model ``target`` at ``base_url`` (OpenAI when None); does not connect."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendError(f"langchain-openai is not installed ({exc.name or exc}); reinstall img-advisor or set --llm/ADVISOR_LLM to extractive") from exc
    kwargs: dict[str, Any] = {}
    if options.max_tokens is not None:
        kwargs["max_tokens"] = options.max_tokens  # ChatOpenAI sends it as max_completion_tokens (OpenAI's current name)
        if base_url and urlparse(base_url).hostname != "api.openai.com":
            # Most OpenAI-compatible servers (llama.cpp's, older Ollama/LM Studio) only know the legacy
            # max_tokens and silently ignore max_completion_tokens, generating until n_ctx runs out.
            kwargs["extra_body"] = {"max_tokens": options.max_tokens}
    return ChatOpenAI(
        model=target,
        base_url=base_url,
        api_key=openai_api_key() or "not-needed",
        temperature=options.temperature,
        timeout=options.timeout,
        max_retries=0,
        **kwargs,
    )


def describe(target: str, base_url: str | None) -> tuple[bool, str]:
    """``(local, detail)``: local only when the host is loopback (a LAN address counts as remote)."""
    effective = base_url or OPENAI_URL
    local = is_loopback(urlparse(effective).hostname, as_client=True)
    where = "on this machine" if local else "REMOTE: questions and passages are sent there"
    return local, f"model {target} at {effective} ({where})"
