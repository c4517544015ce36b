"""`python -m bench.run`: the advisor against the tutorial baseline, side by side, in one run.

What it measures (each step in a fresh process unless noted, so imports, model
load and index load are paid the way a user pays them):

- cold ``advisor ask`` (``python -m assistant.cli ask "..."``, median of
  ``--runs``) vs the tutorial's cold start (a fresh process importing LangChain,
  sentence-transformers and Chroma, loading the model with torch and querying);
- warm ask and retrieve p50/p95 over the gold questions (in one process, like
  ``advisor eval``), with retrieval quality (hit@5, MRR) beside the baseline's;
- ingest from scratch into a fresh ``ADVISOR_HOME`` with an empty vector cache
  (chunks/s and texts/s: the advisor embeds every passage *and* every sentence);
- re-ingest of the unchanged corpus (raw wall time, and net of ``python -c pass``);
- peak RSS of every process (``os.wait4`` rusage, no psutil);
- the same at scale on a synthetic corpus (``--scale N``: 5 x N guides made from
  the bundled five by :mod:`bench.synth`), hit@5 mapped back to the original guide ids;
- with ``--chroma-server``: the advisor's figures again against a ``chroma run``
  server the harness starts on 127.0.0.1.

Prints a table (rich) and writes JSON (default ``bench/results/latest.json``).
Ratios against the baseline are the headline: the machine may be shared, so
absolute times move from run to run; both sides are measured in the same run.
``--tiny`` runs the whole pipeline on a cut-down corpus in well under two minutes
(CI); its figures are not meaningful, only its shape.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"
GOLD = ROOT / "evals" / "gold.jsonl"
CORPUS = ROOT / "corpus"
COLD_QUESTION = "I failed Step 1; can I still match into radiology?"
WARMUP_QUESTION = "What should I know before applying to residency as an international graduate?"
SCHEMA = 1

TARGETS = {
    "cold_ask_s": ("<=", 2.0, "cold `advisor ask` (s, median)"),
    "cold_speedup_vs_baseline": (">=", 2.0, "baseline cold start / cold ask"),
    "warm_ask_p50_ms": ("<=", 50.0, "warm ask p50 (ms)"),
    "retrieve_p50_ms": ("<=", 20.0, "warm retrieve p50 (ms)"),
    "scale_retrieve_p50_ms": ("<=", 60.0, "retrieve p50 at scale (ms)"),
    "scale_hit@5_drop": ("<=", 0.02, "hit@5 small - hit@5 at scale"),
    "ingest_chunks_per_s": (">=", 80.0, "ingest from scratch (chunks/s, wall incl. start + model load)"),
    "ingest_s": ("<=", 15.0, "whole-corpus ingest from scratch (s, incl. model load)"),
    "reingest_net_s": ("<=", 1.0, "unchanged re-ingest beyond `python -c pass` (s)"),
    "scale_peak_rss_mb": ("<=", 2048.0, "peak RSS at scale (MB)"),
}


# ---------------------------------------------------------------- processes


class Proc:
    def __init__(self, cmd, wall, rss_mb, code, stdout, stderr):
        self.cmd, self.wall, self.rss_mb, self.code, self.stdout, self.stderr = cmd, wall, rss_mb, code, stdout, stderr

    def check(self) -> "Proc":
        if self.code != 0:
            raise RuntimeError(f"{' '.join(map(str, self.cmd[:6]))} ... exited {self.code}:\n{self.stderr[-3000:]}")
        return self


def run_proc(cmd: list, env: dict, timeout: float = 3600) -> Proc:
    """Run ``cmd``; wall time and the child's own peak RSS (``os.wait4``), stdout/stderr via temp files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Proc(cmd, wall, usage.ru_maxrss / 1024.0, p.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def base_env(**extra) -> dict:
    env = dict(os.environ)
    for k in ("ADVISOR_CHROMA_URL", "ADVISOR_LLM", "ADVISOR_EMBEDDINGS", "ADVISOR_HOME", "ADVISOR_CORPUS"):
        env.pop(k, None)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        }
    )
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def advisor_env(home: Path, corpus: Path, chroma_url: str | None = None) -> dict:
    return base_env(ADVISOR_HOME=home, ADVISOR_CORPUS=corpus, ADVISOR_CHROMA_URL=chroma_url)


