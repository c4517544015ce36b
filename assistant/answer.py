"""Stage 5: grounded answers with numbered citations, abstention and conflicts.

Flow for one question::

    history + question --condense--> stand-alone question (+ profile carried over)
                       --retrieve--> passages (hybrid, profile-boosted)
                       --gate------> out of scope? -> "the guides don't cover this", no citations
                       --compose---> extractive (default): sentences picked from the passages
                                     LLM backend: prompt | model | parser, then claim check
                       --cite------> only passages actually used, renumbered 1..n

The default ``extractive`` backend is grounded by construction: every sentence
of its answer is a sentence of a cited passage. LLM answers go through
:mod:`assistant.verify`; sentences the passages do not support are removed and
reported in ``Answer.unsupported``.

The extractive path is plain Python (no LangChain import) so a cold
``advisor ask`` starts fast; LLM backends run as a LangChain runnable chain
(:func:`build_chain`), which also wraps the extractive path for LangChain users.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass
from typing import Iterator

from assistant.config import PROJECT_DIR, Settings, get_settings
from assistant.errors import IndexMissingError, InputError
from assistant.lexical import tokenize
from assistant.retrieval import get_retriever, normalize_profile, validate_question
from assistant.schemas import Answer, Citation, Hit
from assistant.verify import normalize

PROMPTS_DIR = PROJECT_DIR / "prompts"
NOTE = (
    "These guides are advice, not official policy: check program-specific facts with the program, "
    "ERAS, NRMP or FREIDA."
)
NO_COVER = "The guides don't cover this."

# Abstention gate, calibrated on evals/gold.jsonl (see evals/README.md): a question is in scope when
# the best passage is close enough in meaning OR most of the question's distinctive words appear in it.
MIN_CLOSENESS = 0.25
OOV_WEIGHT = 0.4
K_RETRIEVE = 6
MAX_POINTS = 14  # quoted units after the lead (each list item counts)
MAX_WORDS = 124  # displayed words of an extractive answer (lead-ins included; bullets and [n] not)

# Words that say nothing about *what* is asked in this domain (present in nearly every question).
_DOMAIN = set(
    tokenize(
        "img imgs international medical graduate graduates residency residencies program programs applicant applicants "
        "apply applying application match matching specialty specialties us non citizen foreign national "
        "medical genetics genetic radiology diagnostic usmle step guide guides advice help know tell want need good best "
        "what how which when where why who should would could can do does did i me my mine am is are be "
        "chance chances"
    )
)

_SPECIALTY_WORDS = {
    "radiology": "radiology",
    "radiologist": "radiology",
    "genetics": "medical-genetics",
    "genomics": "medical-genetics",
    "geneticist": "medical-genetics",
}
_AUDIENCE_PATTERNS = [
    (re.compile(r"\bnon[-\s‑]?(?:us|u\.s\.)\b|\bforeign national|\bneed (?:a )?visa|\bvisa sponsorship", re.I), "non-us-img"),
    (re.compile(r"\b(?:us|u\.s\.|american) citizen\b|\bamerican studying abroad\b", re.I), "us-img"),
]
_FOLLOWUP = re.compile(
    r"^(?:and|but|also|what about|how about|and if|what if|then|so|ok|okay|same|in that case|and for|what for)\b|\b(?:it|that|this|those|them|there)\b",
    re.I,
)


# ---------------------------------------------------------------- condense


@dataclass
class Turn:
    question: str
    audience: str | None = None
    specialty: str | None = None


def detect_specialty(text: str) -> str | None:
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in _SPECIALTY_WORDS:
            return _SPECIALTY_WORDS[w]
    return None


def detect_audience(text: str) -> str | None:
    for pat, aud in _AUDIENCE_PATTERNS:
        if pat.search(text):
            return aud
    return None


def _history_questions(history) -> list[str]:
    """Accept [(user, assistant)], [{"role", "content"}] or [str] histories; return the user turns."""
    out: list[str] = []
    if history is not None and not isinstance(history, (list, tuple)):
        raise InputError("the history must be a list of earlier questions")
    for item in history or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if item.get("role") == "user" and isinstance(item.get("content"), str):
                out.append(item["content"])
        elif isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            out.append(item[0])
    return [q for q in out if q and q.strip()]


def condense(question: str, history=None) -> str:
    """Rewrite a follow-up ("what about radiology?") into a stand-alone question using the last user turn.

    Deterministic on purpose (a rewrite must not invent content): a follow-up that
    names another specialty swaps it into the previous question; any other
    follow-up is appended to the previous question as its new focus.
    """
    prev = _history_questions(history)
    if not prev:
        return question
    last = prev[-1]
    q = question.strip()
    words = q.split()
    is_followup = bool(_FOLLOWUP.search(q)) or len(words) <= 4
    if not is_followup:
        return question
    core = re.sub(r"^(?:and|but|also|so|ok|okay|then)\b[\s,]*", "", q, flags=re.I)
    core = re.sub(r"^(?:what|how) about\s+", "", core, flags=re.I).rstrip("?. ")
    new_spec = detect_specialty(q)
    if new_spec and detect_specialty(last) and new_spec != detect_specialty(last):
        old = detect_specialty(last)
        pattern = {"radiology": r"(?:diagnostic\s+)?radiology", "medical-genetics": r"(?:medical\s+)?genetics(?:\s+and\s+genomics)?"}[old]
        replaced = re.sub(pattern, core if len(core.split()) <= 3 else new_spec.replace("-", " "), last, flags=re.I)
        return replaced if replaced != last else f"{last} {core}"
    return f"{last.rstrip('?. ')}; {core}?"


# ---------------------------------------------------------------- gate


def _stop_stems() -> set[str]:
    global _STOP_STEMS
    if _STOP_STEMS is None:
        from assistant.lexical import GENERAL_WORDS as words

        _STOP_STEMS = set(tokenize(" ".join(words))) | set(tokenize("really actually okay ok thing things something nothing get got big little lot lots"))
    return _STOP_STEMS


_STOP_STEMS: set[str] | None = None


def focus_terms(question: str) -> list[str]:
    """The question's distinctive words (stemmed): no stop words, no words every question in this domain has."""
    stop = _stop_stems()
    return [t for t in dict.fromkeys(tokenize(question)) if t not in _DOMAIN and t not in stop and (not t.isdigit() or len(t) == 4)]


