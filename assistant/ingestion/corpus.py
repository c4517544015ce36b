"""Stage 1 of the flow: load guide files, clean off web-page furniture, attach metadata.

A :class:`Document` is one guide: its ``source`` id is the file stem everywhere.
Metadata (title, audience, specialty) comes from ``corpus/manifest.json`` for the
bundled guides and is inferred from the file name and text for guides a user
adds later. Cleaning is driven by ``corpus/cleaning.json``: rules as data, each
of a kind this module interprets (a regex, or a shape: promo block, logo line,
keyword strip, truncated caption, glued label), validated on load. Shapes, not
one site's strings, so furniture is dropped from guides the project has never
seen, and a new site's furniture is a data change, not a code change.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.config import PROJECT_DIR
from assistant.domain import vocabulary
from assistant.errors import DocumentError, InputError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

CLEANING_FILE = PROJECT_DIR / "corpus" / "cleaning.json"
MANIFEST_FILE = "manifest.json"


@dataclass
class Document:
    source: str
    title: str
    audience: str
    specialty: str
    text: str  # cleaned text
    path: str = ""
    sha256: str = ""  # of the raw bytes plus the cleaning rules version
    removed: dict = field(default_factory=dict)  # rule name -> number of lines removed

    @property
    def metadata(self) -> dict:
        return {"source": self.source, "title": self.title, "audience": self.audience, "specialty": self.specialty}


# ---------------------------------------------------------------- cleaning
#
# The rules live in ``corpus/cleaning.json`` (validated on load, see
# :func:`_validate_rules`). Each rule has a ``name`` (what ``Document.removed``
# counts), a ``kind`` and the kind's parameters. ``regex`` rules match a string;
# the other kinds recognise furniture by its shape, so a page the project has never
# seen loses its keyword strip, logo, captions and promo too:
#
# - ``promo-block`` (cut_from): a run of lines naming a product ("free to try",
#   "sign up", "no credit card"), or a line matching one of its ``markers``; the
#   cut starts at the block's first line (a heading naming the same new brand);
# - ``logo-line`` (drop_lines): a short non-sentence line holding the word "logo";
# - ``keyword-strip`` (drop_lines): a long line with no sentence punctuation,
#   lower-case heavy, nearly free of function words, repeating the title's and
#   headings' words;
# - ``truncated-caption`` (drop_lines): a long non-sentence line whose last word is
#   cut at a fixed width ("... for Non-US Ci"): not a word of the guide, but the
#   start of one;
# - ``glued-label`` (split_lines): a sentence end or closing quote glued to the next
#   label (``plan.”Insight:``) is split into two lines.

#: A list item (bullet or "1." number) is never a keyword strip, caption or heading.
_LIST_ITEM = re.compile(r"^(?:[-–•●▪◦·*]|\d{1,2}[.)])\s+")
_SENTENCE_PUNCT = re.compile(r"[.!?:;]")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_IMAGE = re.compile(r"^!\[([^\]]*)\]\([^)]*\)$")
_MD_EMPHASIS = re.compile(r"^([*_]{1,2})(\S(?:.*\S)?)\1$")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")
#: Endings that make a longer word an inflection of a shorter one ("program" -> "programs"), not its completion.
_INFLECTIONS = frozenset({"s", "es", "'s", "’s", "d", "ed", "ing", "er", "ers", "ly"})


def _bare(line: str) -> str:
    """A stripped line without Markdown decoration: heading marks, emphasis around the whole line, an image's URL."""
    s = _MD_HEADING.sub("", line)
    m = _MD_IMAGE.match(s)
    if m:
        s = m.group(1).strip()
    m = _MD_EMPHASIS.match(s)
    return m.group(2) if m else s


def _words_of(line: str) -> list[str]:
    return _WORD.findall(line)


def _is_prose(line: str) -> bool:
    """A sentence of the guide: several words ending in sentence punctuation (a closing quote may follow)."""
    return len(line.split()) >= 6 and line.rstrip("”\"’')").endswith((".", "!", "?"))


