"""The eval metrics: small pure functions over cases and outputs, with their definitions.

Each metric can fail on its own: tests feed a known-bad retriever or answer and
watch it drop, so nothing here opens the index or runs a model (the runner
passes the outputs in; ``embed`` and the judge spec are the only hooks).
:data:`DEFINITIONS` is the text the report prints beside each figure.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import PROJECT_DIR
from assistant.evaluation.dataset import HALVES, Case, half
from assistant.evaluation.readability import KINDS as READABILITY_KINDS
from assistant.text import normalize

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.schemas import Answer

__all__ = [
    "K",
    "DRAFTS_DIR",
    "PROFILES_DIR",
    "DEFINITIONS",
    "contains",
    "relevant",
    "retrieval_scores",
    "retrieval_metrics",
    "retrieval_summary",
    "fact_recall",
    "abstention_scores",
    "percentile",
    "answer_metrics",
    "answer_tallies",
    "tally_metrics",
    "half_metrics",
    "judge_faithfulness",
    "draft_metrics",
    "audit_metrics",
]

#: Retrieval metrics look at the top K passages.
K = 5
DRAFTS_DIR = PROJECT_DIR / "evals" / "drafts"
PROFILES_DIR = PROJECT_DIR / "evals" / "profiles"

DEFINITIONS = {
    "hit@5": "Share of answerable questions where a top-5 passage from the expected guide contains an expected evidence phrase.",
    "mrr": "Mean of 1/rank of the first such passage in the top 5 (0 when none).",
    "ndcg@5": "Normalised discounted cumulative gain of the top 5, a passage counting as relevant when it is from the expected guide and contains evidence.",
    "fact_recall": "Share of the expected key facts (short strings) found in the answer text, averaged over answerable questions.",
    "answers_with_all_facts": "Share of answerable answers that contain every expected key fact.",
    "source_cited": "Share of answerable answers that cite the expected guide.",
    "citation_correctness": "Share of citations whose passage contains the expected evidence or supports the sentence that cites it.",
    "faithfulness": "Share of answer sentences supported by the passages they cite (offline lexical + embedding support score, or the LLM judge with --judge).",
    "abstention_precision": "Of the questions the assistant declined, the share that the guides really do not cover.",
    "abstention_recall": "Of the questions the guides do not cover, the share the assistant declined.",
    "wrong_abstentions": "Answerable questions the assistant declined (count).",
    "conflict_coverage": "Share of conflict questions whose answer shows statements from every disagreeing guide.",
    "fabrications": "Numbers, dates, names or institutions in drafts that the applicant's facts do not contain (count; must be 0).",
    "placeholder_correctness": "Share of drafts whose placeholders appear exactly for the optional facts that were missing.",
    "length_compliance": "Share of drafts within the length bounds of their format.",
    "audit_flag_precision": "Share of red flags raised by the audit that the profile's expected flags list.",
    "audit_flag_recall": "Share of expected red flags the audit raised.",
    "latency_retrieve_p50_ms": "Median time of one hybrid retrieval (warm).",
    "latency_answer_p50_ms": "Median time of one full extractive answer (warm).",
    "clean_answers": "Share of answered answerable questions whose answer shows none of the reader-facing defects (assistant/evaluation/readability.py: a lead-in without items, a bare label, an example shown as a point, a sentence about the guide, a glued label).",
    "first_sentence_facts": "Share of answered answerable questions whose first sentence holds every expected key fact.",
    "first_sentence_ceiling": "Share of answerable questions (with facts) for which some single line of the library (a sentence or list item, with its lead-in) holds every expected key fact: the most first_sentence_facts can reach with one quoted line.",
    "words_median": "Median displayed words of an answer (citation markers and the source list not counted).",
    "words_max": "Longest answer in displayed words.",
    "band_named": "Of the questions that give a Step 2 CK score (and whose evidence states a band), the share whose answer names a band holding that score.",
    "number_questions": "How many questions give a Step 2 CK score and expect a band (the band_named denominator).",
    **{f"defects_{k}": f"Count of '{k}' defects over all answers." for k in READABILITY_KINDS},
    "halves": "The per-question figures on each half of the dataset, fixed by id (evals/README.md): tuning = ids ending in an even number, heldout = odd; tune on the first, report the second.",
}


# ---------------------------------------------------------------- retrieval


def contains(text: str, phrase: str) -> bool:
    return normalize(phrase).lower() in normalize(text).lower()


def relevant(case: Case, source: str, text: str) -> bool:
    return source in case.good_sources and (not case.evidence or any(contains(text, e) for e in case.evidence))


def retrieval_scores(case: Case, results: list[tuple[str, str]], k: int = K) -> dict:
    """results: [(source, text)] best first -> {hit, rr, ndcg} for one case."""
    rel = [relevant(case, s, t) for s, t in results[:k]]
    first = next((i for i, r in enumerate(rel) if r), None)
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(rel) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(max(1, sum(rel))))
    return {"hit": float(first is not None), "rr": 1 / (first + 1) if first is not None else 0.0, "ndcg": dcg / ideal}


def retrieval_metrics(cases: list[Case], search: Callable[[Case], list[tuple[str, str]]], timings: list[float] | None = None) -> tuple[dict, dict]:
    """hit@5, MRR and nDCG@5 of ``search`` over the answerable cases, and per-case scores with what was retrieved.

    ``search(case)`` returns ``[(source, text)]`` best first; each call's time in
    milliseconds is appended to ``timings`` when given.
    """
    per_case = {}
    for c in cases:
        if not c.answerable:
            continue
        t0 = time.perf_counter()
        res = search(c)
        if timings is not None:
            timings.append((time.perf_counter() - t0) * 1000)
        per_case[c.id] = {**retrieval_scores(c, res), "retrieved": [{"source": s, "text": t[:300]} for s, t in res[:K]]}
    return retrieval_summary(per_case.values()), per_case


def retrieval_summary(scores: Iterable[dict], unmeasured: float | None = 0.0) -> dict:
    """hit@5, MRR and nDCG@5: the means of per-case :func:`retrieval_scores`; ``unmeasured`` when there are none."""
    scores = list(scores)
    if not scores:
        return {"hit@5": unmeasured, "mrr": unmeasured, "ndcg@5": unmeasured}
    n = len(scores)
    return {
        "hit@5": sum(v["hit"] for v in scores) / n,
        "mrr": sum(v["rr"] for v in scores) / n,
        "ndcg@5": sum(v["ndcg"] for v in scores) / n,
    }


# ---------------------------------------------------------------- answers


def fact_recall(case: Case, answer_text: str) -> float:
    if not case.facts:
        return 1.0
    return sum(contains(answer_text, f) for f in case.facts) / len(case.facts)


def abstention_scores(flags: list[tuple[bool, bool]]) -> dict:
    """flags: [(answerable, abstained)] -> precision, recall, wrong abstentions."""
    abstained = [a for a in flags if a[1]]
    unanswerable = [a for a in flags if not a[0]]
    tp = sum(1 for a in flags if a[1] and not a[0])
    return {
        "abstention_precision": tp / len(abstained) if abstained else 1.0,
        "abstention_recall": tp / len(unanswerable) if unanswerable else 1.0,
        "wrong_abstentions": sum(1 for a in flags if a[1] and a[0]),
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    i = min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))
    return v[i]


@dataclass
class _AnswerTally:
    """Running counts of :func:`answer_metrics` over the cases (one case's, or several merged)."""

    fr: list[float] = field(default_factory=list)
    allf: list[float] = field(default_factory=list)
    cited_ok: list[float] = field(default_factory=list)
    cites_total: int = 0
    cites_good: int = 0
    sent_total: int = 0
    sent_ok: int = 0
    conflicts_total: int = 0
    conflicts_ok: int = 0
    flags: list[tuple[bool, bool]] = field(default_factory=list)
    clean: list[float] = field(default_factory=list)  # the reader's view (assistant.evaluation.readability)
    first: list[float] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    defects: dict[str, int] = field(default_factory=dict)
    band: list[float] = field(default_factory=list)

    def merge(self, other: "_AnswerTally") -> None:
        """Add ``other``'s counts to these (lists in order, so merged means equal a single pass)."""
        self.fr += other.fr
        self.allf += other.allf
        self.cited_ok += other.cited_ok
        self.cites_total += other.cites_total
        self.cites_good += other.cites_good
        self.sent_total += other.sent_total
        self.sent_ok += other.sent_ok
        self.conflicts_total += other.conflicts_total
        self.conflicts_ok += other.conflicts_ok
        self.flags += other.flags
        self.clean += other.clean
        self.first += other.first
        self.words += other.words
        for k, n in other.defects.items():
            self.defects[k] = self.defects.get(k, 0) + n
        self.band += other.band

    def metrics(self, strict: bool = False) -> dict:
        """The answer metrics; an empty denominator gives the suite's usual default, or None when ``strict``."""
        def default(d: float) -> float | None:
            return None if strict else d

        m = {
            "fact_recall": statistics.mean(self.fr) if self.fr else default(0.0),
            "answers_with_all_facts": statistics.mean(self.allf) if self.allf else default(0.0),
            "source_cited": statistics.mean(self.cited_ok) if self.cited_ok else default(0.0),
            "citation_correctness": self.cites_good / self.cites_total if self.cites_total else default(0.0),
            "faithfulness": self.sent_ok / self.sent_total if self.sent_total else default(0.0),
            "conflict_coverage": self.conflicts_ok / self.conflicts_total if self.conflicts_total else default(1.0),
            **abstention_scores(self.flags),
            "clean_answers": statistics.mean(self.clean) if self.clean else default(0.0),
            "first_sentence_facts": statistics.mean(self.first) if self.first else default(0.0),
            "words_median": statistics.median(self.words) if self.words else default(0.0),
            "words_max": max(self.words) if self.words else default(0.0),
            "band_named": statistics.mean(self.band) if self.band else default(1.0),
            "number_questions": len(self.band),
            **{f"defects_{k}": self.defects.get(k, 0) for k in READABILITY_KINDS},
        }
        if strict and not any(a for _, a in self.flags):
            m["abstention_precision"] = None  # nothing declined: no precision to measure
        if strict and all(ans for ans, _ in self.flags):
            m["abstention_recall"] = None  # no unanswerable case: no recall to measure
        return m


def _score_citations(c: Case, a: Answer, embed, tally: _AnswerTally, d: dict) -> None:
    """Faithfulness and citation correctness of one answer: each citing sentence against the passages it cites."""
    from assistant.answering import SUPPORT_THRESHOLD, citations_in, support
    from assistant.answering.claims import numbers_in
    from assistant.text import split_sentences

    own = numbers_in(" ".join(list(c.history or []) + [c.question]))  # the applicant's numbers, said back to them
    by_n = {x.n: x for x in a.citations}
    for sent in split_sentences(a.answer):
        ns = [n for n in citations_in(sent) if n in by_n]
        if not ns:
            continue
        tally.sent_total += 1
        passages = [by_n[n].text for n in ns]
        sup = support(sent, passages, embed, own)
        if sup.score >= SUPPORT_THRESHOLD:
            tally.sent_ok += 1
        else:
            d.setdefault("unsupported", []).append(sent)
        for n in ns:
            tally.cites_total += 1
            x = by_n[n]
            if relevant(c, x.source, x.text) or support(sent, [x.text], embed, own).score >= SUPPORT_THRESHOLD:
                tally.cites_good += 1


def _score_reading(c: Case, a: Answer, tally: _AnswerTally, d: dict) -> None:
    """What a reader sees in one answer: its defects, whether its first sentence holds the facts, its length,
    and, for a question that gives a Step 2 CK score, whether it names the band holding that score."""
    from assistant.answering import applicant_numbers
    from assistant.evaluation.readability import answer_words, defects, first_sentence_holds, names_band, states_band

    found = {k: v for k, v in defects(a).items() if v}
    tally.clean.append(float(not found))
    for k, v in found.items():
        tally.defects[k] = tally.defects.get(k, 0) + len(v)
    tally.first.append(float(first_sentence_holds(a, c.facts)))
    tally.words.append(answer_words(a))
    score = applicant_numbers(" ".join(list(c.history or []) + [c.question])).step2_score
    if score is not None and any(states_band(e) for e in c.evidence):  # (a digit alone was "Step 2 CK")
        tally.band.append(float(names_band(a, score)))
        d["band_named"] = bool(tally.band[-1])
    if found:
        d["defects"] = found


def _score_answer(c: Case, a: Answer, embed, tally: _AnswerTally) -> dict:
    """Add one case's answer to ``tally``; return its per-case details."""
    tally.flags.append((c.answerable, a.abstained))
    d = {"abstained": a.abstained, "answer": a.answer, "cited": [x.source for x in a.citations]}
    if c.answerable and not a.abstained:
        r = fact_recall(c, a.answer)
        tally.fr.append(r)
        tally.allf.append(float(r == 1.0))
        tally.cited_ok.append(float(bool(c.good_sources & {x.source for x in a.citations})))
        d["fact_recall"] = r
        _score_citations(c, a, embed, tally, d)
        _score_reading(c, a, tally, d)
        if c.conflict:
            tally.conflicts_total += 1
            shown = {s["source"] for conf in a.conflicts for s in conf.get("statements", [])}
            tally.conflicts_ok += c.good_sources <= shown
            d["conflict_shown"] = sorted(shown)
    elif c.answerable:
        tally.fr.append(0.0)
        tally.allf.append(0.0)
        tally.cited_ok.append(0.0)
        if c.conflict:
            tally.conflicts_total += 1
    return d


def answer_tallies(cases: list[Case], answers: dict, embed=None) -> tuple[dict[str, _AnswerTally], dict]:
    """answers: case id -> Answer. Returns (case id -> that case's tally, per-case details), scored once.

    :func:`tally_metrics` turns any selection of the tallies into metrics: all of
    them for the overall figures, one half's for :func:`half_metrics`.
    """
    tallies: dict[str, _AnswerTally] = {}
    details = {}
    for c in cases:
        tallies[c.id] = _AnswerTally()
        details[c.id] = _score_answer(c, answers[c.id], embed, tallies[c.id])
    return tallies, details


def tally_metrics(tallies: Iterable[_AnswerTally], strict: bool = False) -> dict:
    """The answer metrics of the merged ``tallies`` (in the given order); see :meth:`_AnswerTally.metrics` for ``strict``."""
    total = _AnswerTally()
    for t in tallies:
        total.merge(t)
    return total.metrics(strict)


def answer_metrics(cases: list[Case], answers: dict, embed=None) -> tuple[dict, dict]:
    """answers: case id -> Answer. Returns (metrics, per-case details)."""
    tallies, details = answer_tallies(cases, answers, embed)
    return tally_metrics(tallies.values()), details


def half_metrics(cases: list[Case], ret_cases: dict, tallies: dict[str, _AnswerTally]) -> dict:
    """The retrieval and answer metrics of each half (:func:`~assistant.evaluation.dataset.half`), from the per-case results.

    ``ret_cases`` are :func:`retrieval_metrics`' per-case scores and ``tallies``
    :func:`answer_tallies`'. Nothing is run again: each half is a selection of the same per-question
    results the overall figures come from, so the two halves' counts add up to
    the overall ones. A figure with nothing to measure in a half (no citation,
    no declined question, no conflict case there) is None, not a default.
    """
    out = {}
    for h in HALVES:
        mine = [c for c in cases if half(c.id) == h]
        m: dict = {"cases": len(mine), "answerable": sum(c.answerable for c in mine), "unanswerable": sum(not c.answerable for c in mine)}
        m.update(retrieval_summary((ret_cases[c.id] for c in mine if c.id in ret_cases), unmeasured=None))
        m.update(tally_metrics((tallies[c.id] for c in mine if c.id in tallies), strict=True))
        out[h] = m
    return out


def judge_faithfulness(answers: dict, spec: str) -> float:
    """LLM-as-judge faithfulness: share of answers the judge says are fully supported by their passages."""
    from assistant.llm import get_chat_model, invoke_chat

    model = get_chat_model(spec)
    ok = n = 0
    for a in answers.values():
        if a.abstained or not a.citations:
            continue
        passages = "\n".join(f"[{c.n}] {c.text}" for c in a.citations)
        verdict = invoke_chat(model, [("system", "You check answers against sources. Reply YES if every sentence of the answer is supported by the passages, else NO."), ("human", f"Passages:\n{passages}\n\nAnswer:\n{a.answer}\n\nSupported? YES or NO.")])
        n += 1
        ok += verdict.strip().upper().startswith("YES")
    return ok / n if n else 0.0


# ---------------------------------------------------------------- drafts and audits


def draft_metrics(folder: Path = DRAFTS_DIR) -> tuple[dict, list]:
    """Fabrications, placeholder correctness and length compliance over the drafting facts files."""
    from assistant.writing import evaluate_draft_file

    files = sorted(Path(folder).glob("*.json"))
    if not files:
        return {}, []
    rows = [evaluate_draft_file(f) for f in files]
    fabrications = sum(1 for r in rows for p in r["problems"] if p.startswith("guard:"))
    placeholders_ok = sum(1 for r in rows if not any("placeholder" in p or "content missing" in p for p in r["problems"]))
    length_ok = sum(1 for r in rows if not any(p.startswith(("length:", "trimmed")) for p in r["problems"]))
    failing = [{"id": Path(r["file"]).name, "question": f"draft {r['kind']} / {r['format']}", "problems": r["problems"]} for r in rows if r["problems"]]
    return {"fabrications": fabrications, "placeholder_correctness": placeholders_ok / len(rows), "length_compliance": length_ok / len(rows), "drafts": len(rows)}, failing


def audit_metrics(folder: Path = PROFILES_DIR) -> tuple[dict, list]:
    """Precision and recall of the audit's red flags against each eval profile's expected flags."""
    from assistant.writing import evaluate_profile_file

    files = sorted(Path(folder).glob("*.json"))
    if not files:
        return {}, []
    rows = [evaluate_profile_file(f) for f in files]
    got = sum(len(r["got"]) for r in rows)
    expected = sum(len(r["expected"]) for r in rows)
    right = sum(len(set(r["got"]) & set(r["expected"])) for r in rows)
    failing = [{"id": Path(r["file"]).name, "question": "audit profile", "problems": [f"missing flags {r['missing']}", f"unexpected flags {r['unexpected']}"]} for r in rows if not r["ok"]]
    return {"audit_flag_precision": right / got if got else 1.0, "audit_flag_recall": right / expected if expected else 1.0, "audit_profiles": len(rows)}, failing