def _scope_terms() -> dict[str, str]:
    """stem -> topic, from corpus/scope.json (topics no guide covers unless a guide uses the word)."""
    global _SCOPE
    if _SCOPE is None:
        import json

        data = json.loads((PROJECT_DIR / "corpus" / "scope.json").read_text(encoding="utf-8"))
        _SCOPE = {}
        for topic, words in data.get("outside_topics", {}).items():
            for w in words:
                key = " ".join(tokenize(w))
                if key:
                    _SCOPE[key] = topic
    return _SCOPE


_SCOPE: dict[str, str] | None = None


def library_vocab(retriever) -> set[str]:
    cache = getattr(retriever, "_vocab_cache", None)
    if cache is not None and cache[0] == id(retriever.rows):
        return cache[1]
    vocab: set[str] = set()
    for r in retriever.rows:
        vocab.update(tokenize(r["embed"]))
    retriever._vocab_cache = (id(retriever.rows), vocab)
    return vocab


def in_scope(question: str, hits: list[Hit], vocab: set[str] | None = None) -> tuple[bool, dict]:
    """Does the library answer this? Two tests, both calibrated on evals/gold.jsonl.

    1. Topic: the question names a topic the guides do not answer (a salary, a fee, a
       date, another specialty; words and phrases in corpus/scope.json) and none of the
       top passages uses that word or phrase (if a guide did discuss it, it would be retrieved).
    2. Closeness: the best sentence of the top passages is close in meaning to the
       question, discounted by the share of the question's distinctive words that no
       guide uses at all: ``unit_sim - OOV_WEIGHT * oov_share >= MIN_CLOSENESS``.
    """
    if not hits:
        return False, {"closeness": 0.0}
    terms = focus_terms(question)
    vocab = vocab or set()
    oov = [t for t in terms if vocab and t not in vocab]
    qtoks = tokenize(question)
    qgrams = set(qtoks) | {" ".join(qtoks[i : i + 2]) for i in range(len(qtoks) - 1)}
    ptoks = [t for h in hits[:3] for t in tokenize(f"{h.section} {h.text}")]
    pgrams = set(ptoks) | {" ".join(ptoks[i : i + 2]) for i in range(len(ptoks) - 1)}
    outside = sorted({topic for key, topic in _scope_terms().items() if key in qgrams and key not in pgrams})
    unit = max(h.unit_sim for h in hits[:3])
    share = len(oov) / len(terms) if terms else 0.0
    closeness = unit - OOV_WEIGHT * share
    ok = not outside and closeness >= MIN_CLOSENESS
    return ok, {"closeness": round(closeness, 4), "unit_sim": round(unit, 4), "oov": oov, "outside_topics": outside}


