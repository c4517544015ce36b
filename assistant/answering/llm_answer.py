"""Answers written by a real LLM (llama.cpp or an OpenAI-compatible server), then claim-checked.

The chain is LangChain runnables: ``prompt | model | StrOutputParser()`` fed by
the shared :func:`assistant.answering.prepared.prepare` stage, followed by
:func:`check_answer`. The model sees the passages inside ``<passages>``
delimiters and is told they are data. Every sentence it writes is checked
against the passages it cites (or, if it cites none, against all of them):
unsupported sentences are removed and returned in ``Answer.unsupported``;
supported sentences without a marker get the marker of their best passage.
If nothing supported remains, the grounded extractive answer is returned
instead, and the note says so.
"""

from __future__ import annotations

import html
import re
from typing import Iterator

from assistant.answering.citations import NOTE, renumber
from assistant.answering.claims import SUPPORT_THRESHOLD, citations_in, strip_citations, support
from assistant.answering.extractive import answer_extractive
from assistant.answering.prepared import Prepared, abstained
from assistant.config import PROJECT_DIR, Settings
from assistant.schemas import Answer, Hit
from assistant.text import split_sentences

PROMPTS_DIR = PROJECT_DIR / "prompts"

MAX_PASSAGES = 3
MAX_PASSAGE_CHARS = 600
ANSWER_MAX_TOKENS = 160  # five short sentences; bounds CPU generation time


def format_passages(hits: list[Hit]) -> str:
    """Numbered passages; markup in guide text is escaped so it cannot close the delimiter."""
    parts = []
    for i, h in enumerate(hits[:MAX_PASSAGES], 1):
        text = h.text if len(h.text) <= MAX_PASSAGE_CHARS else h.text[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
        parts.append(f'<passage n="{i}" source="{html.escape(h.source)}">\n{html.escape(text, quote=False)}\n</passage>')
    return "\n".join(parts)


def load_prompt(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")


def build_prompt():
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages([("system", load_prompt("answer_system.txt")), ("human", load_prompt("answer_user.txt"))])


def build_chain(spec: str):
    """``prompt | model | parser``: the LangChain runnable that writes an answer from prepared passages."""
    from langchain_core.output_parsers import StrOutputParser

    from assistant.llm import get_chat_model

    model = get_chat_model(spec, max_tokens=ANSWER_MAX_TOKENS)
    return build_prompt() | model | StrOutputParser(), model


def chain_inputs(p: Prepared) -> dict:
    profile = ", ".join(x for x in (p.audience, p.specialty) if x) or "not given"
    return {"passages": format_passages(p.hits), "profile": profile, "question": p.standalone}


def _embed_fn(settings: Settings):
    """Embedding function for claim checks, memoised: passage sentences are embedded once per answer."""
    import numpy as np

    from assistant.store import get_embedder

    emb = get_embedder(settings.cache_dir)
    memo: dict[str, object] = {}

    def embed(texts):
        texts = list(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in memo))
        if todo:
            for t, v in zip(todo, emb.engine.encode(todo)):
                memo[t] = v
        return np.stack([memo[t] for t in texts])

    return embed


def check_answer(text: str, hits: list[Hit], embed=None) -> tuple[str, list[str]]:
    """Keep the supported sentences (with a valid ``[n]``), return (checked text, unsupported sentences)."""
    hits = hits[:MAX_PASSAGES]
    kept: list[str] = []
    unsupported: list[str] = []
    for sent in split_sentences(text):
        bare = strip_citations(sent)
        if not bare or len(bare) < 3:
            continue
        cited = [n for n in citations_in(sent) if 1 <= n <= len(hits)]
        pool = [hits[n - 1].text for n in cited] or [h.text for h in hits]
        sup = support(bare, pool, embed)
        if sup.score < SUPPORT_THRESHOLD:
            unsupported.append(bare)
            continue
        if not cited:  # attach the passage that supports it best
            best = max(range(len(hits)), key=lambda i: support(bare, [hits[i].text]).score)
            cited = [best + 1]
        marks = "".join(f"[{n}]" for n in dict.fromkeys(cited))
        kept.append(f"{bare} {marks}")
    return " ".join(kept), unsupported


#: A model's refusal: "The guides don't cover this", "I don't know", "I cannot answer that" (a short reply).
_DECLINE = re.compile(r"\b(?:guides? (?:do(?:es)?n[’']?t|do(?:es)? not) (?:cover|say|mention)|(?:do(?:es)?n[’']?t|do(?:es)? not|cannot|can[’']?t) (?:know|answer|help|find|say)|no information|not (?:covered|mentioned|in the (?:guides?|passages?))|unable to (?:answer|find))\b", re.I)


def declined(raw: str) -> bool:
    """Did the model refuse instead of answering? (Only a short reply counts: a long answer may mention a gap.)"""
    return len(raw) < 240 and bool(_DECLINE.search(raw))


def _guides_instead(p: Prepared, spec: str, settings: Settings, why: str, unsupported: list[str] | None = None) -> Answer:
    """The extractive answer in place of the model's, with a note saying why (the scope gate found the question covered)."""
    fallback = answer_extractive(p, settings)
    fallback.backend = spec
    fallback.unsupported = unsupported or []
    fallback.note = f"{NOTE} ({why}; showing the guides' own words.)"
    return fallback


def finish(p: Prepared, raw: str, spec: str, settings: Settings) -> Answer:
    raw = raw.strip()
    if declined(raw) or not raw:
        return _guides_instead(p, spec, settings, "The model declined although the guides cover this question")
    embed = _embed_fn(settings)
    embed([u for h in p.hits[:MAX_PASSAGES] for u in split_sentences(h.text)])  # all passage sentences in one batch
    checked, unsupported = check_answer(raw, p.hits, embed)
    if not checked:
        return _guides_instead(p, spec, settings, "The model's answer was not supported by the guides", unsupported)
    text, cites = renumber(checked, [], p.hits[:MAX_PASSAGES])
    if p.profile_used:
        text += f"\n\nUsing your profile: {', '.join(p.profile_used)}."
    note = NOTE
    if unsupported:
        note += f" {len(unsupported)} sentence(s) the guides do not support were removed."
    return Answer(answer=text, citations=cites, abstained=False, unsupported=unsupported, note=note, backend=spec, question=p.standalone)


def answer_with_llm(p: Prepared, spec: str, settings: Settings) -> Answer:
    if not p.in_scope:
        return abstained(p, spec)
    from assistant.llm import backend_errors

    chain, model = build_chain(spec)
    with backend_errors(model):
        raw = chain.invoke(chain_inputs(p))
    return finish(p, raw, spec, settings)


def stream_with_llm(p: Prepared, spec: str, settings: Settings) -> Iterator[dict]:
    if not p.in_scope:
        ans = abstained(p, spec)
        yield {"type": "text", "text": ans.answer}
        yield {"type": "answer", "answer": ans}
        return
    from assistant.llm import backend_errors

    chain, model = build_chain(spec)
    pieces: list[str] = []
    with backend_errors(model):
        for piece in chain.stream(chain_inputs(p)):
            if piece:
                pieces.append(piece)
                yield {"type": "text", "text": piece}
    yield {"type": "answer", "answer": finish(p, "".join(pieces), spec, settings)}
