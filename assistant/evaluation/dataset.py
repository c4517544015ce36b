"""Eval datasets: the JSONL format evals/README.md documents, checked line by line into :class:`Case` objects.

``advisor eval --dataset`` takes files written by other people, so each line is
validated (:class:`DatasetRow`) before the index is even opened, and every
problem is one :class:`~assistant.errors.InputError` naming the file, the line
and the field. :data:`GOLD` is the project's own dataset, the default.
:func:`half` puts every case, of any dataset, in the tuning or the held-out half
by its id alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from assistant.config import PROJECT_DIR
from assistant.errors import InputError

__all__ = ["GOLD", "HALVES", "Case", "DatasetRow", "dataset_error", "half", "load_dataset"]

#: The gold dataset the suite runs by default.
GOLD = PROJECT_DIR / "evals" / "gold.jsonl"

#: The two halves of every dataset, in report order: constants are tuned on the first, reported on the second.
HALVES = ("tuning", "heldout")

_TRAILING_NUMBER = re.compile(r"([0-9]+)$")


def half(case_id: str) -> str:
    """The half a case belongs to, fixed by its id alone: ``"tuning"`` or ``"heldout"`` (evals/README.md).

    An id ending in a number goes by that number's parity: even (``g002``,
    ``u010``, ``c2``) is tuning, odd (``g001``, ``m009``) is held out. An id
    without a trailing number goes by a stable hash: the SHA-256 of its UTF-8
    bytes read as an integer, even -> tuning, odd -> held out (the same on every
    run and machine, unlike Python's ``hash``). The rule never looks at the
    other cases, so adding or removing a case does not move any other case
    between halves.
    """
    m = _TRAILING_NUMBER.search(case_id)
    n = int(m.group(1)) if m else int(hashlib.sha256(case_id.encode("utf-8")).hexdigest(), 16)
    return HALVES[n % 2]


@dataclass
class Case:
    """One eval question with what a good answer must retrieve, cite and contain."""

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


def _case(case_id: str, row: DatasetRow) -> Case:
    """The :class:`Case` of a checked row: a multi-turn row's last turn is the question, the rest its history."""
    if row.turns is not None:
        question, history = row.turns[-1], row.turns[:-1]
    else:
        question, history = row.question, []
    return Case(
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
        cases.append(_case(case_id, row))
    if not cases:
        raise InputError(f"{path}: no cases")
    return cases
