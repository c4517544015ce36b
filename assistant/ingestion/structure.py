"""Stage 2a: a cleaned guide's structure, as one flat list of :class:`Block` s.

Two front-ends read structure, one chunker (:mod:`~assistant.ingestion.chunking`)
works on what they produce:

- :func:`from_markdown`: Markdown guides, parsed by markdown-it-py (``#`` headings,
  ``*``/``-``/``1.`` lists and their nesting, block quotes, tables);
- :func:`from_lines`: everything else (plain text, PDF text, and HTML, which
  :func:`~assistant.ingestion.corpus.read_raw` turns into ``## `` headings and
  indented ``- `` items with Python's HTML parser). Web-page guides carry their
  structure only in line shapes: title-like headings, numbered sections
  (``1. Addressing Failures``), lettered steps (``A. Clarify the Facts``), FAQ
  questions, indented ``1.`` items with bullets under them. No library reads those
  shapes, so this parser is hand-written; it follows indentation like an outline.

A :class:`Block` is a heading (``level`` 1-6), a paragraph or a list item. Items
and paragraphs carry ``depth``: 0 at the top of a section, 1 inside a top-level
item, and so on, so nesting survives to the passage text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BULLET = re.compile(r"^[-–•]\s+(.*)$")
_NUMBERED = re.compile(r"^(\d{1,2})[.)]\s+(.+)$")
_LETTERED = re.compile(r"^([A-H])[.)]\s+(.+)$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_TERMINAL = (".", ":", ";", ",", "!", "…", "”", '"')


@dataclass
class Block:
    kind: str  # "heading" | "para" | "item"
    text: str
    level: int = 0  # heading level (1 = major)
    depth: int = 0  # nesting: 0 at the top of a section, +1 inside each enclosing item
    marker: str = ""  # an item's marker as written: "-" or "1."

    @property
    def words(self) -> int:
        return len(self.text.split())


def _words(s: str) -> int:
    return len(s.split())


def heading_level(line: str, prev_blank: bool, next_line: str | None, prev_line: str = "") -> tuple[int, str] | None:
    """Classify an unindented line: (level, heading text) if it is a heading, else None.

    Levels: 1 = major unnumbered heading, 2 = short unnumbered sub-heading or a
    numbered section/FAQ question, 3 = lettered step. Markdown ``#`` headings map
    to their depth. Body sentences, bullets and lead-ins (ending ``:``) are not
    headings, nor is a numbered line followed by another numbered line (a list).
    """
    m = _MD_HEADING.match(line)
    if m:
        return min(len(m.group(1)), 3), m.group(2).strip()
    if _BULLET.match(line) or next_line is None:
        return None
    m = _NUMBERED.match(line)
    if m:
        body = m.group(2).strip()
        if _NUMBERED.match(next_line) and not body.endswith("?"):
            return None  # "1. Research programs" / "2. Write ..." : a list, not sections
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
    if next_line and _BULLET.match(next_line) and (prev_line.endswith(":") or (_BULLET.match(prev_line) and (not prev_blank or _words(line) <= 6))):
        return None  # a label inside a list ("Combined Programs", "Step 2 CK (current key metric)"), not a section
    if not prev_blank and prev_line.endswith(":"):
        return None  # the first line under a lead-in ("Track:" / "Research Track") belongs to it
    return (1 if _words(line) >= 6 else 2), line


def from_lines(text: str, marked_headings: bool = False) -> list[Block]:
    """Blocks of a plain-text guide, read from line shapes and indentation.

    Indentation works like an outline: a line indented deeper than the item above
    it belongs to that item (a bullet under ``  1. Be Direct and Own It``, an
    example paragraph under a step); a line at or left of an item's indent closes it.
    ``marked_headings`` (text from HTML, whose ``<h2>`` became ``## ``): only marked
    lines and FAQ questions are headings; a short ``<p>`` stays a paragraph.
    """
    raw = text.split("\n")
    lines = [(len(l) - len(l.lstrip(" ")), l.strip()) for l in raw]
    nonblank = [i for i, (_, s) in enumerate(lines) if s]
    next_of = {a: b for a, b in zip(nonblank, nonblank[1:])}
    out: list[Block] = []
    open_items: list[int] = []  # indents of the items that enclose the current line
    steps: tuple[int, int] | None = None  # (indent, number) of the last item of a numbered list at that indent
    prev_blank, prev_line = True, ""
    for i, (indent, s) in enumerate(lines):
        if not s:
            prev_blank = True
            continue
        while open_items and indent <= open_items[-1]:
            open_items.pop()
        nxt = lines[next_of[i]] if i in next_of else None
        deeper_next = nxt is not None and nxt[0] > indent
        m_bullet, m_num = _BULLET.match(s), _NUMBERED.match(s)
        number = int(m_num.group(1)) if m_num else 0
        # a numbered line is a list item (a step), not a section heading, when lines are indented under it, when
        # it follows a lead-in and bullets follow it, or when it continues a numbered list ("2." after "1.")
        step = m_num and (deeper_next or (steps is not None and steps == (indent, number - 1))
                          or (prev_line.endswith(":") and nxt is not None and _BULLET.match(nxt[1]) is not None))
        head = None
        if indent == 0 and not open_items and not step:
            head = heading_level(s, prev_blank, nxt[1] if nxt else None, prev_line)
            if marked_headings and head and not _MD_HEADING.match(s) and not head[1].endswith("?"):
                head = None
        if head:
            out.append(Block("heading", head[1], level=head[0]))
            open_items, steps = [], None
        elif m_num:
            out.append(Block("item", m_num.group(2).strip(), depth=len(open_items), marker=f"{number}."))
            open_items.append(indent)
            steps = (indent, number)
        elif m_bullet:
            margin = steps is not None and steps[0] == indent  # bullets between numbered steps at one margin belong to the step above
            out.append(Block("item", m_bullet.group(1).strip(), depth=len(open_items) + margin, marker="-"))
            open_items.append(indent)
        else:
            if steps is not None and indent <= steps[0]:
                steps = None
            out.append(Block("para", s, depth=len(open_items)))
        prev_blank, prev_line = False, s
    return out


def from_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown guide, from markdown-it-py's token stream (CommonMark plus tables)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    out: list[Block] = []
    lists: list[list] = []  # open lists: [ordered?, next number]
    items: list[list] = []  # open items: [marker, has its text yet?]
    row: list[str] = []
    level = 1
    for k, t in enumerate(tokens):
        opener = tokens[k - 1].type if k else ""
        if t.type == "heading_open":
            level = int(t.tag[1])
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([t.type == "ordered_list_open", int(t.attrGet("start") or 1)])
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t.type == "list_item_open":
            ordered, n = lists[-1]
            items.append([f"{n}." if ordered else "-", False])
            lists[-1][1] = n + 1
        elif t.type == "list_item_close":
            items.pop()
        elif t.type == "tr_open":
            row = []
        elif t.type == "tr_close" and row:
            out.append(Block("para", " | ".join(row), depth=len(items)))
        elif t.type == "inline":
            content = " ".join(_plain_inline(t).split())
            if not content:
                continue
            if opener in ("th_open", "td_open"):
                row.append(content)
            elif opener == "heading_open":
                out.append(Block("heading", content, level=level))
            elif items and not items[-1][1]:
                items[-1][1] = True
                out.append(Block("item", content, depth=len(items) - 1, marker=items[-1][0]))
            else:
                out.append(Block("para", content, depth=len(items)))
        elif t.type in ("fence", "code_block", "html_block"):  # raw HTML is kept as text (the UI shows it escaped)
            out.extend(Block("para", line.strip(), depth=len(items)) for line in t.content.splitlines() if line.strip())
    return out


def _plain_inline(token) -> str:
    """An inline token's text without Markdown decoration: links keep their text, images go, raw HTML stays as text."""
    parts: list[str] = []
    for c in token.children or []:
        if c.type in ("text", "code_inline", "html_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