class _Page:
    """What the shape rules need to know about the whole page: its headings' words, its words and word pairs."""

    def __init__(self, lines: list[str]):
        from assistant.text import tokenize

        self.lines = lines
        self.bare = [_bare(s) for s in lines]
        self.heading_lines: dict[int, set[str]] = {}
        self.heading_vocab: dict[str, int] = {}  # token -> how many heading lines hold it
        self.word_lines: dict[str, int] = {}  # lower-cased word -> how many lines hold it
        self.pair_lines: dict[tuple[str, str], int] = {}
        self.forms: dict[str, set[str]] = {}  # lower-cased word -> the spellings it has in the page
        self.first_prose = len(lines)
        for i, s in enumerate(self.bare):
            if not s:
                continue
            words = _words_of(s)
            if self.first_prose == len(lines) and _is_prose(s):
                self.first_prose = i
            body = _LIST_ITEM.sub("", s)
            if 1 <= len(body.split()) <= 16 and (body[:1].isupper() or body[:1].isdigit()) and not body.endswith((".", "!", "?", ":", ";", ",")):
                toks = set(tokenize(body))
                self.heading_lines[i] = toks
                for t in toks:
                    self.heading_vocab[t] = self.heading_vocab.get(t, 0) + 1
            low = [w.lower() for w in words]
            for w, orig in zip(low, words):
                self.forms.setdefault(w, set()).add(orig)
            for w in set(low):
                self.word_lines[w] = self.word_lines.get(w, 0) + 1
            for p in set(zip(low, low[1:])):
                self.pair_lines[p] = self.pair_lines.get(p, 0) + 1

    def heading_tokens_except(self, i: int) -> set[str]:
        own = self.heading_lines.get(i, set())
        return {t for t, n in self.heading_vocab.items() if n > (1 if t in own else 0)}

    def elsewhere(self, i: int, word: str) -> bool:
        """Whether ``word`` (lower-cased) occurs on a line other than ``i``."""
        own = word in {w.lower() for w in _words_of(self.bare[i])}
        return self.word_lines.get(word, 0) > (1 if own else 0)

    def pair_elsewhere(self, i: int, pair: tuple[str, str]) -> bool:
        low = [w.lower() for w in _words_of(self.bare[i])]
        own = pair in set(zip(low, low[1:]))
        return self.pair_lines.get(pair, 0) > (1 if own else 0)


# ------------------------------------------------ rule kinds (runtime)


@dataclass
class _Regex:
    name: str
    pattern: re.Pattern

    def drops(self, page: _Page, i: int) -> bool:
        return bool(self.pattern.search(page.lines[i]) or self.pattern.search(page.bare[i]))

    def cut_at(self, page: _Page) -> int | None:
        return next((i for i, s in enumerate(page.lines) if s and self.drops(page, i)), None)


@dataclass
class _LogoLine:
    name: str
    words: frozenset
    max_words: int

    def drops(self, page: _Page, i: int) -> bool:
        s = page.bare[i]
        if not s or _LIST_ITEM.match(s) or s.endswith((".", "!", "?")) or len(s.split()) > self.max_words:
            return False
        return any(w.lower() in self.words for w in re.findall(r"[A-Za-z]+", s))


@dataclass
class _RepeatedLeadIn:
    """A lead-in line ("- Talk to:") written again right after its own items: a web page that flattened a nested
    list repeats the parent item after its children. The copy introduces nothing, so it goes; a lead-in used
    again after other text (a heading, a paragraph) is kept."""

    name: str
    window: int

    def drops(self, page: _Page, i: int) -> bool:
        s = page.bare[i]
        if not s.endswith(":") or not _LIST_ITEM.match(s):
            return False
        for j in range(i - 1, max(-1, i - self.window - 1), -1):
            if page.bare[j] == s:
                return True
            if page.bare[j] and not _LIST_ITEM.match(page.bare[j]):
                return False  # other text between: a lead-in of its own
        return False


@dataclass
class _KeywordStrip:
    name: str
    min_words: int
    long_words: int
    min_lowercase: float
    max_function_words: float
    sentence_words: frozenset
    min_overlap: float

    def drops(self, page: _Page, i: int) -> bool:
        from assistant.text import STOPWORDS, tokenize

        s = page.bare[i]
        words = s.split()
        if len(words) < self.min_words or _SENTENCE_PUNCT.search(s) or _LIST_ITEM.match(s):
            return False
        if len(words) < self.long_words and i > page.first_prose:  # a shorter one only in the page head
            return False
        alpha = [w for w in words if w[:1].isalpha()]
        if not alpha or sum(w[0].islower() for w in alpha) / len(alpha) < self.min_lowercase:
            return False
        low = [w.lower() for w in words]
        if sum(w in STOPWORDS for w in low) / len(words) > self.max_function_words or self.sentence_words.intersection(low):
            return False  # a phrase with articles, conjunctions, pronouns or verbs is a heading or a sentence
        toks = set(tokenize(s))
        if not toks:
            return False
        return len(toks & page.heading_tokens_except(i)) / len(toks) >= self.min_overlap


