"""Plain data shapes shared by retrieval, answers, drafts and the UI.

Dataclasses (not pydantic) keep imports cheap on the hot ``retrieve`` path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Protocol

from typing_extensions import NotRequired, TypedDict  # pydantic validates this TypedDict on Python < 3.12 only from here


@dataclass
class Hit:
    """One retrieved passage (a chunk of a guide) with its fused score."""

    chunk_id: str
    source: str  # document id = file stem
    title: str
    section: str  # heading path, " > " separated
    text: str
    score: float
    audience: str = "any"
    specialty: str = "any"
    dense: float = 0.0  # cosine similarity of the query to this chunk
    unit_sim: float = 0.0  # best cosine of the query to one sentence/list item of this chunk
    unit_sims: list = field(default_factory=list)  # cosine per unit (see chunking.split_units), in order
    units: list = field(default_factory=list)  # the chunk's units (dicts: text, item, lead_in, order)

    def to_json(self) -> dict:
        return {"source": self.source, "section": self.section, "text": self.text, "score": round(self.score, 6)}


@dataclass
class Citation:
    """A numbered passage an answer or draft used; every ``[n]`` in its text points at one."""

    n: int
    source: str
    title: str
    section: str
    text: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Profile:
    """Who is asking: optional audience (us-img / non-us-img) and specialty."""

    audience: str | None = None
    specialty: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass
class Answer:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    conflicts: list[dict] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    note: str = ""
    backend: str = "extractive"
    question: str = ""  # the stand-alone question actually searched (after follow-up rewriting)

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "abstained": self.abstained,
            "conflicts": self.conflicts,
            "unsupported": self.unsupported,
            "note": self.note,
            "backend": self.backend,
            "question": self.question,
        }


def section_label(section: str, width: int = 72) -> str:
    """A cited passage named for a scanning reader: its own heading (the last of the path), cut at a word.

    "FAQs: ... > I am a non-US citizen IMG with a Step 1 failure but a strong Step 2 CK. Can I ...?"
    becomes "I am a non-US citizen IMG with a Step 1 failure but a strong Step 2 CK. Can…".
    """
    head = (section or "").split(" > ")[-1].strip()
    if len(head) <= width:
        return head
    cut = head[: width + 1].rsplit(" ", 1)[0].rstrip(",;:.")
    return f"{cut}…"


class PassageRow(TypedDict):
    """One row of a generation's chunk table (``gen-N/chunks.json``): a passage as stored.

    ``embed`` is the text the vectors and BM25 see (title and section path with the
    passage); ``text`` is what is displayed; ``units`` its sentences and list items,
    whose vectors are rows ``u0:u1`` of ``units.npy``; ``copies`` the other guides
    holding the identical passage. Validated on load by :mod:`assistant.store.files`.
    """

    id: str
    embed: str
    text: str
    units: list[dict]
    source: str
    title: str
    audience: str
    specialty: str
    section: str
    ordinal: int
    u0: int
    u1: int
    copies: NotRequired[list[dict]]


class Searcher(Protocol):
    """What answering and drafting need from a retriever (:class:`assistant.retrieval.Retriever`)."""

    rows: list[PassageRow]

    @property
    def generation(self) -> int | None: ...

    def ensure_loaded(self) -> None: ...

    def search(self, question: str, k: int = 5, audience: str | None = None, specialty: str | None = None, strict: bool = False) -> list[Hit]: ...

    def memo(self, name: str, build: Callable[[list[PassageRow]], object]) -> object: ...


class TextEmbedder(Protocol):
    """What retrieval and the claim check need from an embedder (:class:`assistant.store.embeddings.Embedder`)."""

    def embed_query(self, text: str): ...

    def embed_documents(self, texts: list[str], progress=None, warn=None): ...
