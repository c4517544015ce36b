"""Every number calibrated on ``evals/gold.jsonl``, grouped by stage, each with how it was set.

Tuning rule (evals/README.md): constants are chosen on the tuning half of the
gold set (even ids) and reported on the held-out half (odd ids); a value that
only helps the tuning half is not an improvement. Changing one here changes the
eval figures: run ``advisor eval`` before and after.
"""

from __future__ import annotations

# ---------------------------------------------------------------- chunking (assistant.ingestion.chunking)

#: Target passage size in characters; grid over 500 / 900 / 1300 on the gold set, 900 best for hit@5 and MRR.
TARGET_CHARS = 900
#: Hard cap: a block longer than this is cut by LangChain's RecursiveCharacterTextSplitter.
MAX_CHARS = 1500

# ---------------------------------------------------------------- retrieval (assistant.retrieval.retriever)

#: Reciprocal-rank fusion constant; small k: a passage ranked first by one list counts (grid 5-60, 5 best).
RRF_K = 5
#: Weights of the dense, BM25 and best-sentence lists in the fusion (grid over list weights).
W_DENSE = 1.0
W_LEXICAL = 1.5
W_UNIT = 0.5
#: Candidates per list, before fusion.
CANDIDATES = 40
#: Profile factors: a guide written for the applicant's audience / specialty, and for the other one.
BOOST_MATCH = 1.35
PENALTY_MISMATCH = 0.75

# ---------------------------------------------------------------- the scope gate (assistant.answering)

#: A question is in scope when the best passage is close enough in meaning (cosine) ...
MIN_CLOSENESS = 0.25
#: ... or most of its distinctive words appear in it: the weight of words the library never uses.
OOV_WEIGHT = 0.4
#: Passages retrieved for an answer.
K_RETRIEVE = 6

# ---------------------------------------------------------------- extractive composition (assistant.answering)
# Tuned on the even-numbered ids of evals/gold.jsonl (the odd ids held out): a unit's score is
# W_SIM * cosine + W_LEX * share of the question's (idf-weighted) words it uses (with its lead-in)
# + W_RANK if it is from the top passage (passages 2 and 3 compete on content) + W_ITEM if it is a
# list item; points are then taken greedily by score - W_COST * displayed words - W_SPREAD * points
# already taken from the same passage, within MAX_WORDS displayed words.

MAX_POINTS = 14  # quoted units after the lead (each list item counts)
MAX_WORDS = 124  # displayed words of an extractive answer (lead-ins included; bullets and [n] not)
W_SIM, W_LEX, W_RANK = 0.6, 1.5, 0.2
W_ITEM = 0.1  # list items carry the guides' concrete advice
W_COST = 0.03  # per displayed word: several short, specific points beat one long general sentence
W_SPREAD = 0.02  # the right passage is not always the top one: spread the points a little
FAQ_BONUS = 0.15
POOL = 3  # passages the answer quotes from
MIN_POINT = 0.2
LIST_ITEMS = 8  # items an introducing line ("Programs value:") brings along
LABEL_WORDS = 8  # a line this short, unpunctuated and followed by items is a label ("Program Size and Structure")

# ---------------------------------------------------------------- conflicts and claims (assistant.answering)

#: Two statements about the same thing (cosine at least this) that give different durations are a conflict.
CONFLICT_MIN_SIM = 0.45
#: A sentence is supported by a passage when its blended lexical/embedding support reaches this.
SUPPORT_THRESHOLD = 0.55