@dataclass
class _TruncatedCaption:
    name: str
    min_words: int
    min_chars: int

    def drops(self, page: _Page, i: int) -> bool:
        from assistant.text import GENERAL_WORDS

        s = page.bare[i]
        words = _words_of(s)
        if len(s.split()) < self.min_words or len(s) < self.min_chars or _SENTENCE_PUNCT.search(s) or "," in s or _LIST_ITEM.match(s) or not s[-1:].isalpha():
            return False
        last, prev = words[-1], words[-2].lower() if len(words) > 1 else ""
        cut = last.lower()

        def completes(form: str) -> bool:  # "Gene" -> "Genetics", "Non-U" -> "Non-US"; not "program" -> "programs", "research" -> "research-heavy"
            rest = form[len(cut):]
            return not rest[:1] in "-'’" and not (rest == rest.lower() and rest in _INFLECTIONS)

        completions = {w for w, forms in page.forms.items() if len(w) > len(cut) and w.startswith(cut) and any(completes(f) for f in forms)}
        if not completions:
            return False
        if not page.elsewhere(i, cut) and cut not in GENERAL_WORDS:
            return True  # not a word of the guide, but the start of one
        return any(page.pair_elsewhere(i, (prev, w)) for w in completions) and not page.pair_elsewhere(i, (prev, cut))


