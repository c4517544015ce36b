"""Stage 5: grounded answers with numbered citations, abstention and conflicts.

Flow for one question::

    history + question --condense--> stand-alone question (+ profile carried over)
                       --retrieve--> passages (hybrid, profile-boosted)
                       --gate------> out of scope? -> "the guides don't cover this", no citations
                       --compose---> extractive (default): sentences picked from the passages
                                     LLM backend: prompt | model | parser, then claim check
                       --cite------> only passages actually used, renumbered 1..n

The default ``extractive`` backend is grounded by construction: every sentence
of its answer is a sentence of a cited passage. LLM answers go through
:mod:`assistant.answering.claims`; sentences the passages do not support are removed and
reported in ``Answer.unsupported``.

The extractive path is plain Python (no LangChain import) so a cold
``advisor ask`` starts fast; LLM backends run as a LangChain runnable chain
(:func:`assistant.answering.llm_answer.build_chain`).

Modules, in the order a question meets them:

- :mod:`~assistant.answering.pipeline`: :func:`ask` and :func:`stream`, which pick the backend;
- :mod:`~assistant.answering.prepared`: the stage every backend shares (validate, condense, retrieve, gate);
- :mod:`~assistant.answering.condense`: follow-up rewriting;
- :mod:`~assistant.answering.scope`: the scope gate and the abstention text;
- :mod:`~assistant.answering.extractive`: the default backend, from
  :mod:`~assistant.answering.compose` (quoted sentences), :mod:`~assistant.answering.conflicts`
  (guides that disagree) and :mod:`~assistant.answering.citations` (renumbering);
- :mod:`~assistant.answering.llm_answer` and :mod:`~assistant.answering.claims`: LLM answers and their claim check.

Other packages import from ``assistant.answering`` only.
"""

from assistant.answering.claims import SUPPORT_THRESHOLD, citations_in, support
from assistant.answering.condense import condense
from assistant.answering.pipeline import ask, stream
from assistant.answering.numbers import ApplicantNumbers, Condition, Match, applicant_numbers, conditions, from_profile, matching, merged

__all__ = [
    "SUPPORT_THRESHOLD", "ApplicantNumbers", "Condition", "Match", "applicant_numbers", "ask", "citations_in", "condense",
    "conditions", "from_profile", "matching", "merged", "stream", "support",
]
