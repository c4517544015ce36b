"""Stage 2b: cut a guide's structure into passages that each stand on their own.

:mod:`~assistant.ingestion.structure` reads the guide (Markdown with markdown-it-py,
everything else from line shapes and indentation) into headings, paragraphs and
nested list items. This module turns that into passages, by these rules:

- a passage never separates a lead-in ("Use this structure ...:") from its items,
  a label line ("Cause:", "Step 2 CK (current key metric)") from the lines under
  it, an item from the bullets and example under it, nor a worked example
  (labels and quoted sentences) from itself; nested items keep their nesting;
- a section's blocks are packed in reading order up to ``PASSAGE_MAX_WORDS``; a
  list too long for one passage is split between items, its lead-in repeated on
  each piece; a last piece under ``PASSAGE_MIN_WORDS`` joins the one before;
- a section shorter than ``SECTION_MERGE_WORDS`` (an introduction, a one-line
  section) joins the section after it in the same part of the guide (what it
  introduces), or else the one before; an FAQ answer always stays with its question
  only.

No LangChain splitter does this: they cut text on characters or on ``#`` headers,
not on a list's lead-in or an item's children.

Each passage carries ``section``, the heading path (``Strategies to Address
Specific Red Flags > Addressing Failures and Low Scores``); the heading path is
part of what is embedded and BM25-indexed (``embed_text``), while ``text`` stays
the guide's own words.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from assistant.config import embed_format, passage_max_words
from assistant.ingestion.corpus import Document
from assistant.ingestion.structure import Block, from_lines, from_markdown
from assistant.tuning import PASSAGE_MIN_WORDS, PASSAGE_SOFT_MAX_WORDS, SECTION_MERGE_WORDS

CHUNKER_VERSION = 10
PASSAGE_MAX_WORDS = passage_max_words()
EMBED_FORMAT = embed_format()

_LABEL = re.compile(r"^[A-Z][\w ’'()/,&+-]{0,40}:$")  # "Cause:", "Example framing:", "Track:"
_QUOTE_START = ("“", '"', "‘")
_WHOLE_QUOTE = re.compile(r"“[^“”]+”[.!?]?|\"[^\"]+\"[.!?]?")  # a line that is one quotation and nothing else


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
    also: str = ""  # headings of short sections merged into this passage (searchable, not shown)

    @property
    def embed_text(self) -> str:
        """What gets embedded and BM25-indexed: the guide title and heading path give the passage its context."""
        section = f"{self.section} | {self.also}" if self.also else self.section
        return EMBED_FORMAT.format(title=self.title, section=section, text=self.text)

    @property
    def words(self) -> int:
        """Words of the guide's text (list markers and merged headings not counted)."""
        return passage_words(self.text)

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


_MARKUP = re.compile(r"(?m)^\s*(?:[-–•]|\d{1,2}[.)]|#{1,6})\s+")


def passage_words(text: str) -> int:
    return len(_MARKUP.sub("", text).split())


def _words(blocks: list[Block]) -> int:
    return sum(b.words for b in blocks)


def is_label(text: str) -> bool:
    """A short line that names what follows: "Cause:", "What to ask:", "Step 2 CK (current key metric)"."""
    t = text.strip()
    if _LABEL.match(t):
        return True
    return len(t.split()) <= 6 and not t.endswith((".", "!", "?", ";", ",", "”", '"')) and t[:1].isupper()


def is_lead_in(b: Block) -> bool:
    """A block that belongs with what follows it: a merged section's heading, a lead-in, a label."""
    return b.kind == "heading" or (b.kind == "para" and (b.text.rstrip().endswith(":") or is_label(b.text)))


@dataclass
class _Section:
    path: list[str]
    blocks: list[Block] = field(default_factory=list)

    @property
    def faq(self) -> bool:
        return bool(self.path) and self.path[-1].endswith("?")


def blocks_of(doc: Document) -> list[Block]:
    """The guide's structure, from the front-end that reads its format (its title heading dropped)."""
    suffix = doc.path.lower().rsplit(".", 1)[-1]
    blocks = from_markdown(doc.text) if suffix in ("md", "markdown") else from_lines(doc.text, marked_headings=suffix in ("html", "htm"))
    while blocks and blocks[0].kind in ("heading", "para") and blocks[0].text.strip() == doc.title.strip():
        blocks = blocks[1:]  # an HTML page can give its title twice (<title> and <h1>)
    return blocks


