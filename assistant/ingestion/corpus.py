"""Stage 1 of the flow: load guide files, clean off web-page furniture, attach metadata.

A :class:`Document` is one guide: its ``source`` id is the file stem everywhere.
Metadata (title, audience, specialty) comes from ``corpus/manifest.json`` for the
bundled guides and is inferred from the file name and text for guides a user
adds later. Cleaning is driven by ``corpus/cleaning.json`` (regex rules: cut
everything from an advertisement marker, drop logo/caption/keyword lines), so a
new site's furniture is a data change, not a code change.
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
from assistant.errors import DocumentError

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


@dataclass
class CleaningRules:
    version: int
    cut_from: list[tuple[str, re.Pattern]]
    drop_lines: list[tuple[str, re.Pattern]]
    replace: list[tuple[str, re.Pattern, str]]

    @classmethod
    def load(cls, path: Path = CLEANING_FILE) -> "CleaningRules":
        data = json.loads(Path(path).read_text(encoding="utf-8"))

        def compile_rule(rule: dict) -> re.Pattern:
            flags = re.IGNORECASE if "i" in rule.get("flags", "") else 0
            return re.compile(rule["pattern"], flags)

        return cls(
            version=int(data.get("version", 1)),
            cut_from=[(r["name"], compile_rule(r)) for r in data.get("cut_from", [])],
            drop_lines=[(r["name"], compile_rule(r)) for r in data.get("drop_lines", [])],
            replace=[(r["name"], compile_rule(r), r.get("with", "")) for r in data.get("replace", [])],
        )


@lru_cache(maxsize=4)
def default_rules() -> CleaningRules:
    return CleaningRules.load()


def clean_text(raw: str, rules: CleaningRules | None = None) -> tuple[str, dict]:
    """Return (cleaned text, {rule name: lines removed}).

    Lines are stripped of indentation, bullet glyphs become ``- ``, blank-line runs
    collapse to one, and furniture lines are dropped by the rules.
    """
    rules = rules or default_rules()
    removed: dict[str, int] = {}
    out: list[str] = []
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        s = line.strip()
        cut = next((name for name, pat in rules.cut_from if pat.search(s)), None)
        if cut:
            removed[cut] = removed.get(cut, 0) + sum(1 for rest in lines[i:] if rest.strip())
            break
        drop = next((name for name, pat in rules.drop_lines if s and pat.search(s)), None)
        if drop:
            removed[drop] = removed.get(drop, 0) + 1
            continue
        for _name, pat, repl in rules.replace:
            s = pat.sub(repl, s)
        s = "".join(ch for ch in s if ch in "\t" or unicodedata.category(ch)[0] != "C")  # drop control chars
        if not s:
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(s)
    while out and out[-1] == "":
        out.pop()
    while out and out[0] == "":
        out.pop(0)
    return "\n".join(out), removed


# ---------------------------------------------------------------- reading files


def _read_html(data: str) -> str:
    """Visible text of an HTML page, one block element per line (scripts and styles dropped)."""
    from html.parser import HTMLParser

    blocks = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "ul", "ol", "header", "footer", "title"}

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "noscript", "template"):
                self.skip += 1
            elif tag in blocks:
                self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

        def handle_endtag(self, tag):
            if tag in ("script", "style", "noscript", "template"):
                self.skip = max(0, self.skip - 1)
            elif tag in blocks:
                self.parts.append("\n")

        def handle_data(self, d):
            if not self.skip:
                self.parts.append(d)

    p = _Text()
    p.feed(data)
    text = "".join(p.parts)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


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
    title = first.strip()[:200] or source
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
