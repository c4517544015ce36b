"""The eval suite: retrieval, answers, drafts and audits scored against the guides, beside a baseline.

Runs offline with no judge model (``judge=SPEC`` adds an LLM judge for
faithfulness). Every metric is a small pure function over cases and outputs,
so tests can feed it a known-bad retriever or answer and watch it drop.

Metric definitions (also printed in the report) live in :data:`DEFINITIONS`.
The baseline is the tutorial pipeline: raw files, 1,000/200 recursive character
chunks, the same embedding model, Chroma top-k, nothing else.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from assistant.config import PROJECT_DIR, Settings, get_settings
from assistant.errors import InputError
from assistant.verify import normalize

K = 5
GOLD = PROJECT_DIR / "evals" / "gold.jsonl"
THRESHOLDS = PROJECT_DIR / "evals" / "thresholds.json"
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
}


# ---------------------------------------------------------------- dataset


@dataclass
class Case:
    id: str
    question: str
    history: list[str] = field(default_factory=list)
    audience: str | None = None
    specialty: str | None = None
    answerable: bool = True
    source: str | None = None
    sources: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    conflict: bool = False

    @property
    def good_sources(self) -> set[str]:
        return set(self.sources or ([self.source] if self.source else []))


class DatasetRow(BaseModel):
    """One line of an eval dataset, in the format evals/README.md documents.

    ``advisor eval --dataset`` takes files written by other people, so every line
    is checked here, before the index is even opened: a wrong type or a missing
    field would otherwise surface mid-run as a bare TypeError (a case without
    ``source`` breaks the per-guide table) or, worse, as silently wrong figures
    (``"conflict": "no"`` is truthy; ``"sources": "a-guide"`` splits into
    letters; an empty fact is found in every answer). Two leniencies of the
    loader are kept so that files written against it still load: ``id`` defaults
    to the line number and ``answerable`` to true. ``section`` and ``notes`` are
    free-text annotations the runner ignores.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Optional[Union[StrictStr, StrictInt]] = None
    question: Optional[str] = None
    turns: Optional[list[str]] = None
    audience: Optional[str] = None
    specialty: Optional[str] = None
    answerable: bool = True
    source: Optional[str] = None
    sources: Optional[list[str]] = None
    evidence: list[str] = []
    facts: list[str] = []
    conflict: bool = False
    section: Optional[str] = None
    notes: Optional[str] = None

    @field_validator("id", "question", "source")
    @classmethod
    def _not_blank(cls, v, info):
        if isinstance(v, str) and not v.strip():
            raise PydanticCustomError("dataset", "'{field}' is empty", {"field": info.field_name})
        return v

    @field_validator("turns", "sources", "evidence", "facts")
    @classmethod
    def _no_blank_items(cls, v, info):
        if v is None:
            return v
        if info.field_name in ("turns", "sources") and not v:
            raise PydanticCustomError("dataset", "'{field}' is an empty list", {"field": info.field_name})
        if any(not s.strip() for s in v):  # an empty evidence phrase or fact would match every text
            raise PydanticCustomError("dataset", "'{field}' holds an empty string", {"field": info.field_name})
        if info.field_name == "sources" and len(set(v)) != len(v):
            raise PydanticCustomError("dataset", "'sources' names the same guide twice", {})
        return v

    @field_validator("audience", "specialty")
    @classmethod
    def _known_profile(cls, v, info):
        # the retriever would reject the value mid-run, without a line number; the raw value is kept
        if v is not None:
            from assistant.retrieval import normalize_profile

            try:
                normalize_profile(v, None) if info.field_name == "audience" else normalize_profile(None, v)
            except InputError:
                raise PydanticCustomError("dataset", "'{field}' must be {expected} (got {got})", {"field": info.field_name, "expected": _EXPECTED[info.field_name], "got": json.dumps(v, ensure_ascii=False)[:60]}) from None
        return v

    @model_validator(mode="after")
    def _kind_consistent(self) -> "DatasetRow":
        if self.question is not None and self.turns is not None:
            raise PydanticCustomError("dataset", "give 'question' or 'turns', not both (a multi-turn case ends its 'turns' with the question)", {})
        if self.question is None and self.turns is None:
            raise PydanticCustomError("dataset", "'question' is required (or 'turns' for a multi-turn case)", {})
        if self.answerable and self.source is None:
            raise PydanticCustomError("dataset", "'source' is required: an answerable case names the guide that answers it (its file stem)", {})
        if self.sources is not None and self.source is not None and self.source not in self.sources:
            raise PydanticCustomError("dataset", "'source' must be one of 'sources'", {})
        if self.conflict and (self.sources is None or len(self.sources) < 2):
            raise PydanticCustomError("dataset", "a conflict case needs 'sources': the two or more guides that disagree", {})
        return self


