"""Running the eval suite: retrieval, answers, drafts and audits scored against the guides, beside a baseline.

Runs offline with no judge model (``judge=SPEC`` adds an LLM judge for
faithfulness). :func:`run` drives the retriever, the answer pipeline and the
tutorial baseline over a dataset, hands their outputs to the pure functions in
:mod:`assistant.evaluation.metrics`, lists the failing cases and writes the
report; :func:`check` compares a report with ``evals/thresholds.json``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import PROJECT_DIR, Settings, get_settings
from assistant.evaluation.baseline import BaselineRetriever
from assistant.evaluation.dataset import GOLD, Case, half, load_dataset
from assistant.evaluation.metrics import DEFINITIONS, K, answer_tallies, audit_metrics, draft_metrics, half_metrics, judge_faithfulness, percentile, retrieval_metrics, tally_metrics
from assistant.evaluation.report import write_report

__all__ = ["DEFINITIONS", "THRESHOLDS", "run", "check", "load_thresholds"]

THRESHOLDS = PROJECT_DIR / "evals" / "thresholds.json"

Progress = Callable[[str, int, int], None]


class _Ticker:
    """Counts finished steps and reports ``(label, done, total)`` to the caller's progress callback."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, label: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(label, self.done, self.total)


def _advisor_retrieval(cases: list[Case], settings: Settings, tick: _Ticker) -> tuple[dict, dict, list[float]]:
    """The advisor's hybrid retrieval over the answerable cases: metrics, per-case scores, timings (ms)."""
    from assistant.retrieval import get_retriever

    retriever = get_retriever(settings)
    timings: list[float] = []

    def search(c: Case):
        from assistant.answering import condense

        q = condense(c.question, c.history)
        hits = retriever.search(q, k=K, audience=c.audience, specialty=c.specialty)
        tick("retrieval")
        return [(h.source, f"{h.section}\n{h.text}") for h in hits]

    metrics, per_case = retrieval_metrics(cases, search, timings)
    for c in cases:
        if not c.answerable:
            tick("retrieval")
    return metrics, per_case, timings


def _answers(cases: list[Case], settings: Settings, tick: _Ticker) -> tuple[dict, list[float]]:
    """Every case answered by the full extractive pipeline (case id -> Answer), and each answer's time (ms)."""
    from assistant.answering import ask
    from assistant.store import get_embedder

    get_embedder(settings.cache_dir).forget_queries()  # answers time the query embedding too, not the cache
    answers = {}
    timings: list[float] = []
    for c in cases:
        t0 = time.perf_counter()
        answers[c.id] = ask(c.question, audience=c.audience, specialty=c.specialty, history=c.history or None, settings=settings)
        timings.append((time.perf_counter() - t0) * 1000)
        tick("answers")
    return answers, timings


def _baseline(cases: list[Case], settings: Settings, tick: _Ticker) -> tuple[dict, dict]:
    """The tutorial baseline's retrieval metrics (with its median latency) and per-case scores."""
    from assistant.store import get_embedder

    b = BaselineRetriever(settings)
    get_embedder(settings.cache_dir).forget_queries()  # the baseline pays its query embeddings too
    timings: list[float] = []

    def search(c: Case):
        from assistant.answering import condense

        r = b.search(condense(c.question, c.history))
        tick("baseline")
        return r

    metrics, per_case = retrieval_metrics(cases, search, timings)
    metrics["latency_retrieve_p50_ms"] = statistics.median(timings) if timings else 0.0
    return metrics, per_case


def _latencies(t_retrieve: list[float], t_answer: list[float]) -> dict:
    return {
        "latency_retrieve_p50_ms": statistics.median(t_retrieve) if t_retrieve else 0.0,
        "latency_retrieve_p95_ms": percentile(t_retrieve, 95),
        "latency_answer_p50_ms": statistics.median(t_answer) if t_answer else 0.0,
        "latency_answer_p95_ms": percentile(t_answer, 95),
    }