def abstain_text(settings: Settings | None = None) -> str:
    topics = "explaining red flags (exam failures, low scores, gaps, professionalism, visas), Step score strategy, and researching programs, for IMGs applying to medical genetics and diagnostic radiology"
    return f"{NO_COVER} I can only answer from the guide library, which covers {topics}. Try asking about one of those."


# ---------------------------------------------------------------- extractive composition

# Composition constants, tuned on the even-numbered ids of evals/gold.jsonl (the odd ids held out):
# a unit's score is W_SIM * cosine + W_LEX * share of the question's (idf-weighted) words it uses
# (with its lead-in) + W_RANK if it is from the top passage (passages 2 and 3 compete on content)
# + W_ITEM if it is a list item; points are then taken greedily by score - W_COST * displayed words
# - W_SPREAD * points already taken from the same passage, within MAX_WORDS displayed words.
W_SIM, W_LEX, W_RANK = 0.6, 1.5, 0.2
W_ITEM = 0.1  # list items carry the guides' concrete advice
W_COST = 0.03  # per displayed word: several short, specific points beat one long general sentence
W_SPREAD = 0.02  # the right passage is not always the top one: spread the points a little
FAQ_BONUS = 0.15
POOL = 3  # passages the answer quotes from
MIN_POINT = 0.2
LIST_ITEMS = 8  # items an introducing line ("Programs value:") brings along
LABEL_WORDS = 8  # a line this short, unpunctuated and followed by items is a label ("Program Size and Structure")
_END = (".", "!", "?", ":", ";", "…", '"', "”", ")")
_ITEM_MARK = re.compile(r"^\s*(?:[-•–]|\d{1,2}[.)])\s+")


@dataclass
class Unit:
    text: str
    hit_index: int  # position of the passage in the retrieved list
    order: int  # position of the sentence in its passage
    is_item: bool
    lead_in: str  # the line that introduces this list item ("Programs value:"), if any
    sim: float = 0.0  # cosine of the question to this unit (from retrieval)
    score: float = 0.0
    context: str = ""  # the line(s) above its lead-in (a nested list's outer lead-in or label), for scoring


def _key(text: str) -> str:
    return normalize(text).lower()


def _units(hit: Hit, hit_index: int) -> list[Unit]:
    """The passage's sentences and list items, each list item with the line that really introduces it.

    Beyond the chunker's lead-in (the last sentence ending ":" before a list), two list shapes are
    recognised: an item ending ":" introduces the items after it ("- Reaching out to residents to ask:"
    then "- Whether the program considers lower scores"), and a short unpunctuated label line
    introduces the items under it ("Program Size and Structure" then "- Smaller programs ...").
    An introducing line with nothing after it in the passage (its list is in the next passage) is
    dropped: it says nothing alone.
    """
    sims = hit.unit_sims or []
    units = [Unit(u["text"], hit_index, u["order"], u["item"], u["lead_in"], sims[k] if k < len(sims) else 0.0) for k, u in enumerate(hit.units)]
    # the passage line of each unit: short lines are not units, but one ending ":" ("- Track:") still
    # introduces the items after it
    lines = [_ITEM_MARK.sub("", line).strip() for line in hit.text.split("\n")]
    line_of, at = [], 0
    for u in units:
        j = next((j for j in range(at, len(lines)) if u.text in lines[j]), at)
        line_of.append(j)
        at = j
    sub, nested, style, prev, base = "", False, None, "", ""
    for k, u in enumerate(units):
        nxt = units[k + 1] if k + 1 < len(units) else None
        skipped = lines[(line_of[k - 1] + 1 if k else 0) : line_of[k]]
        short_intro = next((l for l in reversed(skipped) if l.endswith(":")), "")
        if short_intro and u.is_item:
            sub, nested, style = short_intro, True, None
        if not u.is_item:
            sub, nested, base = "", False, ""
            bare = u.text.rstrip().rstrip("\"”’)")
            if not bare.endswith(_END) and len(u.text.split()) <= LABEL_WORDS and nxt is not None and nxt.is_item and not nxt.lead_in:
                sub = base = u.text
        elif u.text.rstrip().endswith(":"):
            sub, nested, style = u.text, True, None
        elif sub:
            # a sub-list of fragments ends where a full sentence follows (and vice versa), unless the
            # item before ran on (","): "- Search programs in:", "- Medical Genetics", "- This ensures ..."
            sentence = u.text.rstrip().endswith((".", "!", "?", "…"))
            if nested and style is not None and sentence != style and not prev.rstrip().endswith((",", ";")):
                sub, nested = "", False
            else:
                u.context = (base or u.lead_in) if nested else ""
                u.lead_in = sub
                if not u.text.rstrip().endswith((",", ";")):
                    style = sentence if style is None else style
        prev = u.text
    if len(units) > 1 and units[-1].text.rstrip().endswith(":"):
        units.pop()
    return units


