"""The scope gate: does the guide library answer this question at all?

An answer quoted from loosely related passages misleads more than no answer, so
before composing, :func:`in_scope` decides, and an out-of-scope question gets
:func:`abstain_text` (which starts with :data:`NO_COVER`) and no citations, or, for
one named program, :data:`NO_PROGRAMS` with the guides' advice on checking, and for
"write it for me", :data:`WRITE_POINTER`. The tests, calibrated on the tuning half of
``evals/gold.jsonl`` (the numbers live in :mod:`assistant.tuning`): a topic the guides
do not answer (``corpus/scope.json``); closeness of meaning discounted by the
question's words the library never uses (:func:`focus_terms`, :func:`library_vocab`);
an asking part made mostly of such words (:func:`unknown_terms`); another field
(:func:`names_another_field`); a named program; a request to write the statement.
"""

from __future__ import annotations

import difflib
import json
import re

from assistant.config import PROJECT_DIR, Settings
from assistant.schemas import Hit
from assistant.text import tokenize
from assistant.tuning import KNOWN_TERMS_CLOSENESS, MIN_CLOSENESS, OOV_WEIGHT, STORY_WORDS, TYPO_SIMILARITY, UNKNOWN_SHARE

NO_COVER = "The guides don't cover this."

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

_STOP_STEMS: set[str] | None = None
_SCOPE: dict[str, str] | None = None


def _stop_stems() -> set[str]:
    global _STOP_STEMS
    if _STOP_STEMS is None:
        from assistant.text import GENERAL_WORDS as words

        _STOP_STEMS = set(tokenize(" ".join(words))) | set(tokenize("really actually okay ok thing things something nothing get got big little lot lots"))
    return _STOP_STEMS


def focus_terms(question: str) -> list[str]:
    """The question's distinctive words (stemmed): no stop words, no words every question in this domain has."""
    stop = _stop_stems()
    return [t for t in dict.fromkeys(tokenize(question)) if t not in _DOMAIN and t not in stop and (not t.isdigit() or len(t) == 4)]


def _scope_terms() -> dict[str, str]:
    """stem -> topic, from corpus/scope.json (topics no guide covers unless a guide uses the word)."""
    global _SCOPE
    if _SCOPE is None:
        data = json.loads((PROJECT_DIR / "corpus" / "scope.json").read_text(encoding="utf-8"))
        _SCOPE = {}
        for topic, words in data.get("outside_topics", {}).items():
            for w in words:
                key = " ".join(tokenize(w))
                if key:
                    _SCOPE[key] = topic
    return _SCOPE


def library_vocab(retriever) -> set[str]:
    """Every token of the live library (the scope gate's "does the library ever say this?")."""

    def build(rows: list[dict]) -> set[str]:
        vocab: set[str] = set()
        for r in rows:
            vocab.update(tokenize(r["embed"]))
        return vocab

    return retriever.memo("vocab", build)