PY = sys.executable
CLI = [PY, "-m", "assistant.cli"]


def median(xs):
    return statistics.median(xs) if xs else None


def load_avg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


# ---------------------------------------------------------------- steps


def process_start(n: int = 5) -> float:
    return median([run_proc([PY, "-c", "pass"], base_env()).check().wall for _ in range(n)])


def cold_runs(cmd: list, env: dict, runs: int, prime: bool) -> dict:
    if prime:
        run_proc(cmd, env).check()
    ps = [run_proc(cmd, env).check() for _ in range(runs)]
    return {"median_s": median([p.wall for p in ps]), "runs_s": [round(p.wall, 3) for p in ps], "peak_rss_mb": max(p.rss_mb for p in ps)}


def import_breakdown(env: dict, top: int = 8) -> dict:
    """Cumulative import time (ms) per top-level package of one cold `advisor ask` (``python -X importtime``)."""
    p = run_proc([PY, "-X", "importtime", "-m", "assistant.cli", "ask", COLD_QUESTION], env).check()
    per: dict[str, float] = {}
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") < 2:
            continue
        _, cum, name = line.split("|", 2)
        if name.startswith("  ") or not cum.strip().isdigit():
            continue  # nested: counted in its top-level parent
        name = name.strip()
        pkg = name.split(".")[0]
        per[pkg] = per.get(pkg, 0.0) + int(cum) / 1000.0
    best = sorted(per.items(), key=lambda kv: -kv[1])[:top]
    return {k: round(v, 1) for k, v in best}


def advisor_ingest(home: Path, corpus: Path, chroma_url: str | None = None, seed_cache: Path | None = None) -> dict:
    if seed_cache is not None:
        (home / "cache").mkdir(parents=True, exist_ok=True)
        shutil.copy(seed_cache, home / "cache" / "embcache.sqlite")
    p = run_proc(CLI + ["ingest", "--json"], advisor_env(home, corpus, chroma_url)).check()
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    return {
        "wall_s": p.wall,
        "in_process_s": rep["seconds"],
        "documents": rep["documents"],
        "chunks": rep["chunks"],
        "stored_passages": rep.get("distinct"),  # identical passages in several guides are stored once
        "embedded_texts": rep["embedded"],
        "chunks_per_s": rep["chunks"] / p.wall,
        "texts_per_s": rep["embedded"] / p.wall,
        "peak_rss_mb": p.rss_mb,
        "vector_cache": "seeded" if seed_cache is not None else "empty",
    }


def advisor_reingest(home: Path, corpus: Path, start: float, runs: int, chroma_url: str | None = None) -> dict:
    ps = []
    for _ in range(runs):
        p = run_proc(CLI + ["ingest", "--json"], advisor_env(home, corpus, chroma_url)).check()
        rep = json.loads(p.stdout.strip().splitlines()[-1])
        if rep.get("swapped") or rep.get("embedded"):
            raise RuntimeError(f"re-ingest of an unchanged corpus changed the index: {rep}")
        ps.append((p, rep))
    wall = median([p.wall for p, _ in ps])
    return {"wall_s": wall, "net_s": wall - start, "in_process_s": median([r["seconds"] for _, r in ps]), "peak_rss_mb": max(p.rss_mb for p, _ in ps)}


def worker_run(kind: str, env: dict, args: list, work: Path) -> tuple[dict, float]:
    res = work / f"result-{kind}-{time.monotonic_ns()}.json"
    p = run_proc([PY, "-m", "bench.run", "--worker", kind, "--result", res] + args, env).check()
    return json.loads(res.read_text(encoding="utf-8")), p.rss_mb


def advisor_warm(home: Path, corpus: Path, gold: Path, limit: int, work: Path, chroma_url: str | None = None) -> dict:
    out, rss = worker_run("warm", advisor_env(home, corpus, chroma_url), ["--gold", gold, "--limit", str(limit)], work)
    out["peak_rss_mb"] = rss
    return out


