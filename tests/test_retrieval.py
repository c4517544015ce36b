"""Hybrid retrieval: right passages, profile boosts/filters, LangChain retriever, bad input."""

import pytest

from assistant.errors import InputError
from assistant.retrieval import Retriever, normalize_profile


def test_finds_the_passage_that_answers(built_home):
    hits = Retriever(built_home).search("How many genetics programs should a US citizen IMG apply to?", k=5)
    assert any(h.source == "us-img-medical-genetics-program-research" and "10–20" in h.text for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_profile_boost_prefers_matching_guides_but_keeps_general_advice(built_home):
    r = Retriever(built_home)
    q = "How should I explain a failed Step 1 attempt?"
    plain = r.search(q, k=5)
    boosted = r.search(q, k=5, audience="non-us-img", specialty="radiology")
    assert boosted[0].source == "non-us-img-radiology-red-flags"
    assert [h.source for h in plain] != [h.source for h in boosted]
    strict = r.search(q, k=10, audience="non-us-img", specialty="medical-genetics", strict=True)
    sources = {h.source for h in strict}
    assert "us-img-medical-genetics-red-flags" not in sources and "non-us-img-radiology-red-flags" not in sources
    assert "img-medical-genetics-low-step-scores" in sources  # written for any IMG: never hidden


def test_langchain_retriever(built_home):
    from langchain_core.documents import Document

    from assistant.retrieval.langchain import HybridRetriever

    docs = HybridRetriever(k=3, audience="us-img", settings=built_home).invoke("How do I find IMG-friendly genetics programs?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert {"source", "section", "score"} <= set(docs[0].metadata)


@pytest.mark.parametrize("q", ["", "   \n\t ", "x" * 2001, None, 42])
def test_bad_questions_raise_input_error(built_home, q):
    with pytest.raises(InputError):
        Retriever(built_home).search(q, k=5)


def test_bad_profile_and_k(built_home):
    with pytest.raises(InputError):
        normalize_profile("martian", None)
    with pytest.raises(InputError):
        Retriever(built_home).search("gap year", k=0)
    assert normalize_profile("US", "Diagnostic Radiology") == ("us-img", "radiology")