def _idf(retriever) -> dict[str, float]:
    if not retriever.rows:
        with contextlib.suppress(IndexMissingError):  # no index: every word weighs the same
            retriever.ensure_loaded()
    cache = getattr(retriever, "_idf_cache", None)
    if cache is not None and cache[0] == id(retriever.rows):
        return cache[1]
    df: dict[str, int] = {}
    for r in retriever.rows:
        for t in set(tokenize(r["text"])):
            df[t] = df.get(t, 0) + 1
    n = max(1, len(retriever.rows))
    idf = {t: math.log(1 + n / c) for t, c in df.items()}
    retriever._idf_cache = (id(retriever.rows), idf)
    return idf


def _score_units(question: str, units: list[Unit], idf: dict[str, float], faq_match: bool) -> None:
    """Meaning (cosine) + the question's distinctive words in the unit and its lead-ins + small priors."""
    q = set(tokenize(question))
    default = max(idf.values()) if idf else 1.0
    q_weight = sum(idf.get(t, default) for t in q) or 1.0
    for u in units:
        toks = set(tokenize(f"{u.text} {u.lead_in} {u.context}"))
        overlap = sum(idf.get(t, default) for t in q & toks) / q_weight
        faq_bonus = FAQ_BONUS if faq_match and u.hit_index == 0 and u.order == 0 else 0.0
        short_pen = 0.1 if len(u.text.split()) < 5 and not u.lead_in else 0.0
        u.score = W_SIM * u.sim + W_LEX * overlap + W_RANK * (u.hit_index == 0) + W_ITEM * u.is_item + faq_bonus - short_pen


def _faq_match(question: str, hit: Hit) -> bool:
    head = hit.section.split(" > ")[-1]
    if not head.endswith("?"):
        return False
    a, b = set(tokenize(question)), set(tokenize(head))
    return bool(a) and len(a & b) / max(1, min(len(a), len(b))) >= 0.5