def baseline_ingest(home: Path, corpus: Path, model: Path, work: Path, memo: bool = False) -> dict:
    res = work / f"baseline-ingest-{time.monotonic_ns()}.json"
    cmd = [PY, "-m", "bench.baseline", "ingest", "--home", home, "--corpus", corpus, "--model", model, "--result", res] + (["--memo"] if memo else [])
    p = run_proc(cmd, base_env()).check()
    r = json.loads(res.read_text(encoding="utf-8"))
    return {
        "wall_s": p.wall,
        "in_process_s": r["seconds"],
        "chunks": r["chunks"],
        "embedded_texts": r["embedded"],
        "chunks_per_s": r["chunks"] / p.wall,
        "texts_per_s": r["embedded"] / p.wall,
        "model_load_s": r["model_s"],
        "import_s": r["import_s"],
        "peak_rss_mb": p.rss_mb,
        "memo": memo,
    }


def baseline_cold(home: Path, model: Path, runs: int, prime: bool) -> dict:
    cmd = [PY, "-m", "bench.baseline", "query", "--home", home, "--model", model, COLD_QUESTION]
    return cold_runs(cmd, base_env(), runs, prime)


def baseline_warm(home: Path, model: Path, gold: Path, limit: int, work: Path, default_probe: int = 20) -> dict:
    res = work / f"baseline-warm-{time.monotonic_ns()}.json"
    cmd = [PY, "-m", "bench.baseline", "warm", "--home", home, "--model", model, "--gold", gold, "--limit", str(limit), "--default-probe", str(default_probe), "--result", res]
    p = run_proc(cmd, base_env()).check()
    r = json.loads(res.read_text(encoding="utf-8"))
    r["peak_rss_mb"] = p.rss_mb
    return r


# ---------------------------------------------------------------- in-process worker (warm figures)


