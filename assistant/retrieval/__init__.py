"""Stage 4: who is asking (profile), hybrid search (dense + BM25 + sentences, fused by rank), the LangChain retriever.

``assistant.retrieval.langchain`` (a LangChain ``BaseRetriever``) is imported on its
own: it loads LangChain, which ``advisor retrieve`` and ``advisor ask`` never need.
"""

from assistant.retrieval.profile import normalize_profile, profile_allows, profile_weight, validate_question
from assistant.retrieval.retriever import Retriever, get_retriever

__all__ = ["Retriever", "get_retriever", "normalize_profile", "profile_allows", "profile_weight", "validate_question"]