def compose_extractive(question: str, hits: list[Hit], retriever=None) -> tuple[str, list[int]]:
    """Answer text with ``[n]`` markers (n = 1-based index into ``hits``) and the hit indices used.

    A lead sentence (the FAQ answer when the top passage is a matching FAQ, else the
    best unit of the top passage), then supporting points from the top POOL passages,
    best first, while they fit in MAX_WORDS displayed words. Every line is quoted
    verbatim; a list item is shown under (or after) the line that introduces it, and
    a chosen introducing line brings its items (or, having none, the line after it).
    """
    retriever = retriever or get_retriever()
    idf = _idf(retriever)
    pool = hits[:POOL]
    per = [_units(h, i) for i, h in enumerate(pool)]
    units = [u for us in per for u in us]
    if not units:
        return "", []
    faq = _faq_match(question, pool[0])
    _score_units(question, units, idf, faq)
    first = per[0] or units
    # a matching FAQ's answer opens with the direct answer ("Yes, it is possible, ..."): lead with it
    lead = min(first, key=lambda u: u.order) if faq else max(first, key=lambda u: u.score)

    chosen: list[Unit] = []
    seen: set[str] = set()
    on_screen: set[tuple[int, str]] = set()  # (passage, line) already shown: its items need no lead-in
    words = 0

    def items_of(u: Unit) -> list[Unit]:
        return [x for x in per[u.hit_index] if x.is_item and x.lead_in == u.text]

    def cost(u: Unit) -> int:
        w = len(u.text.split())
        if u.is_item and u.lead_in and (u.hit_index, u.lead_in) not in on_screen:
            w += len(u.lead_in.split())
        return w

    def add(u: Unit) -> None:
        nonlocal words
        words += cost(u)
        chosen.append(u)
        seen.add(_key(u.text))
        on_screen.add((u.hit_index, u.text))
        if u.is_item and u.lead_in:
            on_screen.add((u.hit_index, u.lead_in))
            seen.add(_key(u.lead_in))

    def bring(u: Unit, follow: bool = True) -> None:
        """An introducing line brings what it introduces: its items, else the line after it."""
        kids = items_of(u)
        if not kids:
            nxt = [x for x in per[u.hit_index] if x.order == u.order + 1]
            if follow and nxt and _key(nxt[0].text) not in seen and words + cost(nxt[0]) <= MAX_WORDS:
                add(nxt[0])
                if nxt[0].text.rstrip().endswith(":") or items_of(nxt[0]):
                    bring(nxt[0], follow=False)
            return
        for x in kids[:LIST_ITEMS]:
            if _key(x.text) in seen:
                continue
            if words + cost(x) > MAX_WORDS:
                break
            add(x)

    def introduces(u: Unit) -> bool:
        return u.text.rstrip().endswith(":") or bool(items_of(u))

    add(lead)
    if introduces(lead):
        bring(lead)
    while len(chosen) <= MAX_POINTS:
        best, best_value = None, 0.0
        for u in units:
            if _key(u.text) in seen:  # the same sentence in two passages (or twice in a guide) is said once
                continue
            c = cost(u)
            if words + c > MAX_WORDS:
                continue
            value = u.score - W_COST * c - W_SPREAD * sum(1 for x in chosen if x.hit_index == u.hit_index)
            if best is None or value > best_value:
                best, best_value = u, value
        if best is None or best.score < MIN_POINT:
            break
        add(best)
        if introduces(best):
            bring(best)
    return _render(lead, chosen)


def _render(lead: Unit, chosen: list[Unit]) -> tuple[str, list[int]]:
    """The lead line, then bullets in passage order; items nest under their introducing line.

    An item whose introducing line was not chosen is shown as "Lead-in: item", or, when
    several of its items were chosen, under the introducing line quoted once.
    """
    used: list[int] = []

    def mark(u: Unit) -> str:
        if u.hit_index not in used:
            used.append(u.hit_index)
        return f"[{u.hit_index + 1}]"

    def joined(u: Unit) -> str:
        if not (u.is_item and u.lead_in):
            return u.text
        word = re.match(r"[A-Za-z]+", u.text)
        second = u.text[len(word.group()) :].split()[:1] if word else []
        lower = word and (word.group() == "A" or (len(word.group()) > 1 and word.group()[1:].islower()))
        lower = lower and not (second and second[0][:1].isupper())  # "Medical Genetics and Genomics" is a name
        text = u.text[0].lower() + u.text[1:] if lower else u.text
        return f"{u.lead_in.rstrip(':')}: {text}"  # "Programs value: strong letters", "Use: NRMP data"

    by_line = {(u.hit_index, u.text): u for u in chosen}
    lead_list = (lead.hit_index, lead.lead_in) if lead.is_item and lead.lead_in else None
    children: dict[int, list[Unit]] = {}
    groups: dict[tuple[int, str], list[Unit]] = {}
    entries: list[tuple[tuple, str, object]] = []
    for u in sorted((u for u in chosen if u is not lead), key=lambda u: (u.hit_index, u.order)):
        key = (u.hit_index, u.lead_in)
        parent = by_line.get(key) if u.is_item and u.lead_in else None
        if parent is not None:
            children.setdefault(id(parent), []).append(u)
        elif u.is_item and u.lead_in and key != lead_list:
            if key not in groups:
                groups[key] = []
                entries.append(((u.hit_index, u.order), "list", groups[key]))
            groups[key].append(u)
        else:  # a sentence, or another item of the lead's own list (shown right after the lead)
            entries.append(((-1, u.order) if key == lead_list else (u.hit_index, u.order), "line", u))
    lines = [f"{_sentence(joined(lead))} {mark(lead)}"]

    def emit(u: Unit, depth: int, text: str | None = None) -> None:
        lines.append(f"{'  ' * depth}- {_sentence(text or u.text)} {mark(u)}")
        for k in children.get(id(u), []):
            emit(k, depth + 1)

    for k in children.get(id(lead), []):  # the lead introduces a list: its items are the first bullets
        emit(k, 0)
    for _, kind, x in sorted(entries, key=lambda e: e[0]):
        if kind == "line":
            emit(x, 0)
        elif len(x) == 1:
            emit(x[0], 0, joined(x[0]))
        else:
            lines.append(f"- {_sentence(x[0].lead_in)} {mark(x[0])}")
            for u in x:
                emit(u, 1)
    return "\n".join(lines), used