def warm_worker(args) -> dict:
    """Warm latencies and retrieval quality over the gold set, in this process (run as a fresh child)."""
    from assistant.answering import ask, condense
    from assistant.config import get_settings
    from assistant.evaluation.dataset import load_dataset
    from assistant.evaluation.metrics import K, percentile, retrieval_scores
    from assistant.retrieval import get_retriever

    from bench.synth import origin_of

    settings = get_settings()
    t0 = time.perf_counter()
    retriever = get_retriever(settings)
    retriever.search(WARMUP_QUESTION, k=K)
    ask(WARMUP_QUESTION, settings=settings)
    warmup_s = time.perf_counter() - t0
    cases = load_dataset(Path(args.gold))
    if args.limit:
        cases = cases[: args.limit]

    t_ret: list[float] = []
    scores = []
    distinct_top5: list[int] = []
    retriever.embedder._queries.clear()  # every question pays its own query embedding
    for c in cases:
        q = condense(c.question, c.history)
        t = time.perf_counter()
        hits = retriever.search(q, k=K, audience=c.audience, specialty=c.specialty)
        t_ret.append((time.perf_counter() - t) * 1000)
        if c.answerable:
            scores.append(retrieval_scores(c, [(origin_of(h.source), f"{h.section}\n{h.text}") for h in hits]))
        distinct_top5.append(len({(h.section, h.text) for h in hits}))

    retriever.embedder._queries.clear()
    t_ask: list[float] = []
    abstained = 0
    for c in cases:
        t = time.perf_counter()
        a = ask(c.question, audience=c.audience, specialty=c.specialty, history=c.history or None, settings=settings)
        t_ask.append((time.perf_counter() - t) * 1000)
        abstained += bool(a.abstained)
    n = max(1, len(scores))
    return {
        "queries": len(cases),
        "answerable": len(scores),
        "warmup_s": warmup_s,
        "retrieve_p50_ms": statistics.median(t_ret),
        "retrieve_p95_ms": percentile(t_ret, 95),
        "warm_ask_p50_ms": statistics.median(t_ask),
        "warm_ask_p95_ms": percentile(t_ask, 95),
        "hit@5": sum(s["hit"] for s in scores) / n,
        "mrr": sum(s["rr"] for s in scores) / n,
        "top5_distinct_avg": statistics.mean(distinct_top5) if distinct_top5 else None,
        "abstained": abstained,
        "passages": len(retriever.rows),
        "engine": retriever.embedder.engine.name,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on 127.0.0.1 with its own data folder; stopped (by pid) when done."""

    def __init__(self, data: Path) -> None:
        exe = Path(PY).parent / "chroma"
        exe = str(exe) if exe.exists() else shutil.which("chroma")
        if not exe:
            raise RuntimeError("the `chroma` command is not installed (it comes with chromadb)")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        self.log = open(data.parent / "chroma-server.log", "wb")
        self.proc = subprocess.Popen([exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=base_env())
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("`chroma run` exited at start") from None
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the Chroma server did not answer within 90 s")

    def peak_rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------- the run


def _max(*xs):
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def _ratio(a, b):
    return (a / b) if (a is not None and b not in (None, 0)) else None


def ensure_model(log) -> dict:
    """The ONNX export (what `advisor setup` makes) and its optimized copy exist before anything is timed."""
    from assistant.store.engines import onnx_path

    info = {"onnx": str(onnx_path()), "exported_now": False}
    if not onnx_path().exists():
        log("exporting the embedding model to ONNX (advisor setup) ...")
        run_proc(CLI + ["setup"], base_env()).check()
        info["exported_now"] = True
    # load the engine once: writes the graph-optimized copy (a one-time cost per machine, like setup)
    run_proc([PY, "-c", "from assistant.store.engines import OnnxEngine, onnx_path; OnnxEngine(onnx_path()).encode(['x'])"], base_env()).check()
    return info


def run_bench(args, log) -> dict:
    from assistant.store.engines import model_dir

    from bench import synth

    tiny = args.tiny
    scale = args.scale if args.scale is not None else (3 if tiny else 200)
    runs = args.runs or (1 if tiny else 3)
    prime = not tiny
    limit = args.limit if args.limit is not None else (15 if tiny else 0)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model = model_dir()
    result: dict = {
        "schema": SCHEMA,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "mode": "tiny" if tiny else "full",
        "scale": scale,
        "runs": runs,
        "gold": str(GOLD),
        "gold_limit": limit,
        "command": " ".join(["python -m bench.run"] + (args.argv or [])),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_start": load_avg()},
        "notes": [],
    }
    t_all = time.perf_counter()
    try:
        result["model"] = ensure_model(log)
        start = process_start()
        result["process_start_s"] = start
        log(f"process start (python -c pass): {start:.3f} s")

        # -- the small corpus: bundled guides (or the tiny cut)
        if tiny:
            corpus = work / "tiny-corpus"
            result["corpus"] = {"name": "tiny", **synth.make_tiny_corpus(CORPUS, corpus)}
        else:
            corpus = CORPUS
            result["corpus"] = {"name": "bundled", "documents": len(list(CORPUS.glob("*.txt")))}
        small: dict = {"advisor": {}, "baseline": {}}
        home = work / "home-small"
        log("advisor ingest from scratch (empty vector cache) ...")
        small["advisor"]["ingest"] = advisor_ingest(home, corpus)
        log(f"  {small['advisor']['ingest']['chunks']} chunks, {small['advisor']['ingest']['embedded_texts']} texts in {small['advisor']['ingest']['wall_s']:.1f} s")
        small["advisor"]["reingest"] = advisor_reingest(home, corpus, start, runs=runs)
        log("cold advisor ask / retrieve ...")
        env = advisor_env(home, corpus)
        small["advisor"]["cold_ask"] = cold_runs(CLI + ["ask", COLD_QUESTION], env, runs, prime)
        small["advisor"]["cold_retrieve"] = cold_runs(CLI + ["retrieve", COLD_QUESTION], env, runs, False)
        small["advisor"]["cold_ask_imports_ms"] = import_breakdown(env)
        log("warm ask / retrieve over the gold set ...")
        small["advisor"]["warm"] = advisor_warm(home, corpus, GOLD, limit, work)

        bhome = work / "baseline-small"
        log("baseline (tutorial) ingest, cold start, warm retrieval ...")
        small["baseline"]["ingest"] = baseline_ingest(bhome, corpus, model, work)
        small["baseline"]["cold_start"] = baseline_cold(bhome, model, runs, prime)
        small["baseline"]["warm"] = baseline_warm(bhome, model, GOLD, limit, work, 0 if tiny else 20)
        small["ratios"] = ratios(small)
        result["small"] = small

        # -- at scale
        scale_res: dict | None = None
        if not args.no_scale:
            scorpus = work / f"scale-{scale}-corpus"
            log(f"synthetic corpus x{scale} ...")
            result["scale_corpus"] = synth.make_scale_corpus(corpus, scorpus, scale)
            scale_res = {"advisor": {}, "baseline": {}}
            shome = work / "home-scale"
            log(f"advisor ingest x{scale} (vector cache seeded from the small run) ...")
            scale_res["advisor"]["ingest"] = advisor_ingest(shome, scorpus, seed_cache=home / "cache" / "embcache.sqlite")
            ing = scale_res["advisor"]["ingest"]
            log(f"  {ing['documents']} guides, {ing['chunks']} chunks, {ing['embedded_texts']} texts embedded, {ing['wall_s']:.1f} s, {ing['peak_rss_mb']:.0f} MB")
            scale_res["advisor"]["reingest"] = advisor_reingest(shome, scorpus, start, runs=1)
            senv = advisor_env(shome, scorpus)
            log("cold ask / warm figures at scale ...")
            scale_res["advisor"]["cold_ask"] = cold_runs(CLI + ["ask", COLD_QUESTION], senv, runs, False)
            scale_res["advisor"]["warm"] = advisor_warm(shome, scorpus, GOLD, limit, work)
            log("baseline at scale ...")
            sbhome = work / "baseline-scale"
            scale_res["baseline"]["ingest"] = baseline_ingest(sbhome, scorpus, model, work, memo=True)
            # the tutorial's cold start at scale (skipped with --tiny to keep CI short)
            scale_res["baseline"]["cold_start"] = baseline_cold(sbhome, model, 1, False) if not tiny else {"median_s": None, "runs_s": [], "peak_rss_mb": None}
            scale_res["baseline"]["warm"] = baseline_warm(sbhome, model, GOLD, limit, work, 0)
            scale_res["ratios"] = ratios(scale_res)
            scale_res["peak_rss_mb"] = max(
                scale_res["advisor"]["ingest"]["peak_rss_mb"], scale_res["advisor"]["reingest"]["peak_rss_mb"], scale_res["advisor"]["cold_ask"]["peak_rss_mb"], scale_res["advisor"]["warm"]["peak_rss_mb"]
            )
            shutil.rmtree(sbhome, ignore_errors=True)
        result["scale_results"] = scale_res

        # -- against a Chroma server
        server_res = None
        if args.chroma_server:
            log("Chroma server on 127.0.0.1 ...")
            srv = ChromaServer(work / "chroma-server-data")
            try:
                server_res = {"url": srv.url, "small": {}, "scale": None}
                chome = work / "home-server-small"
                server_res["small"]["ingest"] = advisor_ingest(chome, corpus, srv.url, seed_cache=home / "cache" / "embcache.sqlite")
                cenv = advisor_env(chome, corpus, srv.url)
                server_res["small"]["cold_ask"] = cold_runs(CLI + ["ask", COLD_QUESTION], cenv, runs, prime)
                server_res["small"]["warm"] = advisor_warm(chome, corpus, GOLD, limit, work, srv.url)
                if scale_res is not None:
                    log(f"Chroma server at x{scale} ...")
                    cshome = work / "home-server-scale"
                    server_res["scale"] = {}
                    server_res["scale"]["ingest"] = advisor_ingest(cshome, scorpus, srv.url, seed_cache=shome / "cache" / "embcache.sqlite")
                    csenv = advisor_env(cshome, scorpus, srv.url)
                    server_res["scale"]["cold_ask"] = cold_runs(CLI + ["ask", COLD_QUESTION], csenv, runs, False)
                    server_res["scale"]["warm"] = advisor_warm(cshome, scorpus, GOLD, limit, work, srv.url)
                server_res["server_peak_rss_mb"] = srv.peak_rss_mb()
            finally:
                srv.stop()
        result["chroma_server"] = server_res
    finally:
        result["machine"]["loadavg_end"] = load_avg()
        result["total_s"] = time.perf_counter() - t_all
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            result["workdir"] = str(work)
    result["targets"] = targets(result)
    result["notes"] += notes(result)
    return result


def ratios(block: dict) -> dict:
    a, b = block["advisor"], block["baseline"]
    return {
        "cold_speedup": _ratio(b["cold_start"]["median_s"], a["cold_ask"]["median_s"]),
        "retrieve_p50_speedup": _ratio(b["warm"]["retrieve_p50_ms"], a["warm"]["retrieve_p50_ms"]),
        "ingest_chunks_per_s_ratio": _ratio(a["ingest"]["chunks_per_s"], b["ingest"]["chunks_per_s"]),
        "ingest_texts_per_s_ratio": _ratio(a["ingest"]["texts_per_s"], b["ingest"]["texts_per_s"]),
        "ingest_wall_ratio": _ratio(a["ingest"]["wall_s"], b["ingest"]["wall_s"]),
        "hit@5_delta": a["warm"]["hit@5"] - b["warm"]["hit@5"],
        "peak_rss_ratio": _ratio(_max(a["warm"]["peak_rss_mb"], a["cold_ask"]["peak_rss_mb"]), _max(b["warm"]["peak_rss_mb"], b["cold_start"]["peak_rss_mb"])),
    }


def targets(r: dict) -> list[dict]:
    s = r.get("small") or {}
    sc = r.get("scale_results") or {}
    a = s.get("advisor", {})
    vals = {
        "cold_ask_s": a.get("cold_ask", {}).get("median_s"),
        "cold_speedup_vs_baseline": (s.get("ratios") or {}).get("cold_speedup"),
        "warm_ask_p50_ms": a.get("warm", {}).get("warm_ask_p50_ms"),
        "retrieve_p50_ms": a.get("warm", {}).get("retrieve_p50_ms"),
        "scale_retrieve_p50_ms": sc.get("advisor", {}).get("warm", {}).get("retrieve_p50_ms"),
        "scale_hit@5_drop": (a["warm"]["hit@5"] - sc["advisor"]["warm"]["hit@5"]) if sc and a.get("warm") else None,
        "ingest_chunks_per_s": a.get("ingest", {}).get("chunks_per_s"),
        "ingest_s": a.get("ingest", {}).get("wall_s"),
        "reingest_net_s": a.get("reingest", {}).get("net_s"),
        "scale_peak_rss_mb": sc.get("peak_rss_mb"),
    }
    out = []
    for key, (op, limit, label) in TARGETS.items():
        v = vals.get(key)
        met = None if v is None else (v <= limit if op == "<=" else v >= limit)
        out.append({"name": key, "label": label, "value": v, "op": op, "target": limit, "met": met})
    return out


def notes(r: dict) -> list[str]:
    out = []
    if r["mode"] == "tiny":
        out.append("--tiny: a cut-down corpus and a few gold questions; figures show the pipeline works, not its speed or quality.")
    s = r.get("small")
    if s:
        ing = s["advisor"]["ingest"]
        out.append(
            f"advisor ingest embeds {ing['embedded_texts']} texts for {ing['chunks']} chunks (passages + their sentences); the baseline embeds its {s['baseline']['ingest']['chunks']} chunks only."
        )
    if r.get("scale_results"):
        out.append("scale ingest starts from the small run's vector cache: recombined guides repeat the same passages, so only texts never seen are embedded (see embedded_texts).")
        out.append("scale baseline embeds each distinct chunk text once (--memo): the same collection a tutorial would build, faster; its ingest time is not a tutorial throughput.")
        out.append("hit@5 at scale maps a synthetic guide id G--synNNNN back to G (bench/synth.py: origin_of). The index stores a passage repeated in several guides once (stored_passages), so the recombined copies do not crowd each other out of the top 5.")
    la0, la1 = r["machine"].get("loadavg_start"), r["machine"].get("loadavg_end")
    busy = (r["machine"]["cpus"] or 1) * 0.75
    if la0 and (la0[0] > busy or (la1 and la1[0] > busy)):
        out.append(f"machine was busy (load average {la0[0]} at start, {la1[0] if la1 else '?'} at end on {r['machine']['cpus']} CPUs): absolute times are inflated; compare ratios.")
    return out


# ---------------------------------------------------------------- output


def _f(v, unit: str = "", digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def _x(v) -> str:
    return "—" if v is None else f"{v:.2f}x"


def print_tables(r: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 150)
    console.print(f"[bold]advisor bench[/] {r['mode']} · scale x{r['scale']} · {r['machine']['cpus']} CPUs · load {r['machine'].get('loadavg_start')} → {r['machine'].get('loadavg_end')} · python -c pass {_f(r.get('process_start_s'), ' s', 3)} · total {_f(r.get('total_s'), ' s', 0)}")

    def block_table(title: str, blk: dict) -> Table:
        a, b, q = blk["advisor"], blk["baseline"], blk["ratios"]
        t = Table(title=title, title_justify="left")
        for col in ("metric", "advisor", "baseline", "ratio"):
            t.add_column(col, justify="left" if col == "metric" else "right")
        t.add_row("cold start: `advisor ask` vs tutorial query (s, median)", _f(a["cold_ask"]["median_s"]), _f(b["cold_start"]["median_s"]), (_x(q["cold_speedup"]) + " faster") if q["cold_speedup"] is not None else "—")
        if "cold_retrieve" in a:
            t.add_row("cold `advisor retrieve` (s, median)", _f(a["cold_retrieve"]["median_s"]), "", "")
        t.add_row("warm retrieve p50 / p95 (ms)", f"{_f(a['warm']['retrieve_p50_ms'], '', 1)} / {_f(a['warm']['retrieve_p95_ms'], '', 1)}", f"{_f(b['warm']['retrieve_p50_ms'], '', 1)} / {_f(b['warm']['retrieve_p95_ms'], '', 1)}", _x(q["retrieve_p50_speedup"]) + " (base/adv)")
        if b["warm"].get("retrieve_p50_ms_default_threads") is not None:
            t.add_row(
                f"  baseline p50 with torch's default {b['warm']['default_threads']} threads (first {b['warm']['default_threads_queries']} q)",
                "",
                _f(b["warm"]["retrieve_p50_ms_default_threads"], "", 1),
                _x(_ratio(b["warm"]["retrieve_p50_ms_default_threads"], a["warm"]["retrieve_p50_ms"])),
            )
        t.add_row("warm ask p50 / p95 (ms)", f"{_f(a['warm']['warm_ask_p50_ms'], '', 1)} / {_f(a['warm']['warm_ask_p95_ms'], '', 1)}", "— (no answer step)", "")
        t.add_row("hit@5 / MRR (gold)", f"{_f(a['warm']['hit@5'], '', 3)} / {_f(a['warm']['mrr'], '', 3)}", f"{_f(b['warm']['hit@5'], '', 3)} / {_f(b['warm']['mrr'], '', 3)}", f"{q['hit@5_delta']:+.3f}")
        t.add_row("distinct passages in the top 5 (mean)", _f(a["warm"].get("top5_distinct_avg"), "", 2), "", "")
        ia, ib = a["ingest"], b["ingest"]
        t.add_row(
            f"ingest ({ia['vector_cache']} vector cache): wall s",
            _f(ia["wall_s"], "", 1),
            _f(ib["wall_s"], "", 1),
            _x(q["ingest_wall_ratio"]) + " (adv/base)",
        )
        t.add_row("  chunks (passages) / stored / texts embedded", f"{ia['chunks']} / {ia.get('stored_passages')} / {ia['embedded_texts']}", f"{ib['chunks']} / {ib['embedded_texts']}", "")
        t.add_row("  chunks/s · texts/s", f"{_f(ia['chunks_per_s'], '', 1)} · {_f(ia['texts_per_s'], '', 1)}", f"{_f(ib['chunks_per_s'], '', 1)} · {_f(ib['texts_per_s'], '', 1)}", f"{_x(q['ingest_chunks_per_s_ratio'])} · {_x(q['ingest_texts_per_s_ratio'])}")
        rg = a["reingest"]
        t.add_row("re-ingest unchanged: wall / net of start / in-process (s)", f"{_f(rg['wall_s'])} / {_f(rg['net_s'])} / {_f(rg['in_process_s'])}", "", "")
        t.add_row(
            "peak RSS (MB): ingest · cold ask · warm",
            f"{_f(ia['peak_rss_mb'], '', 0)} · {_f(a['cold_ask']['peak_rss_mb'], '', 0)} · {_f(a['warm']['peak_rss_mb'], '', 0)}",
            f"{_f(ib['peak_rss_mb'], '', 0)} · {_f(b['cold_start']['peak_rss_mb'], '', 0)} · {_f(b['warm']['peak_rss_mb'], '', 0)}",
            _x(q["peak_rss_ratio"]) + " (adv/base)",
        )
        t.add_row("passages stored in the index / vectors", str(a["warm"]["passages"]), str(b["warm"]["vectors"]), "")
        return t

    if r.get("small"):
        console.print(block_table(f"{r['corpus']['name']} corpus ({r['corpus']['documents']} guides)", r["small"]))
        imps = r["small"]["advisor"].get("cold_ask_imports_ms")
        if imps:
            console.print("cold ask imports (ms, cumulative per package): " + ", ".join(f"{k} {v:.0f}" for k, v in imps.items()))
    if r.get("scale_results"):
        sc = r["scale_corpus"]
        console.print(block_table(f"scale x{r['scale']}: {sc['documents']} synthetic guides, {sc['bytes'] / 1e6:.1f} MB", r["scale_results"]))
    srv = r.get("chroma_server")
    if srv:
        t = Table(title=f"Chroma server ({srv['url']}) beside embedded", title_justify="left")
        for col in ("metric", "embedded", "server", "embedded x-scale", "server x-scale"):
            t.add_column(col, justify="left" if col == "metric" else "right")
        emb_s, emb_x = r["small"]["advisor"], (r.get("scale_results") or {}).get("advisor", {})
        sv_s, sv_x = srv["small"], srv.get("scale") or {}

        def g(blk, *path, d=1):
            v = blk
            for p in path:
                v = (v or {}).get(p)
            return _f(v, "", d)

        for label, path, d in [
            ("cold ask (s, median)", ("cold_ask", "median_s"), 2),
            ("retrieve p50 (ms)", ("warm", "retrieve_p50_ms"), 1),
            ("retrieve p95 (ms)", ("warm", "retrieve_p95_ms"), 1),
            ("warm ask p50 (ms)", ("warm", "warm_ask_p50_ms"), 1),
            ("hit@5", ("warm", "hit@5"), 3),
            ("ingest wall (s, seeded cache)", ("ingest", "wall_s"), 1),
        ]:
            t.add_row(label, g(emb_s, *path, d=d), g(sv_s, *path, d=d), g(emb_x, *path, d=d), g(sv_x, *path, d=d))
        t.add_row("server peak RSS (MB)", "", _f(srv.get("server_peak_rss_mb"), "", 0), "", "")
        console.print(t)
    t = Table(title="targets", title_justify="left")
    for col in ("target", "value", "goal", "met"):
        t.add_column(col)
    for x in r["targets"]:
        met = "—" if x["met"] is None else ("[green]yes[/]" if x["met"] else "[red]no[/]")
        t.add_row(x["label"], _f(x["value"], "", 3 if "hit" in x["name"] else 2), f"{x['op']} {x['target']}", met)
    console.print(t)
    for n in r.get("notes", []):
        console.print(f"- {n}", highlight=False)


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, float):
        return round(o, 4)
    if isinstance(o, Path):
        return str(o)
    return o


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m bench.run", description="Benchmark the advisor against the tutorial baseline (one run, side by side).")
    ap.add_argument("--tiny", action="store_true", help="tiny corpus, few questions, one run each (CI: seconds, not figures)")
    ap.add_argument("--scale", type=int, default=None, help="synthetic corpus size as a multiple of the five guides (default 200; 3 with --tiny)")
    ap.add_argument("--no-scale", action="store_true", help="skip the synthetic corpus")
    ap.add_argument("--chroma-server", action="store_true", help="also run against a `chroma run` server started on 127.0.0.1")
    ap.add_argument("--runs", type=int, default=0, help="cold-start repetitions (median; default 3, 1 with --tiny)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N gold questions (default all; 15 with --tiny)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT.relative_to(ROOT)})")
    ap.add_argument("--workdir", help="keep temporary homes and corpora here (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="do not delete the work folder")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--gold", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        from assistant.config import offline_env

        offline_env()
        out = {"warm": warm_worker}[args.worker](args)
        Path(args.result).write_text(json.dumps(out), encoding="utf-8")
        return 0
    if args.scale is not None and args.scale < 1:
        ap.error("--scale must be at least 1")
    args.argv = argv
    from rich.console import Console

    err = Console(stderr=True)

    def log(msg: str) -> None:
        if not args.quiet:
            err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {msg}", highlight=False)

    result = _jsonable(run_bench(args, log))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, args.out)
    print_tables(result)
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