def _problems(c: Case, rc: dict | None, ac: dict) -> list[str]:
    """What went wrong for one case, from its retrieval scores ``rc`` and answer details ``ac``."""
    problems = []
    if rc and not rc["hit"]:
        problems.append("evidence not retrieved in top 5")
    if c.answerable and ac.get("abstained"):
        problems.append("abstained on an answerable question")
    if not c.answerable and not ac.get("abstained"):
        problems.append("answered an unanswerable question")
    if c.answerable and not ac.get("abstained") and ac.get("fact_recall", 1.0) < 1.0:
        problems.append("missing key facts")
    if ac.get("unsupported"):
        problems.append("unsupported sentence")
    if c.answerable and not ac.get("abstained") and not (c.good_sources & set(ac.get("cited", []))):
        problems.append("expected guide not cited")
    if c.conflict and not (c.good_sources <= set(ac.get("conflict_shown", []))):
        problems.append("conflict not shown")
    for kind, found in (ac.get("defects") or {}).items():
        problems.append(f"reader defect {kind}: {found[0][:80]!r}")
    if ac.get("band_named") is False:
        problems.append("the applicant's band not named")
    return problems


def _failing(cases: list[Case], ret_cases: dict, ans_cases: dict) -> list[dict]:
    """The failing questions, each with its problems and what was expected, retrieved and answered."""
    failing = []
    for c in cases:
        rc, ac = ret_cases.get(c.id), ans_cases.get(c.id, {})
        problems = _problems(c, rc, ac)
        if problems:
            failing.append({"id": c.id, "question": c.question, "history": c.history, "problems": problems, "expected_source": c.source, "evidence": c.evidence, "facts": c.facts, "retrieved": (rc or {}).get("retrieved", []), "answer": ac.get("answer", "")})
    return failing


def _first_sentence_ceiling(cases: list[Case], settings: Settings) -> dict[str, bool]:
    """Per answerable question with facts: does one line of the live library hold all its facts (:func:`one_line_holds`)?"""
    from assistant.evaluation.readability import library_lines, one_line_holds
    from assistant.retrieval import get_retriever

    retriever = get_retriever(settings)
    retriever.ensure_loaded()
    lines = library_lines(retriever.rows)
    return {c.id: one_line_holds(c.facts, lines) for c in cases if c.answerable and c.facts}