@dataclass
class _PromoBlock:
    name: str
    markers: list[re.Pattern]
    product_phrases: list[str]
    action_phrases: list[str]
    window: int
    min_phrases: int
    min_lines: int
    tail_prose: int
    lookback: int

    @staticmethod
    def _found(phrases: list[str], line: str) -> int:
        """How many of ``phrases`` (lower case, single-spaced) occur in ``line`` as whole words."""
        low = " ".join(line.lower().split())
        return sum(1 for p in phrases if p in low and re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", low))

    def cut_at(self, page: _Page) -> int | None:
        idx = [i for i, s in enumerate(page.lines) if s]
        product = {i: self._found(self.product_phrases, page.bare[i]) for i in idx}
        found = {i: product[i] + self._found(self.action_phrases, page.bare[i]) for i in idx}
        for k, i in enumerate(idx):
            if any(m.search(page.lines[i]) or m.search(page.bare[i]) for m in self.markers):
                return i
            if not found[i]:
                continue
            block = idx[k:k + self.window]
            if not any(product[j] for j in block) or sum(1 for j in block if found[j]) < self.min_lines or sum(found[j] for j in block) < self.min_phrases:
                continue
            tail = [j for j in idx[k + self.window:] if not found[j] and _is_prose(page.bare[j])]
            if len(tail) > self.tail_prose:  # the guide goes on: advice that mentions a free trial, not a promo
                continue
            return self._block_start(page, idx, k)
        return None

    def _block_start(self, page: _Page, idx: list[int], k: int) -> int:
        """Walk back from the first promo line over the lines naming the same new brand (the promo's heading)."""
        first = max(0, k - self.lookback)
        region = idx[first:k + self.window]
        seen_before = {w.lower() for j in range(idx[first]) for w in _words_of(page.bare[j])}
        lines_with: dict[str, int] = {}
        for j in region:
            for w in set(_words_of(page.bare[j])):
                if w[:1].isupper() and w.lower() != w.upper() and not w.isupper() and len(w) >= 4 and w.lower() not in seen_before and page.forms.get(w.lower()) == {w}:
                    lines_with[w] = lines_with.get(w, 0) + 1
        brands = {w for w, n in lines_with.items() if n >= 2}
        start = k
        while start > first and brands & set(_words_of(page.bare[idx[start - 1]])):
            start -= 1
        return idx[start]


@dataclass
class _GluedLabel:
    name: str
    pattern: re.Pattern

    def split(self, line: str) -> list[str]:
        return self.pattern.sub("\n", line).split("\n")


@dataclass
class _GluedList:
    """A lead-in glued to its first list item ('Programs will ask:- Did ...'): split before the item's marker."""

    name: str

    def split(self, line: str) -> list[str]:
        return re.sub(r"(?<=\S:)-\s*(?=[A-Z“\"])", "\n- ", line).split("\n")


def _glued_label_pattern(max_label_words: int, sentence_ends: str, closers: str) -> re.Pattern:
    end, close = re.escape(sentence_ends), re.escape(closers)
    label = rf"[A-Z][a-z][\w’'/-]*(?: [A-Za-z][\w’'/-]*){{0,{max_label_words - 1}}}:(?=\s|$)"
    return re.compile(rf"(?:(?<=[{end}])|(?<=\S[{close}]))(?={label})")


@dataclass
class _Replace:
    name: str
    pattern: re.Pattern
    with_: str


@dataclass
class CleaningRules:
    version: int
    cut_from: list = field(default_factory=list)
    drop_lines: list = field(default_factory=list)
    replace: list = field(default_factory=list)
    split_lines: list = field(default_factory=list)

    @classmethod
    def load(cls, path: Path = CLEANING_FILE) -> "CleaningRules":
        """Read and validate a rules file; anything wrong is one :class:`InputError` line naming the file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise InputError(f"the cleaning rules file {path} is unreadable or malformed: {_first_problem(exc, None)}") from None
        return cls.from_data(data, str(path))

    @classmethod
    def from_data(cls, data, where: str = "cleaning rules") -> "CleaningRules":
        """Validate rules already parsed from JSON (``where`` names them in the one-line error)."""
        try:
            return _validate_rules(data)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InputError(f"the cleaning rules file {where} is unreadable or malformed: {_first_problem(exc, data)}") from None


def _first_problem(exc: Exception, data) -> str:
    """Where the first problem is (``drop_lines.4 (rule 'keyword-line').min_words``) and what it is, on one line."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
    e = errors()[0]
    loc = [str(p) for p in e.get("loc", ())]
    if len(loc) >= 2 and loc[1].isdigit():
        try:
            rule = data[loc[0]][int(loc[1])]
            loc = [loc[0], f"{loc[1]} (rule {rule.get('name', '?')!r})"] + [p for p in loc[2:] if p != rule.get("kind", "regex")]
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    return f"{'.'.join(loc)}: {' '.join(str(e.get('msg', '')).split())}"[:300]


def _validate_rules(data) -> CleaningRules:
    """The rules file's shape, checked by pydantic: known kinds only, their parameters typed, regexes compiled."""
    from typing import Annotated, Literal, Union

    from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

    def compiled(v: str, flags: str = "") -> re.Pattern:
        try:
            return re.compile(v, re.IGNORECASE if "i" in flags else 0)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc}): {v!r}") from None

    class _Rule(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)
        name: str = Field(min_length=1)
        comment: str = ""
        enabled: bool = True  # a rule can be kept ready in the file but not applied (its comment says why)

    class _RegexRule(_Rule):
        kind: Literal["regex"] = "regex"
        pattern: str
        flags: str = Field("", pattern=r"^i?$")

        @field_validator("pattern")
        @classmethod
        def _compiles(cls, v: str) -> str:
            compiled(v)
            return v

    class _ReplaceRule(_RegexRule):
        with_: str = Field("", alias="with")

    class _PromoRule(_Rule):
        kind: Literal["promo-block"]
        markers: list[str] = []
        product_phrases: list[str] = Field(min_length=1)
        action_phrases: list[str] = []
        window: int = Field(4, ge=1, le=20)
        min_phrases: int = Field(3, ge=1)
        min_lines: int = Field(2, ge=1)
        tail_prose: int = Field(0, ge=0)
        lookback: int = Field(2, ge=0, le=10)

        @field_validator("markers")
        @classmethod
        def _compile(cls, v: list[str]) -> list[str]:
            for p in v:
                compiled(p)
            return v

    class _LogoRule(_Rule):
        kind: Literal["logo-line"]
        words: list[str] = Field(min_length=1)
        max_words: int = Field(8, ge=1)

    class _StripRule(_Rule):
        kind: Literal["keyword-strip"]
        min_words: int = Field(8, ge=3)
        long_words: int = Field(14, ge=3)
        min_lowercase: float = Field(0.6, ge=0, le=1)
        max_function_words: float = Field(0.2, ge=0, le=1)
        sentence_words: list[str] = []
        min_overlap: float = Field(0.6, ge=0, le=1)

    class _CaptionRule(_Rule):
        kind: Literal["truncated-caption"]
        min_words: int = Field(8, ge=2)
        min_chars: int = Field(80, ge=1)

    class _RepeatRule(_Rule):
        kind: Literal["repeated-lead-in"]
        window: int = Field(12, ge=1)

    class _GluedListRule(_Rule):
        kind: Literal["glued-list"]

    class _GluedRule(_Rule):
        kind: Literal["glued-label"]
        max_label_words: int = Field(4, ge=1, le=10)
        sentence_ends: str = Field(".!?", min_length=1)
        closers: str = Field("”\"’'", min_length=1)

    def by_kind(**models):
        """A rule of one of ``models`` (kind -> model), chosen by its ``kind`` (``regex`` when it has none)."""
        tagged = tuple(Annotated[m, Tag(kind)] for kind, m in models.items())
        return Annotated[
            Union[tagged],
            Discriminator(
                lambda v: v.get("kind", "regex") if isinstance(v, dict) else getattr(v, "kind", "regex"),
                custom_error_type="unknown_kind",
                custom_error_message=f"unknown rule kind here (use one of: {', '.join(models)})",
            ),
        ]

    class _File(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)
        comment: str = Field("", alias="_comment")
        version: int = Field(1, ge=1)
        cut_from: list[by_kind(**{"regex": _RegexRule, "promo-block": _PromoRule})] = []
        drop_lines: list[by_kind(**{"regex": _RegexRule, "logo-line": _LogoRule, "keyword-strip": _StripRule, "truncated-caption": _CaptionRule, "repeated-lead-in": _RepeatRule})] = []
        replace: list[_ReplaceRule] = []
        split_lines: list[by_kind(**{"glued-label": _GluedRule, "glued-list": _GluedListRule})] = []

    f = _File.model_validate(data)

    def runtime(r):
        if isinstance(r, _PromoRule):
            def low(ps):
                return [" ".join(p.lower().split()) for p in ps]

            return _PromoBlock(r.name, [compiled(p) for p in r.markers], low(r.product_phrases), low(r.action_phrases), r.window, r.min_phrases, r.min_lines, r.tail_prose, r.lookback)
        if isinstance(r, _LogoRule):
            return _LogoLine(r.name, frozenset(w.lower() for w in r.words), r.max_words)
        if isinstance(r, _StripRule):
            return _KeywordStrip(r.name, r.min_words, r.long_words, r.min_lowercase, r.max_function_words, frozenset(w.lower() for w in r.sentence_words), r.min_overlap)
        if isinstance(r, _CaptionRule):
            return _TruncatedCaption(r.name, r.min_words, r.min_chars)
        if isinstance(r, _GluedListRule):
            return _GluedList(r.name)
        if isinstance(r, _RepeatRule):
            return _RepeatedLeadIn(r.name, r.window)
        if isinstance(r, _GluedRule):
            return _GluedLabel(r.name, _glued_label_pattern(r.max_label_words, r.sentence_ends, r.closers))
        return _Regex(r.name, compiled(r.pattern, r.flags))

    return CleaningRules(
        version=f.version,
        cut_from=[runtime(r) for r in f.cut_from if r.enabled],
        drop_lines=[runtime(r) for r in f.drop_lines if r.enabled],
        replace=[_Replace(r.name, compiled(r.pattern, r.flags), r.with_) for r in f.replace if r.enabled],
        split_lines=[runtime(r) for r in f.split_lines if r.enabled],
    )


