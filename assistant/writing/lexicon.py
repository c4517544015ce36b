"""The fact guard's word lists: number words, months, time units, experience terms, common words, ...

What: :class:`Lexicon`, loaded once from ``assistant/data/writing/lexicon.json`` and
validated here; :mod:`assistant.writing.factguard` documents what each list is for.
Why a separate module: the lists are data (about 140 lines of words), the guard is
code; keeping the loader apart keeps :mod:`~assistant.writing.factguard` about the checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.writing import datafiles


@dataclass(frozen=True)
class Lexicon:
    number_words: dict[str, int]  # number word -> the value it states ("twice" -> 2)
    ambiguous_number_words: frozenset[str]  # number words that are usually not counts ("once", "none")
    months: dict[str, str]  # name or abbreviation -> month
    month_common_words: frozenset[str]  # month spellings that are also ordinary words ("may", "march")
    weekdays: frozenset[str]
    seasons: frozenset[str]
    time_units: dict[str, str]  # spelling -> unit ("weeks" -> "week")
    quantity_words: frozenset[str]  # vague counts that still assert a fact ("several")
    experience_terms: dict[str, str]  # name -> regex of the words naming that experience, tried in order
    experience_res: dict[str, re.Pattern]  # the same, compiled and anchored
    common_words: frozenset[str]  # ordinary words that may start a sentence
    name_connectors: frozenset[str]  # words allowed inside a capitalised name ("of", "de")
    titles: frozenset[str]  # "dr", "prof", ...
    institution_words: frozenset[str]  # "university", "hospital", ...
    stopwords: frozenset[str]  # function words ignored around a number


class _LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    comment: str = Field(default="", alias="_comment")
    number_words: dict[str, int]
    ambiguous_number_words: list[str]
    months: dict[str, str]
    month_common_words: list[str]
    weekdays: list[str]
    seasons: list[str]
    time_units: dict[str, str]
    quantity_words: list[str]
    experience_terms: dict[str, str]
    common_words: list[str] = Field(min_length=1)
    name_connectors: list[str]
    titles: list[str]
    institution_words: list[str]
    stopwords: list[str]

    @field_validator("experience_terms")
    @classmethod
    def _patterns_compile(cls, v: dict[str, str]) -> dict[str, str]:
        for pattern in v.values():
            datafiles.compile_pattern(pattern)
        return v


def _build(f: _LexiconFile) -> Lexicon:
    sets = {name: frozenset(getattr(f, name)) for name in (
        "ambiguous_number_words", "month_common_words", "weekdays", "seasons", "quantity_words",
        "common_words", "name_connectors", "titles", "institution_words", "stopwords")}
    return Lexicon(
        number_words=dict(f.number_words), months=dict(f.months), time_units=dict(f.time_units),
        experience_terms=dict(f.experience_terms),
        experience_res={name: re.compile(rf"^(?:{pat})$") for name, pat in f.experience_terms.items()},
        **sets,
    )


@datafiles.cached
def lexicon() -> Lexicon:
    """The guard's word lists (read and validated at first use)."""
    return datafiles.load("lexicon.json", _LexiconFile, _build)
