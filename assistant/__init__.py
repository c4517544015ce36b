"""img-advisor: an offline, grounded advising assistant for IMGs applying to US residency.

The package reads as the pipeline (docs/ARCHITECTURE.md draws it)::

    ingestion/   corpus -> clean -> chunk -> the ingest pipeline (plan -> embed -> write -> swap)
    store/       index state and swaps, Chroma, the BM25 index, embeddings and their cache
    retrieval/   who is asking (profile) and hybrid search
    answering/   condense -> scope gate -> compose (extractive or LLM) -> conflicts -> citations
    writing/     guide rules, facts, drafts, the fact guard, the audit
    llm/         the LLM backends (a registry)
    evaluation/  metrics, runner, baseline, report
    cli/, ui/    the thin faces over this API

The public Python API is re-exported here: ``ingest``, ``retrieve``, ``ask``,
``stream``, ``draft``, ``audit``. Importing the package is cheap: each name is
imported on first use (PEP 562), and heavy libraries (torch, chromadb, langchain,
gradio) are imported by the stage that needs them.
"""

from assistant.config import offline_env

offline_env()

__version__ = "0.1.0"

_API = {
    "ingest": ("assistant.ingestion", "ingest"),
    "ask": ("assistant.answering", "ask"),
    "stream": ("assistant.answering", "stream"),
    "draft": ("assistant.writing", "draft"),
    "audit": ("assistant.writing", "audit"),
}
__all__ = ["ask", "audit", "draft", "ingest", "retrieve", "stream"]


def retrieve(question: str, k: int = 5, audience: str | None = None, specialty: str | None = None, strict: bool = False, settings=None):
    """The ``k`` guide passages that best match ``question`` (hybrid search; see :class:`assistant.retrieval.Retriever`)."""
    from assistant.retrieval import get_retriever

    return get_retriever(settings).search(question, k=k, audience=audience, specialty=specialty, strict=strict)


def __getattr__(name: str):
    if name in _API:
        import importlib

        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