def sections_of(blocks: list[Block]) -> list[_Section]:
    """Group blocks under a heading stack; each section keeps its heading path."""
    stack: list[tuple[int, str]] = []
    sections = [_Section([])]
    for b in blocks:
        if b.kind != "heading":
            sections[-1].blocks.append(b)
            continue
        level = b.level
        if level == 1 and stack and stack[-1][0] == 1 and not sections[-1].blocks and len(b.text.split()) < 8:
            level = 2  # a heading right under a major heading with no text between is its child
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, b.text))
        sections.append(_Section([t for _, t in stack]))
    return [s for s in sections if s.blocks]


def groups_of(blocks: list[Block]) -> list[list[Block]]:
    """Runs of blocks that must stay in one passage (see the module rules)."""
    groups: list[list[Block]] = []
    for b in blocks:
        cur = groups[-1] if groups else None
        tops = [x for x in cur if x.depth == 0] if cur else []
        last = tops[-1] if tops else None
        if cur is None:
            groups.append([b])
        elif b.depth > 0:
            cur.append(b)  # inside the item above
        elif last is not None and is_lead_in(last):
            cur.append(b)  # under its lead-in or label
        elif b.kind == "item" and last is not None and last.kind == "item":
            cur.append(b)  # the next item of the same list
        elif b.kind == "para" and any(x.text.startswith(_QUOTE_START) for x in tops) and (b.text.startswith(_QUOTE_START) or is_lead_in(b)):
            cur.append(b)  # the rest of a worked example ("Insight:", the next quoted sentence)
        else:
            groups.append([b])
    return groups


def _split_group(group: list[Block]) -> list[list[Block]]:
    """A group too long for one passage, cut between its items (the lead-in repeated) or between sentences."""
    from assistant.text import split_sentences

    lead: list[Block] = []
    i = 0
    while i < len(group) and group[i].depth == 0 and is_lead_in(group[i]):
        lead.append(group[i])
        i += 1
    units: list[list[Block]] = []
    for b in group[i:]:
        if b.depth == 0 or not units:
            units.append([b])
        else:
            units[-1].append(b)
    if len(units) == 1 and len(units[0]) == 1 and units[0][0].kind == "para":
        para = units[0][0]  # one long paragraph: cut between sentences
        units = [[Block("para", s, depth=para.depth)] for s in split_sentences(para.text)]
    pieces: list[list[Block]] = []
    cur: list[Block] = []
    for u in units:
        if cur and _words(lead + cur + u) > PASSAGE_MAX_WORDS:
            pieces.append(lead + cur)
            cur = []
        cur.extend(u)
    if cur:
        if pieces and _words(cur) < PASSAGE_MIN_WORDS and _words(pieces[-1] + cur) <= PASSAGE_SOFT_MAX_WORDS:
            pieces[-1].extend(cur)
        else:
            pieces.append(lead + cur)
    return pieces


def _pack(blocks: list[Block]) -> list[list[Block]]:
    """A section's groups packed in reading order into passages of at most PASSAGE_MAX_WORDS."""
    pieces: list[list[Block]] = []
    cur: list[Block] = []
    for g in groups_of(blocks):
        if _words(g) > PASSAGE_MAX_WORDS:
            if cur:
                pieces.append(cur)
                cur = []
            pieces.extend(_split_group(g))
            continue
        if cur and _words(cur + g) > PASSAGE_MAX_WORDS and not (_words(cur) < PASSAGE_MIN_WORDS and _words(cur + g) <= PASSAGE_SOFT_MAX_WORDS):
            pieces.append(cur)
            cur = []
        cur = cur + g
    if cur:
        if pieces and _words(cur) < PASSAGE_MIN_WORDS and _words(pieces[-1] + cur) <= PASSAGE_SOFT_MAX_WORDS:
            pieces[-1] = pieces[-1] + cur
        else:
            pieces.append(cur)
    return pieces


def render(blocks: list[Block]) -> str:
    """Passage text: one line per block, nesting shown as two spaces per level."""
    lines = []
    for b in blocks:
        pad = "  " * b.depth
        if b.kind == "heading":  # a short section merged into this passage keeps its heading
            lines.append(f"## {b.text}")
        else:
            lines.append(f"{pad}{b.marker} {b.text}" if b.kind == "item" else f"{pad}{b.text}")
    return "\n".join(lines)


@dataclass
class _Piece:
    path: list[str]
    blocks: list[Block]
    also: list[str] = field(default_factory=list)


def _join(a: _Piece, b: _Section) -> list[Block]:
    """Blocks of ``a`` then ``b``. An introduction joins what it introduces as is; two sections side by side
    keep their headings as lines, so the reader sees where one ends."""
    if b.path[: len(a.path)] == a.path:
        return a.blocks + b.blocks
    head_a = [] if (a.blocks and a.blocks[0].kind == "heading") or not a.path else [Block("heading", a.path[-1], level=2)]
    return head_a + a.blocks + [Block("heading", b.path[-1], level=2)] + b.blocks


