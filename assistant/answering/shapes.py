"""The shapes of guide lines that do not read as advice on their own (shared by the composer and the eval).

A label ("IMG Friendliness.", "Institution, city, state."), a quotation (an example
sentence the guide offers: “I failed Step 1 on my first attempt.”), a line spoken
as the applicant ("I ...", "My ..."), a sentence about the guide itself ("This guide
focuses on ..."). The extractive composer (:mod:`assistant.answering.compose`) uses
them to keep such lines out of an answer, or to show an example as an example; the
eval's readability detectors (:mod:`assistant.evaluation.readability`) use the same
rules on a finished answer's text. Each rule's limits are in its docstring.
"""

from __future__ import annotations

import re

from assistant.text import STOPWORDS, normalize

#: Lowercase words that make a line a sentence (or a clause), not a label.
SENTENCE_WORDS = frozenset(
    """is are was were be been being am isn't aren't wasn't you your yours you're you'll you've i me my we our us they their
    them he she his her it its it's this that these those there should can can't cannot could will won't would may might must
    do does did don't doesn't didn't have has had not no if when because so than""".split()
)

#: First words of short imperative sentences that are advice, not labels ("Apply widely.", "Be honest.").
IMPERATIVES = frozenset(
    """aim apply ask attend avoid be build check choose compare consider contact continue create demonstrate do don't emphasize
    ensure explain filter find focus follow gain get go highlight identify include join keep know learn limit list look make
    network plan practice prepare prioritize provide pursue read reach reassess rest review say schedule seek send show sleep
    start stay stop strengthen study submit supplement take talk target track try update use wait write""".split()
)

_CONNECTORS = frozenset("a an and or of in for the to with vs vs. on at by from &".split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’/&.\-–]*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def continues_a_sentence(text: str) -> bool:
    """Does the line pick up a sentence cut before it ("…can significantly improve your competitiveness.", the
    end of a lead-in whose list stood in between)? Alone it says nothing: its subject is elsewhere."""
    t = normalize(text).lstrip()
    return bool(re.match(r"(?:…|\.\.\.)\s*[a-z]", t))


def is_label(text: str) -> bool:
    """Is this line (citations stripped) only a label, not a sentence? The shape rule of ``bare_label``."""
    t = text.strip()
    if not t or t.endswith(("?", "!", ":")) or "(" in t or ":" in t or t[0] in "\"“‘'…":
        return False
    body = t.rstrip(".").strip()
    words = _words(body)
    # lowercase sentence words only ("US Clinical Experience" is a label), and a capitalised one opening the line
    if len(words) < 2 or any(_sentence_word(k, w) for k, w in enumerate(words)):
        return False
    title = all(w[0].isupper() or w[0].isdigit() or w.lower() in _CONNECTORS for w in words)
    if title and len(words) <= 8 and (words[0][0].isupper() or words[0][0].isdigit()):
        return True
    parts = [p.strip() for p in body.split(",")]
    if len(parts) >= 3 and all(p and len(_words(p)) <= 2 for p in parts) and not re.search(r"\b(?:and|or)\b", body):
        return True
    return t.endswith(".") and len(words) <= 3 and words[0].lower() not in IMPERATIVES


def _sentence_word(k: int, w: str) -> bool:
    return w in SENTENCE_WORDS or w == "I" or (k == 0 and w.lower() in SENTENCE_WORDS)


def item_shaped(text: str) -> bool:
    """Does this line read as a list item, not a point of its own: a label, or "Key: value" with a short noun key?

    "Geographic preferences.", "Experience descriptions: Highlight ...", "Timing: late
    spring ..." are; "Keep emails concise and specific.", "Supplement with: NBME
    practice exams" (an imperative key), "These will be:" and "Low Step 2 CK: Can You
    Still Match ...?" (a key of 4+ words) are not.
    """
    if is_label(text):
        return True
    key, colon, value = text.partition(":")
    words = _words(key)
    if not colon or not value.strip() or "(" in key or not 1 <= len(words) <= 3:
        return False
    return words[0].lower() not in IMPERATIVES and not any(_sentence_word(k, w) for k, w in enumerate(words))


def _unquoted(text: str) -> str:
    """``text`` with quoted spans removed (an unclosed “ runs to the end)."""
    t = re.sub(r"“[^”]*(?:”|$)", " ", text)
    t = re.sub(r"\"[^\"]*(?:\"|$)", " ", t)
    return t


def is_quotation(text: str) -> bool:
    """Is this line wholly a quotation: “...” (possibly unclosed), or the tail of one (``...learn?”``)?"""
    t = text.strip()
    if not t:
        return False
    if t[0] in "“\"":
        close = t.find("”" if t[0] == "“" else '"', 1)
        return close == -1 or not t[close + 1 :].strip(" .,;:!?)")
    return t.rstrip(" .").endswith("”") and "“" not in t


_FIRST_PERSON = re.compile(r"(?<!\bStep )(?<!\bTier )(?<!\bType )(?<!\bPhase )(?<!\bPart )\b(?:I|I'm|I've|I'd|I'll|My|my|me|myself)\b")
_EXAMPLE_INTRO = re.compile(r"\b(?:example|examples|instance|e\.g|sample|template|script|say|write|phrase|wording|answer)\b", re.I)


