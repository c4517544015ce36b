"""Every number calibrated on ``evals/gold.jsonl``, grouped by stage, each with how it was set.

Tuning rule (evals/README.md): constants are chosen on the tuning half of the
gold set (even ids) and reported on the held-out half (odd ids); a value that
only helps the tuning half is not an improvement. Changing one here changes the
eval figures: run ``advisor eval`` before and after.
"""

from __future__ import annotations

# ---------------------------------------------------------------- chunking (assistant.ingestion.chunking)

#: Passage bounds in words. At most 220: about what all-MiniLM-L6-v2 reads (256 word pieces) before it
#: truncates, so every word of a passage shapes its vector; and about a screen of text for the Sources panel.
PASSAGE_MAX_WORDS = 220
#: A piece shorter than this joins its neighbour: under ~60 words a passage is a fragment (a lead-in, one
#: bullet) that cannot answer on its own (grid 40 / 60 on the tuning half: 60 best for MRR).
PASSAGE_MIN_WORDS = 60
#: How far a merge of a short piece may go past PASSAGE_MAX_WORDS (the model then truncates a little).
PASSAGE_SOFT_MAX_WORDS = 260
#: A section shorter than this (an introduction, a one-line section) joins the section it introduces.
#: Grid 25 / 40 on the tuning half (with PASSAGE_MIN_WORDS 40 / 60): 25 best for MRR (0.800 vs 0.787);
#: larger merges dilute a short, specific section ("That is not true—but ...") inside a long neighbour.
SECTION_MERGE_WORDS = 25

# ---------------------------------------------------------------- retrieval (assistant.retrieval.retriever)

#: Reciprocal-rank fusion constant; small k: a passage ranked first by one list counts (grid 5-60, 5 best).
RRF_K = 5
#: Weights of the dense, BM25 and best-sentence lists in the fusion (grid over list weights).
W_DENSE = 1.0
W_LEXICAL = 1.5
W_UNIT = 0.5
#: A passage whose words are at least this share inside a passage ranked above it is not returned again (one
#: publisher's guides share sections, merged with different neighbours). No effect on the five guides; on the
#: bench's x200 corpus, tuning-half hit@5 0.802 (off) / 0.822 (0.9, 0.8, 0.7) / 0.822 (0.6): 0.9, the strictest.
NEAR_DUPLICATE = 0.9
#: Candidates per list, before fusion.
CANDIDATES = 40
#: BM25 term saturation and length normalisation (bm25s "lucene"). Grid k1 1.2 / 1.5 / 2.0 x b 0.1-0.6 on the tuning
#: half (hit@5 / MRR): b 0.75 (the default) 0.901 / 0.738; every b of 0.2-0.5 gives 0.748-0.757; k1 1.5, b 0.2 best,
#: 0.911 / 0.757 (held-out 0.892 / 0.706 -> 0.892 / 0.730). A weak length penalty: a passage is a whole section with
#: its heading, and the long ones are the ones that hold the answer.
BM25_K1 = 1.5
BM25_B = 0.2
#: Profile factors: a guide written for the applicant's audience / specialty, and for the other one.
BOOST_MATCH = 1.35
PENALTY_MISMATCH = 0.75

# ---------------------------------------------------------------- the scope gate (assistant.answering)

#: A question is in scope when the best passage is close enough in meaning (cosine) ...
MIN_CLOSENESS = 0.25
#: ... or most of its distinctive words appear in it: the weight of words the library never uses.
OOV_WEIGHT = 0.4
#: A question whose asking part is mostly words no guide ever uses (at least two, and at least UNKNOWN_SHARE of
#: its distinctive words: "avg salary for a pgy1 ... in houston", "ecfmg fee ... dollars") is out of scope unless its
#: best sentence is at least KNOWN_TERMS_CLOSENESS close. Set on the tuning half (gold + typed questions): one
#: unknown word is too often a paraphrase ("worth", "tips", "burning out") to decide alone.
KNOWN_TERMS_CLOSENESS = 0.45
UNKNOWN_SHARE = 0.3
#: A message at least this long tells a story before it asks: the topic test reads only its asking part.
STORY_WORDS = 25
#: How close (difflib ratio) an unknown word must be to a library word to be read as its typo ("radiolgy").
TYPO_SIMILARITY = 0.8
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
#: Added to a line that states a number when the question asks for a quantity ("how many programs"), for the lead.
#: On the tuning half 0.05-0.4 give the same figures (first sentence 0.267); 0.1, the size of W_ITEM, taken on
#: reading its tuning leads ("how many NBME practice tests": "delay the exam by 4–8 weeks if ..." now leads).
W_NUMBER = 0.1
#: The passages (best first) whose matching FAQ question lets its answer lead (an FAQ that asks the question
#: answers it, even when a longer passage ranks above it). Grid 1 / 2 / 3 on the tuning half: first sentence
#: 0.257 / 0.238 / 0.238 (a loose FAQ match lower down displaces a better lead), so 1.
FAQ_POOL = 1
POOL = 3  # passages the answer quotes from
MIN_POINT = 0.2
LIST_ITEMS = 8  # items an introducing line ("Programs value:") brings along
#: The passages (best first) the answer's first line may come from (2 and 3 tried: +0.01 fact recall on the
#: tuning half, -0.01 on the held-out half, so not taken).
LEAD_POOL = 1
#: A Yes/No line leads a yes/no question when its score is at least this share of the best line's.
YES_NO_SHARE = 0.6
#: Example sentences an answer shows, when the question asks for wording (an answer is advice, not a script).
MAX_EXAMPLES = 2
#: Other statements whose band or condition holds the applicant's number, said after the lead (guides may disagree).
MAX_NUMBER_POINTS = 2
#: A line without a sentence end and shorter than this, with nothing introducing it, does not lead an answer
#: ("Cause (brief, non-graphic)"). 5 / 8 / 12 give the same tuning figures; tried on supporting points too, it
#: dropped real items of heading-led lists ("COVID-related disruptions to clinical training"), so leads only.
LEAD_MIN_WORDS = 8
LABEL_WORDS = 8  # a line this short, unpunctuated and followed by items is a label ("Program Size and Structure")

# ---------------------------------------------------------------- conflicts and claims (assistant.answering)

#: Two statements about the same thing (cosine at least this) that give different durations are a conflict.
CONFLICT_MIN_SIM = 0.45
#: A sentence is supported by a passage when its blended lexical/embedding support reaches this.
SUPPORT_THRESHOLD = 0.55
