"""Stage 2: split a cleaned guide into passages that follow its structure.

The guides are plain text whose structure lives in line shapes: title-like
headings, numbered sections (``1. Addressing Failures``), lettered sub-steps
(``A. Clarify the Facts``), FAQ questions (``2. How should I ...?``), lead-in
lines ending in ``:`` followed by bullets, and worked examples. LangChain's
splitters cut on characters or Markdown ``#`` headers, so they cannot see these
headings: the heading parser below is hand-written for that reason only. Blocks
are then packed into chunks without ever separating an FAQ answer from its
question or a list from its lead-in; a single block larger than the limit is cut
with LangChain's ``RecursiveCharacterTextSplitter`` (each piece keeps its heading).

Each chunk carries ``section``: the heading path, e.g.
``Strategies to Address Specific Red Flags > Addressing Failures and Low Scores``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.config import chunk_target_chars, embed_format
from assistant.ingestion.corpus import Document
from assistant.tuning import MAX_CHARS

CHUNKER_VERSION = 7
TARGET_CHARS = chunk_target_chars()
EMBED_FORMAT = embed_format()

_BULLET = re.compile(r"^[-–•]\s+")
_NUMBERED = re.compile(r"^(\d{1,2})[.)]\s+(.+)$")
_LETTERED = re.compile(r"^([A-H])[.)]\s+(.+)$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")
_TERMINAL = (".", ":", ";", ",", "!", "…", "”", '"')
_LABEL = re.compile(r"^[A-Z][\w ’'()/-]{0,30}:$")  # "Cause:", "Example:" lead-ins inside examples


@dataclass
class Chunk:
    chunk_id: str
    source: str
    title: str
    audience: str
    specialty: str
    section: str
    text: str
    ordinal: int

    @property
    def embed_text(self) -> str:
        """What gets embedded and BM25-indexed: the guide title and heading path give the passage its context."""
        return EMBED_FORMAT.format(title=self.title, section=self.section, text=self.text)

    @property
    def metadata(self) -> dict:
        return {
            "source": self.source,
            "title": self.title,
            "audience": self.audience,
            "specialty": self.specialty,
            "section": self.section,
            "ordinal": self.ordinal,
        }


def _words(s: str) -> int:
    return len(s.split())


def heading_level(line: str, prev_blank: bool, next_line: str | None, prev_line: str = "") -> tuple[int, str] | None:
    """Classify ``line``: (level, heading text) if it is a heading, else None.

    Levels: 1 = major unnumbered heading, 2 = short unnumbered sub-heading or a
    numbered section/FAQ question, 3 = lettered step. Markdown ``#`` headings map
    to their depth. Body sentences, bullets and lead-ins (ending ``:``) are not headings.
    """
    m = _MD_HEADING.match(line)
    if m:
        return min(len(m.group(1)), 3), m.group(2).strip()
    if _BULLET.match(line) or next_line is None:
        return None
    m = _NUMBERED.match(line)
    if m:
        body = m.group(2).strip()
        if body.endswith("?") and len(body) <= 220:
            return 2, body  # FAQ question
        if len(body) <= 90 and not body.endswith(_TERMINAL):
            return 2, body
        return None
    m = _LETTERED.match(line)
    if m:
        body = m.group(2).strip()
        if len(body) <= 90 and not body.endswith(_TERMINAL) and not body.endswith("?"):
            return 3, body
        return None
    if line.endswith(_TERMINAL) or (line.endswith(")") and "(" not in line):
        return None
    if len(line) > 110:
        return None
    if re.match(r"^(FAQs?\b|Frequently Asked Questions|Step \d+:)", line):
        return 1, line
    if line.endswith("?"):
        return (2, line) if len(line) <= 110 and not re.search(r"[.:]\s|:-", line) else None
    if len(line) > 95 or _words(line) > 14:
        return None
    if not line[0].isupper() and not line[0].isdigit():
        return None
    if not prev_blank and next_line and _BULLET.match(next_line) and (prev_line.endswith(":") or _BULLET.match(prev_line)):
        return None  # a label inside a list ("Combined Programs", "What you changed"), not a section
    return (1 if _words(line) >= 6 else 2), line


@dataclass
class _Section:
    path: list[str]
    lines: list[str]


def parse_sections(doc: Document) -> list[_Section]:
    """Walk the lines, keep a heading stack, and collect each section's body lines."""
    lines = doc.text.split("\n")
    # drop the title line (it is the document title, not a section)
    if lines and _MD_HEADING.sub(r"\2", lines[0].strip()).strip() == doc.title.strip():  # "# Title" in Markdown
        lines = lines[1:]
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = [_Section([], [])]
    nonblank = [i for i, l in enumerate(lines) if l.strip()]
    next_of = {a: b for a, b in zip(nonblank, nonblank[1:])}
    prev_blank = True
    prev_line = ""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            prev_blank = True
            if sections[-1].lines and sections[-1].lines[-1] != "":
                sections[-1].lines.append("")
            continue
        nxt = lines[next_of[i]].strip() if i in next_of else None
        h = heading_level(line, prev_blank, nxt, prev_line)
        prev_blank = False
        prev_line = line
        if h is None:
            sections[-1].lines.append(line)
            continue
        level, text = h
        if level == 1 and stack and stack[-1][0] == 1 and not sections[-1].lines and _words(text) < 8:
            level = 2  # a heading right under a major heading with no text between is its child
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        sections.append(_Section([t for _, t in stack], []))
    return [s for s in sections if any(l.strip() for l in s.lines)]