def _grams(tokens: list[str]) -> set[str]:
    """Tokens and adjacent token pairs (corpus/scope.json lists two-word phrases too)."""
    return set(tokens) | {" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)}


_QUESTION_START = re.compile(r"^(?:how|what|whats|which|when|where|why|who|whom|whose|is|are|am|do|does|did|can|could|should|would|will|has|have|must|if)\b", re.I)


_INNER_ASK = re.compile(r"\b(?:how|what|which|where|when|why)\s+(?:do|does|did|can|could|should|would|will|is|are|am)\b", re.I)
_TYPED_END = re.compile(r"(?<=[a-z0-9)][.!?])\s+(?=[a-z])")


def asked_part(question: str) -> str:
    """The sentences that ask (end in "?" or open with a question word), without the story told before them.

    "my father was sick for 2 years. how do i explain the gap?" asks about explaining a
    gap, not about sickness: only the asking part decides what the question is about.
    """
    from assistant.text import split_sentences

    # typed messages start sentences in lowercase ("... with a peds prof. which kind of research ..."), which
    # split_sentences (made for the guides' prose) does not split at
    sentences = [t for s in split_sentences(question.replace("?", "? ")) for t in _TYPED_END.split(s)]
    parts = [p.strip() for s in sentences for p in re.split(r"(?<=[,;])\s+(?=(?:how|what|which|when|where|why|is|are|do|does|can|should|will)\b)", s, flags=re.I)]
    asking = []
    for p in parts:
        inner = None if _QUESTION_START.match(p) else _INNER_ASK.search(p)
        if inner:  # "after i finish how do i get the waiver": the asking starts at "how do i"
            asking.append(p[inner.start() :])
        elif p.endswith("?") or _QUESTION_START.match(p):
            asking.append(p)
    return " ".join(asking) if asking else (parts[-1] if parts else question)


def unknown_terms(asking: str, vocab: set[str], words: set[str] | None = None) -> list[str]:
    """The distinctive words of ``asking`` (a question's :func:`asked_part`) that no guide in the library ever
    uses, typos of library words excepted.

    No hand-kept list: the library itself says which words it knows. :func:`in_scope`
    declines a question whose asking part is mostly such words ("avg salary for a pgy1 ...
    in houston"); one unknown word alone decides nothing, because it is too often a
    paraphrase ("worth", "tips", "burning out"). "radiolgy" is a typo of a word the library
    does use (``words``, :func:`library_words`; default ``vocab``), so it is not unknown.
    """
    if not vocab:
        return []
    compact = {t.replace("-", "") for t in vocab}  # "h1b" is the library's "h-1b"
    acronyms = {a.lower() for a in re.findall(r"\b[A-Z]{2}\b", asking)}  # "IR", "EM": two letters, but a name
    typed = typed_words(asking)
    out = []
    for t in focus_terms(asking):
        if t in vocab or t.replace("-", "") in compact or t.isdigit() or (len(t) < 3 and t not in acronyms):
            continue
        if any(known_spelling(w, words or vocab) for w in typed.get(t, [t])):
            continue
        out.append(t)
    return out


def typed_words(text: str) -> dict[str, list[str]]:
    """stem -> the words typed for it ("push" -> ["pushing"]): a word is judged as typed, not by its stem."""
    typed: dict[str, list[str]] = {}
    for w in re.findall(r"[a-z]+", text.lower()):
        for stem in tokenize(w)[:1]:
            typed.setdefault(stem, []).append(w)
    return typed


def names_things(stem: str, typed: dict[str, list[str]]) -> bool:
    """Can the word typed for ``stem`` name a thing: a noun ("salary", "vaccines"), or a word no English
    lexicon knows ("pgy1", "houston", "ecfmg")? An unknown verb or adjective ("pushing", "worse") is how
    the question is put, not what it asks about. The lexicon is lemminflect's (a library with its own
    English word lists, so no word list is kept here)."""
    from lemminflect import getAllLemmas

    return any(not (kinds := getAllLemmas(w)) or "NOUN" in kinds or "PROPN" in kinds for w in typed.get(stem, [stem]))


def _clipped_known(word: str, words: set[str]) -> bool:
    """Is ``word`` a clipped form of a word the library uses ("rec" for "recommendation", "peds" for "pediatrics")?
    Only a word no English lexicon knows (lemminflect's, as in :func:`names_things`): "fee" begins "feedback" but
    is a word of its own."""
    from lemminflect import getAllLemmas

    stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
    if len(stem) < 3 or getAllLemmas(word):
        return False
    return any(w.startswith(stem) and len(w) >= len(stem) + 3 for w in words)


def known_spelling(word: str, words: set[str]) -> bool:
    """Is the typed ``word`` a library word written another way: a typo ("radiolgy") or a clipped form ("rec")?"""
    return (len(word) >= 5 and _typo_of_known(word, words)) or _clipped_known(word, words)


def _typo_of_known(word: str, words: set[str]) -> bool:
    """Is ``word`` a typo of a word the library uses (``words``, unstemmed: "resdency" is one letter from
    "residency", but its stem "resdenc" is far from "resid")? Close by difflib's ratio, and with the same
    first letter: a typo rarely changes the first letter, and "nuclear" is not a typo of "unclear"."""
    same_start = [v for v in words if v[:1] == word[:1]]
    return bool(difflib.get_close_matches(word, same_start, n=1, cutoff=TYPO_SIMILARITY))


def library_words(retriever) -> set[str]:
    """Every word of the live library as written, lowercased (the typo test's dictionary)."""

    def build(rows: list[dict]) -> set[str]:
        return {w for r in rows for w in re.findall(r"[a-z]+", r["embed"].lower()) if len(w) >= 4}

    return retriever.memo("words", build)


_INSTITUTION = re.compile(r"\b(?:university|hospital|clinic|medical center|health system|children'?s|college|institute|program|residency)\b", re.I)


def names_a_program(question: str, unknown: list[str]) -> bool:
    """Does the question ask about one named program ("does johns hopkins sponsor h1b", "Mayo Clinic")?

    A word the library never uses, next to an institution word ("clinic", "program") or
    capitalised beside another such word, is taken for a program's name.
    """
    if not unknown:
        return False
    from assistant.text import tokenize

    words = re.findall(r"[A-Za-z][\w'’-]*", question)
    strange = [(tokenize(w) or [""])[0] in unknown for w in words]
    for k, w in enumerate(words):
        if not strange[k]:
            continue
        named = w[0].isupper() and any(0 <= j < len(words) and strange[j] and words[j][0].isupper() for j in (k - 1, k + 1))
        after = []
        for x in words[k + 1 : k + 4]:  # the words naming what it is: "clinic", "genetics program"; a preposition ends them
            if x.lower() in _PREPOSITIONS:
                break
            after.append(x)
        if named or _INSTITUTION.search(" ".join(after)):
            return True  # "Johns Hopkins", "mayo clinic", "baylor genetics residency program"
    return False


_FIELD_AFTER = re.compile(r"^(?:(?:medicine|surgery|radiology)\s+)?(?:residency|residencies|match|fellowship|training)\b", re.I)


def names_another_field(question: str, unknown: list[str]) -> bool:
    """Does the question ask about a field the library never names ("nuclear medicine residency", "IR match stats")?

    A word no guide uses, typed in lowercase or as an acronym, right before "residency",
    "match" or "fellowship" (or "medicine residency") names a field, not a program
    ("Baylor residency" is a name: capitalised), so the answer is the general "not covered",
    not the advice on checking one program.
    """
    if not unknown:
        return False
    for m in re.finditer(r"\b([A-Za-z][\w'’-]*)\s+", question):
        w = m.group(1)
        if (tokenize(w) or [""])[0] in unknown and (w.islower() or w.isupper()) and _FIELD_AFTER.match(question[m.end() :]):
            return True
    return False


_PREPOSITIONS = frozenset("after before during for in on at to of from with by about than or and a an the is are was were be".split())


_WRITE_FOR_ME = re.compile(r"\b(?:write|draft|compose|do)\b[^.?!]{0,40}\b(?:personal statement|statement|essay|ps|letter|application)\b[^.?!]{0,30}\bfor me\b|\bwrite (?:it|one) for me\b"
    r"|\b(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:write|draft|compose)\b[^.?!]{0,40}\b(?:personal statement|statement|essay|ps|letter)\b", re.I)


def asks_to_write(question: str) -> bool:
    """"Can you write my whole personal statement for me?": the guides advise; the Draft feature writes from the applicant's facts."""
    return bool(_WRITE_FOR_ME.search(question))


def in_scope(question: str, hits: list[Hit], vocab: set[str] | None = None, words: set[str] | None = None) -> tuple[bool, dict]:
    """Does the library answer this? Two tests, both calibrated on evals/gold.jsonl.

    1. Topic: the question names a topic the guides do not answer (a salary, a fee, a
       date, another specialty; words and phrases in corpus/scope.json) and none of the
       top passages uses that word or phrase (if a guide did discuss it, it would be retrieved).
    2. Closeness: the best sentence of the top passages is close in meaning to the
       question, discounted by the share of the question's distinctive words that no
       guide uses at all: ``unit_sim - OOV_WEIGHT * oov_share >= MIN_CLOSENESS``.
    3. Unknown things: the asking part is mostly words no guide uses (:func:`unknown_terms`)
       that name things (:func:`names_things`: "salary", "pgy1", not "pushing" or "worse"), at
       least two and UNKNOWN_SHARE of its distinctive words, and no sentence is at least
       KNOWN_TERMS_CLOSENESS close.
    4. Another field (:func:`names_another_field`), a named program (:func:`names_a_program`) or a request to write the statement
       (:func:`asks_to_write`): out of scope, answered by
       :func:`~assistant.answering.prepared.abstained` with its own text.

    A long message (STORY_WORDS or more) is read for its topic (test 1) in its asking part only.
    """
    if not hits:
        return False, {"closeness": 0.0}
    terms = focus_terms(question)
    vocab = vocab or set()
    typed = typed_words(question)
    # a typo or a clipped word ("letters of rec") is the library's word, not one it never uses
    oov = [t for t in terms if vocab and t not in vocab and not (words and any(known_spelling(w, words) for w in typed.get(t, [t])))]
    # a long message tells a story before it asks: only the asking part names the topic ("after failing
    # pathology ... how do i explain it?" asks about explaining a failure, not about pathology)
    asking = asked_part(question)
    qgrams = _grams(tokenize(asking if len(question.split()) >= STORY_WORDS else question))
    pgrams = _grams([t for h in hits[:3] for t in tokenize(f"{h.section} {h.text}")])
    outside = sorted({topic for key, topic in _scope_terms().items() if key in qgrams and key not in pgrams})
    unit = max(h.unit_sim for h in hits[:3])
    share = len(oov) / len(terms) if terms else 0.0
    closeness = unit - OOV_WEIGHT * share
    unknown = unknown_terms(asking, vocab, words)
    field = names_another_field(question, unknown)
    program = not field and names_a_program(question, unknown)
    writing = asks_to_write(question)
    strange = False
    if len(unknown) >= 2 and unit < KNOWN_TERMS_CLOSENESS:  # (the lexicon loads only when it can decide)
        typed = typed_words(asking)
        things = [t for t in unknown if names_things(t, typed)]  # what is asked about, not how it is put
        strange = len(things) >= 2 and len(things) >= UNKNOWN_SHARE * max(1, len(focus_terms(asking)))
    ok = not outside and closeness >= MIN_CLOSENESS and not strange and not field and not program and not writing
    return ok, {"closeness": round(closeness, 4), "unit_sim": round(unit, 4), "oov": oov, "outside_topics": outside,
                "unknown_terms": unknown, "other_field": field, "program_specific": program, "asks_to_write": writing}


def field_covers(question: str, hits: list[Hit], field: str) -> bool:
    """Do the retrieved passages of ``field`` (the specialty the question names, "internal-medicine") speak to it?

    False only when none of that field's passages uses any of the question's distinctive words
    (:func:`focus_terms`, the field's own name left out) while another field's passage does: "what
    should i put in my IM personal statement if i had a gap" asked of an internal medicine guide with
    no word on statements or gaps. At least two such words decide. Then the field's passages, though
    ranked first for naming the field, do not answer it, and quoting them would read as if they did.
    """
    name = set(tokenize(field.replace("-", " ")))
    terms = set(focus_terms(asked_part(question) if len(question.split()) >= STORY_WORDS else question)) - name
    if len(terms) < 2:  # one word alone is too often the guide's synonym ("ck" where it says "score bands")
        return True

    def uses(h: Hit) -> bool:
        return bool(terms & set(tokenize(f"{h.section} {h.text}")))

    own = [h for h in hits if h.specialty in (field, "any")]
    return any(uses(h) for h in own) or not any(uses(h) for h in hits if h not in own)


NO_PROGRAMS = "The guides don't have information on individual programs."
WRITE_POINTER = ("I can't write your personal statement for you: the guides advise on it, and the words should be yours. "
                 "The Draft tab (or `advisor draft`) writes the paragraph that explains a red flag from your own facts, "
                 "in the structure the guides teach, for you to edit.")


def abstain_text(settings: Settings | None = None) -> str:
    """What an out-of-scope question gets: :data:`NO_COVER` and what the library does cover."""
    topics = "explaining red flags (exam failures, low scores, gaps, professionalism, visas), Step score strategy, and researching programs, for IMGs applying to medical genetics and diagnostic radiology"
    return f"{NO_COVER} I can only answer from the guide library, which covers {topics}. Try asking about one of those."