@lru_cache(maxsize=4)
def default_rules() -> CleaningRules:
    return CleaningRules.load()


def clean_text(raw: str, rules: CleaningRules | None = None) -> tuple[str, dict]:
    """Return (cleaned text, {rule name: lines removed}).

    Glued labels are split first; then everything from the earliest cut (a promo,
    a "Related Articles" list) goes, furniture lines are dropped, bullet glyphs
    become ``- `` and blank-line runs collapse to one. Indentation is kept (tabs
    as four spaces): it is how an indented layout shows nesting.
    """
    rules = rules or default_rules()
    removed: dict[str, int] = {}
    out: list[str] = []
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines: list[str] = []
    indents: list[str] = []  # each line's leading white space (tabs as 4 spaces): nesting the chunker reads
    for line in raw.split("\n"):
        parts = [line.strip()]
        for rule in rules.split_lines:
            parts = [p.strip() for part in parts for p in rule.split(part)]
        lines.extend(parts)
        indent = " " * (len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()))
        indents.extend([indent] * len(parts))
    page = _Page(lines)
    cuts = [(at, n, rule.name) for n, rule in enumerate(rules.cut_from) if (at := rule.cut_at(page)) is not None]
    if cuts:
        at, _, name = min(cuts)
        removed[name] = sum(1 for rest in lines[at:] if rest)
        lines = lines[:at]
    for i, s in enumerate(lines):
        drop = next((rule.name for rule in rules.drop_lines if s and rule.drops(page, i)), None)
        if drop:
            removed[drop] = removed.get(drop, 0) + 1
            continue
        for rule in rules.replace:
            s = rule.pattern.sub(rule.with_, s)
        s = "".join(ch for ch in s if ch in "\t" or unicodedata.category(ch)[0] != "C")  # drop control chars
        if not s:
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(indents[i] + s)
    while out and out[-1] == "":
        out.pop()
    while out and out[0] == "":
        out.pop(0)
    return "\n".join(out), removed


