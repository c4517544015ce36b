"""Drafting: red-flag explanations and "why this specialty" paragraphs from the applicant's own facts.

The second job users come for is writing: the paragraph that explains a failed
Step, a gap, a professionalism note, an older graduation year or a visa history.
The guides agree on the shape of such an explanation (state what happened, give
brief context without excuses, show insight, show what changed, show evidence
that it is resolved, link it to the specialty) and on where it goes (at most one
short personal-statement paragraph for a major red flag, the ERAS "Additional
Information" field for minor ones, and a rehearsed 60-90 second interview answer).

:func:`draft` is the one entry point (the CLI and the UI call it); the steps
live in the modules named for them:

1. **Facts** (:mod:`~assistant.writing.facts`): the applicant's facts, validated.
2. **Template draft** (:mod:`~assistant.writing.compose`, phrasing from
   :mod:`~assistant.writing.templates`): the applicant's sentences verbatim,
   joined by connecting phrases that state no fact; a missing optional fact
   becomes a visible placeholder such as ``[what you changed since: ...]`` plus a
   question in ``missing``; each format's word bounds.
3. **Fact guard** (:mod:`~assistant.writing.factguard`): must pass; a template
   draft that failed would be withheld (:class:`~assistant.writing.factguard.FactGuardError`).
4. **Optional polish** (:mod:`~assistant.writing.polish`): with an LLM backend
   (``--llm``) the model may rephrase the draft; its text is returned only if it
   passes the same guard, keeps every placeholder, stays in first person and
   within the bounds. Otherwise the template draft is returned with
   ``polished: false`` and the reasons (``guard`` lists the fact violations).
5. **Advice** (:mod:`~assistant.writing.rules`): the guide rules applied become a
   short checklist; each rule stores its document id and a verbatim quote, and
   the guide passage that contains the quote is cited like an answer.

Nothing here invents a score, date, number, name, institution, experience or
outcome: the connecting phrases contain no digits, number words, time spans,
dates or capitalised words, and the guard proves it for every draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from assistant.errors import IndexMissingError
from assistant.schemas import Citation
from assistant.writing.compose import FORMAT_NAMES, Composition, compose, count_words, spoken_seconds
from assistant.writing.facts import DraftFacts, parse_facts
from assistant.writing.factguard import FactGuardError, GuardReport, check
from assistant.writing.polish import polish
from assistant.writing.rules import GuideRule, cite_rules, draft_rules, link_rule, wording_warnings
from assistant.writing.templates import kind_specs

__all__ = ["DraftResult", "draft", "rules_for"]


def rules_for(facts: DraftFacts) -> list[GuideRule]:
    """The checklist rules for this kind, format, specialty and audience (deduplicated, kind rules first).

    A specialty without a link rule of its own (one added to the vocabulary
    only) gets the general rules: every rule not restricted to another specialty.
    """
    tables = draft_rules()
    rules = [r for r in tables.kinds[facts.kind] if r.applies(facts.specialty, facts.audience)]
    if kind_specs()[facts.kind].link_rules:
        link = link_rule(facts.specialty)
        if link is not None:
            rules.append(link)
    rules += [r for r in tables.formats[facts.effective_format] if r.applies(facts.specialty, facts.audience)]
    if facts.kind != "why-specialty":
        rules.append(tables.consistency)
    out: list[GuideRule] = []
    for r in rules:
        if r not in out:
            out.append(r)
    return out


@dataclass
class DraftResult:
    """A finished draft: the text and everything the UI/CLI shows next to it."""

    text: str
    kind: str
    format: str
    specialty: str
    audience: str | None
    missing: list[str]
    missing_fields: list[str]
    placeholders: list[str]
    advice: list[Citation]
    checklist: list[dict]
    words: int
    bounds: tuple[int, int]
    trimmed: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    polished: bool = False
    guard: list[dict] = field(default_factory=list)
    backend: str = "template"
    note: str = ""

    @property
    def length_ok(self) -> bool:
        return self.bounds[0] <= self.words <= self.bounds[1]

    @property
    def seconds(self) -> float:
        return spoken_seconds(self.words)

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "missing": self.missing,
            "advice": [c.to_json() for c in self.advice],
            "checklist": self.checklist,
            "kind": self.kind,
            "format": self.format,
            "specialty": self.specialty,
            "audience": self.audience,
            "missing_fields": self.missing_fields,
            "placeholders": self.placeholders,
            "words": self.words,
            "seconds": self.seconds,
            "length": {"min": self.bounds[0], "max": self.bounds[1], "ok": self.length_ok},
            "trimmed": self.trimmed,
            "warnings": self.warnings,
            "where": self.where,
            "polished": self.polished,
            "guard": self.guard,
            "backend": self.backend,
            "note": self.note,
        }


def draft(
    facts: DraftFacts | dict,
    *,
    llm: str | None = None,
    model: Any = None,
    retriever: Any = None,
    with_advice: bool = True,
    settings: Any = None,
) -> DraftResult:
    """Draft the paragraph/answer for ``facts``; the one entry point the CLI and the UI call.

    ``llm`` is a backend spec like ``advisor ask --llm`` (default: ``ADVISOR_LLM``,
    else none); ``model`` passes a LangChain chat model directly (tests).
    ``retriever`` defaults to :func:`assistant.retrieval.get_retriever`; when the
    index is missing the draft is still returned, without cited passages, and
    ``note`` says how to build the index. Raises InputError for bad facts,
    BackendError for an unusable model, FactGuardError if a template draft were
    ever to fail the guard (it is then withheld).
    """
    facts = parse_facts(facts)
    comp = compose(facts)
    report: GuardReport = check(comp.text, facts.texts(), comp.vocabulary)
    if not report.ok:  # a bug in a template; never hand such a draft out
        raise FactGuardError(f"template draft withheld by the fact guard: {report.summary()}")
    spec = kind_specs()[facts.kind]
    fmt = facts.effective_format
    notes: list[str] = []
    if fmt not in spec.where:
        notes.append(f"The guides place a {spec.label} in: {', '.join(spec.where)}.")
    if comp.trimmed:
        notes.append(f"{len(comp.trimmed)} sentence(s) were left out to fit the {FORMAT_NAMES[fmt]} length (see trimmed).")

    rules = rules_for(facts)
    citations: list[Citation] = []
    numbers: list[Optional[int]] = [None] * len(rules)
    if with_advice:
        try:
            if retriever is None:
                from assistant.retrieval import get_retriever

                retriever = get_retriever(settings)
            citations, numbers = cite_rules(rules, retriever, facts.audience, facts.specialty)
        except IndexMissingError as exc:
            notes.append(f"Guide passages are not shown: {exc}")
    checklist = [{"item": r.item, "source": r.source, "quote": r.quote, "citation": n} for r, n in zip(rules, numbers)]

    result = DraftResult(
        text=comp.text, kind=facts.kind, format=fmt, specialty=facts.specialty, audience=facts.audience,
        missing=list(comp.questions), missing_fields=list(comp.missing_fields), placeholders=list(comp.placeholders),
        advice=citations, checklist=checklist, words=comp.words, bounds=comp.bounds, trimmed=comp.trimmed,
        warnings=wording_warnings(facts), where=list(spec.where),
    )
    _polish_into(result, comp, facts, notes, llm=llm, model=model, settings=settings)
    result.note = " ".join(notes)
    return result


def _polish_into(result: DraftResult, comp: Composition, facts: DraftFacts, notes: list[str], *, llm: str | None, model: Any, settings: Any) -> None:
    """Let the model (``model``, else the backend ``llm`` / the settings name) polish ``result`` when there is one."""
    if model is None:
        from assistant.config import get_settings
        from assistant.llm import get_chat_model, parse_spec

        spec_str = llm if llm is not None else (settings or get_settings()).llm
        if parse_spec(spec_str)[0] != "extractive":
            model = get_chat_model(spec_str)
            result.backend = parse_spec(spec_str)[0]
    else:
        result.backend = type(model).__name__
    if model is None:
        return
    outcome = polish(comp, facts, model)
    if outcome.text is not None and outcome.text == comp.text:
        notes.append("The model kept the template wording unchanged.")
    elif outcome.text is not None:
        result.text = outcome.text
        result.words = count_words(outcome.text)
        result.polished = True
    else:
        result.guard = outcome.violations
        notes.append("The model's wording was not used, so this is the template draft: " + "; ".join(outcome.reasons) + ".")

