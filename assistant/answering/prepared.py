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
from assistant.answering.condense import condense, detect_audience, detect_specialty, field_of, library_fields, names_field, spelled_out
from assistant.answering.numbers import ApplicantNumbers, applicant_numbers, from_profile, merged
from assistant.answering.scope import NO_PROGRAMS, WRITE_POINTER, abstain_text, in_scope, library_vocab, library_words
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
    numbers: object = None  # the applicant's own numbers (ApplicantNumbers): the question's, then the profile's
    profile_used: tuple = ()  # the saved profile's facts this answer used ("Step 2 CK 232", "graduated 2019")


def profile_facts(asked: ApplicantNumbers, used: ApplicantNumbers, profile, audience_from_profile: bool) -> tuple:
    """The saved profile's facts an answer used, as a reader would say them (the question's own facts are not listed)."""
    out = []
    if audience_from_profile:
        out.append({"us-img": "US citizen IMG", "non-us-img": "non-US IMG"}.get(profile.audience, profile.audience))
    if asked.step2_score is None and used.step2_score is not None:
        out.append(f"Step 2 CK {used.step2_score}")
    if asked.step1_failures is None and used.step1_failures:
        out.append(f"Step 1 failed {used.step1_failures}x")
    if asked.graduation_year is None and used.graduation_year is not None:
        out.append(f"graduated {used.graduation_year}")
    if asked.gap_months is None and used.gap_months:
        out.append(f"a {used.gap_months}-month gap")
    if asked.needs_visa is None and used.needs_visa is not None:
        out.append("needs a visa" if used.needs_visa else "no visa needed")
    return tuple(out)


def prepare(question: str, audience=None, specialty=None, history=None, settings: Settings | None = None, k: int = K_RETRIEVE, profile=None) -> Prepared:
    """Validate, condense with history, retrieve and gate (shared by every backend).

    ``profile`` (an :class:`~assistant.writing.ApplicantProfile`, the applicant's saved
    profile) counts as if its facts had been typed: its audience and specialty steer
    retrieval when the call gives none, its scores, years, gaps and visa feed the number
    matching. The question's own facts win over the profile's for this question.
    """
    q = validate_question(question)
    audience, specialty = normalize_profile(audience, specialty)
    from_saved = profile is not None and audience is None
    if profile is not None:
        audience, specialty = audience or profile.audience, specialty or profile.specialty
    standalone = validate_question(condense(q, history))
    detected = detect_audience(q)
    retriever = get_retriever(settings or get_settings())
    # "what about radiology?" changes the specialty for this turn; so does a field of a guide the user added ("IM")
    named = names_field(standalone, library_fields(retriever))
    specialty = detect_specialty(q) or named or specialty
    standalone = spelled_out(standalone, named)
    audience = detected or audience
    hits = retriever.search(standalone, k=k, audience=audience, specialty=specialty)
    ok, gate = in_scope(standalone, hits, library_vocab(retriever), library_words(retriever))
    asked = applicant_numbers(standalone)
    numbers, used = asked, ()
    if profile is not None:
        numbers = merged(asked, from_profile(profile))
        used = profile_facts(asked, numbers, profile, from_saved and detected is None)
    if ok:
        hits = hits + band_passages(numbers, hits, retriever, audience, specialty, field_of(standalone, hits))
    return Prepared(q, standalone, audience, specialty, hits, ok, gate, numbers, used)


#: What the guides are asked for the applicant's own number when no retrieved passage states a band holding it.
BAND_QUERIES = {
    "step2_score": "Step 2 CK score ranges: how competitive is my score, realistic chance at programs",
    "years_since_graduation": "year of graduation: how recent a graduate programs prefer, years since graduation",
}


def band_passages(numbers: ApplicantNumbers, hits: list, retriever, audience, specialty, field: str | None = None) -> list:
    """A passage stating the band that holds the applicant's number, when none of ``hits`` does (at most one per number).

    The question that gives a number is often about something else ("236, how many backup programs?"),
    so the passage with the guides' bands is not retrieved for it; the applicant still
    wants to know where the number stands. Only a passage of ``field`` (the answer's specialty,
    :func:`~assistant.answering.condense.field_of`; default the top hit's) is taken: a genetics
    band says nothing about an internal medicine score.
    """
    from assistant.answering.numbers import matching

    def holds(quantity: str, candidates: list) -> bool:
        return any(m.condition.quantity == quantity and not m.is_cutoff for m in matching(numbers, candidates))

    if not hits:
        return []
    have, field = {h.chunk_id for h in hits}, field or hits[0].specialty
    title = next((h.title for h in hits if h.specialty == field), hits[0].title)
    extra: list = []
    for quantity, query in BAND_QUERIES.items():
        if numbers.value(quantity) is None or holds(quantity, [h for h in hits + extra if h.specialty == field]):
            continue
        # the top guide's title keeps the search in its field ("... Internal Medicine Residency")
        found = retriever.search(f"{query}: {title}", k=8, audience=audience, specialty=specialty)
        extra += [h for h in found if h.chunk_id not in have and h.specialty == field and holds(quantity, [h])][:1]
    return extra


#: What the guides are asked when a question names one program: their advice on checking a program yourself.
CHECKING_QUERY = "how to find out whether a program is IMG-friendly and sponsors visas: program website, FREIDA, email the program coordinator"


def abstained(p: Prepared, backend: str, settings: Settings | None = None) -> Answer:
    """The answer to a question the guides do not cover: says so.

    A question about one named program says the guides have nothing on individual
    programs, then quotes (cited) what they say about checking a program yourself; a
    request to write a statement points to the Draft feature; anything else says what
    the library does cover and cites nothing.
    """
    gate = p.gate or {}
    if gate.get("asks_to_write"):
        return Answer(answer=WRITE_POINTER, citations=[], abstained=True, note=NOTE, backend=backend, question=p.standalone)
    if gate.get("program_specific"):
        from assistant.answering.citations import renumber
        from assistant.answering.compose import compose_extractive

        retriever = get_retriever(settings or get_settings())
        hits = retriever.search(CHECKING_QUERY, k=3, audience=p.audience, specialty=p.specialty)
        text, _ = compose_extractive(CHECKING_QUERY, hits, retriever)
        if text:
            lines = text.split("\n")
            body = "\n".join([f"- {lines[0]}"] + [f"  {line}" for line in lines[1:]])
            text, cites = renumber(f"{NO_PROGRAMS} What they say about checking a program yourself:\n{body}", [], hits)
            return Answer(answer=text, citations=cites, abstained=True, note=NOTE, backend=backend, question=p.standalone)
    return Answer(answer=abstain_text(), citations=[], abstained=True, note=NOTE, backend=backend, question=p.standalone)
