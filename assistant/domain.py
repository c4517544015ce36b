"""The advisor's vocabulary, in one place: audiences, specialties, their aliases and display names.

Loaded once from ``assistant/data/domain.json`` (validated by pydantic), so a new
specialty is a data change: its id, display name, aliases, the words that name it
in a question and the keys that name it in a guide's file name or title.
``ADVISOR_DOMAIN_FILE`` (see :mod:`assistant.config`) points at another file.

Draft kinds and formats belong to drafting and live in the writing rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
ANY = "any"  # a guide written for every audience / specialty


@dataclass(frozen=True)
class Specialty:
    id: str
    name: str  # "Diagnostic radiology" (UI); name.lower() in prose
    aliases: tuple[str, ...]
    question_words: tuple[str, ...]  # single words that name it in a question ("radiologist")
    pattern: str  # regex for the name inside a sentence (a follow-up swaps it for another)
    guide_keys: tuple[str, ...]  # substrings of a guide's file name or title that mark it as this specialty's

    @property
    def noun(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Audience:
    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    audiences: dict[str, Audience]
    specialties: dict[str, Specialty]
    other_specialties: dict[str, tuple[str, ...]]  # id -> guide keys, for guides about specialties not advised on

    @property
    def audience_aliases(self) -> dict[str, str | None]:
        """Lower-cased spelling -> canonical audience id (``any`` and blank -> None: no profile)."""
        out: dict[str, str | None] = {}
        for a in self.audiences.values():
            out[a.id] = a.id
            out.update({alias: a.id for alias in a.aliases})
        out.update({ANY: None, "": None})
        return out

    @property
    def specialty_aliases(self) -> dict[str, str]:
        """Lower-cased spelling -> canonical specialty id."""
        out: dict[str, str] = {}
        for s in self.specialties.values():
            out[s.id] = s.id
            out.update({alias: s.id for alias in s.aliases})
        return out

    @property
    def question_words(self) -> dict[str, str]:
        return {w: s.id for s in self.specialties.values() for w in s.question_words}

    def canonical_specialty(self, value: str) -> str | None:
        """'Diagnostic Radiology', 'genetics', ... -> the id of a specialty the guides advise on, or None."""
        key = " ".join(value.strip().lower().split())
        aliases = self.specialty_aliases
        return aliases.get(key) or aliases.get(key.replace(" ", "-"))

    def guide_specialty(self, stem: str, title: str) -> str:
        """The specialty a guide is about, from its file stem or title; ``any`` when neither says."""
        keyed = [(s.id, s.guide_keys) for s in self.specialties.values()] + list(self.other_specialties.items())
        for sid, keys in keyed:
            if any(k in stem for k in keys) or any(k in title.lower() for k in keys):
                return sid
        return ANY

    def specialty_pattern(self, sid: str) -> re.Pattern:
        return re.compile(self.specialties[sid].pattern, re.I)


def _validate(data: dict) -> Vocabulary:
    from pydantic import BaseModel, ConfigDict, field_validator

    class _Specialty(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        aliases: list[str] = []
        question_words: list[str] = []
        pattern: str
        guide_keys: list[str] = []

        @field_validator("pattern")
        @classmethod
        def _compiles(cls, v: str) -> str:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
            return v

    class _Audience(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        aliases: list[str] = []

    class _File(BaseModel):
        model_config = ConfigDict(extra="ignore")
        audiences: dict[str, _Audience]
        specialties: dict[str, _Specialty]
        other_specialties: dict[str, list[str] | str] = {}

    f = _File.model_validate(data)
    return Vocabulary(
        audiences={k: Audience(k, v.name, tuple(a.lower() for a in v.aliases)) for k, v in f.audiences.items()},
        specialties={
            k: Specialty(k, v.name, tuple(a.lower() for a in v.aliases), tuple(v.question_words), v.pattern, tuple(v.guide_keys or [k]))
            for k, v in f.specialties.items()
        },
        other_specialties={k: tuple(v) for k, v in f.other_specialties.items() if not k.startswith("_") and isinstance(v, list)},
    )


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Vocabulary:
    """The vocabulary in ``path`` (default: the settings' domain file, else the packaged one)."""
    if path is None:
        from assistant.config import domain_file

        path = str(domain_file() or DATA_DIR / "domain.json")
    try:
        return _validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        from assistant.errors import InputError

        raise InputError(f"the domain file {path} is unreadable or malformed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None


def vocabulary() -> Vocabulary:
    return load(None)