def _sentence(text: str) -> str:
    t = text.strip()
    if t.endswith((",", ";")):  # a list item that ran on into the next one ("Complete coverage at least once,")
        t = t[:-1].rstrip()
    if t and t[-1] not in ".!?:…\"”)":
        t += "."
    return t[0].upper() + t[1:] if t else t


# ---------------------------------------------------------------- conflicts

_DURATION = re.compile(r"(\d{1,3})(?:\s*[–-]\s*(\d{1,3}))?\+?[\s-]*(years?|yrs?|months?|minutes?|mins?|seconds?|secs?)\b", re.I)
_ASKS_NUMBER = re.compile(r"\bhow (?:long|many)\b|\byears?\b|\bduration\b|\blength\b|\bminutes?\b", re.I)
_UNIT = {"y": ("time-long", 12), "m": ("time-long", 1), "mi": ("time-short", 60), "s": ("time-short", 1)}
CONFLICT_MIN_SIM = 0.45


def _duration(text: str):
    """(dimension, low, high) of the first duration in ``text``, in months or seconds; None if none."""
    m = _DURATION.search(normalize(text))
    if not m:
        return None
    unit = m.group(3).lower()
    key = "mi" if unit.startswith("min") else unit[0]
    dim, factor = _UNIT[key]
    lo = int(m.group(1)) * factor
    hi = int(m.group(2) or m.group(1)) * factor
    return dim, lo, hi


def find_conflicts(question: str, hits: list[Hit]) -> list[dict]:
    """Statements from different guides that give incompatible lengths for what was asked.

    Only for questions that ask "how long / how many years". A statement counts when
    it is close in meaning to the question (unit cosine) or shares half of its
    distinctive words; two statements conflict when they come from different guides,
    measure the same kind of time (years/months, or minutes/seconds) and their
    ranges do not overlap (e.g. "(4 years)" vs "(2 years)").
    """
    if not _ASKS_NUMBER.search(question):
        return []
    terms = set(focus_terms(question))
    stmts = []
    for i, h in enumerate(hits):
        sims = h.unit_sims or []
        for k, u in enumerate(h.units):
            d = _duration(u["text"])
            if not d:
                continue
            # the whole paragraph that introduces a list item is its context
            context = next((l for l in h.text.split("\n") if u["lead_in"] and l.strip().endswith(u["lead_in"])), u["lead_in"])
            toks = set(tokenize(f"{h.section} {context} {u['text']}"))
            share = len(terms & toks) / len(terms) if terms else 0.0
            sim = sims[k] if k < len(sims) else 0.0
            if sim >= CONFLICT_MIN_SIM or share >= 0.5:
                stmts.append({"hit": i, "source": h.source, "dim": d[0], "lo": d[1], "hi": d[2], "text": u["text"], "rel": sim + share})
    pairs = [
        (a["rel"] + b["rel"], a, b)
        for a in stmts
        for b in stmts
        if a["source"] < b["source"] and a["dim"] == b["dim"] and (a["hi"] < b["lo"] or b["hi"] < a["lo"])
    ]
    if pairs:  # the most relevant disagreeing pair
        _, a, b = max(pairs, key=lambda x: x[0])
        pair = sorted([a, b], key=lambda x: x["hit"])
        return [{"topic": " ".join(sorted(terms)), "statements": [{k: x[k] for k in ("hit", "source", "text")} for x in pair]}]
    return []


# ---------------------------------------------------------------- citations


def renumber(text: str, used: list[int], hits: list[Hit]) -> tuple[str, list[Citation]]:
    """Map hit-index markers to 1..n in order of first use; list only the passages used."""
    order: list[int] = []
    for m in re.finditer(r"\[(\d{1,2})\]", text):
        i = int(m.group(1)) - 1
        if 0 <= i < len(hits) and i not in order:
            order.append(i)
    mapping = {i: n for n, i in enumerate(order, 1)}

    def sub(m: re.Match) -> str:
        i = int(m.group(1)) - 1
        return f"[{mapping[i]}]" if i in mapping else ""

    new_text = re.sub(r"\[(\d{1,2})\]", sub, text)
    cites = [Citation(n=mapping[i], source=hits[i].source, title=hits[i].title, section=hits[i].section, text=hits[i].text) for i in order]
    return new_text, cites