def _blocks(lines: list[str]) -> list[str]:
    """Group body lines into blocks that must stay whole: a paragraph, or a lead-in with its list."""
    blocks: list[list[str]] = []
    cur: list[str] = []
    for line in lines:
        if not line:
            if cur:
                blocks.append(cur)
                cur = []
            continue
        is_item = bool(_BULLET.match(line)) or bool(_NUMBERED.match(line))
        if not cur:
            cur = [line]
        elif is_item or cur[-1].endswith(":") or _LABEL.match(cur[-1]):
            cur.append(line)  # list items stay with their lead-in and each other
        elif (_BULLET.match(cur[-1]) or _NUMBERED.match(cur[-1])) and not line.endswith(":"):
            # a sentence right after a list usually closes it ("…can significantly improve")
            cur.append(line)
        else:
            blocks.append(cur)
            cur = [line]
    if cur:
        blocks.append(cur)
    return ["\n".join(b) for b in blocks]


def _split_big(text: str) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=TARGET_CHARS, chunk_overlap=120, separators=["\n\n", "\n- ", "\n", ". ", " "], keep_separator=True
    )
    return [p.strip() for p in splitter.split_text(text) if p.strip()]


def chunk_document(doc: Document) -> list[Chunk]:
    """Chunks for one guide, in reading order, each within ``MAX_CHARS`` where the structure allows."""
    out: list[Chunk] = []
    for sec in parse_sections(doc):
        section = " > ".join(sec.path) if sec.path else doc.title
        heading = sec.path[-1] if sec.path else ""
        lead = heading if heading.endswith("?") else ""  # FAQ: the question travels with every piece
        pieces: list[str] = []
        cur = ""
        for block in _blocks(sec.lines):
            if len(block) > MAX_CHARS:
                if cur:
                    pieces.append(cur)
                    cur = ""
                pieces.extend(_split_big(block))
                continue
            if cur and len(cur) + len(block) + 1 > TARGET_CHARS and len(cur) >= 200:
                pieces.append(cur)
                cur = block
            else:
                cur = f"{cur}\n{block}" if cur else block
        if cur:
            if pieces and len(cur) < 150 and len(pieces[-1]) + len(cur) <= MAX_CHARS:
                pieces[-1] = f"{pieces[-1]}\n{cur}"
            else:
                pieces.append(cur)
        for piece in pieces:
            text = f"{lead}\n{piece}" if lead else piece
            digest = hashlib.sha256(f"{doc.source}|{section}|{text}".encode()).hexdigest()[:20]
            out.append(
                Chunk(
                    chunk_id=f"{doc.source}:{digest}",
                    source=doc.source,
                    title=doc.title,
                    audience=doc.audience,
                    specialty=doc.specialty,
                    section=section,
                    text=text,
                    ordinal=len(out),
                )
            )
    return out


def chunk_corpus(docs: list[Document]) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d)]


_ITEM = re.compile(r"^(?:[-•–]|\d{1,2}[.)])\s+")


def split_units(text: str, section: str) -> list[dict]:
    """The answerable units of a chunk: sentences and list items, in order.

    A list item remembers its lead-in line ("Programs will ask:") so it can be
    quoted with its context. FAQ questions heading a chunk are not units (a
    question is not an answer). Used for sentence-level retrieval scores and
    for composing extractive answers.
    """
    from assistant.text import split_sentences

    units: list[dict] = []
    lead_in = ""
    lines = text.split("\n")
    last = section.split(" > ")[-1].strip()
    if lines and lines[0].strip().endswith("?") and lines[0].strip() == last:
        lines = lines[1:]
    for line in lines:
        s = line.strip()
        if not s:
            continue
        item = bool(_ITEM.match(s))
        for sent in split_sentences(s):
            if len(sent) < 12:
                continue
            units.append({"text": sent, "item": item, "lead_in": lead_in if item else "", "order": len(units)})
        if not item:  # the sentence that introduces a list ("You can improve your chances by:")
            lead_in = split_sentences(s)[-1] if s.endswith(":") else ""
    return units


def unit_embed_text(unit: dict, section: str) -> str:
    """What gets embedded for a unit: its heading and lead-in give it context."""
    head = section.split(" > ")[-1]
    lead = f"{unit['lead_in']} " if unit.get("lead_in") else ""
    return f"{head}: {lead}{unit['text']}"
