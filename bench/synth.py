"""Synthetic corpora for the benchmark, made from the bundled guides (no paraphrase, no model).

- :func:`make_scale_corpus` writes ``5 x N`` guides: the originals plus ``N - 1``
  recombinations of each. A recombination keeps the guide's title and intro and
  a shuffled subset (each kept with probability 0.85) of its top-level sections
  (everything from one major heading to the next), so the chunker sees the same
  headings and mostly the same passages and sentences: their vectors come out of
  the content-hash embedding cache instead of the model. Not all: the chunker
  merges a short section into its neighbour, so a shuffled order makes passages no
  single guide has (at x200: 472 distinct passages against the five guides' 134),
  near-duplicates of each other that the retriever's near-duplicate rule
  (``tuning.NEAR_DUPLICATE``) keeps from crowding the top 5.
- :func:`make_tiny_corpus` writes the five guides cut to their intro and first
  two top-level sections (for ``--tiny``).

A recombined copy of guide ``G`` is named ``G--synNNNN.txt``, so its source id is
``G--synNNNN`` and :func:`origin_of` maps any passage back to ``G``; that is how
hit@5 on the gold set (which names original guide ids) is scored at scale. Each
folder gets a ``manifest.json`` giving every copy its origin's title, audience
and specialty (so profile boosts and the embedded text are unchanged).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SYN_SUFFIX = re.compile(r"--syn\d{4,}$")


def origin_of(source: str) -> str:
    """The bundled guide a (possibly synthetic) source id was made from."""
    return SYN_SUFFIX.sub("", source)


def _load(src: Path):
    from assistant.ingestion.corpus import discover, load_document, load_manifest

    manifest = load_manifest(src)
    return manifest, [load_document(f, manifest) for f in discover([src])]


def split_groups(doc) -> tuple[list[str], list[str], list[list[str]]]:
    """(title lines, intro lines, top-level groups) of a cleaned guide.

    Mirrors :func:`assistant.ingestion.chunking.sections_of`: a group starts at a heading
    whose effective level is 1, which resets the heading stack, so a group parses
    to the same sections wherever it is placed.
    """
    from assistant.ingestion.structure import from_lines

    # the headings that start a group: effective level 1, as the chunker's heading stack sees them
    tops: list[str] = []
    stack: list[int] = []
    has_lines = False
    for blk in from_lines(doc.text):
        if blk.kind != "heading":
            has_lines = True
            continue
        level = blk.level
        if level == 1 and stack and stack[-1] == 1 and not has_lines and len(blk.text.split()) < 8:
            level = 2
        while stack and stack[-1] >= level:
            stack.pop()
        stack.append(level)
        has_lines = False
        if level == 1:
            tops.append(blk.text)
    lines = doc.text.split("\n")
    title: list[str] = []
    if lines and lines[0].strip() == doc.title.strip():
        title, lines = [lines[0]], lines[1:]
        if tops and tops[0] == doc.title.strip():
            tops = tops[1:]
    groups: list[list[str]] = [[]]
    k = 0
    for raw in lines:  # lines keep their indentation: it is how an indented layout nests
        if k < len(tops) and raw.strip() == tops[k]:
            groups.append([raw])
            k += 1
        else:
            groups[-1].append(raw)

    def trim(g: list[str]) -> list[str]:
        while g and not g[-1].strip():
            g.pop()
        while g and not g[0].strip():
            g.pop(0)
        return g

    intro = trim(groups[0])
    return title, intro, [trim(g) for g in groups[1:] if trim(g)]


def _text(title: list[str], intro: list[str], groups: list[list[str]]) -> str:
    parts = ["\n".join(title)] if title else []
    if intro:
        parts.append("\n".join(intro))
    parts.extend("\n".join(g) for g in groups)
    return "\n\n".join(parts) + "\n"


def _write_manifest(out: Path, entries: dict) -> None:
    (out / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False, indent=1), encoding="utf-8")


def make_scale_corpus(src: Path, out: Path, scale: int, seed: int = 0) -> dict:
    """Write the originals plus ``scale - 1`` recombinations of each guide into ``out``; return stats."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest, docs = _load(Path(src))
    rng = random.Random(seed)
    entries: dict = {}
    n_files = 0
    total_bytes = 0
    for doc in docs:
        meta = {"title": doc.title, "audience": doc.audience, "specialty": doc.specialty}
        title, intro, groups = split_groups(doc)
        text = _text(title, intro, groups)
        (out / f"{doc.source}.txt").write_text(text, encoding="utf-8")
        entries[doc.source] = meta
        n_files += 1
        total_bytes += len(text.encode())
        for j in range(1, max(1, scale)):
            keep = [g for g in groups if rng.random() < 0.85] or [rng.choice(groups)]
            rng.shuffle(keep)
            sid = f"{doc.source}--syn{j:04d}"
            body = _text(title, intro, keep)
            (out / f"{sid}.txt").write_text(body, encoding="utf-8")
            entries[sid] = meta
            n_files += 1
            total_bytes += len(body.encode())
    _write_manifest(out, entries)
    return {"documents": n_files, "bytes": total_bytes, "scale": scale, "seed": seed}


def make_tiny_corpus(src: Path, out: Path, groups_per_doc: int = 2) -> dict:
    """The five guides cut to their intro and first ``groups_per_doc`` top-level sections (same ids)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest, docs = _load(Path(src))
    entries = {}
    total = 0
    for doc in docs:
        title, intro, groups = split_groups(doc)
        text = _text(title, intro, groups[:groups_per_doc])
        (out / f"{doc.source}.txt").write_text(text, encoding="utf-8")
        entries[doc.source] = {"title": doc.title, "audience": doc.audience, "specialty": doc.specialty}
        total += len(text.encode())
    _write_manifest(out, entries)
    return {"documents": len(docs), "bytes": total}
