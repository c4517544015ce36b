"""Stage 5, drafting: guide rules, the applicant's facts, draft composition, the fact guard, the audit.

Modules: :mod:`.facts` (the facts schema), :mod:`.rules` (guide rules and their
citations), :mod:`.templates` and :mod:`.compose` (the template draft),
:mod:`.factguard` with :mod:`.lexicon` (the proof that a draft adds no fact),
:mod:`.polish` (optional LLM rephrasing), :mod:`.draft` (the entry point),
:mod:`.draft_eval` (the eval helper), :mod:`.profile` and :mod:`.audit` (the
application audit), :mod:`.datafiles` (the data files under assistant/data/writing).
Other packages import only the names below.
"""

from assistant.writing.audit import audit, evaluate_profile_file, format_labels, render
from assistant.writing.compose import FORMAT_NAMES
from assistant.writing.draft import draft
from assistant.writing.draft_eval import evaluate_draft_file
from assistant.writing.facts import FORMATS, KINDS, facts_from_profile, load_facts, parse_facts, suggested_kind, with_profile_facts
from assistant.writing.profile import ApplicantProfile, load_profile, parse_profile

__all__ = ["ApplicantProfile", "FORMATS", "FORMAT_NAMES", "KINDS", "audit", "draft", "evaluate_draft_file", "evaluate_profile_file", "facts_from_profile", "format_labels", "load_facts", "load_profile", "parse_facts", "parse_profile", "render", "suggested_kind", "with_profile_facts"]