#: What each field must be, for the one-line error (the README's "type" column).
_EXPECTED = {
    "id": "a string",
    "question": "a string",
    "turns": "a list of strings, the user's messages in order",
    "audience": "us-img or non-us-img",
    "specialty": "a specialty id such as radiology or medical-genetics",
    "answerable": "true or false",
    "source": "a string, a guide's file stem",
    "sources": "a list of strings, guides' file stems",
    "evidence": "a list of strings",
    "facts": "a list of strings",
    "conflict": "true or false",
    "section": "a string",
    "notes": "a string",
}
_KEYS = set(DatasetRow.model_fields)


def dataset_error(exc: ValidationError) -> str:
    """The first problem of a dataset line as a short phrase that names the field: "'k' must be ..."."""
    first = exc.errors()[0]
    field_name = next((str(p) for p in first.get("loc", ()) if isinstance(p, str)), "")
    if first.get("type") == "dataset":
        return first["msg"]
    got = json.dumps(first.get("input"), ensure_ascii=False, default=str)
    got = got if len(got) <= 60 else got[:57] + "..."
    item = next((p for p in first.get("loc", ()) if isinstance(p, int)), None)
    where = f"item {item + 1} is {got}" if item is not None else f"got {got}"
    return f"'{field_name}' must be {_EXPECTED.get(field_name, 'valid')} ({where})"


def load_dataset(path: Path | None = None) -> list[Case]:
    """Read a JSONL dataset in the documented format (evals/README.md); InputError names the file, line and field.

    ``read_objects`` reads the lines (UTF-8, one JSON object each, no unknown
    fields); :class:`DatasetRow` checks each object; ids must be unique because
    results are keyed by id (a repeated id would silently score one case twice).
    """
    path = Path(path or GOLD)
    from assistant.jsonl import read_objects

    cases: list[Case] = []
    seen: dict[str, int] = {}
    for n, o in read_objects(path, _KEYS, "dataset"):
        try:
            row = DatasetRow.model_validate(o)
        except ValidationError as exc:
            raise InputError(f"{path}: line {n}: {dataset_error(exc)}") from None
        case_id = str(row.id if row.id is not None else n)
        if case_id in seen:
            raise InputError(f"{path}: line {n}: 'id' {case_id!r} is already used on line {seen[case_id]}")
        seen[case_id] = n
        if row.turns is not None:
            question, history = row.turns[-1], row.turns[:-1]
        else:
            question, history = row.question, []
        cases.append(
            Case(
                id=case_id,
                question=question,
                history=list(history),
                audience=row.audience,
                specialty=row.specialty,
                answerable=row.answerable,
                source=row.source,
                sources=list(row.sources or []),
                evidence=list(row.evidence),
                facts=list(row.facts),
                conflict=row.conflict,
            )
        )
    if not cases:
        raise InputError(f"{path}: no cases")
    return cases


# ---------------------------------------------------------------- metric functions (pure)


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


# ---------------------------------------------------------------- baseline (tutorial pipeline)


