"""The entry points: :func:`ask` and :func:`stream` pick the answer backend and run it.

``extractive`` (the default) is plain Python; the LLM backend
(:mod:`assistant.answering.llm_answer`, a LangChain chain) is imported only when
asked for, and LangChain only when its chain is built, so a cold ``advisor ask``
never loads LangChain.
"""

from __future__ import annotations

from typing import Iterator

from assistant.answering.extractive import answer_extractive
from assistant.answering.prepared import prepare
from assistant.config import Settings, get_settings
from assistant.schemas import Answer


def backend_spec(llm: str | None, settings: Settings) -> str:
    """The answer backend for this call: ``llm``, else the settings' (ADVISOR_LLM), else ``extractive``."""
    return (llm or settings.llm or "extractive").strip()


def ask(
    question: str,
    audience: str | None = None,
    specialty: str | None = None,
    history=None,
    llm: str | None = None,
    settings: Settings | None = None,
    profile=None,
) -> Answer:
    """Answer ``question`` from the guides. ``llm``: ``extractive`` (default), ``llamacpp:PATH`` or ``openai:MODEL@URL``.

    ``profile``: the applicant's saved profile (an ``ApplicantProfile``), used as if its facts had been typed.
    """
    settings = settings or get_settings()
    spec = backend_spec(llm, settings)
    p = prepare(question, audience, specialty, history, settings, profile=profile)
    if spec == "extractive":
        return answer_extractive(p, settings)
    from assistant.answering.llm_answer import answer_with_llm

    return answer_with_llm(p, spec, settings)


def stream(
    question: str,
    audience: str | None = None,
    specialty: str | None = None,
    history=None,
    llm: str | None = None,
    settings: Settings | None = None,
    profile=None,
) -> Iterator[dict]:
    """Events for a UI: ``{"type": "text", "text": delta}`` pieces, then ``{"type": "answer", "answer": Answer}``.

    The extractive backend streams its sentences; an LLM backend streams tokens
    and then sends the claim-checked final answer, which replaces the draft text.
    """
    settings = settings or get_settings()
    spec = backend_spec(llm, settings)
    p = prepare(question, audience, specialty, history, settings, profile=profile)
    if spec == "extractive":
        ans = answer_extractive(p, settings)
        for line in ans.answer.split("\n"):
            yield {"type": "text", "text": line + "\n"}
        yield {"type": "answer", "answer": ans}
        return
    from assistant.answering.llm_answer import stream_with_llm

    yield from stream_with_llm(p, spec, settings)