# ---------------------------------------------------------------- the pipeline


@dataclass
class Prepared:
    question: str  # as asked
    standalone: str
    audience: str | None
    specialty: str | None
    hits: list[Hit]
    in_scope: bool
    gate: dict


def prepare(question: str, audience=None, specialty=None, history=None, settings: Settings | None = None, k: int = K_RETRIEVE) -> Prepared:
    """Validate, condense with history, retrieve and gate (shared by every backend)."""
    q = validate_question(question)
    audience, specialty = normalize_profile(audience, specialty)
    standalone = validate_question(condense(q, history))
    specialty = detect_specialty(q) or specialty  # "what about radiology?" changes the specialty for this turn
    audience = detect_audience(q) or audience
    retriever = get_retriever(settings or get_settings())
    hits = retriever.search(standalone, k=k, audience=audience, specialty=specialty)
    ok, gate = in_scope(standalone, hits, library_vocab(retriever))
    return Prepared(q, standalone, audience, specialty, hits, ok, gate)


def _abstained(p: Prepared, backend: str) -> Answer:
    return Answer(answer=abstain_text(), citations=[], abstained=True, note=NOTE, backend=backend, question=p.standalone)


def answer_extractive(p: Prepared, settings: Settings | None = None) -> Answer:
    if not p.in_scope:
        return _abstained(p, "extractive")
    retriever = get_retriever(settings or get_settings())
    conflicts = find_conflicts(p.standalone, p.hits)
    text, _ = compose_extractive(p.standalone, p.hits, retriever)
    if conflicts:  # show both statements with their sources instead of picking one
        c = conflicts[0]
        lines = ["The guides disagree on this; here is what each says:"]
        for st in c["statements"]:
            lines.append(f"- {_sentence(st['text'])} [{st['hit'] + 1}]")
        text = "\n".join(lines) + ("\n\nMore from the guides:\n" + text if text else "")
    if not text:
        return _abstained(p, "extractive")
    text, cites = renumber(text, [], p.hits)
    by_source = {c.source: c.n for c in cites}
    conflicts_out = [
        {"topic": c["topic"], "statements": [{"n": by_source.get(s["source"]), "source": s["source"], "text": s["text"]} for s in c["statements"]]}
        for c in conflicts
    ]
    return Answer(answer=text, citations=cites, abstained=False, conflicts=conflicts_out, note=NOTE, backend="extractive", question=p.standalone)


def backend_spec(llm: str | None, settings: Settings) -> str:
    """The answer backend for this call: ``llm``, else the settings' (ADVISOR_LLM), else ``extractive``."""
    return (llm or settings.llm or "extractive").strip()


def ask(
    question: str,
    audience: str | None = None,
    specialty: str | None = None,
    history=None,
    llm: str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer ``question`` from the guides. ``llm``: ``extractive`` (default), ``llamacpp:PATH`` or ``openai:MODEL@URL``."""
    settings = settings or get_settings()
    spec = backend_spec(llm, settings)
    p = prepare(question, audience, specialty, history, settings)
    if spec == "extractive":
        return answer_extractive(p, settings)
    from assistant.answer_llm import answer_with_llm

    return answer_with_llm(p, spec, settings)


def stream(
    question: str,
    audience: str | None = None,
    specialty: str | None = None,
    history=None,
    llm: str | None = None,
    settings: Settings | None = None,
) -> Iterator[dict]:
    """Events for a UI: ``{"type": "text", "text": delta}`` pieces, then ``{"type": "answer", "answer": Answer}``.

    The extractive backend streams its sentences; an LLM backend streams tokens
    and then sends the claim-checked final answer, which replaces the draft text.
    """
    settings = settings or get_settings()
    spec = backend_spec(llm, settings)
    p = prepare(question, audience, specialty, history, settings)
    if spec == "extractive":
        ans = answer_extractive(p, settings)
        for line in ans.answer.split("\n"):
            yield {"type": "text", "text": line + "\n"}
        yield {"type": "answer", "answer": ans}
        return
    from assistant.answer_llm import stream_with_llm

    yield from stream_with_llm(p, spec, settings)


def load_prompt(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")
