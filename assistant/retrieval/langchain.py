"""The hybrid retriever as a LangChain ``BaseRetriever`` (for chains and LangChain users).

Kept apart from :mod:`assistant.retrieval` so that plain retrieval never imports LangChain.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.config import Settings
from assistant.retrieval.retriever import get_retriever


class HybridRetriever(BaseRetriever):
    """Dense (Chroma) + BM25 with reciprocal-rank fusion and an optional applicant profile."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    audience: str | None = None
    specialty: str | None = None
    strict: bool = False
    settings: Settings | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = get_retriever(self.settings).search(query, k=self.k, audience=self.audience, specialty=self.specialty, strict=self.strict)
        return [
            Document(
                page_content=h.text,
                id=h.chunk_id,
                metadata={"source": h.source, "title": h.title, "section": h.section, "score": h.score, "audience": h.audience, "specialty": h.specialty},
            )
            for h in hits
        ]
