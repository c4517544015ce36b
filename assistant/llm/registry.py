"""The registry of LLM backends: one :class:`Backend` per spec scheme (``extractive``, ``llamacpp``, ``openai``).

Everything that differs between backends (the grammar of the part after
``SCHEME:``, the offline check of that target, building the chat model, the
one-line description) is a field of its :class:`Backend`, so the spec parser,
:func:`~assistant.llm.describe_backend` and :func:`~assistant.llm.get_chat_model`
look the scheme up here instead of branching on it. Adding a backend means
writing those four functions and registering them in :data:`BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.llm import llamacpp, openai_compat
from assistant.llm.options import ChatOptions

__all__ = ["Backend", "BACKENDS"]


@dataclass(frozen=True)
class Backend:
    """How one spec scheme is parsed, checked, built and described.

    - ``parse(rest, spec) -> (target, base_url)``: the text after ``SCHEME:``
      (stripped) into the model target and an optional server URL; raises
      :class:`~assistant.errors.BackendError` (``spec`` is quoted in messages),
      or returns None when the scheme takes no such text (the spec is then unknown).
    - ``check(target) -> target``: offline checks (files, not servers); returns
      the normalised target (e.g. the resolved GGUF path).
    - ``chat_model(target, base_url, options)``: the LangChain chat model, or
      None for a backend without a model.
    - ``describe(target, base_url) -> (local, detail)``: whether text stays on
      this machine, and a one-line description for the CLI and UI.
    """

    scheme: str
    parse: Callable[[str, str], tuple[str, str | None] | None]
    check: Callable[[str], str]
    chat_model: Callable[[str, str | None, ChatOptions], Any]
    describe: Callable[[str, str | None], tuple[bool, str]]


# --------------------------------------------------------------------------- extractive: no model at all


def _extractive_parse(rest: str, spec: str) -> tuple[str, None] | None:
    """``extractive`` takes no target; ``extractive:anything`` is not a known spec."""
    return None if rest else ("", None)


def _extractive_check(target: str) -> str:
    return target


def _extractive_model(target: str, base_url: str | None, options: ChatOptions) -> None:
    """No language model: the answer stage quotes passages."""
    return None


def _extractive_describe(target: str, base_url: str | None) -> tuple[bool, str]:
    return True, "no language model: answers quote the guide passages"


#: Scheme -> backend. The keys are the schemes ``--llm``/``ADVISOR_LLM`` accept.
BACKENDS: dict[str, Backend] = {
    backend.scheme: backend
    for backend in (
        Backend("extractive", _extractive_parse, _extractive_check, _extractive_model, _extractive_describe),
        Backend("llamacpp", llamacpp.parse_target, llamacpp.check, llamacpp.chat_model, llamacpp.describe),
        Backend("openai", openai_compat.parse_target, openai_compat.check, openai_compat.chat_model, openai_compat.describe),
    )
}