class BaselineRetriever:
    """1,000/200 recursive character chunks of the raw files, same embedding model, Chroma top-k."""

    def __init__(self, settings: Settings, corpus_dir: Path | None = None) -> None:
        import hashlib

        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.embeddings import get_embedder

        corpus_dir = Path(corpus_dir or settings.corpus_dir)
        files = sorted(p for p in corpus_dir.glob("*.txt"))
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.rows: list[tuple[str, str]] = []
        for f in files:
            for piece in splitter.split_text(f.read_text(encoding="utf-8", errors="replace")):
                self.rows.append((f.stem, piece))
        self.embedder = get_embedder(settings.cache_dir)
        tag = hashlib.sha1("".join(t for _, t in self.rows).encode()).hexdigest()[:10]
        client = chromadb.PersistentClient(path=str(settings.home / "baseline" / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
        name = f"baseline_{tag}"
        try:
            self.coll = client.get_collection(name, embedding_function=None)
            if self.coll.count() != len(self.rows):
                raise ValueError
        except Exception:
            for c in client.list_collections():
                client.delete_collection(c if isinstance(c, str) else c.name)
            self.coll = client.create_collection(name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
            vecs = self.embedder.embed_documents([t for _, t in self.rows])
            self.coll.add(ids=[str(i) for i in range(len(self.rows))], embeddings=vecs, documents=[t for _, t in self.rows], metadatas=[{"source": s} for s, _ in self.rows])

    def search(self, question: str, k: int = K) -> list[tuple[str, str]]:
        res = self.coll.query(query_embeddings=[self.embedder.embed_query(question).tolist()], n_results=k, include=["documents", "metadatas"])
        return [(m["source"], d) for m, d in zip(res["metadatas"][0], res["documents"][0])]  # raw text keeps headings


# ---------------------------------------------------------------- running


def _retrieval_block(cases: list[Case], search: Callable[[Case], list[tuple[str, str]]], timings: list[float] | None = None) -> tuple[dict, dict]:
    per_case = {}
    for c in cases:
        if not c.answerable:
            continue
        t0 = time.perf_counter()
        res = search(c)
        if timings is not None:
            timings.append((time.perf_counter() - t0) * 1000)
        per_case[c.id] = {**retrieval_scores(c, res), "retrieved": [{"source": s, "text": t[:300]} for s, t in res[:K]]}
    n = max(1, len(per_case))
    metrics = {
        "hit@5": sum(v["hit"] for v in per_case.values()) / n,
        "mrr": sum(v["rr"] for v in per_case.values()) / n,
        "ndcg@5": sum(v["ndcg"] for v in per_case.values()) / n,
    }
    return metrics, per_case


def answer_metrics(cases: list[Case], answers: dict, embed=None) -> tuple[dict, dict]:
    """answers: case id -> Answer. Returns (metrics, per-case details)."""
    from assistant.verify import citations_in, split_sentences, support, SUPPORT_THRESHOLD

    details = {}
    fr, allf, cited_ok, cites_total, cites_good, sent_total, sent_ok = [], [], [], 0, 0, 0, 0
    conflicts_total, conflicts_ok = 0, 0
    flags = []
    for c in cases:
        a = answers[c.id]
        flags.append((c.answerable, a.abstained))
        d = {"abstained": a.abstained, "answer": a.answer, "cited": [x.source for x in a.citations]}
        if c.answerable and not a.abstained:
            r = fact_recall(c, a.answer)
            fr.append(r)
            allf.append(float(r == 1.0))
            cited_ok.append(float(bool(c.good_sources & {x.source for x in a.citations})))
            d["fact_recall"] = r
            by_n = {x.n: x for x in a.citations}
            for sent in split_sentences(a.answer):
                ns = [n for n in citations_in(sent) if n in by_n]
                if not ns:
                    continue
                sent_total += 1
                passages = [by_n[n].text for n in ns]
                sup = support(sent, passages, embed)
                if sup.score >= SUPPORT_THRESHOLD:
                    sent_ok += 1
                else:
                    d.setdefault("unsupported", []).append(sent)
                for n in ns:
                    cites_total += 1
                    x = by_n[n]
                    if relevant(c, x.source, x.text) or support(sent, [x.text], embed).score >= SUPPORT_THRESHOLD:
                        cites_good += 1
            if c.conflict:
                conflicts_total += 1
                shown = {s["source"] for conf in a.conflicts for s in conf.get("statements", [])}
                ok = c.good_sources <= shown
                conflicts_ok += ok
                d["conflict_shown"] = sorted(shown)
        elif c.answerable:
            fr.append(0.0)
            allf.append(0.0)
            cited_ok.append(0.0)
            if c.conflict:
                conflicts_total += 1
        details[c.id] = d
    m = {
        "fact_recall": statistics.mean(fr) if fr else 0.0,
        "answers_with_all_facts": statistics.mean(allf) if allf else 0.0,
        "source_cited": statistics.mean(cited_ok) if cited_ok else 0.0,
        "citation_correctness": cites_good / cites_total if cites_total else 0.0,
        "faithfulness": sent_ok / sent_total if sent_total else 0.0,
        "conflict_coverage": conflicts_ok / conflicts_total if conflicts_total else 1.0,
        **abstention_scores(flags),
    }
    return m, details


def draft_metrics(folder: Path = DRAFTS_DIR) -> tuple[dict, list]:
    """Fabrications, placeholder correctness and length compliance over the drafting facts files."""
    from assistant.draft import evaluate_draft_file

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
    from assistant.audit import evaluate_profile_file

    files = sorted(Path(folder).glob("*.json"))
    if not files:
        return {}, []
    rows = [evaluate_profile_file(f) for f in files]
    got = sum(len(r["got"]) for r in rows)
    expected = sum(len(r["expected"]) for r in rows)
    right = sum(len(set(r["got"]) & set(r["expected"])) for r in rows)
    failing = [{"id": Path(r["file"]).name, "question": "audit profile", "problems": [f"missing flags {r['missing']}", f"unexpected flags {r['unexpected']}"]} for r in rows if not r["ok"]]
    return {"audit_flag_precision": right / got if got else 1.0, "audit_flag_recall": right / expected if expected else 1.0, "audit_profiles": len(rows)}, failing


def run(dataset: Path | None = None, settings: Settings | None = None, progress=None, judge: str | None = None, baseline: bool = True) -> dict:
    """Run the whole suite; write JSON + Markdown + charts into ``settings.reports_dir``; return the report."""
    from assistant.answer import ask
    from assistant.embeddings import get_embedder
    from assistant.retrieval import get_retriever

    settings = settings or get_settings()
    cases = load_dataset(dataset)
    retriever = get_retriever(settings)
    total = len(cases) * (3 if baseline else 2)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(label, done, total)

    t_retrieve: list[float] = []

    def search(c: Case):
        from assistant.answer import condense

        q = condense(c.question, c.history)
        hits = retriever.search(q, k=K, audience=c.audience, specialty=c.specialty)
        tick("retrieval")
        return [(h.source, f"{h.section}\n{h.text}") for h in hits]

    ret_m, ret_cases = _retrieval_block(cases, search, t_retrieve)
    for c in cases:
        if not c.answerable:
            tick("retrieval")
    get_embedder(settings.cache_dir)._queries.clear()  # answers time the query embedding too, not the cache
    answers = {}
    t_answer: list[float] = []
    for c in cases:
        t0 = time.perf_counter()
        answers[c.id] = ask(c.question, audience=c.audience, specialty=c.specialty, history=c.history or None, settings=settings)
        t_answer.append((time.perf_counter() - t0) * 1000)
        tick("answers")
    emb = get_embedder(settings.cache_dir)
    embed = (lambda texts: emb.engine.encode(list(texts)))
    ans_m, ans_cases = answer_metrics(cases, answers, embed)
    if judge:
        ans_m["faithfulness_judge"] = judge_faithfulness(answers, judge)
    metrics = {**ret_m, **ans_m}
    dm, dcases = draft_metrics()
    am, acases = audit_metrics()
    metrics.update(dm)
    metrics.update(am)
    metrics["latency_retrieve_p50_ms"] = statistics.median(t_retrieve) if t_retrieve else 0.0
    metrics["latency_retrieve_p95_ms"] = percentile(t_retrieve, 95)
    metrics["latency_answer_p50_ms"] = statistics.median(t_answer) if t_answer else 0.0
    metrics["latency_answer_p95_ms"] = percentile(t_answer, 95)
    base_m: dict = {}
    base_cases: dict = {}
    if baseline:
        b = BaselineRetriever(settings)
        get_embedder(settings.cache_dir)._queries.clear()  # the baseline pays its query embeddings too
        t_base: list[float] = []

        def bsearch(c: Case):
            from assistant.answer import condense

            r = b.search(condense(c.question, c.history))
            tick("baseline")
            return r

        base_m, base_cases = _retrieval_block(cases, bsearch, t_base)
        base_m["latency_retrieve_p50_ms"] = statistics.median(t_base) if t_base else 0.0
    failing = []
    for c in cases:
        rc, ac = ret_cases.get(c.id), ans_cases.get(c.id, {})
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
        if problems:
            failing.append({"id": c.id, "question": c.question, "history": c.history, "problems": problems, "expected_source": c.source, "evidence": c.evidence, "facts": c.facts, "retrieved": (rc or {}).get("retrieved", []), "answer": ac.get("answer", "")})
    failing.extend(f for f in dcases if f.get("problems"))
    failing.extend(f for f in acases if f.get("problems"))
    per_guide: dict[str, list[float]] = {}
    per_guide_base: dict[str, list[float]] = {}
    for c in cases:
        if c.id in ret_cases:
            per_guide.setdefault(c.source, []).append(ret_cases[c.id]["hit"])
            if c.id in base_cases:
                per_guide_base.setdefault(c.source, []).append(base_cases[c.id]["hit"])
    report = {
        "created_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "dataset": str(dataset or GOLD),
        "cases": len(cases),
        "answerable": sum(c.answerable for c in cases),
        "unanswerable": sum(not c.answerable for c in cases),
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "baseline": {k: round(v, 4) for k, v in base_m.items()},
        "per_guide_hit@5": {g: round(statistics.mean(v), 4) for g, v in sorted(per_guide.items())},
        "per_guide_hit@5_baseline": {g: round(statistics.mean(v), 4) for g, v in sorted(per_guide_base.items())},
        "latency_ms": {"retrieve": t_retrieve, "answer": t_answer},
        "definitions": DEFINITIONS,
        "failing": failing,
    }
    write_report(report, settings.reports_dir)
    return report


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


# ---------------------------------------------------------------- thresholds and report


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def check(report: dict, thresholds: dict | None = None) -> list[str]:
    """Failures as lines: 'metric value < threshold' (or > for maxima)."""
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
    return bad


def write_report(report: dict, folder: Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    charts = _charts(report, folder)
    (folder / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    m, b = report["metrics"], report["baseline"]
    lines = [f"# Eval report ({report['created_at']})", "", f"Dataset: `{report['dataset']}`: {report['cases']} cases ({report['answerable']} answerable, {report['unanswerable']} unanswerable).", ""]
    lines += ["| metric | advisor | baseline | definition |", "|---|---|---|---|"]
    for k, v in m.items():
        lines.append(f"| {k} | {v} | {b.get(k, '')} | {DEFINITIONS.get(k, '')} |")
    lines.append("")
    for c in charts:
        lines.append(f"![{c.stem}]({c.name})")
    lines += ["", f"## Failing cases ({len(report['failing'])})", ""]
    for f in report["failing"]:
        lines.append(f"### {f.get('id')}: {f.get('question', f.get('file', ''))}")
        lines.append(f"- problems: {', '.join(f.get('problems', []))}")
        if f.get("expected_source"):
            lines.append(f"- expected: `{f['expected_source']}`; evidence: {f.get('evidence')}; facts: {f.get('facts')}")
        for r in f.get("retrieved", [])[:3]:
            lines.append(f"- retrieved `{r['source']}`: {r['text'][:160]!r}")
        if f.get("answer"):
            lines.append(f"- answer: {f['answer'][:400]!r}")
        lines.append("")
    out = folder / "report.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def _charts(report: dict, folder: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out = []
    g = report["per_guide_hit@5"]
    gb = report.get("per_guide_hit@5_baseline", {})
    if g:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        names = list(g)
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [g[n] for n in names], 0.4, label="advisor")
        ax.bar([x + 0.2 for x in xs], [gb.get(n, 0) for n in names], 0.4, label="baseline")
        ax.set_xticks(list(xs), [n.replace("-", "\n", 2) for n in names], fontsize=6)
        ax.set_ylim(0, 1.05)
        ax.set_title("hit@5 per guide")
        ax.legend()
        fig.tight_layout()
        p = folder / "per_guide_hit.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    keys = [k for k in ("hit@5", "mrr", "ndcg@5") if k in report["metrics"]]
    if keys:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        xs = range(len(keys))
        ax.bar([x - 0.2 for x in xs], [report["metrics"][k] for k in keys], 0.4, label="advisor")
        ax.bar([x + 0.2 for x in xs], [report["baseline"].get(k, 0) for k in keys], 0.4, label="baseline")
        ax.set_xticks(list(xs), keys)
        ax.set_ylim(0, 1.05)
        ax.set_title("retrieval vs tutorial baseline")
        ax.legend()
        fig.tight_layout()
        p = folder / "metrics_vs_baseline.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    lat = report.get("latency_ms", {})
    if lat.get("retrieve"):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.hist(lat["retrieve"], bins=30, alpha=0.7, label="retrieve")
        ax.hist(lat.get("answer", []), bins=30, alpha=0.7, label="answer")
        ax.set_xlabel("ms")
        ax.set_title("latency per question")
        ax.legend()
        fig.tight_layout()
        p = folder / "latency_hist.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out


def latest_report(settings: Settings | None = None) -> dict | None:
    f = (settings or get_settings()).reports_dir / "latest.json"
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None
