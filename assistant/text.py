"""Text helpers shared by every stage: one copy each.

- :func:`normalize` folds the look-alike characters of web text (curly quotes,
  typographic dashes, non-breaking spaces, NFKC compatibility forms) so that
  ``non‑US`` == ``non-US`` and ``10–20`` == ``10-20`` wherever text is compared;
- :func:`split_sentences` splits a passage, an answer or an applicant's own words
  into sentences and list items, without breaking after "U.S.", "Dr." or "vs.";
- :func:`tokenize` is the lexical view of text (lower-cased words, stop words
  removed, Snowball stems) used by BM25, the claim check and the scope gate.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015"), "-")
_QUOTES = {ord("\u2019"): "'", ord("\u2018"): "'", ord("\u201c"): '"', ord("\u201d"): '"', ord("\u00a0"): " "}
_FOLD = {**_DASHES, **_QUOTES}


def normalize(text: str, keep_newlines: bool = False) -> str:
    """NFKC, ASCII quotes and hyphens, single spaces.

    ``keep_newlines`` keeps line breaks (runs of spaces and tabs still fold): the
    fact guard reads a line start as a sentence start. Otherwise every run of
    white space, line breaks included, becomes one space.
    """
    t = unicodedata.normalize("NFKC", text or "").translate(_FOLD)
    if keep_newlines:
        return re.sub(r"[ \t\r\f\v]+", " ", t)
    return " ".join(t.split())


# the next sentence starts with a capital, a digit or an applicant's "[placeholder]", never a citation "[3]"
_SENT_SPLIT = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9]|\[(?!\d{1,2}\]))")
# a period after these ends no sentence ("Dr. X", "U.S. MD", "Combined vs. Categorical", "e.g. Step 2")
_ABBREV_END = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|Prof|St|vs|etc|e\.g|i\.e)|\bU\.S)\.$")
#: A list item's marker at the start of a line ("- ", "• ", "– ", "1. ", "2) "): one definition for every stage.
LIST_MARKER = re.compile(r"^\s*(?:[-•–]|\d{1,2}[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, an answer or an applicant's text, in order (list markers removed).

    Splits at a sentence end followed by a capital, a digit or a ``[placeholder]``
    (not a citation ``[3]``, which stays with its sentence), and at line breaks; a
    period after a common abbreviation ends no sentence.
    """
    out: list[str] = []
    for line in text.split("\n"):
        line = LIST_MARKER.sub("", line).strip()
        if not line:
            continue
        parts: list[str] = []
        for piece in (p.strip() for p in _SENT_SPLIT.split(line)):
            if piece and parts and _ABBREV_END.search(parts[-1]):  # rejoin "... Dr." + "X ..."
                parts[-1] = f"{parts[-1]} {piece}"
            elif piece:
                parts.append(piece)
        out.extend(parts)
    return out


_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers herself him himself
    his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves i'm i've i'd it's don't can't let's also may might much many still get got really""".split()
)


#: General English words (the Glasgow IR stop list, as shipped by scikit-learn; copied to keep imports light).
GENERAL_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone anything
    anyway anywhere are around as at back be became because become becomes becoming been before
    beforehand behind being below beside besides between beyond bill both bottom but by call can
    cannot cant co con could couldnt cry de describe detail do done down due during each eg eight
    either eleven else elsewhere empty enough etc even ever every everyone everything everywhere
    except few fifteen fifty fill find fire first five for former formerly forty found four from
    front full further get give go had has hasnt have he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if in inc indeed interest into
    is it its itself keep last latter latterly least less ltd made many may me meanwhile might mill
    mine more moreover most mostly move much must my myself name namely neither never nevertheless
    next nine no nobody none noone nor not nothing now nowhere of off often on once one only onto
    or other others otherwise our ours ourselves out over own part per perhaps please put rather re
    same see seem seemed seeming seems serious several she should show side since sincere six sixty
    so some somehow someone something sometime sometimes somewhere still such system take ten than
    that the their them themselves then thence there thereafter thereby therefore therein thereupon
    these they thick thin third this those though three through throughout thru thus to together
    too top toward towards twelve twenty two un under until up upon us very via was we well were
    what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without would yet
    you your yours yourself yourselves
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - dependency; fall back to no stemming
        return None


def tokenize(text: str) -> list[str]:
    text = text.lower().replace("‑", "-").replace("–", "-")
    words = [w.replace("’", "'") for w in _TOKEN.findall(text)]
    words = [w for w in words if w not in STOPWORDS]
    st = _stemmer()
    return st.stemWords(words) if st else words