def _share(flags) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def _rounded(metrics: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def _rounded_means(groups: dict[str, list[float]]) -> dict[str, float]:
    return {g: round(statistics.mean(v), 4) for g, v in sorted(groups.items())}


def _per_guide(cases: list[Case], ret_cases: dict, base_cases: dict) -> tuple[dict, dict]:
    """hit@5 per expected guide, for the advisor and for the baseline."""
    per_guide: dict[str, list[float]] = {}
    per_guide_base: dict[str, list[float]] = {}
    for c in cases:
        if c.id in ret_cases:
            per_guide.setdefault(c.source, []).append(ret_cases[c.id]["hit"])
            if c.id in base_cases:
                per_guide_base.setdefault(c.source, []).append(base_cases[c.id]["hit"])
    return _rounded_means(per_guide), _rounded_means(per_guide_base)


def run(dataset: Path | None = None, settings: Settings | None = None, progress: Progress | None = None, judge: str | None = None, baseline: bool = True) -> dict:
    """Run the whole suite; write JSON + Markdown + charts into ``settings.reports_dir``; return the report."""
    from assistant.store import get_embedder

    settings = settings or get_settings()
    cases = load_dataset(dataset)
    tick = _Ticker(progress, len(cases) * (3 if baseline else 2))
    ret_m, ret_cases, t_retrieve = _advisor_retrieval(cases, settings, tick)
    answers, t_answer = _answers(cases, settings, tick)
    emb = get_embedder(settings.cache_dir)
    embed = (lambda texts: emb.engine.encode(list(texts)))
    tallies, ans_cases = answer_tallies(cases, answers, embed)
    ans_m = tally_metrics(tallies.values())
    if judge:
        ans_m["faithfulness_judge"] = judge_faithfulness(answers, judge)
    metrics = {**ret_m, **ans_m}
    dm, dcases = draft_metrics()
    am, acases = audit_metrics()
    metrics.update(dm)
    metrics.update(am)
    metrics.update(_latencies(t_retrieve, t_answer))
    halves = half_metrics(cases, ret_cases, tallies)  # the same per-question results, split by id
    ceiling = _first_sentence_ceiling(cases, settings)
    metrics["first_sentence_ceiling"] = _share(ceiling.values())
    for h, hm in halves.items():
        hm["first_sentence_ceiling"] = _share(v for cid, v in ceiling.items() if half(cid) == h)
    base_m, base_cases = _baseline(cases, settings, tick) if baseline else ({}, {})
    failing = _failing(cases, ret_cases, ans_cases)
    failing.extend(f for f in dcases if f.get("problems"))
    failing.extend(f for f in acases if f.get("problems"))
    per_guide, per_guide_base = _per_guide(cases, ret_cases, base_cases)
    report = {
        "created_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "dataset": str(dataset or GOLD),
        "cases": len(cases),
        "answerable": sum(c.answerable for c in cases),
        "unanswerable": sum(not c.answerable for c in cases),
        "metrics": {**_rounded(metrics), "halves": {h: _rounded(m) for h, m in halves.items()}},
        "baseline": {k: round(v, 4) for k, v in base_m.items()},
        "per_guide_hit@5": per_guide,
        "per_guide_hit@5_baseline": per_guide_base,
        "latency_ms": {"retrieve": t_retrieve, "answer": t_answer},
        "definitions": DEFINITIONS,
        "failing": failing,
    }
    write_report(report, settings.reports_dir)
    return report


# ---------------------------------------------------------------- thresholds


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def check(report: dict, thresholds: dict | None = None) -> list[str]:
    """Failures as lines: 'metric value < threshold' (or > for maxima), then the halves' failures.

    The overall figures are gated by each rule's ``min`` / ``max``. A rule with a
    ``half_margin`` also gates each half (``report["metrics"]["halves"]``): a
    half fails when it is below ``min - half_margin`` (or above ``max +
    half_margin``). A rule without one leaves the halves ungated, and so does a
    figure a half does not measure (None) or a report written before halves
    existed.
    """
    thresholds = thresholds if thresholds is not None else load_thresholds()
    bad = []
    m = report["metrics"]
    for key, rule in thresholds.items():
        if key not in m:
            bad.append(f"{key}: not measured")
            continue
        if "min" in rule and m[key] < rule["min"]:
            bad.append(f"{key} = {m[key]} < {rule['min']}")
        if "max" in rule and m[key] > rule["max"]:
            bad.append(f"{key} = {m[key]} > {rule['max']}")
    bad.extend(_check_halves(m.get("halves") or {}, thresholds))
    return bad


def _check_halves(halves: dict, thresholds: dict) -> list[str]:
    """The halves' failures against their overall thresholds widened by each rule's ``half_margin``."""
    bad = []
    for h, hm in halves.items():
        for key, rule in thresholds.items():
            margin = rule.get("half_margin")
            v = hm.get(key)
            if margin is None or v is None:
                continue
            if "min" in rule and v < round(rule["min"] - margin, 6):
                bad.append(f"{h} {key} = {v} < {round(rule['min'] - margin, 6)} ({rule['min']} - margin {margin})")
            if "max" in rule and v > round(rule["max"] + margin, 6):
                bad.append(f"{h} {key} = {v} > {round(rule['max'] + margin, 6)} ({rule['max']} + margin {margin})")
    return bad
