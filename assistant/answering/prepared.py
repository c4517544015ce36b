"""The stage every answer backend shares: validate, condense with history, retrieve, gate.

:func:`prepare` turns a question (and chat history and profile) into a
:class:`Prepared`: the stand-alone question, the profile for this turn, the
retrieved passages and the scope gate's verdict. Backends (extractive,
:mod:`assistant.answering.llm_answer`) start from it, and answer an out-of-scope
question with :func:`abstained`. Kept apart from :mod:`assistant.answering.pipeline`
(which picks the backend) so that backends import it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answering.citations import NOTE
from assistant.answering.condense import condense, detect_audience, detect_specialty
from assistant.answering.scope import abstain_text, in_scope, library_vocab
from assistant.config import Settings, get_settings
from assistant.retrieval import get_retriever, normalize_profile, validate_question
from assistant.schemas import Answer, Hit
from assistant.tuning import K_RETRIEVE


@dataclass
class Prepared:
    question: str  # as asked
    standalone: str
    audience: str | None
    specialty: str | None
    hits: list[Hit]
    in_scope: bool
    gate: dict


def prepare(question: str, audience=None, specialty=None, history=None, settings: Settings | None = None, k: int = K_RETRIEVE) -> Prepared:
    """Validate, condense with history, retrieve and gate (shared by every backend)."""
    q = validate_question(question)
    audience, specialty = normalize_profile(audience, specialty)
    standalone = validate_question(condense(q, history))
    specialty = detect_specialty(q) or specialty  # "what about radiology?" changes the specialty for this turn
    audience = detect_audience(q) or audience
    retriever = get_retriever(settings or get_settings())
    hits = retriever.search(standalone, k=k, audience=audience, specialty=specialty)
    ok, gate = in_scope(standalone, hits, library_vocab(retriever))
    return Prepared(q, standalone, audience, specialty, hits, ok, gate)


def abstained(p: Prepared, backend: str) -> Answer:
    """The answer to a question the guides do not cover: says so, cites nothing."""
    return Answer(answer=abstain_text(), citations=[], abstained=True, note=NOTE, backend=backend, question=p.standalone)