def speaks_first_person(text: str) -> bool:
    """Does this line speak as the applicant ("I failed ...", "My Step 1 ...") outside quotes and not after an example intro?"""
    t = normalize(text)
    head, colon, _ = t.partition(":")
    if colon and _EXAMPLE_INTRO.search(head):
        t = head
    return bool(_FIRST_PERSON.search(_unquoted(t)))


#: Sentences about the guide itself, not advice from it ("this IMG residency guide", "this article", "You'll learn").
ABOUT_GUIDE = re.compile(
    r"\b(?P<det>this|our|an?)\s+(?P<mid>(?:[\w-]+\s+){0,3})(?:guide|article|blog|post|page)\b(?!['-]\w)"
    r"|\bin this (?:guide|article|post|section|page)\b"
    r"|\b(?:you'll|you will|we'll|we will)\s+(?:learn|explore|cover|discuss|walk|see how|find out)\b"
    r"|\bwill walk you through\b"
    r"|^Throughout, the focus\b"
    r"|^Everything (?:here |below )?is tailored to\b"
    r"|\b(?:read on|keep reading)\b",
    re.I,
)
_NOT_GUIDE_MID = SENTENCE_WORDS | {"will", "should", "help", "helps", "to", "as", "a", "an", "the", "general", "rough", "useful"}


def is_about_the_guide(sentence: str) -> bool:
    """Is this sentence about the guide itself ("This guide focuses on ...")?

    Not: "as a (general) guide", "this should guide you", "a post-match survey": the words
    between the determiner and "guide" are no sentence words, "a/an" only names a guide or
    an article, and "as a guide" is a figure of speech.
    """
    t = normalize(sentence)
    pos = 0
    while (m := ABOUT_GUIDE.search(t, pos)) is not None:
        pos = m.start() + 1
        if m.group("det") is None:
            return True
        mid = m.group("mid").lower().split()
        noun = m.group(0).split()[-1].lower()
        if any(w in _NOT_GUIDE_MID for w in mid) or t[: m.start()].lower().endswith("as "):
            continue
        if m.group("det").lower() in ("a", "an") and noun not in ("guide", "article"):
            continue
        return True
    return False


#: Words that make a line a clause: auxiliaries and modals (a lead-in "…, they ask:" also has its verb after a pronoun).
_FINITE = frozenset(
    """is are was were be been am isn't aren't wasn't weren't can can't cannot could will won't would may might must should
    do does did don't doesn't didn't have has had you're they're it's there's""".split()
)
_SUBJECTS = frozenset("i you we they he she it who".split())
#: A lead-in that points at what follows it ("these", "the following", "for example", "such as", "as a general guide").
_POINTS_AHEAD = re.compile(
    r"\b(?:this|these|following|below|here'?s|here is|examples?|e\.g|such as|like|include|includes|including)\b|\bas an? (?:\w+ ){0,2}guide\b", re.I
)
_SUBORDINATE = re.compile(r"^(?:if|when|while|before|after|although|though|unless|because|since|once|whether)\b", re.I)


def states_on_its_own(text: str) -> bool:
    """Does a lead-in ("...:") say something whole without its list, so it can be shown as a sentence?

    "Being a US citizen IMG is not a red flag in the official sense, but it does raise questions for some
    program directors:" does (shown ending "."); "Concerns arise when:", "Most program directors now use Step 1
    as:", "Medical genetics heavily values:" (a verb waiting for its object), "If your Step 2 CK comes back below
    your target:" (a clause with no main clause), "Use this structure when ...:" (it points at the list) and
    "In every section of your ERAS application:" (no verb) do not. Word classes are lemminflect's, as in
    :func:`assistant.answering.scope.names_things`; at least 7 words, so a short lead-in ("Other programs
    value:") is never read as a sentence. Written by hand: no library judges whether a clause is complete
    without a parser model, and none can be downloaded here.
    """
    from lemminflect import getAllLemmas

    t = normalize(text).strip()
    if not t.endswith(":"):
        return False
    t = re.sub(r"\s*\([^()]*\)$", "", t[:-1].rstrip()).rstrip(" ,;")  # "... red flag (in writing or interviews)"
    words = [w.strip("“”\"'’") for w in t.split()]
    words = [w for w in words if w]
    if len(words) < 7 or _POINTS_AHEAD.search(t) or (_SUBORDINATE.match(t) and "," not in t):
        return False
    last, before = words[-1].lower(), words[-2].lower()
    kinds = getAllLemmas(last)
    if last in STOPWORDS or (kinds and set(kinds) <= {"VERB", "AUX"}):
        return False  # "... by:", "... they ask:": the object is the list
    if "VERB" in kinds and (before in _SUBJECTS or before in _FINITE or before == "to" or before.endswith("ly")):
        return False  # "Create columns ... to rate:", "... heavily values:"
    lowered = [w.lower() for w in words]
    has_verb = (
        any(w in _FINITE for w in lowered)
        or any(a in _SUBJECTS for a in lowered[:-1])
        or any(set(getAllLemmas(w) or {"X"}) <= {"VERB", "AUX"} and not w.endswith(("ing", "ed")) for w in lowered)  # "... come up again"
    )
    return has_verb or lowered[0] in IMPERATIVES