# ---------------------------------------------------------------- reading files


def _read_html(data: str) -> str:
    """Visible text of an HTML page, one block element per line (scripts and styles dropped).

    Structure is kept in the shape the chunker reads: ``<h2>`` becomes ``## ``, a
    list item ``- `` (``1. `` in an ``<ol>``) indented two spaces per level of nesting.
    """
    from html.parser import HTMLParser

    blocks = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "ul", "ol", "header", "footer", "title",
              "figure", "figcaption", "aside", "nav", "main", "blockquote", "td", "th", "dt", "dd", "pre"}  # a caption or promo is its own line

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0
            self.lists: list[str] = []  # open <ul>/<ol>, innermost last

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "noscript", "template"):
                self.skip += 1
            elif tag in blocks:
                self.parts.append("\n")
            if tag in ("ul", "ol"):
                self.lists.append(tag)
            elif tag == "li":
                depth = max(len(self.lists) - 1, 0)
                self.parts.append("\x00" * depth + ("1. " if self.lists and self.lists[-1] == "ol" else "- "))
            elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
                self.parts.append("#" * int(tag[1]) + " ")

        def handle_endtag(self, tag):
            if tag in ("script", "style", "noscript", "template"):
                self.skip = max(0, self.skip - 1)
            elif tag in blocks:
                self.parts.append("\n")
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()

        def handle_data(self, d):
            if not self.skip:
                self.parts.append(d)

    p = _Text()
    p.feed(data)
    text = "".join(p.parts)
    # "\x00" marks one level of list nesting (two spaces); other white space folds
    out = []
    for line in text.split("\n"):
        words = " ".join(line.replace("\x00", " \x00 ").split())
        depth = 0
        while words.startswith("\x00"):
            depth += 1
            words = words[1:].lstrip()
        words = words.replace("\x00", "").strip()
        out.append("  " * depth + words if words and words not in ("#", "##", "###", "####", "#####", "######") else "")
    return "\n".join(out)


def _read_pdf(path: Path) -> str:
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        return "\n".join((page.extract_text() or "") for page in reader.pages)
    except Exception as exc:  # pypdf raises many types for broken files
        raise DocumentError(f"{path.name}: not a readable PDF ({type(exc).__name__})") from None


