"""Drafting templates: per kind, the connecting phrases, placeholders, questions, opener and closer.

What: :class:`KindSpec` per kind and the defaults they share, plus what each
specialty asks for (its "theme", used in the sentence linking a draft to the
specialty), loaded once from ``assistant/data/writing/templates.json`` and
validated here (every kind present, formats known, only ``{sp}``/``{theme}``
fields). :func:`template_vocabulary` is every word the templates use, which the
fact guard accepts as ordinary words.

Why data: the phrasing is content, not logic, and it must state no fact (no
digits, number words, dates, time spans or capitalised names; tests check every
string). A specialty without a theme of its own gets ``general_theme``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.writing import datafiles
from assistant.writing.facts import FORMATS, KINDS, OPTIONAL_FIELDS, TEXT_FIELDS, specialty_names

if TYPE_CHECKING:
    from assistant.domain import Vocabulary


@dataclass(frozen=True)
class KindSpec:
    """How a kind is drafted: guide-recommended placements, connecting phrases, placeholders and questions."""

    label: str
    default_format: str
    where: tuple[str, ...]
    link: str  # {sp} = specialty name, {theme} = what the specialty asks for
    opener: str  # interview answers only; {sp} as above
    closer: str
    leads: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)
    responsibility: bool = False
    link_rules: bool = True  # add the "link it to the specialty" rule

    def lead(self, slot: str) -> str:
        return self.leads.get(slot, templates().leads[slot])

    def placeholder(self, slot: str) -> str:
        return self.placeholders.get(slot, templates().placeholders[slot])

    def question(self, slot: str) -> str:
        return self.questions.get(slot, templates().questions[slot])


@dataclass(frozen=True)
class Templates:
    """The templates file, loaded: defaults for every kind, the specialty themes, and :class:`KindSpec` per kind."""

    themes: dict[str, str]  # specialty id -> what the specialty asks for, in the guides' words
    general_theme: str  # for a specialty without a theme of its own
    leads: dict[str, str]
    placeholders: dict[str, str]
    questions: dict[str, str]
    responsibility: str
    opener: str
    closer: str
    kinds: dict[str, KindSpec]


def _fields_only(text: str, allowed: tuple[str, ...]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    if not names <= set(allowed):
        raise ValueError(f"template {text!r} may only use {', '.join('{' + a + '}' for a in allowed) or 'no fields'}")
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _KindSpec(_Strict):
    label: str = Field(min_length=1)
    default_format: Literal[FORMATS]
    where: list[Literal[FORMATS]] = Field(min_length=1)
    link: str = Field(min_length=1)
    opener: Optional[str] = None  # absent: the default
    closer: Optional[str] = None
    leads: dict[Literal[TEXT_FIELDS], str] = {}
    placeholders: dict[Literal[OPTIONAL_FIELDS], str] = {}
    questions: dict[Literal[OPTIONAL_FIELDS], str] = {}
    responsibility: bool = False
    link_rules: bool = True

    @field_validator("link")
    @classmethod
    def _link_fields(cls, v: str) -> str:
        return _fields_only(v, ("sp", "theme"))

    @field_validator("opener", "closer")
    @classmethod
    def _sp_only(cls, v: Optional[str]) -> Optional[str]:
        return v if v is None else _fields_only(v, ("sp",))


class _Defaults(_Strict):
    leads: dict[Literal[TEXT_FIELDS], str]
    placeholders: dict[Literal[OPTIONAL_FIELDS], str]
    questions: dict[Literal[OPTIONAL_FIELDS], str]
    responsibility: str
    opener: str
    closer: str

    @model_validator(mode="after")
    def _every_slot(self) -> "_Defaults":
        for name, slots in (("leads", TEXT_FIELDS), ("placeholders", OPTIONAL_FIELDS), ("questions", OPTIONAL_FIELDS)):
            missing = [s for s in slots if s not in getattr(self, name)]
            if missing:
                raise ValueError(f"'defaults.{name}' has no entry for {missing[0]!r}")
        _fields_only(self.opener, ("sp",))
        _fields_only(self.closer, ("sp",))
        return self


class _TemplatesFile(_Strict):
    comment: str = Field(default="", alias="_comment")
    themes: dict[str, str] = {}
    general_theme: str = Field(min_length=1)
    defaults: _Defaults
    kinds: dict[str, _KindSpec]

    @model_validator(mode="after")
    def _every_kind(self) -> "_TemplatesFile":
        if set(self.kinds) != set(KINDS):
            raise ValueError(f"'kinds' must have exactly the kinds {', '.join(KINDS)}")
        return self


def _build(f: _TemplatesFile) -> Templates:
    d = f.defaults
    kinds = {
        k: KindSpec(s.label, s.default_format, tuple(s.where), s.link, s.opener if s.opener is not None else d.opener,
                    s.closer if s.closer is not None else d.closer, dict(s.leads), dict(s.placeholders), dict(s.questions),
                    s.responsibility, s.link_rules)
        for k, s in f.kinds.items()
    }
    return Templates(dict(f.themes), f.general_theme, dict(d.leads), dict(d.placeholders), dict(d.questions),
                     d.responsibility, d.opener, d.closer, kinds)


@datafiles.cached
def templates() -> Templates:
    """The drafting templates (read and validated at first use)."""
    return datafiles.load("templates.json", _TemplatesFile, _build)


def kind_specs() -> dict[str, KindSpec]:
    return templates().kinds


def theme(specialty: str) -> str:
    """What ``specialty`` asks for, for the sentence linking a draft to it (the general theme when it has none)."""
    t = templates()
    return t.themes.get(specialty, t.general_theme)


def template_strings() -> list[str]:
    """Every string the templates contribute to a draft (with ``{sp}`` / ``{theme}`` unfilled)."""
    t = templates()
    out = [t.responsibility, t.opener, t.closer, *t.leads.values(), *t.themes.values(), t.general_theme, *specialty_names().values()]
    for spec in t.kinds.values():
        out += [spec.link, spec.opener, spec.closer, *spec.leads.values()]
    return out


_VOCABULARY_CACHE: list = [(), frozenset()]  # (what it was computed from, the words)


def template_vocabulary() -> frozenset[str]:
    """Every word the templates themselves use: the guard lets these start sentences and name e.g. "residency".

    Recomputed when the vocabulary (its specialty names) or a kind's template changes.
    """
    from assistant.domain import vocabulary

    key: tuple[Vocabulary | Templates | KindSpec, ...] = (vocabulary(), templates(), *kind_specs().values())
    old, words = _VOCABULARY_CACHE
    if len(old) != len(key) or any(a is not b for a, b in zip(old, key)):
        words = frozenset(w.casefold() for s in template_strings()
                          for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", s.replace("{sp}", " ").replace("{theme}", " ")))
        _VOCABULARY_CACHE[:] = [key, words]
    return words

