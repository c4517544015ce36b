"""The default ``extractive`` backend: a :class:`~assistant.answering.prepared.Prepared` question to an Answer.

Puts together the pieces that make an extractive answer: the composed quotes
(:mod:`assistant.answering.compose`), both sides of a conflict between guides
(:mod:`assistant.answering.conflicts`) and the renumbered citations
(:mod:`assistant.answering.citations`). Its own module because the LLM backend
falls back to it when none of the model's sentences is supported.
"""

from __future__ import annotations

from assistant.answering.citations import NOTE, renumber
from assistant.answering.compose import as_sentence, compose_extractive
from assistant.answering.conflicts import find_conflicts
from assistant.answering.prepared import Prepared, abstained
from assistant.config import Settings, get_settings
from assistant.retrieval import get_retriever
from assistant.schemas import Answer


def _with_conflicts(text: str, conflicts: list[dict]) -> str:
    """Both statements of a conflict with their sources, instead of picking one; the composed answer after."""
    c = conflicts[0]
    lines = ["The guides disagree on this; here is what each says:"]
    for st in c["statements"]:
        lines.append(f"- {as_sentence(st['text'])} [{st['hit'] + 1}]")
    return "\n".join(lines) + ("\n\nMore from the guides:\n" + text if text else "")


def answer_extractive(p: Prepared, settings: Settings | None = None) -> Answer:
    if not p.in_scope:
        return abstained(p, "extractive", settings)
    retriever = get_retriever(settings or get_settings())
    conflicts = find_conflicts(p.standalone, p.hits)
    said = [st["text"] for c in conflicts for st in c["statements"]]  # shown first, with their sources: not again below
    text, _ = compose_extractive(p.standalone, p.hits, retriever, numbers=p.numbers, said=said)
    if conflicts:
        text = _with_conflicts(text, conflicts)
    if not text:
        return abstained(p, "extractive", settings)
    text, cites = renumber(text, [], p.hits)
    if p.profile_used:
        text += f"\n\nUsing your profile: {', '.join(p.profile_used)}."
    by_source = {c.source: c.n for c in cites}
    conflicts_out = [
        {"topic": c["topic"], "statements": [{"n": by_source.get(s["source"]), "source": s["source"], "text": s["text"]} for s in c["statements"]]}
        for c in conflicts
    ]
    return Answer(answer=text, citations=cites, abstained=False, conflicts=conflicts_out, note=NOTE, backend="extractive", question=p.standalone)