#: Byte-order marks of the UTF-16 encodings and the codec that reads what follows them.
#: (UTF-8's own BOM needs no entry: ``utf-8-sig`` drops it.)
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
#: Control characters that are not whitespace: in decoded UTF-16 they mean binary bytes, as NUL does in UTF-8.
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def decode_text(data: bytes, name: str) -> str:
    """Decode a text guide's bytes: UTF-8 (with or without a BOM) or UTF-16 with a BOM; the BOM is dropped.

    Windows editors ("Unicode" in Notepad, Word's "Unicode Text") save UTF-16 with
    a byte-order mark, so the BOM is looked for before the binary check: UTF-16 of
    Latin text is half NUL bytes and would otherwise be taken for a binary file.
    Bytes that merely start like a BOM are not taken for UTF-16: the rest must
    decode, hold no non-whitespace control characters (a binary's NUL bytes) and
    contain some whitespace, as any document of more than one word does. Anything
    else, UTF-16 without a BOM included (there is no telling it from binary), goes
    through the UTF-8 checks and gets the same one-line error as before.
    """
    for bom, codec in _UTF16_BOMS:
        if data.startswith(bom) and not data.startswith(codecs.BOM_UTF32_LE):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                break
            if _BINARY_CHARS.search(text) or not re.search(r"\s", text):
                break
            return text
    if b"\x00" in data:
        raise DocumentError(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not valid UTF-8 (byte {exc.start})") from None


def read_raw(path: Path) -> tuple[str, bytes]:
    """Read a guide file as text (see :func:`decode_text`); raise DocumentError for binary, undecodable or unreadable files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix or '(none)'}' (use .txt, .md, .html or .pdf)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{path.name}: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    if suffix == ".pdf":
        return _read_pdf(path), data
    text = decode_text(data, path.name)
    if suffix in (".html", ".htm"):
        text = _read_html(text)
    return text, data


# ---------------------------------------------------------------- metadata


def load_manifest(corpus_dir: Path) -> dict:
    f = Path(corpus_dir) / MANIFEST_FILE
    if not f.exists():
        return {}
    try:
        return json.loads(f.read_text(encoding="utf-8")).get("documents", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DocumentError(f"{f}: malformed manifest ({exc})") from None


def infer_metadata(source: str, text: str) -> dict:
    """Guess title, audience and specialty for a guide with no manifest entry.

    The file name wins (``non-us-img-...``); otherwise the title and first
    paragraphs are read; anything unclear is ``any`` so the guide is never hidden.
    """
    first = next((l for l in text.split("\n") if l.strip()), source)
    title = re.sub(r"^#{1,6}\s+", "", first.strip())[:200] or source  # a Markdown guide's "# Title"
    stem = source.lower()
    head = (title + "\n" + text[:1500]).lower()
    if "non-us" in stem or "non-us citizen" in head or "non‑us citizen" in head or "foreign national" in head:
        audience = "non-us-img"
    elif stem.startswith("us-img") or "us citizen img" in head or "american studying abroad" in head:
        audience = "us-img"
    else:
        audience = "any"
    specialty = vocabulary().guide_specialty(stem, title)
    return {"title": title, "audience": audience, "specialty": specialty}


def source_id(path: Path) -> str:
    """The document id: the file stem, normalised to a safe slug."""
    stem = Path(path).stem
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")
    return slug or "document"


def load_document(path: Path, manifest: dict | None = None, rules: CleaningRules | None = None) -> Document:
    rules = rules or default_rules()
    raw, data = read_raw(path)
    text, removed = clean_text(raw, rules)
    if not text.strip():
        raise DocumentError(f"{Path(path).name}: no text left after cleaning")
    sid = source_id(path)
    meta = infer_metadata(sid, text)
    meta.update({k: v for k, v in (manifest or {}).get(sid, {}).items() if k in ("title", "audience", "specialty") and v})
    digest = hashlib.sha256(data + f"|rules={rules.version}".encode()).hexdigest()
    return Document(source=sid, text=text, path=str(path), sha256=digest, removed=removed, **meta)


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into their guide files (sorted, supported types only)."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and f.name not in ("README.md",)))
        else:
            files.append(p)
    return files


def load_corpus(paths: list[Path], warn=None) -> list[Document]:
    """Load every guide under ``paths``; unreadable ones are skipped with a warning via ``warn(msg)``."""
    docs: list[Document] = []
    manifests: dict[Path, dict] = {}
    seen: set[str] = set()
    for f in discover(paths):
        if not f.exists():
            raise DocumentError(f"{f}: no such file or folder")
        parent = f.parent
        if parent not in manifests:
            manifests[parent] = load_manifest(parent)
        try:
            doc = load_document(f, manifests[parent])
        except DocumentError as exc:
            if warn:
                warn(f"skipped {exc}")
            continue
        if doc.source in seen:
            if warn:
                warn(f"skipped {f.name}: another guide already has the id '{doc.source}'")
            continue
        seen.add(doc.source)
        docs.append(doc)
    return docs