def _same_part(a: list[str], b: list[str]) -> bool:
    """``b`` is a sibling of ``a`` or inside it."""
    return a[: len(b) - 1] == b[:-1] or b[: len(a)] == a


def _merge_short_sections(sections: list[_Section]) -> list[_Piece]:
    """Each section packed into passages; a short section first joins the next one in the same part of the
    guide (what it introduces), or else the passage before it."""
    out: list[_Piece] = []
    carry: _Piece | None = None
    for k, sec in enumerate(sections):
        blocks, also = sec.blocks, []
        if carry is not None:
            blocks, also = _join(carry, sec), [" > ".join(carry.path)] + carry.also
            carry = None
        # short, or ending in a lead-in whose items are the sections that follow ("... include:" then "1. Academic Concerns")
        short = (_words(sec.blocks) < SECTION_MERGE_WORDS or sec.blocks[-1].text.rstrip().endswith(":")) and not sec.faq
        nxt = sections[k + 1] if k + 1 < len(sections) else None
        if short and (_words(blocks) < PASSAGE_MIN_WORDS or blocks[-1].text.rstrip().endswith(":")) and nxt is not None and not nxt.faq and _same_part(sec.path, nxt.path):
            carry = _Piece(sec.path, blocks, also)  # an introduction joins what it introduces
            continue
        prev = out[-1] if out else None
        if short and prev is not None and not sections[k - 1].faq and _same_part(prev.path, sec.path) and _words(prev.blocks + blocks) <= PASSAGE_SOFT_MAX_WORDS:
            prev.blocks = prev.blocks + ([] if blocks[0].kind == "heading" else [Block("heading", sec.path[-1], level=2)]) + blocks
            prev.also += [" > ".join(sec.path)] + also
            continue
        pieces = [_Piece(sec.path, p) for p in _pack(blocks)]
        pieces[0].also = also
        out.extend(pieces)
    if carry is not None:
        out.append(carry)
    return out


def chunk_document(doc: Document) -> list[Chunk]:
    """Passages for one guide, in reading order."""
    out: list[Chunk] = []
    for piece in _merge_short_sections(sections_of(blocks_of(doc))):
        section = " > ".join(piece.path) if piece.path else doc.title
        heading = piece.path[-1] if piece.path else ""
        body = render(piece.blocks)
        text = f"{heading}\n{body}" if heading.endswith("?") else body  # FAQ: the question travels with every piece
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
                also="; ".join(piece.also),
            )
        )
    return out


def chunk_corpus(docs: list[Document]) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d)]


def split_units(text: str, section: str) -> list[dict]:
    """The answerable units of a chunk: sentences and list items, in order.

    A list item remembers its lead-in ("Programs will ask:", or the item it is
    nested under: "State the Issue Clearly") so it can be quoted with its context.
    FAQ questions heading a chunk are not units (a question is not an answer).
    Used for sentence-level retrieval scores and for composing extractive answers.
    """
    from assistant.text import LIST_MARKER, split_sentences

    units: list[dict] = []
    lead_in = ""
    parents: list[tuple[int, str]] = []  # (indent, text) of the items enclosing the current line
    lines = text.split("\n")
    last = section.split(" > ")[-1].strip()
    if lines and lines[0].strip().endswith("?") and lines[0].strip() == last:
        lines = lines[1:]
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("## "):  # a merged section's heading: context, not an answer
            lead_in, parents = "", []
            continue
        indent = len(line) - len(line.lstrip(" "))
        while parents and parents[-1][0] >= indent:
            parents.pop()
        m = LIST_MARKER.match(s)
        item = bool(m)
        context = parents[-1][1] if parents else lead_in
        body = LIST_MARKER.sub("", s).strip()
        # a quotation is one unit, however many sentences it holds: “I notice you had a failed Step 1 attempt. What
        # happened and what did you learn?” cut in two showed as two examples, each with one quote mark
        for sent in [body] if _WHOLE_QUOTE.fullmatch(body) else split_sentences(s):
            if len(sent) < 12:
                continue
            units.append({"text": sent, "item": item, "lead_in": context if item else "", "order": len(units)})
        if item:
            parents.append((indent, s[m.end():].strip()))
        elif not parents:  # the sentence that introduces a list ("You can improve your chances by:")
            lead_in = split_sentences(s)[-1] if s.endswith(":") else ""
    return units


def unit_embed_text(unit: dict, section: str) -> str:
    """What gets embedded for a unit: its heading and lead-in give it context."""
    head = section.split(" > ")[-1]
    lead = f"{unit['lead_in']} " if unit.get("lead_in") else ""
    return f"{head}: {lead}{unit['text']}"
